"""Stored dashboard figures: count once, read many times.

Counting the whole pool takes seconds at 100,000 items, so the dashboard and
its API read the last stored result for the default settings while it is
younger than `MEDSYN_QUALITY_MAX_AGE_S` (default 300 s), and recount when it is
older, when the admin asks (`fresh`), or when the settings differ from the
defaults. The page shows when the figures were computed.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from review.models import QualitySnapshot
from review.quality.dashboard import dashboard_figures
from synthesis.models import Batch

DEFAULT_OPTIONS = {"target_precision": 0.95, "min_support": 30, "margin": 0.05}


def max_age() -> timedelta:
    return timedelta(seconds=getattr(settings, "MEDSYN_QUALITY_MAX_AGE_S", 300))


def scope_of(batch: Batch | None) -> str:
    return "all" if batch is None else f"batch:{batch.pk}"


@transaction.atomic
def refresh(*, batch: Batch | None = None) -> QualitySnapshot:
    """Recount the default-settings figures for a scope and store them."""
    start = time.perf_counter()
    figures = dashboard_figures(batch, **DEFAULT_OPTIONS)
    snapshot, _ = QualitySnapshot.objects.update_or_create(
        scope=scope_of(batch),
        defaults={
            "figures": figures,
            "computed_at": timezone.now(),
            "seconds_to_compute": time.perf_counter() - start,
        },
    )
    return snapshot


def figures_for(
    batch: Batch | None, *, options: dict[str, Any], fresh: bool = False
) -> tuple[dict[str, Any], Any]:
    """The figures and when they were computed: stored when current, else live."""
    if options != DEFAULT_OPTIONS:
        return dashboard_figures(batch, **options), timezone.now()
    snapshot = QualitySnapshot.objects.filter(scope=scope_of(batch)).first()
    if fresh or snapshot is None or timezone.now() - snapshot.computed_at > max_age():
        snapshot = refresh(batch=batch)
    return snapshot.figures, snapshot.computed_at
