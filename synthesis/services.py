"""Every write of the synthesis app goes through here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import connections, transaction
from django.db.models import Count, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from medsyn_app import queueing
from medsyn_app.audit import services as audit
from synthesis import batch_config, figure_selection, rebalancing, selectors
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
# A waiting batch has work saved for a queue that was down: it may be cancelled.
CANCELLABLE = (*ACTIVE, BatchStatus.WAITING)

# Sends chunk ids to a queue (`synthesis.tasks.send_chunks`); services are given
# it rather than importing tasks, so tasks stay the only entry points.
ChunkSender = Callable[[Sequence[int], str], None]


@transaction.atomic
def refresh_batch_counters(*, batch_id: int) -> Batch:
    """Recompute a batch's cached counters from its rows (the rows are the ledger)."""
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    counts = batch.items.aggregate(
        # Distinct: an item with several verifications joins several rows.
        generated=Count("id", distinct=True),
        verified=Count("id", filter=Q(verifications__isnull=False), distinct=True),
    )
    batch.items_generated = counts["generated"]
    batch.items_verified = counts["verified"]
    # Kept by the newest verdict: a re-run that drops an item uncounts it.
    batch.items_kept = (
        selectors.current_verifications(batch_id=batch_id).filter(kept=True).count()
    )
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
        audit.record(
            "batch.launch",
            actor=created_by,
            target=batch,
            after={
                "name": batch.name,
                "figure_groups": batch.figure_groups_total,
                "chunks": len(chunks),
                "generator": full["generator"].get("endpoint"),
                "verifier": full["verifier"].get("endpoint"),
            },
        )
        if enqueue is not None:
            _enqueue_on_commit(enqueue, batch, [c.pk for c in chunks])
    return batch


def _enqueue_on_commit(
    enqueue: ChunkSender, batch: Batch, chunk_ids: list[int]
) -> None:
    """Send the chunks once committed; if the broker is down the batch waits
    (and `queueing.QueueUnavailable` reaches the caller: banner or 503)."""
    queue = batch.config.get("queue", "gpu")
    queueing.send_on_commit(
        lambda: enqueue(chunk_ids, queue),
        what=f"Batch {batch.pk}",
        object_id=batch.pk,
        mark_waiting=lambda reason: mark_waiting(batch_id=batch.pk, reason=reason),
    )


def mark_waiting(*, batch_id: int, reason: str) -> bool:
    """The queue did not take this batch's chunks: say so on the row and in the
    log. A batch cancelled or finished meanwhile is left as it is."""
    with transaction.atomic():
        moved = Batch.objects.filter(pk=batch_id, status__in=ACTIVE).update(
            status=BatchStatus.WAITING,
            status_reason=f"Waiting for the task queue: {reason}"[:2000],
        )
        if moved:
            audit.record(
                "batch.waiting",
                actor=None,
                object_type="synthesis.batch",
                object_id=batch_id,
                after={"reason": reason},
            )
    return bool(moved)


def requeue_waiting(*, enqueue: ChunkSender) -> int:
    """Send waiting batches' unfinished chunks again, oldest first; stop at the
    first failure (the queue is still down). Returns how many batches were sent.

    A chunk whose message did reach the broker before the outage may be sent
    twice; the second delivery finds it claimed or done and does nothing.
    """
    sent = 0
    for batch_id in (
        Batch.objects.filter(status=BatchStatus.WAITING)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            if not Batch.objects.filter(pk=batch_id, status=BatchStatus.WAITING).update(
                status=BatchStatus.QUEUED, status_reason=""
            ):
                continue
            audit.record(
                "batch.requeued",
                actor=None,
                object_type="synthesis.batch",
                object_id=batch_id,
            )
        batch = Batch.objects.get(pk=batch_id)
        pending = list(
            batch.chunks.filter(status=ChunkStatus.PENDING).values_list("pk", flat=True)
        )
        queue = batch.config.get("queue", "gpu")
        if error := queueing.try_send(lambda c=pending, q=queue: enqueue(c, q)):
            mark_waiting(batch_id=batch_id, reason=error)
            break
        if not pending:
            finish_batch_if_done(batch_id=batch_id)
        sent += 1
    return sent


@transaction.atomic
def cancel_batch(*, batch_id: int) -> Batch:
    """Stop handing out chunks; a chunk already running finishes and is kept."""
    now = timezone.now()
    before = Batch.objects.values_list("status", flat=True).get(pk=batch_id)
    changed = Batch.objects.filter(pk=batch_id, status__in=CANCELLABLE).update(
        status=BatchStatus.CANCELLED,
        status_reason="",
        started_at=Coalesce("started_at", Value(now)),
        finished_at=now,
    )
    batch = Batch.objects.get(pk=batch_id)
    if changed:
        audit.record(
            "batch.cancel",
            target=batch,
            before={"status": before},
            after={"status": batch.status},
        )
    return batch


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
    before, reason = batch.status, batch.status_reason
    batch.status = BatchStatus.QUEUED
    batch.status_reason = ""
    batch.finished_at = None
    batch.save(update_fields=["status", "status_reason", "finished_at"])
    audit.record(
        "batch.resume",
        target=batch,
        before={"status": before, "status_reason": reason},
        after={"status": batch.status, "chunks": len(pending)},
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
        try:
            changed = _hand_back(chunk, exhausted=exhausted, now=now, enqueue=enqueue)
        except queueing.QueueUnavailable:
            touched += 1
            break  # the batch now waits; the waiting sweep sends it later
        touched += changed
        if changed and exhausted:
            finish_batch_if_done(batch_id=chunk.batch_id)
    return touched


@transaction.atomic
def _hand_back(chunk: Chunk, *, exhausted: bool, now: Any, enqueue: ChunkSender) -> int:
    """Free one expired chunk (or fail it when out of tries) and send it again."""
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
    return changed


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
    # One prepared UPDATE per row, sent in a pipeline: `bulk_update` builds a
    # CASE WHEN per row and field in Python, ~0.4 ms of CPU a row. The version
    # bump makes an edit based on the old lettering a stale save.
    connection = connections[Item.objects.db]
    options = Item._meta.get_field("options")
    table = connection.ops.quote_name(Item._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET options = %s, answer = %s, "  # noqa: S608 - our table
            "version = version + 1 WHERE id = %s",
            [
                (options.get_db_prep_save(new.options, connection), new.answer, pk)
                for pk, new in changes.items()
            ],
        )
    return len(changes)
