"""Stored dashboard figures, kept current within seconds of every decision.

Counting the whole pool takes over a second at 100,000 items, so the page and
its API read the stored result for the default settings. Each snapshot
carries a *watermark*: the latest decision, undo, item, verifier verdict and
audit event it includes, read in one query of five index lookups. A decision
costs nothing extra (no counter row that every decision must lock); the beat task
`review.quality.tasks.refresh_stale_snapshots` compares watermarks every few
seconds (`MEDSYN_QUALITY_REFRESH_SECONDS`, default 5) and recounts only the
snapshots that are behind.

The page serves a snapshot that is behind only while the refresh is due (it
was computed less than `STALE_GRACE` ago) and says so; an older one that is
behind (no beat running) is recounted on the spot. Snapshots are also
recounted past `MEDSYN_QUALITY_MAX_AGE_S` (300 s), for any change the
watermark could miss, and on request (`fresh`); custom settings are always
counted live.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from medsyn_app.audit.models import AuditEvent
from review.models import QualitySnapshot, Review
from review.quality.dashboard import dashboard_figures
from synthesis.models import Batch, Item, Verification

DEFAULT_OPTIONS = {"target_precision": 0.95, "min_support": 30, "margin": 0.05}
# A snapshot behind the data is served only while this young: the beat task
# refreshes it well within that; past it, no refresh is coming.
STALE_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Figures:
    """What the page shows: the figures, when counted, and whether behind."""

    figures: dict[str, Any]
    computed_at: Any
    behind: bool = False


def max_age() -> timedelta:
    return timedelta(seconds=getattr(settings, "MEDSYN_QUALITY_MAX_AGE_S", 300))


def scope_of(batch: Batch | None) -> str:
    return "all" if batch is None else f"batch:{batch.pk}"


def watermark() -> dict[str, Any]:
    """The newest decision, undo, item, verdict and audit event (one query)."""
    latest = {
        "review": Review.objects.order_by("-created_at").values("created_at")[:1],
        "undo": Review.objects.filter(undone_at__isnull=False)
        .order_by("-undone_at")
        .values("undone_at")[:1],
        "item": Item.objects.order_by("-pk").values("pk")[:1],
        "verification": Verification.objects.order_by("-pk").values("pk")[:1],
        # Every other state change (an item sent back to review, a policy or
        # an exclusion) writes an audit event in its own transaction.
        "audit": AuditEvent.objects.order_by("-pk").values("pk")[:1],
    }
    parts, params = [], []
    for name, query in latest.items():
        sql, query_params = query.query.sql_with_params()
        parts.append(f"({sql}) AS {name}")
        params.extend(query_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)  # noqa: S608
        row = cursor.fetchone()
    return {
        name: value.isoformat() if hasattr(value, "isoformat") else value
        for name, value in zip(latest, row, strict=True)
    }


@transaction.atomic
def refresh(*, batch: Batch | None = None) -> QualitySnapshot:
    """Recount the default-settings figures for a scope and store them.

    The watermark is read before counting, so the figures include at least
    what it names; a change that lands during the count shows as behind.
    """
    start = time.perf_counter()
    mark = watermark()
    figures = dashboard_figures(batch, **DEFAULT_OPTIONS)
    snapshot, _ = QualitySnapshot.objects.update_or_create(
        scope=scope_of(batch),
        defaults={
            "figures": figures,
            "computed_at": timezone.now(),
            "seconds_to_compute": time.perf_counter() - start,
            "watermark": mark,
        },
    )
    return snapshot


def _batch_of(scope: str) -> Batch | None:
    if scope == "all":
        return None
    return Batch.objects.filter(pk=int(scope.removeprefix("batch:"))).first()


def refresh_stale() -> list[str]:
    """Recount every stored snapshot that is behind the data; returns their scopes.

    Each is locked while recounted, skipping one another run is already
    recounting, so overlapping beats never count the same scope twice.
    """
    current = watermark()
    refreshed = []
    stale = QualitySnapshot.objects.exclude(watermark=current).order_by("pk")
    for scope in stale.values_list("scope", flat=True):
        with transaction.atomic():
            locked = (
                QualitySnapshot.objects.select_for_update(skip_locked=True)
                .filter(scope=scope)
                .exclude(watermark=current)
                .first()
            )
            if locked is None:
                continue
            batch = _batch_of(scope)
            if batch is None and scope != "all":
                locked.delete()  # its batch is gone
                continue
            refresh(batch=batch)
            refreshed.append(scope)
    return refreshed


def figures_for(
    batch: Batch | None, *, options: dict[str, Any], fresh: bool = False
) -> Figures:
    """The figures to show: stored when current (or about to be), else live."""
    if options != DEFAULT_OPTIONS:
        return Figures(dashboard_figures(batch, **options), timezone.now())
    snapshot = QualitySnapshot.objects.filter(scope=scope_of(batch)).first()
    if fresh or snapshot is None:
        snapshot = refresh(batch=batch)
        return Figures(snapshot.figures, snapshot.computed_at)
    age = timezone.now() - snapshot.computed_at
    behind = snapshot.watermark != watermark()
    if age > max_age() or (behind and age > STALE_GRACE):
        snapshot = refresh(batch=batch)
        behind = False
    return Figures(snapshot.figures, snapshot.computed_at, behind=behind)
