"""Every write of the review app: decisions, edits, undo and queue policies.

Item status follows from the item's current reviews by the one consensus rule
(`review.consensus`, applied by `adjudication.apply_consensus`): with a single
reviewer, accept and edit-then-accept make it `accepted`, reject `rejected`,
flag `flagged`, and skip leaves it as the verifier left it; with an overlap
plan the item stays in review until its planned reviewers have all decided, and
disagreement makes it `disputed`. Decisions are appended, never overwritten;
undo stamps `Review.undone_at` (and reverts an edit's content) and the rule is
applied again.

Every call names the item version the reviewer saw. The item row is locked and
the version compared first; a stale version raises `StaleVersion` and nothing
is written, so two reviewers can never silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from review import adjudication, history
from review.models import Assignment, Decision, ItemRevision, RejectReason, Review
from review.queue import CLAIM_LEASE, Policy, ReviewPolicy
from synthesis.models import ANSWER_LETTERS, Batch, Item


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
    write: Callable[[Item], Review],
) -> Review:
    """Run `write` on the item's locked row, if it is still at `item_version`.

    `within` scopes the read (the review page passes the reviewer's visible
    items), so the visibility check and the row lock are one query. A missing
    item or a stale version is raised after the block, not inside it: nothing
    was written, and a caller's own transaction stays usable without a savepoint.
    """
    pk = item if isinstance(item, int) else item.pk
    with transaction.atomic(savepoint=False):
        scope = within if within is not None else Item.objects.all()
        current = scope.select_for_update().filter(pk=pk).first()
        if current is not None and current.version == item_version:
            return write(current)
    if current is None:
        raise Item.DoesNotExist(f"No item {pk} to change.")
    raise StaleVersion(item=current, submitted_version=item_version)


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
    """Record accept, reject, skip or flag on the version the reviewer saw."""
    _check_decision(decision, reason_code, seconds_spent)

    def write(current: Item) -> Review:
        review = Review.objects.create(
            item=current,
            reviewer=reviewer,
            decision=decision,
            reason_code=reason_code,
            comment=comment.strip(),
            seconds_spent=seconds_spent,
            item_version=item_version,
            status_before=current.status,
        )
        _complete_assignment(item=current, reviewer=reviewer, now=review.created_at)
        adjudication.apply_consensus(item=current, locked=True)
        return review

    return _write_locked(
        item=item, item_version=item_version, within=within, write=write
    )


def validate_content(
    *, question: str, options: dict[str, Any], answer: str
) -> dict[str, Any]:
    """Clean an edited item: a stem, 5 distinct non-empty options A–E, one key."""
    errors: dict[str, str] = {}
    question = (question or "").strip()
    if not question:
        errors["question"] = "The question cannot be empty."
    cleaned = {
        letter: str(options.get(letter) or "").strip() for letter in ANSWER_LETTERS
    }
    for letter, text in cleaned.items():
        if not text:
            errors[f"option_{letter}"] = f"Option {letter} cannot be empty."
    seen: dict[str, str] = {}
    for letter, text in cleaned.items():
        key = " ".join(text.lower().split())
        if key and key in seen:
            errors[f"option_{letter}"] = f"Option {letter} repeats option {seen[key]}."
        seen.setdefault(key, letter)
    if answer not in ANSWER_LETTERS:
        errors["answer"] = "Choose exactly one answer, A to E."
    if errors:
        raise InvalidDecision("The edit is not a valid item.", errors)
    return {"question": question, "options": cleaned, "answer": answer}


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
    """Save an edit as a new version (with its revision), then accept it.

    A change of answer key is marked on the revision (`answer_changed`), since
    it means the generator's key was wrong and the item deserves a second look.
    """
    after = validate_content(question=question, options=options, answer=answer)

    def write(current: Item) -> Review:
        before = history.snapshot(current)
        new_version = item_version + 1
        ItemRevision.objects.create(
            item=current,
            author=author,
            version=new_version,
            before=before,
            after=after,
            answer_changed=before["answer"] != after["answer"],
        )
        now = timezone.now()
        updated = Item.objects.filter(pk=current.pk, version=item_version).update(
            **after, version=F("version") + 1, updated_at=now
        )
        if updated != 1:  # pragma: no cover - the row lock makes this unreachable
            raise StaleVersion(item=current, submitted_version=item_version)
        review = Review.objects.create(
            item=current,
            reviewer=author,
            decision=Decision.EDIT_ACCEPT,
            seconds_spent=max(seconds_spent, 0),
            item_version=new_version,
            status_before=current.status,
        )
        _complete_assignment(item=current, reviewer=author, now=now)
        adjudication.apply_consensus(item=current, locked=True)
        return review

    return _write_locked(
        item=item, item_version=item_version, within=within, write=write
    )


def _revert_edit(*, review: Review, item: Item, reviewer: Any) -> None:
    if item.version != review.item_version:
        raise StaleVersion(item=item, submitted_version=review.item_version)
    revision = ItemRevision.objects.get(item=item, version=review.item_version)
    current = history.snapshot(item)
    ItemRevision.objects.create(
        item=item,
        author=reviewer,
        version=item.version + 1,
        before=current,
        after=revision.before,
        answer_changed=current["answer"] != revision.before["answer"],
    )
    Item.objects.filter(pk=item.pk, version=item.version).update(
        question=revision.before["question"],
        options=revision.before["options"],
        answer=revision.before["answer"],
        version=F("version") + 1,
        updated_at=timezone.now(),
    )


def undo_last(*, reviewer: Any) -> Review:
    """Undo the reviewer's latest standing decision; returns it, now undone.

    The status goes back only if it is still the one this decision set (a later
    decision by someone else stands). An edit is reverted by a new revision, so
    history keeps both; if the item was edited again since, undo is refused.
    """
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .filter(reviewer=reviewer, undone_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if review is None:
            raise NothingToUndo("There is no decision of yours to undo.")
        item = Item.objects.select_for_update().get(pk=review.item_id)
        if review.decision == Decision.EDIT_ACCEPT:
            _revert_edit(review=review, item=item, reviewer=reviewer)
        now = timezone.now()
        review.undone_at = now
        review.save(update_fields=["undone_at"])
        adjudication.apply_consensus(item=item, locked=True)
        Assignment.objects.update_or_create(
            item=item,
            reviewer=reviewer,
            defaults={"completed_at": None, "claimed_until": now + CLAIM_LEASE},
        )
    return review


def set_review_policy(*, batch: Batch, policy: Policy) -> Batch:
    """Store the batch's queue policy in its config (admins choose it)."""
    if policy.name not in ReviewPolicy.values:
        raise InvalidDecision(f"Unknown review policy {policy.name!r}.")
    if not 0 < policy.sample_rate <= 1:
        raise InvalidDecision("The audit sample rate must be in (0, 1].")
    with transaction.atomic():
        locked = Batch.objects.select_for_update().get(pk=batch.pk)
        locked.config = {
            **locked.config,
            "review_policy": {
                "name": policy.name,
                "threshold": policy.threshold,
                "seed": policy.seed,
                "sample_rate": policy.sample_rate,
            },
        }
        locked.save(update_fields=["config"])
    return locked
