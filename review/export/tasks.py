"""Celery entry points of export: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from medsyn_app import queueing
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


def start_export(export_id: int) -> None:
    """The enqueue function pages and the API give `services.create_export`:
    send once committed; if the queue is down, the export waits (503/banner)."""
    queueing.send_on_commit(
        lambda: run_export.delay(export_id),
        what=f"Export {export_id}",
        object_id=export_id,
        mark_waiting=lambda reason: services.mark_waiting(
            export_id=export_id, reason=reason
        ),
    )


@shared_task(
    name="review.tasks.requeue_waiting_exports",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def requeue_waiting_exports() -> None:
    """Periodic (celery beat): send exports saved while the queue was down."""
    services.requeue_waiting(send=run_export.delay)
