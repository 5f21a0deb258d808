"""The import page follows its job and settles: the full report, the batches
it filled, and no more polling or launch banner once the job has finished."""

from __future__ import annotations

import pytest
from django.urls import reverse

from synthesis.models import ImportJob, ImportJobStatus
from tests.fixtures.builders import make_batch

pytestmark = pytest.mark.django_db


def _poll(client, job):
    return client.get(
        reverse("imports:job", args=[job.pk]), headers={"HX-Request": "true"}
    ).content.decode()


def test_waiting_import_polls_slowly(admin_client):
    job = ImportJob.objects.create(
        source_path="uploads/x.jsonl", status=ImportJobStatus.WAITING
    )
    fragment = _poll(admin_client, job)
    assert 'hx-trigger="every 10s"' in fragment and "hx-swap-oob" not in fragment


def test_finished_import_links_its_batches_and_clears_the_banner(admin_client):
    batch = make_batch("Imported: six-vqa", kind="imported")
    job = ImportJob.objects.create(
        source_path="uploads/x.jsonl",
        status=ImportJobStatus.SUCCEEDED,
        report={"records_seen": 6, "items_created": 6, "batch_ids": [batch.pk]},
    )
    fragment = _poll(admin_client, job)
    assert "hx-trigger" not in fragment
    assert f'href="{reverse("synthesis:batch_detail", args=[batch.pk])}"' in fragment
    assert '<div id="messages" hx-swap-oob="true"></div>' in fragment
