"""Batch pages that say what they hold (issue 17, item 6) and settle (item 2).

Findings: imported batches showed 0 figure groups, 0 items and 0 kept while
the uploaded files held items; their page showed "0% of 0 chunks", "score ≥"
with no number and "generator , verifier , rubric". The launch form showed no
count of matching figure groups and took the document as free text; sampling
was shown as a raw dict; Cancel did not ask to confirm.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from synthesis import services
from synthesis.ingest import services as import_services
from synthesis.models import Batch, BatchKind, BatchStatus, ImportJob
from tests.fixtures.builders import make_document, make_figure, make_figures
from tests.fixtures.fake_backends import fake_config
from tests.fixtures.sources import image_bytes, vqa_row

pytestmark = pytest.mark.django_db


def _vqa_job(rows: list[dict], name: str) -> ImportJob:
    lines = []
    for row in rows:
        images = [
            {"bytes": base64.b64encode(i["bytes"]).decode()} for i in row["images"]
        ]
        lines.append(json.dumps({**row, "images": images}))
    path = default_storage.save(
        f"uploads/{name}.jsonl", ContentFile("\n".join(lines).encode())
    )
    job = ImportJob.objects.create(source_path=path, original_name=f"{name}.jsonl")
    return import_services.run_import(job_id=job.pk)


@pytest.fixture
def imported():
    rows = [
        vqa_row(image_bytes(seed=i), index=i, dataset_name="six-vqa") for i in range(6)
    ]
    job = _vqa_job(rows, "six")
    assert job.status == "succeeded", job.error
    return Batch.objects.get(kind=BatchKind.IMPORTED), job


def test_imported_batch_lists_its_real_counts(admin_client, imported):
    batch, _ = imported
    assert (batch.figure_groups_total, batch.items_generated) == (6, 6)
    assert batch.items_kept == 6
    listing = admin_client.get(reverse("synthesis:batch_list")).content.decode()
    row = listing.split(batch.name)[1].split("</tr>")[0]
    assert row.count('<td class="num">6</td>') == 3


def test_a_second_import_adds_to_the_counts_and_is_linked(admin_client, imported):
    batch, first = imported
    rows = [
        vqa_row(image_bytes(seed=20 + i), index=i, dataset_name="six-vqa")
        for i in range(2)
    ]
    second = _vqa_job(rows, "two")
    batch.refresh_from_db()
    assert batch.items_generated == 8
    page = admin_client.get(reverse("synthesis:batch_detail", args=[batch.pk]))
    html = page.content.decode()
    for job in (first, second):
        assert f'href="{reverse("imports:job", args=[job.pk])}"' in html


def test_imported_batch_page_says_where_it_came_from(admin_client, imported):
    batch, job = imported
    html = admin_client.get(
        reverse("synthesis:batch_detail", args=[batch.pk])
    ).content.decode()
    assert "six-vqa" in html
    assert f'href="{reverse("imports:job", args=[job.pk])}"' in html
    assert "chunk" not in html
    assert "score ≥ <" not in html and "score ≥  " not in html
    assert "generator , verifier , rubric" not in html
    assert "Keep rule" not in html  # nothing here was kept by a rule


@pytest.fixture
def batch():
    make_figures(3)
    return services.launch_batch(
        created_by=None, name="Chest CT run", config=fake_config(), enqueue=None
    )


def test_synthesized_batch_shows_sampling_as_fields(admin_client, batch):
    html = admin_client.get(
        reverse("synthesis:batch_detail", args=[batch.pk])
    ).content.decode()
    sampling = batch.config["sampling"]
    for label, key in [("Temperature", "temperature"), ("Top-p", "top_p")]:
        cell = f'<td class="sampling">{sampling[key]}'
        assert f'<th scope="row">{label}</th>{cell}' in html
    assert "{&#x27;" not in html and "{'max_tokens'" not in html
    assert f"score ≥ {batch.config['keep_rule']['min_score']}" in html


def _poll(client, batch):
    return client.get(
        reverse("synthesis:batch_detail", args=[batch.pk]),
        headers={"HX-Request": "true"},
    ).content.decode()


@pytest.mark.parametrize(
    ("status", "every"),
    [
        (BatchStatus.QUEUED, "2s"),
        (BatchStatus.RUNNING, "2s"),
        (BatchStatus.WAITING, "10s"),
        (BatchStatus.PAUSED, "10s"),
    ],
)
def test_unsettled_batches_keep_polling(admin_client, batch, status, every):
    Batch.objects.filter(pk=batch.pk).update(status=status)
    fragment = _poll(admin_client, batch)
    assert f'hx-trigger="every {every}"' in fragment
    assert "hx-swap-oob" not in fragment


@pytest.mark.parametrize(
    "status", [BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.CANCELLED]
)
def test_settled_batch_stops_polling_and_clears_the_banner(admin_client, batch, status):
    Batch.objects.filter(pk=batch.pk).update(status=status)
    fragment = _poll(admin_client, batch)
    assert "hx-trigger" not in fragment
    assert '<div id="messages" hx-swap-oob="true"></div>' in fragment


def test_cancel_asks_to_confirm(admin_client, batch):
    html = admin_client.get(
        reverse("synthesis:batch_detail", args=[batch.pk])
    ).content.decode()
    form = html.split('id="cancel-batch"')[0].rsplit("<form", 1)[1]
    assert 'hx-confirm="Cancel batch “Chest CT run”?' in form
    assert f'hx-post="{reverse("synthesis:batch_cancel", args=[batch.pk])}"' in form


def test_confirmed_cancel_through_htmx_reloads_the_page(admin_client, batch):
    url = reverse("synthesis:batch_cancel", args=[batch.pk])
    response = admin_client.post(url, headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == reverse("synthesis:batch_detail", args=[batch.pk])
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED


def _match(client, **params):
    return client.get(reverse("synthesis:batch_launch_match"), params).content.decode()


def test_launch_form_counts_matching_figure_groups(admin_client):
    make_figures(3, modality="CT")
    other = make_document("PMC000002")
    for i in range(2):
        make_figure(other, color=(200, i, 9), modality="MR")
    assert '<strong id="match-count">5</strong>' in _match(admin_client)
    assert '<strong id="match-count">3</strong>' in _match(admin_client, modality="CT")
    assert '<strong id="match-count">2</strong>' in _match(
        admin_client, document="PMC000002"
    )
    assert '<strong id="match-count">1</strong>' in _match(
        admin_client, modality="MR", sample="1"
    )
    none = _match(admin_client, modality="Colposcopy")
    assert '<strong id="match-count">0</strong>' in none and "refused" in none


def test_launch_form_offers_documents_to_pick(admin_client):
    make_document("PMC777001", title="Lung nodules on CT")
    make_document("PMC888002", title="Knee MRI")
    html = _match(admin_client, document="lung")
    assert '<option value="PMC777001">Lung nodules on CT</option>' in html
    assert "PMC888002" not in html
    assert "No imported document has this id" in _match(
        admin_client, document="PMC000404"
    )


def test_launch_refuses_a_document_that_is_not_imported(admin_client):
    make_figures(2)
    form = {
        "name": "Typo", "modality": "", "document": "PMC999999", "sample": "",
        "generator_endpoint": "fake-generator-prose",
        "verifier_endpoint": "fake-verifier",
        "temperature": "0.7", "top_p": "0.9", "max_tokens": "512", "seed": "7",
        "items_per_group": "1", "min_score": "0.9", "chunk_size": "2",
    }  # fmt: skip
    response = admin_client.post(reverse("synthesis:batch_launch"), form)
    assert response.status_code == 200
    assert "No imported document has this id" in response.content.decode()
    assert not Batch.objects.filter(name="Typo").exists()


def test_launch_form_says_the_demo_endpoint_has_random_weights(admin_client):
    html = admin_client.get(reverse("synthesis:batch_launch")).content.decode()
    assert "random weights" in html
    assert 'list="document-options"' in html and 'id="figure-match"' in html


def test_migration_counts_batches_imported_before_the_fix(imported):
    import importlib

    from django.apps import apps

    batch, _ = imported
    Batch.objects.filter(pk=batch.pk).update(
        items_generated=0, items_kept=0, figure_groups_total=0
    )
    migration = importlib.import_module(
        "synthesis.migrations.0013_count_imported_batches"
    )
    migration.count_imported(apps, None)
    batch.refresh_from_db()
    assert (batch.figure_groups_total, batch.items_generated, batch.items_kept) == (
        6,
        6,
        6,
    )


def test_settled_batch_sends_the_rerun_panel_along(admin_client, batch):
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMPLETED)
    fragment = _poll(admin_client, batch)
    assert '<section id="batch-reruns" class="card" hx-swap-oob="true"' in fragment
    assert "<h2>Re-runs</h2>" in fragment
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    assert 'id="batch-reruns"' not in _poll(admin_client, batch)
