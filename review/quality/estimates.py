"""Estimated quality of the kept pool, from the random audit sample.

The audit sample is the set of kept items that reached a settled human verdict
(Accepted or Rejected). `overlap.plan_assignments` draws it at random, so the
share rejected there estimates the share of all kept items a clinician would
reject. The Wilson score interval stays inside [0, 1] and behaves at 0 of n,
which is where a good batch sits.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from medsyn_app.proportions import Z_95, wilson_interval
from synthesis.models import Batch, Item, ItemStatus, Verification

__all__ = ["Z_95", "wilson_interval"]  # re-exported for the quality pages


def half_width(successes: int, n: int) -> float:
    low, high = wilson_interval(successes, n)
    return (high - low) / 2


def sample_size_for(*, rate: float, margin: float, limit: int = 1_000_000) -> int:
    """Smallest n whose Wilson half-width at the given rate is within the margin.

    Uses the observed rate; with no sample yet, 0.5 (the widest case).
    """
    if not 0 < margin < 1:
        raise ValueError("the margin must be between 0 and 1")
    low, high = 1, limit
    while low < high:
        mid = (low + high) // 2
        if half_width(round(rate * mid), mid) <= margin:
            high = mid
        else:
            low = mid + 1
    return low


def estimate(rejected: int, reviewed: int, *, margin: float) -> dict[str, Any]:
    """Reject share with its 95% interval, and whether the sample is large enough."""
    low, high = wilson_interval(rejected, reviewed)
    rate = rejected / reviewed if reviewed else None
    needed = sample_size_for(rate=0.5 if rate is None else rate, margin=margin)
    enough = reviewed > 0 and (high - low) / 2 <= margin
    return {
        "reviewed": reviewed,
        "rejected": rejected,
        "reject_rate": rate,
        "ci_low": low,
        "ci_high": high,
        "margin": margin,
        "enough": enough,
        "sample_needed": needed,
        "more_needed": 0 if enough else max(needed - reviewed, 1),
    }


def quality_estimates(*, batch: Batch | None = None, margin: float = 0.05) -> dict:
    """Overall, per batch and per modality estimates over audited kept items.

    "Kept" means the item's newest verdict kept it, as in calibration.
    """
    newer = Verification.objects.filter(item=OuterRef("item"), pk__gt=OuterRef("pk"))
    latest_kept = Verification.objects.filter(item=OuterRef("pk"), kept=True).exclude(
        Exists(newer)
    )
    audited = Item.objects.filter(
        Exists(latest_kept),
        status__in=[ItemStatus.ACCEPTED, ItemStatus.REJECTED],
    )
    if batch is not None:
        audited = audited.filter(batch=batch)
    groups = list(
        audited.values("batch", "modality")
        .annotate(
            reviewed=Count("pk"),
            rejected=Count("pk", filter=Q(status=ItemStatus.REJECTED)),
        )
        .order_by("batch", "modality")
    )
    totals = {key: _sum_by(groups, key) for key in ("batch", "modality")}
    overall = _sum_by(groups, None).get(None, {"reviewed": 0, "rejected": 0})
    names = dict(Batch.objects.filter(pk__in=totals["batch"]).values_list("pk", "name"))
    return {
        "overall": estimate(overall["rejected"], overall["reviewed"], margin=margin),
        "by_batch": [
            {
                "batch": r["batch"],
                "name": names.get(r["batch"], ""),
                **estimate(r["rejected"], r["reviewed"], margin=margin),
            }
            for r in totals["batch"].values()
        ],
        "by_modality": [
            {
                "modality": r["modality"] or "Unknown",
                **estimate(r["rejected"], r["reviewed"], margin=margin),
            }
            for r in sorted(
                totals["modality"].values(), key=lambda r: r["modality"] or ""
            )
        ],
    }


def _sum_by(groups: list[dict], key: str | None) -> dict[Any, dict[str, Any]]:
    # Roll the (batch, modality) groups up to one key; None sums everything.
    sums: dict[Any, dict[str, Any]] = {}
    for row in groups:
        value = row[key] if key else None
        total = sums.setdefault(value, {key: value, "reviewed": 0, "rejected": 0})
        total["reviewed"] += row["reviewed"]
        total["rejected"] += row["rejected"]
    return sums
