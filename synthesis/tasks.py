"""Celery entry points of the synthesis app: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from synthesis import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def refresh_batch_counters(batch_id: int) -> None:
    services.refresh_batch_counters(batch_id=batch_id)
