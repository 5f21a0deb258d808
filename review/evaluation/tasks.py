"""Celery entry points of evaluation: thin, take ids, safe to run twice."""

from __future__ import annotations

from collections.abc import Sequence

from celery import shared_task

from review.evaluation import services
from synthesis.backends.base import BackendUnavailable


@shared_task(
    name="review.evaluation.tasks.evaluate_items",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(BackendUnavailable,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    soft_time_limit=3 * 3600,
    time_limit=3 * 3600 + 300,
)
def evaluate_items(run_id: int, item_ids: list[int]) -> None:
    """Answer one slice of a run; a redelivery finds its items predicted."""
    services.evaluate_items(run_id=run_id, item_ids=item_ids)


def send_slices(run_id: int, slices: Sequence[Sequence[int]], queue: str) -> None:
    """The enqueue function that launch and resume are given."""
    for item_ids in slices:
        evaluate_items.apply_async(args=[run_id, list(item_ids)], queue=queue)
