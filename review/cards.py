"""The review card: everything one screen shows about an item, read in a few queries.

The template only displays what this selector computed (flags, highlighted
mentions, rubric rows, diffs), so no rule lives in the template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, QuerySet

from medsyn_app.compiled_sql import CompiledSubquery
from medsyn_app.roles import is_admin
from review import consensus, evidence, history, overlap
from review.models import Decision, EditProposal, ItemRevision, Review
from review.queue import (
    REVIEWABLE,
    Progress,
    policy_for,
    progress_columns,
    progress_of,
)
from review.reasons import REASONS, ReasonGate
from synthesis.models import (
    ANSWER_LETTERS,
    Document,
    Figure,
    Item,
    ItemFigure,
    ItemStatus,
    Verification,
)


@dataclass(frozen=True)
class FigureView:
    """One panel. A later panel of the same figure (same source, label and
    caption) carries no caption or mentions: the first panel shows them once."""

    figure: Figure
    caption: list[evidence.Segment]
    mentions: list[list[evidence.Segment]]
    repeat: bool = False


@dataclass(frozen=True)
class OptionView:
    letter: str
    text: str
    is_key: bool


@dataclass(frozen=True)
class RevisionView:
    revision: ItemRevision
    diff: list[history.DiffLine]


@dataclass
class Card:
    """One item as one reviewer sees it.

    Under blind double review (`blind`: the item's overlap plan is open and the
    viewer is not an admin) the card holds nothing of the other reviewers:
    only the viewer's own revisions, and the status as it was before anyone
    decided. The question and options are the viewer's own edit proposal when
    their current decision carries one, else the item's.
    """

    item: Item
    figures: list[FigureView]
    document: Document | None
    question: str
    options: list[OptionView]
    status: str
    verification: Verification | None
    rubric: list[evidence.RubricRow]
    threshold: float
    flags: list[evidence.Flag]
    revisions: list[RevisionView]
    answer_changed: bool
    own_review: Review | None
    previous_item_id: int | None
    proposal: EditProposal | None = None
    blind: bool = False
    progress: Progress | None = None
    reasons: tuple[ReasonGate, ...] = REASONS
    gates_failed: int = field(default=0)

    @property
    def score(self) -> float | None:
        return self.verification.normalized_score if self.verification else None

    @property
    def status_label(self) -> str:
        return ItemStatus(self.status).label

    @property
    def concerns(self) -> list[evidence.RubricRow]:
        """Rubric rows that failed or cost points: shown beside the question."""
        return [row for row in self.rubric if row.passed is False]


def _figure_views(links: list[ItemFigure]) -> list[FigureView]:
    views = []
    shown: set[tuple[int, str, str]] = set()
    for link in links:
        figure = link.figure
        text = (figure.document_id, figure.label, figure.caption)
        if text in shown:
            views.append(FigureView(figure, caption=[], mentions=[], repeat=True))
            continue
        shown.add(text)
        views.append(
            FigureView(
                figure=figure,
                caption=evidence.highlight(figure.caption, figure.label),
                mentions=evidence.highlighted_mentions(figure.mentions, figure.label),
            )
        )
    return views


def revision_views(revisions: Any) -> list[RevisionView]:
    return [RevisionView(r, history.diff(r.before, r.after)) for r in revisions]


def revisions_since(item_id: int, version: int, *, viewer: Any) -> list[RevisionView]:
    """Edits made after `version`: the change a stale save did not see.

    Under blind double review the viewer sees only their own.
    """
    newer = ItemRevision.objects.filter(item_id=item_id, version__gt=version)
    if overlap.blind_to(item_id, viewer):
        newer = newer.filter(author=viewer)
    return revision_views(newer.select_related("author").order_by("version"))


RECENT_REVIEWS = 30


def _standing(reviewer: Any) -> QuerySet[Review]:
    return Review.objects.current().filter(reviewer=reviewer).select_related("proposal")


def _own_and_previous(
    item_id: int, reviewer: Any, *, decided: bool
) -> tuple[Review | None, int | None]:
    """The reviewer's standing decision on this item and the item decided before it.

    `decided` (read with the item) says whether there is a standing decision.
    One query covers the usual case (a new item: one row read, or recent
    work); walking back further than RECENT_REVIEWS decisions costs two more.
    """
    ordered = _standing(reviewer).order_by("-created_at", "-id")
    if not decided:
        # A new item (the usual card): only the latest decision's item is needed.
        return None, ordered.values_list("item_id", flat=True).first()
    recent = list(ordered[:RECENT_REVIEWS])
    index = next((i for i, r in enumerate(recent) if r.item_id == item_id), None)
    if index is None and len(recent) == RECENT_REVIEWS:
        own = ordered.filter(item_id=item_id).first()
        if own is not None:
            earlier = ordered.filter(created_at__lt=own.created_at).exclude(
                item_id=item_id
            )
            return own, earlier.values_list("item_id", flat=True).first()
    own = recent[index] if index is not None else None
    after = recent[index + 1 :] if index is not None else recent
    previous = next((r.item_id for r in after if r.item_id != item_id), None)
    return own, previous


def last_decided(reviewer: Any) -> int | None:
    """The item of the reviewer's latest standing decision: K's target once the
    queue is empty (the item shown before the empty card, as a rule)."""
    latest = _standing(reviewer).order_by("-created_at", "-id")
    return latest.values_list("item_id", flat=True).first()


# The card query's own subqueries, compiled once (see medsyn_app.compiled_sql).
_DECIDED = CompiledSubquery(
    lambda reviewer, item: (
        Review.objects.current().filter(reviewer_id=reviewer, item_id=item).values("pk")
    ),
    "reviewer",
    "item",
)
_STATUS_BEFORE_REVIEW = CompiledSubquery(
    lambda item: (
        Review.objects.filter(item_id=item)
        .order_by("created_at", "id")
        .values("status_before")[:1]
    ),
    "item",
)


def card_for(*, item_id: int, reviewer: Any, with_progress: bool = False) -> Card:
    """Build the card for one item as `reviewer` sees it (raises Item.DoesNotExist).

    `with_progress` reads the reviewer's progress counts in the item's query.
    """
    columns = progress_columns(reviewer) if with_progress else {}
    columns["decided"] = _DECIDED.exists(reviewer=reviewer.pk, item=item_id)
    admin = is_admin(reviewer)
    if not admin:
        # Blind review needs the plan's figures and the status before any review.
        columns |= overlap.plan_columns(item_id)
        columns["status_before_review"] = _STATUS_BEFORE_REVIEW.column(
            output_field=CharField(), item=item_id
        )
    # The item (with its batch) comes along with its figure links: one query.
    links = list(
        ItemFigure.objects.filter(item_id=item_id)
        .select_related("item__batch", "figure__document")
        .annotate(**columns)
        .order_by("position")
    )
    if links:
        item, counted = links[0].item, links[0]
    else:
        item = Item.objects.select_related("batch").annotate(**columns).get(pk=item_id)
        counted = item
    verification = (
        Verification.objects.filter(item_id=item.pk)
        .order_by("-created_at", "-id")
        .first()
    )
    blind = not admin and overlap.open_in_row(counted)
    revisions = ItemRevision.objects.filter(item_id=item.pk)
    if blind:
        revisions = revisions.filter(author=reviewer)
    revisions = list(revisions.select_related("author").order_by("-version"))
    own_review, previous_item_id = _own_and_previous(
        item.pk, reviewer, decided=counted.decided
    )
    proposal = _open_proposal(own_review)
    content = proposal.content if proposal else history.snapshot(item)
    figures = _figure_views(links)
    rubric = evidence.rubric_rows(verification.criteria if verification else [])
    return Card(
        item=item,
        figures=figures,
        document=figures[0].figure.document if figures else None,
        question=content["question"],
        options=[
            OptionView(
                letter,
                str(content["options"].get(letter, "")),
                letter == content["answer"],
            )
            for letter in ANSWER_LETTERS
        ],
        status=_status_seen(item, verification, counted, blind=blind),
        verification=verification,
        rubric=rubric,
        threshold=policy_for(item.batch.config).threshold,
        flags=evidence.item_flags(item.flags),
        revisions=revision_views(revisions),
        answer_changed=any(r.answer_changed for r in revisions)
        or bool(proposal and proposal.answer_changed),
        own_review=own_review,
        previous_item_id=previous_item_id,
        proposal=proposal,
        blind=blind,
        progress=progress_of(counted) if with_progress else None,
        gates_failed=sum(1 for row in rubric if row.kind == "gate" and not row.passed),
    )


def _open_proposal(own_review: Review | None) -> EditProposal | None:
    """The viewer's own edit proposal, while an admin has not adopted it."""
    if own_review is None or own_review.decision != Decision.EDIT_ACCEPT:
        return None
    proposal = getattr(own_review, "proposal", None)
    return proposal if proposal is not None and proposal.adopted_at is None else None


def _status_seen(
    item: Item, verification: Verification | None, row: Any, *, blind: bool
) -> str:
    """The item's status, or under blind review the status before any decision.

    Another reviewer's flag (or, with three or more planned reviewers, a
    dispute) moves the status early; the blind reviewer must not learn that.
    """
    if not blind or item.status in REVIEWABLE:
        return item.status
    return consensus.status_in_review(
        verifier_kept=verification.kept if verification else None,
        status_before=row.status_before_review or "",
    )
