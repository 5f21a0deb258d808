"""Settling items: apply the consensus rule, and let an admin adjudicate disputes.

`apply_consensus` is the single place an item's final status is derived from
its reviews; the review page's `decide()` and `adjudicate()` both end in it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Subquery

from medsyn_app.roles import is_admin
from review import consensus
from review.models import Assignment, Decision, ItemRevision, RejectReason, Review
from synthesis.models import Item, ItemStatus

ADJUDICATION_DECISIONS = (Decision.ACCEPT, Decision.REJECT, Decision.FLAG)
# Statuses the consensus rule may change. Without a final verdict an item
# returns to the verifier's status (kept or dropped); dropped items reach the
# rule only when audited, which is what makes the verifier's recall measurable.
SETTLED_BY_RULE = {
    ItemStatus.GENERATED,
    ItemStatus.KEPT,
    ItemStatus.DROPPED,
    ItemStatus.ACCEPTED,
    ItemStatus.REJECTED,
    ItemStatus.FLAGGED,
    ItemStatus.DISPUTED,
}


class AdjudicationError(ValueError):
    """An adjudication that cannot be recorded; the message says why."""


def apply_consensus(*, item: Item, locked: bool = False) -> Item:
    """Set the item's status from its current reviews by `consensus.final_status`.

    `locked` says the caller already holds the item's row lock in its own
    transaction (as `review.services` does), so the row is not read again.
    """
    with transaction.atomic(savepoint=False):
        if not locked:
            item = Item.objects.select_for_update().get(pk=item.pk)
        return _settle(item)


def _settle(item: Item) -> Item:
    if item.status not in SETTLED_BY_RULE:
        return item
    # One read: the current reviews, each row carrying the planned reviewer count.
    # Without reviews there is nothing to count against, so the count is moot.
    planned = (
        Assignment.objects.filter(item=item, planned=True)
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    current = list(
        item.reviews.filter(undone_at__isnull=True)
        .order_by("created_at")
        .values_list("decision", "is_adjudication", Subquery(planned))
    )
    adjudications = [decision for decision, adj, _ in current if adj]
    required = max(current[0][2] or 0, 1) if current else 1
    status = consensus.final_status(
        decisions=[decision for decision, adj, _ in current if not adj],
        required=required,
        adjudication=adjudications[-1] if adjudications else None,
    )
    status = status or _verifier_status(item)
    if status != item.status:
        item.status = status
        item.save(update_fields=["status", "updated_at"])
    return item


def _verifier_status(item: Item) -> str:
    latest = list(item.verifications.order_by("-pk").values_list("kept", flat=True)[:1])
    if not latest:
        return ItemStatus.GENERATED
    return ItemStatus.KEPT if latest == [True] else ItemStatus.DROPPED


@transaction.atomic
def adjudicate(
    *,
    item: Item,
    admin: Any,
    decision: str,
    reason_code: str = "",
    comment: str = "",
) -> Review:
    """Record an admin's settling decision and re-derive the item's status."""
    if not is_admin(admin):
        raise AdjudicationError("Only admins may adjudicate.")
    if decision not in ADJUDICATION_DECISIONS:
        raise AdjudicationError("An adjudication must accept, reject or flag.")
    if decision == Decision.REJECT and reason_code not in RejectReason.values:
        raise AdjudicationError("A rejection needs a reason from the list.")
    if decision != Decision.REJECT and reason_code:
        raise AdjudicationError("Only a rejection takes a reason.")
    item = Item.objects.select_for_update().get(pk=item.pk)
    review = Review.objects.create(
        item=item,
        reviewer=admin,
        decision=decision,
        reason_code=reason_code,
        comment=comment.strip(),
        item_version=item.version,
        is_adjudication=True,
    )
    apply_consensus(item=item)
    return review


def adjudication_queue() -> QuerySet[Item]:
    """Items waiting for an admin: reviewers disagree, or one flagged the item."""
    return (
        Item.objects.filter(status__in=[ItemStatus.DISPUTED, ItemStatus.FLAGGED])
        .select_related("batch")
        .annotate(
            review_count=Count(
                "reviews",
                filter=Q(reviews__undone_at__isnull=True)
                & Q(reviews__is_adjudication=False),
            )
        )
        .order_by("updated_at", "pk")
    )


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "context" or "header"
    text: str


@dataclass(frozen=True)
class ReviewerColumn:
    review: Review
    edits: list[list[DiffLine]]


def item_comparison(item: Item) -> list[ReviewerColumn]:
    """Every current review of the item, each with the edits its author made."""
    reviews = list(
        item.reviews.filter(undone_at__isnull=True)
        .select_related("reviewer")
        .order_by("is_adjudication", "created_at")
    )
    revisions: dict[int, list[ItemRevision]] = {}
    for revision in item.revisions.order_by("version"):
        revisions.setdefault(revision.author_id, []).append(revision)
    return [
        ReviewerColumn(
            review=review,
            edits=[revision_diff(r) for r in revisions.get(review.reviewer_id, [])],
        )
        for review in reviews
    ]


def revision_diff(revision: ItemRevision) -> list[DiffLine]:
    """A line diff of an edit; the template escapes the text like any model output."""
    lines = difflib.unified_diff(
        _as_lines(revision.before),
        _as_lines(revision.after),
        fromfile=f"version {revision.version - 1}",
        tofile=f"version {revision.version}",
        lineterm="",
        n=1,
    )
    kinds = {"+": "added", "-": "removed", "@": "header"}
    result = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        result.append(DiffLine(kinds.get(line[:1], "context"), line))
    return result


def _as_lines(snapshot: Any) -> list[str]:
    # Flatten {"question": ..., "options": {"A": ...}, "answer": ...} to stable lines.
    if not isinstance(snapshot, dict):
        return [str(snapshot)]
    lines = []
    for key in sorted(snapshot):
        value = snapshot[key]
        if isinstance(value, dict):
            lines += [f"{key}.{k}: {v}" for k, v in sorted(value.items())]
        else:
            lines.append(f"{key}: {value}")
    return lines
