"""Edit proposals under blind double review, side by side, and how one is adopted.

While an item's overlap plan is open, a reviewer's edit is stored as an
`EditProposal` and the item does not move (see `services.edit_item`). The
adjudication page shows every current decision with its proposal as a diff
against the current content; the admin adopts one proposal, or merges them by
writing the content themselves. Either way exactly one ItemRevision is written
through `revisions.write` and the admin's adjudication accepts the item.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from review import adjudication, history, revisions, trail
from review.adjudication import AdjudicationError, StaleAdjudication
from review.models import Decision, EditProposal, ItemRevision, Review
from synthesis.models import Item


def _lock_at(item_id: int, item_version: int) -> Item:
    item = adjudication.lock_item(Item.objects.all(), item_id)
    if item is None:
        raise Item.DoesNotExist(f"No item {item_id}.")
    if item.version != item_version:
        raise StaleAdjudication(
            f"Item {item.pk} is at version {item.version}; the page showed version "
            f"{item_version}. Reload it and decide again."
        )
    return item


@transaction.atomic
def adopt(*, item_id: int, proposal_id: int, admin: Any, item_version: int) -> Review:
    """Adopt one reviewer's edit proposal: it becomes the item's next revision.

    Exactly one ItemRevision is written (credited to the proposal's author),
    the proposal is marked adopted, and the admin's adjudication accepts the
    item. A proposal whose edit-and-accept was undone or superseded is gone.
    """
    adjudication.check_adjudicator(admin)
    item = _lock_at(item_id, item_version)
    proposal = (
        item.proposals.select_related("review", "author").filter(pk=proposal_id).first()
    )
    if proposal is None:
        raise AdjudicationError(f"Item {item.pk} has no proposal {proposal_id}.")
    review = proposal.review
    if review.undone_at is not None or review.superseded_at is not None:
        raise AdjudicationError("Its author withdrew this proposal.")
    if proposal.adopted_at is not None:
        raise AdjudicationError("This proposal was already adopted.")
    status_before = item.status
    revision = revisions.write(
        item=item, author=proposal.author, after=proposal.content
    )
    proposal.adopted_at, proposal.adopted_by = timezone.now(), admin
    proposal.save(update_fields=["adopted_at", "adopted_by"])
    author = proposal.author.get_username()
    decision = adjudication.record(
        item=item,
        admin=admin,
        decision=Decision.ACCEPT,
        comment=f"Adopted the edit proposed by {author}.",
    )
    trail.decision(
        "review.adopt",
        review=decision,
        item=item,
        status_before=status_before,
        revision=revision,
        proposal=proposal.pk,
        proposed_by=author,
    )
    return decision


@transaction.atomic
def merge(
    *,
    item_id: int,
    admin: Any,
    question: str,
    options: dict[str, Any],
    answer: str,
    item_version: int,
    comment: str = "",
) -> Review:
    """Write the admin's own content (merged from the proposals) and accept it."""
    adjudication.check_adjudicator(admin)
    try:
        after = revisions.validate_content(
            question=question, options=options, answer=answer
        )
    except revisions.InvalidContent as error:
        raise AdjudicationError(str(error), error.errors) from None
    item = _lock_at(item_id, item_version)
    status_before = item.status
    revision = revisions.write(item=item, author=admin, after=after)
    decision = adjudication.record(
        item=item,
        admin=admin,
        decision=Decision.ACCEPT,
        comment=comment or "Merged the proposed edits.",
    )
    trail.decision(
        "review.merge",
        review=decision,
        item=item,
        status_before=status_before,
        revision=revision,
    )
    return decision


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "context" or "header"
    text: str


@dataclass(frozen=True)
class ReviewerColumn:
    review: Review
    edits: list[list[DiffLine]]
    proposal: EditProposal | None = None
    # The proposal against the item's current content: what adopting it changes.
    proposal_diff: list[DiffLine] | None = None


@dataclass(frozen=True)
class Comparison:
    columns: list[ReviewerColumn]
    revisions: list[ItemRevision]


def item_comparison(item: Item) -> Comparison:
    """Every current review of the item side by side, and the item's revisions.

    Each column carries the revisions its author made and, for an edit under
    blind double review, the proposal as a diff against the current content.
    """
    reviews = list(
        item.reviews.current()
        .select_related("reviewer", "proposal__adopted_by")
        .order_by("is_adjudication", "created_at")
    )
    written = list(item.revisions.select_related("author").order_by("version"))
    by_author: dict[int, list[ItemRevision]] = {}
    for revision in written:
        by_author.setdefault(revision.author_id, []).append(revision)
    current = history.snapshot(item)
    columns = []
    for review in reviews:
        proposal = getattr(review, "proposal", None)
        columns.append(
            ReviewerColumn(
                review=review,
                edits=[revision_diff(r) for r in by_author.get(review.reviewer_id, [])],
                proposal=proposal,
                proposal_diff=(
                    content_diff(
                        current,
                        proposal.content,
                        before=f"version {item.version}",
                        after=f"proposed by {review.reviewer.get_username()}",
                    )
                    if proposal is not None
                    else None
                ),
            )
        )
    return Comparison(columns=columns, revisions=written)


def revision_diff(revision: ItemRevision) -> list[DiffLine]:
    """A line diff of an edit; the template escapes the text like any model output."""
    return content_diff(
        revision.before,
        revision.after,
        before=f"version {revision.version - 1}",
        after=f"version {revision.version}",
    )


def content_diff(old: Any, new: Any, *, before: str, after: str) -> list[DiffLine]:
    """A line diff of two content snapshots, with a header per changed block."""
    lines = difflib.unified_diff(
        _as_lines(old),
        _as_lines(new),
        fromfile=before,
        tofile=after,
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
