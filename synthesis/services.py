"""Every write of the synthesis app goes through here."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from medsyn_app.audit import services as audit
from synthesis import batch_config, rebalancing
from synthesis.batch_config import BatchConfigError
from synthesis.models import (
    Batch,
    BatchStatus,
    Chunk,
    ChunkStatus,
    Figure,
    GenerationFailure,
    Item,
    ItemStatus,
)

ACTIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING)

# Sends chunk ids to a queue (`synthesis.tasks.send_chunks`); services are given
# it rather than importing tasks, so tasks stay the only entry points.
ChunkSender = Callable[[Sequence[int], str], None]


@transaction.atomic
def refresh_batch_counters(*, batch_id: int) -> Batch:
    """Recompute a batch's cached counters from its rows (the rows are the ledger)."""
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    counts = batch.items.aggregate(
        generated=Count("id"),
        verified=Count("id", filter=Q(verifications__isnull=False), distinct=True),
        kept=Count("id", filter=Q(verifications__kept=True), distinct=True),
    )
    batch.items_generated = counts["generated"]
    batch.items_verified = counts["verified"]
    batch.items_kept = counts["kept"]
    batch.generation_failures = GenerationFailure.objects.filter(batch=batch).count()
    batch.save(
        update_fields=[
            "items_generated",
            "items_verified",
            "items_kept",
            "generation_failures",
        ]
    )
    return batch


def _select_groups(figure_filter: Mapping[str, Any], seed: int) -> list[list[int]]:
    """Figure ids grouped by figure group, in a stable order (then sampled)."""
    figures = Figure.objects.all()
    if figure_filter.get("modality"):
        figures = figures.filter(modality=figure_filter["modality"])
    if figure_filter.get("document"):
        figures = figures.filter(document__source_id=figure_filter["document"])
    if figure_filter.get("figure_ids"):
        figures = figures.filter(pk__in=figure_filter["figure_ids"])
    groups: dict[str, list[int]] = {}
    for key, figure_id in figures.order_by("group_key", "id").values_list(
        "group_key", "id"
    ):
        groups.setdefault(key, []).append(figure_id)
    chosen = list(groups.values())
    if sample := figure_filter.get("sample"):
        rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not secrecy
        chosen = sorted(rng.sample(chosen, min(sample, len(chosen))))
    if limit := figure_filter.get("limit"):
        chosen = chosen[:limit]
    return chosen


def launch_batch(
    *,
    created_by: Any,
    name: str,
    figure_filter: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    enqueue: ChunkSender | None,
) -> Batch:
    """Snapshot the full config, cut the selected figure groups into chunks and
    queue them once the transaction commits (so no worker sees a half batch).
    With `enqueue=None` the chunks wait until a caller sends them. A config
    the launcher may not set raises `BatchConfigError` naming the field."""
    figure_filter = dict(figure_filter or {})
    batch_config.check_filter(figure_filter)
    full = batch_config.resolve(config or {})
    full["figure_filter"] = figure_filter
    groups = _select_groups(figure_filter, seed=full["sampling"].get("seed") or 0)
    if not groups:
        raise BatchConfigError("no figures match this selection")
    figure_keys = dict(
        Figure.objects.filter(pk__in=[g[0] for g in groups]).values_list(
            "pk", "group_key"
        )
    )
    size = full["chunk_size"]
    with transaction.atomic():
        batch = Batch.objects.create(
            name=name,
            created_by=created_by if getattr(created_by, "pk", None) else None,
            status=BatchStatus.QUEUED,
            config=full,
            figure_groups_total=len(groups),
        )
        chunks = Chunk.objects.bulk_create(
            Chunk(
                batch=batch,
                index=i,
                group_keys=[figure_keys[g[0]] for g in groups[start : start + size]],
                figure_ids=[fid for g in groups[start : start + size] for fid in g],
            )
            for i, start in enumerate(range(0, len(groups), size))
        )
        if enqueue is not None:
            _enqueue_on_commit(enqueue, batch, [c.pk for c in chunks])
    return batch


def _enqueue_on_commit(
    enqueue: ChunkSender, batch: Batch, chunk_ids: list[int]
) -> None:
    queue = batch.config.get("queue", "gpu")
    transaction.on_commit(lambda: enqueue(chunk_ids, queue))


@transaction.atomic
def cancel_batch(*, batch_id: int) -> Batch:
    """Stop handing out chunks; a chunk already running finishes and is kept."""
    now = timezone.now()
    Batch.objects.filter(pk=batch_id, status__in=ACTIVE).update(
        status=BatchStatus.CANCELLED,
        started_at=Coalesce("started_at", Value(now)),
        finished_at=now,
    )
    return Batch.objects.get(pk=batch_id)


@transaction.atomic
def resume_batch(*, batch_id: int, enqueue: ChunkSender) -> Batch:
    """Queue again whatever is not done: pending chunks and failed ones (reset)."""
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    if batch.status in ACTIVE:
        raise BatchConfigError("this batch is already running")
    batch.chunks.filter(status=ChunkStatus.FAILED).update(
        status=ChunkStatus.PENDING,
        attempts=0,
        lease_token="",
        lease_expires_at=None,
        updated_at=timezone.now(),
    )
    pending = list(
        batch.chunks.filter(status=ChunkStatus.PENDING).values_list("pk", flat=True)
    )
    if not pending:
        raise BatchConfigError("nothing left to run in this batch")
    was, reason = batch.status, batch.status_reason
    batch.status = BatchStatus.QUEUED
    batch.finished_at = None
    batch.status_reason = ""
    batch.save(update_fields=["status", "finished_at", "status_reason"])
    if was == BatchStatus.PAUSED:
        audit.record(
            "batch.resume",
            target=batch,
            before={"status": was, "status_reason": reason},
            after={"status": batch.status},
        )
    _enqueue_on_commit(enqueue, batch, pending)
    return batch


@transaction.atomic
def pause_batch(*, batch_id: int, reason: str, cause: str = "") -> bool:
    """Stop a running batch whose requests fail with a configuration error.

    Only an active batch pauses (a conditional update, so of several workers
    hitting the same error one records it); its chunks wait, pending, until an
    admin fixes the server or the settings and resumes it. The audit trail
    records the pause with no actor: MedSyn itself decided.
    """
    paused = Batch.objects.filter(pk=batch_id, status__in=ACTIVE).update(
        status=BatchStatus.PAUSED, status_reason=reason
    )
    if paused:
        audit.record(
            "batch.pause",
            actor=None,
            object_type="synthesis.batch",
            object_id=batch_id,
            after={"status": BatchStatus.PAUSED, "reason": reason, "cause": cause},
        )
    return bool(paused)


def record_server_info(*, batch_id: int, role: str, info: Mapping[str, Any]) -> None:
    """Keep what a role's server said it serves on the batch, once it changes."""
    known = Batch.objects.filter(pk=batch_id).values_list("server_info", flat=True)
    if (known.first() or {}).get(role) == info:
        return
    with transaction.atomic():
        batch = Batch.objects.select_for_update().only("server_info").get(pk=batch_id)
        batch.server_info = {**batch.server_info, role: dict(info)}
        batch.save(update_fields=["server_info"])


def sweep_expired_leases(*, enqueue: ChunkSender) -> int:
    """Hand out again the chunks whose worker died (lease expired); fail the
    ones that have used all their tries. Returns how many chunks it touched.

    Pending chunks are left alone: their messages wait in the broker (acks_late
    keeps them until done). Should a broker lose them, cancel and resume the
    batch to queue them again.
    """
    now = timezone.now()
    touched = 0
    expired = Chunk.objects.filter(
        status=ChunkStatus.LEASED, lease_expires_at__lt=now, batch__status__in=ACTIVE
    ).select_related("batch")
    for chunk in expired:
        exhausted = chunk.attempts >= chunk.batch.config.get("max_chunk_attempts", 3)
        with transaction.atomic():
            changed = Chunk.objects.filter(
                pk=chunk.pk, status=ChunkStatus.LEASED, lease_token=chunk.lease_token
            ).update(
                status=ChunkStatus.FAILED if exhausted else ChunkStatus.PENDING,
                updated_at=now,
                lease_token="",
                lease_expires_at=None,
                last_error=(
                    f"worker lost {chunk.attempts} times; giving up"
                    if exhausted
                    else f"lease expired on attempt {chunk.attempts}"
                ),
            )
            if changed and not exhausted:
                _enqueue_on_commit(enqueue, chunk.batch, [chunk.pk])
        touched += changed
        if changed and exhausted:
            finish_batch_if_done(batch_id=chunk.batch_id)
    return touched


def finish_batch_if_done(*, batch_id: int) -> bool:
    """Close a batch whose chunks are all done or failed, and rebalance its keys.

    The status change is a conditional update, so rebalancing runs exactly once
    even when two workers finish the last chunks at the same moment.
    """
    if Chunk.objects.filter(
        batch_id=batch_id, status__in=[ChunkStatus.PENDING, ChunkStatus.LEASED]
    ).exists():
        return False
    any_done = Chunk.objects.filter(batch_id=batch_id, status=ChunkStatus.DONE).exists()
    now = timezone.now()
    with transaction.atomic():
        closed = Batch.objects.filter(pk=batch_id, status__in=ACTIVE).update(
            status=BatchStatus.COMPLETED if any_done else BatchStatus.FAILED,
            started_at=Coalesce("started_at", Value(now)),
            finished_at=now,
        )
        if closed:
            rebalance_answers(batch_id=batch_id)
    refresh_batch_counters(batch_id=batch_id)
    return bool(closed)


def rebalance_answers(*, batch_id: int) -> int:
    """Spread the kept items' keys evenly over A–E (method §2.H).

    Only items still awaiting review move; a reviewed item keeps its letters.
    """
    rows = list(
        Item.objects.filter(batch_id=batch_id, status=ItemStatus.KEPT)
        .order_by("id")
        .values_list("id", "options", "answer")
    )
    changes = rebalancing.rebalance(rows)
    items = [
        Item(pk=item_id, options=new.options, answer=new.answer)
        for item_id, new in changes.items()
    ]
    Item.objects.bulk_update(items, ["options", "answer"], batch_size=500)
    # A version bump makes an edit based on the old lettering a stale save.
    Item.objects.filter(pk__in=changes).update(version=F("version") + 1)
    return len(items)
