"""Celery entry points of the synthesis app: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from synthesis import chunks, services
from synthesis.backends.base import BackendUnavailable


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
    """Import an uploaded source (on the `default` queue)."""
    # import_jobs enqueues this task, so it is imported here, not at the top.
    from synthesis import import_jobs

    import_jobs.run_import(job_id=job_id)


# The queue comes from the batch config (MEDSYN_SYNTHESIS_QUEUE, "gpu" by
# default) when the chunk is enqueued, so one batch can target other workers.
@shared_task(
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
def process_chunk(chunk_id: int) -> None:
    """Generate and verify one chunk; a redelivery finds it done or leased."""
    chunks.run(chunk_id=chunk_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep_expired_leases() -> None:
    """Periodic (celery beat): re-queue chunks whose worker died."""
    services.sweep_expired_leases()
