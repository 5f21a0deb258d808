"""Celery entry point for the quality dashboard: keep its snapshots current."""

from __future__ import annotations

from celery import shared_task

from review.quality import snapshots


@shared_task(
    name="review.quality.tasks.refresh_stale_snapshots",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=120,
    time_limit=180,
)
def refresh_stale_snapshots() -> None:
    """Recount the dashboard snapshots that fell behind the latest decisions."""
    snapshots.refresh_stale()
