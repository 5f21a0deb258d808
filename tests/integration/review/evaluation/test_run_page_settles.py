"""The run page follows an active run and, once it settles, renders results and
predictions in place (the finding: they needed a reload), with no more polling."""

from __future__ import annotations

import pytest
from django.urls import reverse

from review.evaluation.models import EvaluationRun, RunStatus
from tests.fixtures.builders import make_evaluation_set
from tests.integration.review.evaluation.test_pages_and_api import finished_run

pytestmark = pytest.mark.django_db


def _poll(client, run):
    return client.get(
        reverse("evaluation:run", args=[run.pk]), headers={"HX-Request": "true"}
    ).content.decode()


def test_last_poll_brings_results_and_predictions(admin_client):
    run = finished_run(make_evaluation_set(answers="AAB"), "fake-answerer")
    fragment = _poll(admin_client, run)
    assert "<html" not in fragment
    assert 'id="results"' in fragment and "Wilson 95% interval" in fragment
    assert 'id="predictions"' in fragment
    assert "hx-trigger" not in fragment
    assert '<div id="messages" hx-swap-oob="true"></div>' in fragment


@pytest.mark.parametrize("status", [RunStatus.QUEUED, RunStatus.RUNNING])
def test_active_run_keeps_polling(admin_client, status):
    run = finished_run(make_evaluation_set(answers="AB"), "fake-answerer")
    EvaluationRun.objects.filter(pk=run.pk).update(status=status)
    fragment = _poll(admin_client, run)
    assert 'hx-trigger="every 2s"' in fragment and "hx-swap-oob" not in fragment
