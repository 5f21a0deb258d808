"""Celery entry points of ingest: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from medsyn_app import queueing
from synthesis.ingest import services


# The name predates the ingest package; queue routes and workers know it by it.
@shared_task(
    name="synthesis.tasks.run_import_job",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 60,
)
def run_import_job(job_id: int) -> None:
    """Import an uploaded source (on the `default` queue)."""
    services.run_import(job_id=job_id)


def start_import(job_id: int) -> None:
    """The enqueue function pages and the API give `services.start_import`:
    send once committed; if the queue is down, the job waits (503/banner)."""
    queueing.send_on_commit(
        lambda: run_import_job.delay(job_id),
        what=f"Import {job_id}",
        object_id=job_id,
        mark_waiting=lambda reason: services.mark_waiting(job_id=job_id, reason=reason),
    )


@shared_task(
    name="synthesis.tasks.requeue_waiting_imports",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def requeue_waiting_imports() -> None:
    """Periodic (celery beat): send imports saved while the queue was down."""
    services.requeue_waiting(send=run_import_job.delay)
