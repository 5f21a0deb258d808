"""Per-item reviewer agreement, computed from Review rows.

Deliberately small and isolated: the agreement-statistics work (kappa and
friends) can replace it later without touching selection or the manifest.
Only current reviews count (each reviewer's latest decision on an item, not
undone), skips do not; accept and edit-and-accept agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from review.models import Decision, Review
from synthesis.models import ItemStatus

_CLASS = {
    Decision.ACCEPT: "accept",
    Decision.EDIT_ACCEPT: "accept",
    Decision.REJECT: "reject",
    Decision.FLAG: "flag",
}


@dataclass(frozen=True)
class ItemAgreement:
    reviews: int
    share_agreeing: float
    latest_decision: str
    reviewer_ids: frozenset[int]


def for_accepted_items() -> dict[int, ItemAgreement]:
    """Agreement of every accepted item that has at least one counted review."""
    rows = (
        Review.objects.current()
        .filter(item__status=ItemStatus.ACCEPTED)
        .exclude(decision=Decision.SKIP)
        .order_by("item_id", "created_at", "id")
        .values_list("item_id", "decision", "reviewer_id")
    )
    decisions: dict[int, list[str]] = defaultdict(list)
    reviewers: dict[int, set[int]] = defaultdict(set)
    for item_id, decision, reviewer_id in rows.iterator(chunk_size=5000):
        decisions[item_id].append(decision)
        reviewers[item_id].add(reviewer_id)
    result = {}
    for item_id, seen in decisions.items():
        classes = Counter(_CLASS[d] for d in seen)
        result[item_id] = ItemAgreement(
            reviews=len(seen),
            share_agreeing=round(max(classes.values()) / len(seen), 4),
            latest_decision=seen[-1],
            reviewer_ids=frozenset(reviewers[item_id]),
        )
    return result


def summarize(agreements: list[ItemAgreement]) -> dict[str, object]:
    """Figures for the manifest: how many reviewers, how often they agreed."""
    multi = [a for a in agreements if a.reviews >= 2]
    reviewers = set().union(*(a.reviewer_ids for a in agreements)) if agreements else ()
    return {
        "reviewers": len(reviewers),
        "items_with_reviews": len(agreements),
        "items_with_two_or_more_reviews": len(multi),
        "mean_share_agreeing_multi_reviewed": (
            round(sum(a.share_agreeing for a in multi) / len(multi), 4)
            if multi
            else None
        ),
        "unanimous_multi_reviewed": sum(1 for a in multi if a.share_agreeing == 1.0),
    }
