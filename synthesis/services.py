"""Every write of the synthesis app goes through here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from synthesis import batch_config, figure_selection, rebalancing
from synthesis.batch_config import BatchConfigError
from synthesis.models import (
    Batch,
    BatchKind,
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


@transaction.atomic
def record_import(*, batch_id: int, import_job_id: int | None) -> Batch:
    """An import added items to an imported batch: count them, note the import.

    Imported items skip generation and verification and go straight to
    review, so every one counts as kept; figure groups are those the items
    show. The import's id is kept in the batch config so the batch page can
    say where its items came from.
    """
    batch = Batch.objects.select_for_update().get(pk=batch_id, kind=BatchKind.IMPORTED)
    items = batch.items.all()
    batch.items_generated = items.count()
    batch.items_kept = batch.items_generated
    batch.figure_groups_total = (
        Figure.objects.filter(items__batch=batch).values("group_key").distinct().count()
    )
    fields = ["items_generated", "items_kept", "figure_groups_total"]
    jobs = list(batch.config.get("import_job_ids", []))
    if import_job_id is not None and import_job_id not in jobs:
        batch.config = {**batch.config, "import_job_ids": [*jobs, import_job_id]}
        fields.append("config")
    batch.save(update_fields=fields)
    return batch


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
    groups = figure_selection.select_groups(
        figure_filter, seed=full["sampling"].get("seed") or 0
    )
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
    batch.status = BatchStatus.QUEUED
    batch.finished_at = None
    batch.save(update_fields=["status", "finished_at"])
    _enqueue_on_commit(enqueue, batch, pending)
    return batch


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
