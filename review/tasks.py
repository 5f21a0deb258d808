"""Celery entry points of the review app: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from review.export import service


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=3600,
    time_limit=3700,
)
def run_export(export_id: int) -> None:
    service.run_export(export_id=export_id)
