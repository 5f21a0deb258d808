"""What the batch pages show: progress, throughput and failures, read from rows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, QuerySet, Sum
from django.utils import timezone

from medsyn_app.proportions import wilson_interval
from synthesis import failures
from synthesis.models import (
    Batch,
    BatchKind,
    BatchStatus,
    ChunkStatus,
    GenerationFailure,
    ImportJob,
    Verification,
)

ACTIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING)


@dataclass(frozen=True)
class Cost:
    """What the kept items cost so far, and what the rest will at this rate."""

    prompt_tokens: int
    completion_tokens: int
    model_seconds: float
    prompt_tokens_per_kept: float | None
    completion_tokens_per_kept: float | None
    model_seconds_per_kept: float | None
    groups_remaining: int
    # At the measured rate of figure groups per second, and one GPU server per
    # endpoint the batch uses (`gpus`).
    projected_seconds: float | None
    projected_gpu_hours: float | None
    gpus: int
    keep_rate: float | None  # kept / verified, 0..1
    keep_interval: tuple[float, float] | None  # Wilson 95 %


# How often (seconds) a batch page asks again, by status; a final status is
# absent, so the page stops asking. Waiting and paused batches move only when
# the queue or the operator acts, so they are asked about less often.
POLL_SECONDS = {
    BatchStatus.QUEUED: 2,
    BatchStatus.RUNNING: 2,
    BatchStatus.WAITING: 10,
    BatchStatus.PAUSED: 10,
}


@dataclass(frozen=True)
class FailureGroup:
    """Failures of one stage with one cause: how many, and what one said."""

    stage: str  # "generation" | "verification"
    reason: str  # the stored reason or verifier error code
    cause: str
    http_status: int | None
    count: int
    example: str  # the server's message, else the backend's detail
    prompt_tokens: int | None  # the largest prompt among them

    @property
    def label(self) -> str:
        return failures.label(self.cause, self.reason)


@dataclass(frozen=True)
class Progress:
    batch: Batch
    chunks: dict[str, int]
    chunks_total: int
    percent: int
    items_per_minute: float | None
    tokens_per_second: float | None
    pass_rate: float | None
    # Per item (a sample of a figure group): made, or out of generation tries.
    units_total: int
    units_done: int
    groups_per_second: float | None
    eta_seconds: float | None
    cost: Cost
    failures_by_reason: list[tuple[str, int]]
    verifier_errors: list[tuple[str, int]]
    chunk_errors: list[tuple[str, int]]
    failure_groups: list[FailureGroup]

    @property
    def active(self) -> bool:
        return self.batch.status in ACTIVE

    @property
    def poll_seconds(self) -> int | None:
        return POLL_SECONDS.get(self.batch.status)

    @property
    def imported(self) -> bool:
        return self.batch.kind == BatchKind.IMPORTED

    @property
    def can_cancel(self) -> bool:
        return self.active or self.batch.status == BatchStatus.WAITING

    @property
    def can_resume(self) -> bool:
        unfinished = self.chunks.get(ChunkStatus.PENDING, 0) + self.chunks.get(
            ChunkStatus.FAILED, 0
        )
        return not self.active and unfinished > 0


def batches() -> list[Batch]:
    return list(
        Batch.objects.select_related("created_by").order_by("-created_at")[:200]
    )


def progress(batch: Batch) -> Progress:
    rows = batch.chunks.values("status").annotate(
        n=Count("id"),
        completion=Sum("completion_tokens"),
        prompt=Sum("prompt_tokens"),
        seconds=Sum("model_seconds"),
    )
    chunks = {row["status"]: row["n"] for row in rows}
    completion_tokens = sum(row["completion"] or 0 for row in rows)
    prompt_tokens = sum(row["prompt"] or 0 for row in rows)
    model_seconds = sum(row["seconds"] or 0.0 for row in rows)
    total = sum(chunks.values())
    elapsed = _elapsed_seconds(batch)
    config = batch.config or {}
    per_group = int(config.get("items_per_group", 1))
    units_total = batch.figure_groups_total * per_group
    allowed = int(config.get("generation_retries", 2)) + 1
    out_of_tries = (
        GenerationFailure.objects.filter(batch=batch)
        .values("group_key", "sample_index")
        .annotate(n=Count("id"))
        .filter(n__gte=allowed)
        .count()
        if batch.generation_failures
        else 0
    )
    units_done = min(units_total, batch.items_generated + out_of_tries)
    groups_done = units_done / per_group
    rate = groups_done / elapsed if elapsed and groups_done else None
    remaining = max(0, math.ceil(batch.figure_groups_total - groups_done))
    eta = remaining / rate if rate and batch.status in ACTIVE else None
    kept, verified = batch.items_kept, batch.items_verified
    gpus = len(_endpoint_names(config))
    cost = Cost(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        model_seconds=round(model_seconds, 1),
        prompt_tokens_per_kept=round(prompt_tokens / kept, 1) if kept else None,
        completion_tokens_per_kept=round(completion_tokens / kept, 1) if kept else None,
        model_seconds_per_kept=round(model_seconds / kept, 3) if kept else None,
        groups_remaining=remaining,
        projected_seconds=round(remaining / rate, 1) if rate else None,
        projected_gpu_hours=(
            round(remaining / rate * gpus / 3600, 3) if rate and gpus else None
        ),
        gpus=gpus,
        keep_rate=kept / verified if verified else None,
        keep_interval=wilson_interval(kept, verified) if verified else None,
    )
    return Progress(
        batch=batch,
        chunks=chunks,
        chunks_total=total,
        percent=math.floor(100 * units_done / units_total) if units_total else 0,
        items_per_minute=(
            round(batch.items_generated * 60 / elapsed, 1) if elapsed else None
        ),
        tokens_per_second=round(completion_tokens / elapsed, 1) if elapsed else None,
        pass_rate=(
            round(100 * batch.items_kept / batch.items_verified, 1)
            if batch.items_verified
            else None
        ),
        units_total=units_total,
        units_done=units_done,
        groups_per_second=round(rate, 3) if rate else None,
        eta_seconds=round(eta, 1) if eta is not None else None,
        cost=cost,
        failures_by_reason=_counts(
            GenerationFailure.objects.filter(batch=batch), "reason"
        ),
        verifier_errors=_counts(
            current_verifications(batch_id=batch.pk).exclude(error=""), "error"
        ),
        chunk_errors=_counts(batch.chunks.exclude(last_error=""), "last_error")[:10],
        failure_groups=failure_groups(batch),
    )


def _endpoint_names(config: dict[str, Any]) -> set[str]:
    """The distinct endpoints a batch's roles use, replicas included."""
    names = set()
    for role in ("generator", "verifier"):
        chosen = config.get(role) or {}
        names.add(chosen.get("endpoint"))
        names.update(r.get("endpoint") for r in chosen.get("replicas") or ())
    names.discard(None)
    return names


def failure_groups(batch: Batch) -> list[FailureGroup]:
    """Every failed generation and verification of a batch, grouped by cause,
    each group with an example of what the server (or the backend) said."""
    generation = (
        GenerationFailure.objects.filter(batch=batch)
        .values("reason", "cause", "http_status")
        .annotate(
            n=Count("id"),
            said=Max("server_message"),
            detail=Max("detail"),
            prompt=Max("prompt_tokens"),
        )
    )
    verification = (
        current_verifications(batch_id=batch.pk)
        .exclude(error="")
        .values("error", "cause", "http_status")
        .annotate(
            n=Count("id"),
            said=Max("server_message"),
            detail=Max("error_detail"),
            prompt=Max("prompt_tokens"),
        )
    )
    groups = [
        FailureGroup(
            stage,
            row.get("reason") or row.get("error") or "",
            row["cause"],
            row["http_status"],
            row["n"],
            (row["said"] or row["detail"] or "")[:300],
            row["prompt"],
        )
        for stage, rows in (("generation", generation), ("verification", verification))
        for row in rows
    ]
    return sorted(groups, key=lambda g: (-g.count, g.stage, g.reason, g.cause))


def current_verifications(*, batch_id: int) -> QuerySet[Verification]:
    """Each item's newest verification (a re-run adds one; older ones are history)."""
    newer = Verification.objects.filter(item=OuterRef("item"), pk__gt=OuterRef("pk"))
    return Verification.objects.filter(item__batch_id=batch_id).filter(~Exists(newer))


def rerun_panel(batch: Batch) -> dict[str, Any]:
    """The batch's latest re-runs, and whether the page should keep polling."""
    reruns = list(batch.reruns.select_related("created_by")[:50])
    return {
        "reruns": reruns,
        "reruns_running": any(not r.is_finished for r in reruns),
    }


def _counts(queryset: Any, field: str) -> list[tuple[str, int]]:
    return list(
        queryset.values_list(field).annotate(n=Count("id")).order_by("-n", field)
    )


def _elapsed_seconds(batch: Batch) -> float | None:
    if batch.started_at is None:
        return None
    end = batch.finished_at or timezone.now()
    return max((end - batch.started_at).total_seconds(), 1e-6)


def import_jobs(batch: Batch) -> list[ImportJob]:
    """The imports that brought an imported batch its items (oldest first)."""
    ids = batch.config.get("import_job_ids", []) if batch.config else []
    return list(ImportJob.objects.filter(pk__in=ids).order_by("pk"))


SAMPLING_FIELDS = (
    ("temperature", "Temperature"),
    ("top_p", "Top-p"),
    ("max_tokens", "Max tokens"),
    ("seed", "Seed"),
)


def sampling_rows(sampling: Any) -> list[tuple[str, Any]]:
    """A batch's sampling settings as labelled fields, in a fixed order."""
    if not isinstance(sampling, dict):
        return []
    return [(label, sampling[key]) for key, label in SAMPLING_FIELDS if key in sampling]
