"""Celery entry points of ingest: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

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
