"""Every figure on the quality dashboard, as one JSON-ready dict.

`dashboard_figures` is the single source for the dashboard page, its API and
the export manifest, so the three can never disagree. Counts are grouped
queries; two things are read row by row: reviews of the overlap sample
(agreement needs each rater's label) and the rubric rows of verdicts that lost
points (gate-by-gate calibration). At 100,000 items a recount takes seconds,
which is why the page reads `review.quality.snapshots`.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet, Sum

from review.consensus import ACCEPTING, RULE
from review.models import Decision, RejectReason, Review
from review.quality import agreement, calibration, estimates
from synthesis.models import Batch, Item, ItemStatus

DECISION_LABELS = ("accept", "reject", "flag")


def dashboard_figures(
    batch: Batch | None = None,
    *,
    target_precision: float = 0.95,
    min_support: int = 30,
    margin: float = 0.05,
) -> dict[str, Any]:
    """All dashboard numbers for one batch, or for everything when batch is None."""
    reviews = _reviewer_reviews(batch)
    return {
        "batch": None if batch is None else {"id": batch.pk, "name": batch.name},
        "consensus_rule": RULE,
        "status_counts": status_counts(batch),
        "rejection_reasons": rejection_reasons(reviews),
        "agreement": agreement_figures(reviews),
        "calibration": calibration.calibration_figures(
            batch=batch, target_precision=target_precision, min_support=min_support
        ),
        "throughput": reviewer_throughput(reviews),
        "quality": estimates.quality_estimates(batch=batch, margin=margin),
    }


def _reviewer_reviews(batch: Batch | None) -> QuerySet[Review]:
    """Current reviews by reviewers; adjudications are the admins' settlement.

    Current means each reviewer's latest decision on an item, not undone, so a
    reviewer counts once per item in agreement, reasons and throughput.
    """
    reviews = Review.objects.current().filter(is_adjudication=False)
    return reviews if batch is None else reviews.filter(item__batch=batch)


def status_counts(batch: Batch | None) -> dict[str, int]:
    items = Item.objects.all() if batch is None else batch.items.all()
    found = dict(items.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: found.get(status, 0) for status in ItemStatus.values}


def rejection_reasons(reviews: QuerySet[Review]) -> list[dict[str, Any]]:
    found = dict(
        reviews.filter(decision=Decision.REJECT)
        .values_list("reason_code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [
        {"reason": code, "label": label, "count": found.get(code, 0)}
        for code, label in RejectReason.choices
    ]


def _collapse(decision: str) -> str:
    return "accept" if decision in ACCEPTING else decision


def agreement_figures(reviews: QuerySet[Review]) -> dict[str, Any]:
    """Agreement on decisions and on rejection reasons, overall and per pair."""
    decided = reviews.exclude(decision=Decision.SKIP)
    overlapping = (
        decided.values("item")
        .annotate(n=Count("reviewer", distinct=True))
        .filter(n__gte=2)
        .values("item")
    )
    labels: dict[int, dict[int, tuple[str, str]]] = defaultdict(dict)
    rows = (
        decided.filter(item__in=overlapping)
        .order_by("created_at")
        .values_list("item_id", "reviewer_id", "decision", "reason_code")
    )
    for item_id, reviewer_id, decision, reason in rows:
        labels[item_id][reviewer_id] = (_collapse(decision), reason)
    decisions = [[d for d, _ in by.values()] for by in labels.values()]
    reasons = [
        [r for d, r in by.values() if d == Decision.REJECT] for by in labels.values()
    ]
    return {
        "overlap_items": len(labels),
        "decisions": _statistics(decisions, DECISION_LABELS),
        "reasons": _statistics(reasons, tuple(RejectReason.values)),
        "pairs": _pair_statistics(labels),
    }


def _statistics(ratings: list[list[str]], categories: tuple[str, ...]) -> dict:
    return {
        "percent": agreement.percent_agreement(ratings).as_dict(),
        "fleiss_kappa": agreement.fleiss_kappa(ratings).as_dict(),
        "gwet_ac1": agreement.gwet_ac1(ratings, categories=categories).as_dict(),
    }


def _pair_statistics(labels: dict[int, dict[int, tuple[str, str]]]) -> list[dict]:
    pairs: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    for by_reviewer in labels.values():
        for first, second in combinations(sorted(by_reviewer), 2):
            pairs[(first, second)].append(
                (by_reviewer[first][0], by_reviewer[second][0])
            )
    names = _usernames({pk for pair in pairs for pk in pair})
    return [
        {
            "reviewers": [names.get(a, str(a)), names.get(b, str(b))],
            "items": len(rated),
            "percent": agreement.percent_agreement(rated).as_dict(),
            "cohens_kappa": agreement.cohens_kappa(rated).as_dict(),
            "gwet_ac1": agreement.gwet_ac1(rated, categories=DECISION_LABELS).as_dict(),
        }
        for (a, b), rated in sorted(pairs.items())
    ]


def _usernames(pks: set[int]) -> dict[int, str]:
    return dict(
        get_user_model().objects.filter(pk__in=pks).values_list("pk", "username")
    )


def reviewer_throughput(reviews: QuerySet[Review]) -> list[dict[str, Any]]:
    """Per reviewer: decisions, median seconds per item, items per hour of review.

    The median is read with one two-row query per reviewer (sorted in the
    database), so no reviewer's full history is loaded.
    """
    totals = (
        reviews.values("reviewer_id", "reviewer__username")
        .annotate(n=Count("pk"), seconds=Sum("seconds_spent"))
        .order_by("reviewer__username")
    )
    result = []
    for row in totals:
        n, seconds = row["n"], row["seconds"] or 0.0
        middle = list(
            reviews.filter(reviewer_id=row["reviewer_id"])
            .order_by("seconds_spent")
            .values_list("seconds_spent", flat=True)[(n - 1) // 2 : n // 2 + 1]
        )
        result.append(
            {
                "reviewer": row["reviewer__username"],
                "reviews": n,
                "median_seconds": sum(middle) / len(middle) if middle else None,
                "items_per_hour": n / seconds * 3600 if seconds > 0 else None,
            }
        )
    return result
