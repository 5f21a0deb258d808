"""A real worker process takes a task from the broker and writes the database."""

from __future__ import annotations

import pytest

from synthesis import tasks
from synthesis.models import Batch, Verification
from tests.fixtures.builders import make_batch, make_item
from tests.fixtures.services import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_worker_runs_a_task_end_to_end_through_the_broker():
    batch = make_batch()
    kept = make_item(batch=batch)
    make_item(batch=batch, figures=[kept.figures.first()], sample_index=1)
    Verification.objects.create(
        item=kept,
        verifier_model="m",
        rubric_version="v1",
        essentials_passed=True,
        kept=True,
        normalized_score=1.0,
    )

    with celery_worker() as (_, queue):
        tasks.refresh_batch_counters.apply_async(args=[batch.pk], queue=queue)
        wait_for(
            lambda: Batch.objects.get(pk=batch.pk).items_generated == 2,
            timeout=30,
            message="the worker never refreshed the batch counters",
        )
    batch.refresh_from_db()
    assert (batch.items_generated, batch.items_verified, batch.items_kept) == (2, 1, 1)


def test_redis_broker_is_used_when_configured(redis_url, settings):
    assert redis_url == settings.CELERY_BROKER_URL
    from medsyn_app.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.transport.driver_type == "redis"
