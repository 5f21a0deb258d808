"""Celery entry points of the synthesis app: thin, take ids, safe to run twice.

Each task keeps the name it was first registered under: queue routes and the
beat schedule refer to tasks by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import Task, shared_task

from synthesis import chunks, reruns, services
from synthesis.backends.base import BackendUnavailable

# Work that asks a model: acknowledged only once done (a killed worker's task is
# delivered again), retried with backoff while the model server is unavailable,
# and stopped after three hours.
MODEL_WORK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    "autoretry_for": (BackendUnavailable,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 5,
    "soft_time_limit": 3 * 3600,
    "time_limit": 3 * 3600 + 300,
}


@shared_task(
    name="synthesis.tasks.refresh_batch_counters",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def refresh_batch_counters(batch_id: int) -> None:
    services.refresh_batch_counters(batch_id=batch_id)


# The queue comes from the batch config (MEDSYN_SYNTHESIS_QUEUE, "gpu" by
# default) when the chunk is enqueued, so one batch can target other workers.
@shared_task(name="synthesis.tasks.process_chunk", **MODEL_WORK)
def process_chunk(chunk_id: int) -> None:
    """Generate and verify one chunk; a redelivery finds it done or leased."""
    chunks.run(chunk_id=chunk_id)


@shared_task(
    name="synthesis.tasks.sweep_expired_leases",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def sweep_expired_leases() -> None:
    """Periodic (celery beat): re-queue chunks whose worker died."""
    services.sweep_expired_leases(enqueue=send_chunks)


@shared_task(
    name="synthesis.tasks.requeue_waiting_batches",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def requeue_waiting_batches() -> None:
    """Periodic (celery beat): send batches and re-runs saved while the queue
    was down."""
    services.requeue_waiting(enqueue=send_chunks)
    reruns.requeue_waiting(enqueue=send_rerun)


@shared_task(name="synthesis.tasks.run_rerun", bind=True, **MODEL_WORK)
def run_rerun(self: Task, rerun_id: int) -> None:
    """Verify or generate again part of a batch; a redelivery skips what is done.
    A model server still down after the last retry fails the re-run, saying so."""
    try:
        reruns.run(rerun_id=rerun_id)
    except BackendUnavailable as exc:
        if self.request.retries >= self.max_retries:
            reruns.give_up(rerun_id=rerun_id, error=f"model server unavailable: {exc}")
            return
        raise


def send_rerun(rerun_id: int, queue: str) -> None:
    """The enqueue function a re-run's launch and the waiting sweep are given."""
    run_rerun.apply_async(args=[rerun_id], queue=queue)


def send_chunks(chunk_ids: Sequence[int], queue: str) -> None:
    """The enqueue function that launch, resume and the sweep are given."""
    for chunk_id in chunk_ids:
        process_chunk.apply_async(args=[chunk_id], queue=queue)
