"""Celery entry points of the synthesis app: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from synthesis import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def refresh_batch_counters(batch_id: int) -> None:
    services.refresh_batch_counters(batch_id=batch_id)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=6 * 3600,
    time_limit=6 * 3600 + 60,
)
def run_import_job(job_id: int) -> None:
    """Import an uploaded source (routed to the `default` queue by setting)."""
    # import_jobs enqueues this task, so it is imported here, not at the top.
    from synthesis import import_jobs

    import_jobs.run_import(job_id=job_id)
