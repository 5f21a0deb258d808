"""Celery entry points of export: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from review.export import services


@shared_task(
    name="review.tasks.run_export",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=3600,
    time_limit=3700,
)
def run_export(export_id: int) -> None:
    services.run_export(export_id=export_id)
