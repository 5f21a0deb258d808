"""Every write of the review app: decisions, edits, undo and queue policies.

Item status follows from the item's current reviews by the one consensus rule
(`review.consensus`, applied by `adjudication.settle`): with a single
reviewer, accept and edit-then-accept make it `accepted`, reject `rejected`,
flag `flagged`, and skip leaves it as the verifier left it; with an overlap
plan the item stays in review until its planned reviewers have all decided, and
disagreement makes it `disputed`. Decisions are appended, never overwritten:
deciding an item again supersedes the reviewer's own earlier decision (history
keeps it), so each reviewer counts once per item. Undo stamps
`Review.undone_at` (and reverts an edit's content) and the rule is applied again.

While an item's overlap plan is open, an edit is that reviewer's proposal
(`EditProposal`): the item does not move until an admin adopts one.

Every call names the item version the reviewer saw. The item row is locked and
the version compared first; a stale version raises `StaleVersion` and nothing
is written, so two reviewers can never silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from review import adjudication, revisions, trail
from review.adjudication import Standing
from review.models import (
    Assignment,
    Decision,
    EditProposal,
    ItemRevision,
    RejectReason,
    Review,
)
from review.queue import CLAIM_LEASE, Policy, ReviewPolicy
from synthesis.models import Batch, Item


class ReviewError(Exception):
    """A decision that cannot be applied; the message says why."""


class InvalidDecision(ReviewError):
    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class NothingToUndo(ReviewError):
    pass


class StaleVersion(ReviewError):
    """The item changed since the reviewer loaded it."""

    def __init__(self, *, item: Item, submitted_version: int) -> None:
        super().__init__(
            f"Item {item.pk} is at version {item.version}; "
            f"the change was made against version {submitted_version}."
        )
        self.item = item
        self.submitted_version = submitted_version


def _write_locked(
    *,
    item: Item | int,
    item_version: int,
    within: QuerySet[Item] | None,
    write: Callable[[Item, Standing], Review],
) -> Review:
    """Run `write` on the item's locked row, if it is still at `item_version`.

    `within` scopes the read (the review page passes the reviewer's visible
    items), so the visibility check and the row lock are one query. `write`
    gets the item's current reviews, read once the lock is held. A missing
    item or a stale version is raised after the block, not inside it: nothing
    was written, and a caller's own transaction stays usable without a savepoint.
    """
    pk = item if isinstance(item, int) else item.pk
    with transaction.atomic(savepoint=False):
        scope = within if within is not None else Item.objects.all()
        current = adjudication.lock_item(scope, pk)
        if current is not None and current.version == item_version:
            return write(current, adjudication.standing(current))
    if current is None:
        raise Item.DoesNotExist(f"No item {pk} to change.")
    raise StaleVersion(item=current, submitted_version=item_version)


def _record(*, item: Item, reviewer: Any, standing: Standing, **fields: Any) -> Review:
    """Add the reviewer's decision; their earlier current one is superseded.

    History keeps the earlier decision, and the new one names it in `replaces`
    so undo can bring it back.
    """
    earlier = standing.own(reviewer.pk)
    now = timezone.now()
    if earlier is not None:
        Review.objects.filter(pk=earlier.pk).update(superseded_at=now)
    return Review.objects.create(
        item=item,
        reviewer=reviewer,
        replaces_id=earlier.pk if earlier else None,
        status_before=item.status,
        **fields,
    )


def _complete_assignment(*, item: Item, reviewer: Any, now: Any) -> None:
    done = {"completed_at": now, "claimed_until": None}
    # Usually the reviewer holds a claim; a decision through the API may not.
    if not Assignment.objects.filter(item=item, reviewer=reviewer).update(**done):
        Assignment.objects.create(item=item, reviewer=reviewer, **done)


def _check_decision(decision: str, reason_code: str, seconds_spent: float) -> None:
    if decision not in Decision.values or decision == Decision.EDIT_ACCEPT:
        raise InvalidDecision(f"Unknown decision {decision!r}.")
    if decision == Decision.REJECT and reason_code not in RejectReason.values:
        raise InvalidDecision("A rejection needs a reason from the list.")
    if decision != Decision.REJECT and reason_code:
        raise InvalidDecision("Only a rejection takes a reason.")
    if seconds_spent < 0:
        raise InvalidDecision("Seconds spent cannot be negative.")


def decide(
    *,
    item: Item | int,
    reviewer: Any,
    decision: str,
    reason_code: str = "",
    comment: str = "",
    seconds_spent: float,
    item_version: int,
    within: QuerySet[Item] | None = None,
) -> Review:
    """Record accept, reject, skip or flag on the version the reviewer saw.

    Deciding an item again (after going back to it, or through the API)
    supersedes the reviewer's own earlier decision instead of adding a vote.
    """
    _check_decision(decision, reason_code, seconds_spent)

    def write(current: Item, standing: Standing) -> Review:
        status_before = current.status
        review = _record(
            item=current,
            reviewer=reviewer,
            standing=standing,
            decision=decision,
            reason_code=reason_code,
            comment=comment.strip(),
            seconds_spent=seconds_spent,
            item_version=item_version,
        )
        _complete_assignment(item=current, reviewer=reviewer, now=review.created_at)
        adjudication.settle(current, standing.with_decision(review))
        trail.decision(
            "review.decide", review=review, item=current, status_before=status_before
        )
        return review

    return _write_locked(
        item=item, item_version=item_version, within=within, write=write
    )


def validate_content(
    *, question: str, options: dict[str, Any], answer: str
) -> dict[str, Any]:
    """Clean an edited item: a stem, 5 distinct non-empty options A–E, one key."""
    try:
        return revisions.validate_content(
            question=question, options=options, answer=answer
        )
    except revisions.InvalidContent as error:
        raise InvalidDecision(str(error), error.errors) from None


def edit_item(
    *,
    item: Item | int,
    author: Any,
    question: str,
    options: dict[str, Any],
    answer: str,
    item_version: int,
    seconds_spent: float = 0,
    within: QuerySet[Item] | None = None,
) -> Review:
    """Edit the item and accept it.

    Usually the edit is saved as a new version with its revision. While the
    item's overlap plan is open (counting the author's own earlier decision as
    superseded), the edit is the author's proposal instead: the item does not
    move, so the other planned reviewers still see it as the verifier left it,
    and the consensus rule sends it to an admin to adopt one proposal.
    """
    after = validate_content(question=question, options=options, answer=answer)

    def write(current: Item, standing: Standing) -> Review:
        status_before = current.status
        proposing = standing.without(author.pk).plan_open
        revision = None
        fields = {
            "decision": Decision.EDIT_ACCEPT,
            "seconds_spent": max(seconds_spent, 0),
        }
        if proposing:
            review = _record(
                item=current,
                reviewer=author,
                standing=standing,
                item_version=item_version,
                **fields,
            )
            proposal = EditProposal.objects.create(
                item=current,
                author=author,
                review=review,
                base_version=item_version,
                answer_changed=after["answer"] != current.answer,
                **after,
            )
        else:
            revision = revisions.write(item=current, author=author, after=after)
            review = _record(
                item=current,
                reviewer=author,
                standing=standing,
                item_version=current.version,
                **fields,
            )
        _complete_assignment(item=current, reviewer=author, now=review.created_at)
        adjudication.settle(current, standing.with_decision(review, proposed=proposing))
        trail.decision(
            "review.propose_edit" if proposing else "review.edit",
            review=review,
            item=current,
            status_before=status_before,
            revision=revision,
            **({"proposal": proposal.pk, **after} if proposing else {}),
        )
        return review

    return _write_locked(
        item=item, item_version=item_version, within=within, write=write
    )


def _revert_edit(*, review: Review, item: Item, reviewer: Any) -> ItemRevision:
    if item.version != review.item_version:
        raise StaleVersion(item=item, submitted_version=review.item_version)
    revision = ItemRevision.objects.get(item=item, version=review.item_version)
    return revisions.write(item=item, author=reviewer, after=revision.before)


def undo_last(*, reviewer: Any) -> Review:
    """Undo the reviewer's latest current decision; returns it, now undone.

    Undo takes back the last action: if that decision superseded an earlier
    one of the reviewer's on the same item, the earlier one stands again (and
    the item stays done for them); otherwise the item returns to their queue.
    The rule is then applied again, so the status follows. An edit is reverted
    by a new revision, so history keeps both; if the item was edited again
    since, undo is refused. An edit proposal is simply withdrawn with its
    decision: it never changed the item.
    """
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .current()
            .filter(reviewer=reviewer)
            .order_by("-created_at", "-id")
            .first()
        )
        if review is None:
            raise NothingToUndo("There is no decision of yours to undo.")
        item = adjudication.lock_item(Item.objects.all(), review.item_id)
        status_before = item.status
        edited = review.decision == Decision.EDIT_ACCEPT
        reverted = None
        if edited and not EditProposal.objects.filter(review=review).exists():
            reverted = _revert_edit(review=review, item=item, reviewer=reviewer)
        now = timezone.now()
        review.undone_at = now
        review.save(update_fields=["undone_at"])
        restored = review.replaces_id is not None
        if restored:
            Review.objects.filter(pk=review.replaces_id).update(superseded_at=None)
        adjudication.settle(item, adjudication.standing(item))
        trail.decision(
            "review.undo",
            review=review,
            item=item,
            status_before=status_before,
            revision=reverted,
            restored=review.replaces_id,
        )
        Assignment.objects.update_or_create(
            item=item,
            reviewer=reviewer,
            defaults=(
                {"completed_at": now, "claimed_until": None}
                if restored
                else {"completed_at": None, "claimed_until": now + CLAIM_LEASE}
            ),
        )
    return review


def set_review_policy(*, batch: Batch, policy: Policy) -> Batch:
    """Store the batch's queue policy in its config (admins choose it)."""
    if policy.name not in ReviewPolicy.values:
        raise InvalidDecision(f"Unknown review policy {policy.name!r}.")
    if not 0 < policy.sample_rate <= 1:
        raise InvalidDecision("The audit sample rate must be in (0, 1].")
    new = {
        "name": policy.name,
        "threshold": policy.threshold,
        "seed": policy.seed,
        "sample_rate": policy.sample_rate,
    }
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        old = locked.config.get("review_policy")
        locked.config = {**locked.config, "review_policy": new}
        locked.save(update_fields=["config"])
        trail.batch_setting(
            "review.policy", batch=locked, key="review_policy", old=old, new=new
        )
    return locked
