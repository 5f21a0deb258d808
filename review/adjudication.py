"""Settling items: apply the consensus rule, and let an admin adjudicate disputes.

`apply_consensus` (and `settle`, for callers that already read the item's
standing) is the single place an item's final status is derived from its
reviews; the review page's `decide()`, `adjudicate()` and adopting an edit
proposal all end in it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from medsyn_app.compiled_sql import CompiledSubquery
from medsyn_app.roles import is_admin
from review import consensus, overlap, trail
from review.models import (
    Assignment,
    Decision,
    EditProposal,
    RejectReason,
    Review,
    current_q,
)
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

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class StaleAdjudication(AdjudicationError):
    """The item changed since the admin loaded the adjudication page."""


@dataclass(frozen=True)
class CurrentReview:
    pk: int
    reviewer_id: int
    decision: str
    is_adjudication: bool
    planned: bool  # the reviewer is one of the item's planned reviewers
    proposed: bool  # the decision carries an edit proposal


@dataclass(frozen=True)
class Standing:
    """An item's current reviews, read once, as the rule and the plan need them."""

    planned: int
    reviews: tuple[CurrentReview, ...]

    def own(self, reviewer_id: int) -> CurrentReview | None:
        """The reviewer's current decision (adjudications aside), if any."""
        return next(
            (
                r
                for r in self.reviews
                if r.reviewer_id == reviewer_id and not r.is_adjudication
            ),
            None,
        )

    def without(self, reviewer_id: int) -> Standing:
        """The standing once this reviewer's own current decision is superseded."""
        own = self.own(reviewer_id)
        return replace(self, reviews=tuple(r for r in self.reviews if r is not own))

    def with_decision(
        self, review: Review, *, proposed: bool = False, planned: bool = False
    ) -> Standing:
        """The standing after `review` (a new decision) superseded its author's."""
        row = CurrentReview(
            review.pk,
            review.reviewer_id,
            review.decision,
            review.is_adjudication,
            planned,
            proposed,
        )
        rest = self if review.is_adjudication else self.without(review.reviewer_id)
        return replace(rest, reviews=(*rest.reviews, row))

    @property
    def plan_open(self) -> bool:
        decided = sum(
            r.planned and not r.is_adjudication and r.decision != Decision.SKIP
            for r in self.reviews
        )
        return overlap.is_open(
            reviewers=self.planned,
            decided=decided,
            adjudicated=any(r.is_adjudication for r in self.reviews),
        )

    def final_status(self) -> str | None:
        adjudications = [r.decision for r in self.reviews if r.is_adjudication]
        reviewers = [r for r in self.reviews if not r.is_adjudication]
        return consensus.final_status(
            decisions=[r.decision for r in reviewers],
            required=max(self.planned, 1),
            adjudication=adjudications[-1] if adjudications else None,
            proposals=sum(r.proposed for r in reviewers),
        )


def lock_item(scope: QuerySet[Item], pk: int) -> Item | None:
    """Lock the item's row (within `scope`), reading its planned reviewer count.

    The count travels with the lock, so reading the item's standing afterwards
    is one more query however many reviews it has.
    """
    return (
        scope.select_for_update()
        .annotate(plan_reviewers=overlap.PLANNED_FOR_ITEM.count(item=pk))
        .filter(pk=pk)
        .first()
    )


def _standing_rows(item: int) -> QuerySet[Review]:
    planned_reviewer = Assignment.objects.filter(
        item=OuterRef("item"), reviewer=OuterRef("reviewer"), planned=True
    )
    return (
        Review.objects.current()
        .filter(item=item)
        .annotate(
            planned=Exists(planned_reviewer),
            proposed=Exists(EditProposal.objects.filter(review=OuterRef("pk"))),
        )
        .order_by("created_at", "id")
        .values_list(
            "pk", "reviewer_id", "decision", "is_adjudication", "planned", "proposed"
        )
    )


# Read inside every decision's transaction: compiled once.
_STANDING = CompiledSubquery(_standing_rows, "item")


def standing(item: Item) -> Standing:
    """The item's current reviews, in the order they were made (one query)."""
    rows = _STANDING.rows(item=item.pk)
    planned = getattr(item, "plan_reviewers", None)
    if planned is None:
        planned = Assignment.objects.filter(item=item, planned=True).count()
    reviews = tuple(
        CurrentReview(pk, reviewer, decision, bool(adjudication), bool(p), bool(e))
        for pk, reviewer, decision, adjudication, p, e in rows
    )
    return Standing(planned=planned, reviews=reviews)


def apply_consensus(*, item: Item, locked: bool = False) -> Item:
    """Set the item's status from its current reviews by `consensus.final_status`.

    `locked` says the caller already holds the item's row lock in its own
    transaction (as `review.services` does), so the row is not read again.
    """
    with transaction.atomic(savepoint=False):
        if not locked:
            item = lock_item(Item.objects.all(), item.pk)
        return settle(item, standing(item))


def settle(item: Item, current: Standing) -> Item:
    """Apply the rule to the locked item, given its standing as the caller knows it."""
    if item.status not in SETTLED_BY_RULE:
        return item
    status = current.final_status() or _status_in_review(item)
    if status != item.status:
        item.status = status
        item.save(update_fields=["status", "updated_at"])
    return item


def _status_in_review(item: Item) -> str:
    kept = list(item.verifications.order_by("-pk").values_list("kept", flat=True)[:1])
    first = "" if kept else first_status_before(item)
    return consensus.status_in_review(
        verifier_kept=kept[0] if kept else None, status_before=first
    )


def first_status_before(item: Item | int) -> str:
    """The status the item had before its first review ("" when unknown)."""
    first = (
        Review.objects.filter(item=item)
        .order_by("created_at", "id")
        .values_list("status_before", flat=True)
        .first()
    )
    return first if first in ItemStatus.values else ""


def check_adjudicator(admin: Any) -> None:
    if not is_admin(admin):
        raise AdjudicationError("Only admins may adjudicate.")


def record(
    *,
    item: Item,
    admin: Any,
    decision: str,
    reason_code: str = "",
    comment: str = "",
) -> Review:
    """Write the admin's settling decision on the locked item and settle it."""
    review = Review.objects.create(
        item=item,
        reviewer=admin,
        decision=decision,
        reason_code=reason_code,
        comment=comment.strip(),
        item_version=item.version,
        status_before=item.status,
        is_adjudication=True,
    )
    settle(item, standing(item))
    return review


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
    check_adjudicator(admin)
    if decision not in ADJUDICATION_DECISIONS:
        raise AdjudicationError("An adjudication must accept, reject or flag.")
    if decision == Decision.REJECT and reason_code not in RejectReason.values:
        raise AdjudicationError("A rejection needs a reason from the list.")
    if decision != Decision.REJECT and reason_code:
        raise AdjudicationError("Only a rejection takes a reason.")
    locked = lock_item(Item.objects.all(), item.pk)
    status_before = locked.status
    review = record(
        item=locked,
        admin=admin,
        decision=decision,
        reason_code=reason_code,
        comment=comment,
    )
    trail.decision(
        "review.adjudicate", review=review, item=locked, status_before=status_before
    )
    return review


def adjudication_queue() -> QuerySet[Item]:
    """Items waiting for an admin: reviewers disagree, or one flagged the item.

    Each row carries the latest standing flag's comment and author, so the
    queue says what a flagging reviewer wants looked at.
    """
    flags = (
        Review.objects.current()
        .filter(item=OuterRef("pk"), decision=Decision.FLAG, is_adjudication=False)
        .order_by("-created_at", "-id")
    )
    return (
        Item.objects.filter(status__in=[ItemStatus.DISPUTED, ItemStatus.FLAGGED])
        .select_related("batch")
        .annotate(
            review_count=Count(
                "reviews",
                filter=current_q("reviews__") & Q(reviews__is_adjudication=False),
            ),
            flag_comment=Subquery(flags.values("comment")[:1]),
            flagged_by=Subquery(flags.values("reviewer__username")[:1]),
        )
        .order_by("updated_at", "pk")
    )


def settled_by(item: Item) -> Review | None:
    """The admin's standing adjudication on the item, if an admin decided it."""
    return (
        Review.objects.current()
        .filter(item=item, is_adjudication=True)
        .select_related("reviewer")
        .order_by("-created_at", "-id")
        .first()
    )


def status_label(item: Item, decider: Review | None) -> str:
    """The item's status as a person reads it, naming the admin who settled it.

    The status labels say "by reviewer"; once an admin's adjudication decides
    the item, saying so would name the wrong decider.
    """
    if decider is None or item.status not in _DECIDED_LABELS:
        return item.get_status_display()
    name = decider.reviewer.get_username()
    return f"{_DECIDED_LABELS[item.status]} by admin {name} (adjudication)"


_DECIDED_LABELS = {
    ItemStatus.ACCEPTED: "Accepted",
    ItemStatus.REJECTED: "Rejected",
    ItemStatus.FLAGGED: "Flagged",
}
