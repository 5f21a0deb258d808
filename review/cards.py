"""The review card: everything one screen shows about an item, read in a few queries.

The template only displays what this selector computed (flags, highlighted
mentions, rubric rows, diffs), so no rule lives in the template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, QuerySet

from review import evidence, history
from review.models import ItemRevision, Review
from review.queue import Progress, policy_for, progress_columns, progress_of
from review.reasons import REASONS, ReasonGate
from synthesis.models import (
    ANSWER_LETTERS,
    Document,
    Figure,
    Item,
    ItemFigure,
    Verification,
)


@dataclass(frozen=True)
class FigureView:
    figure: Figure
    caption: list[evidence.Segment]
    mentions: list[list[evidence.Segment]]


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
    item: Item
    figures: list[FigureView]
    document: Document | None
    options: list[OptionView]
    verification: Verification | None
    rubric: list[evidence.RubricRow]
    threshold: float
    flags: list[evidence.Flag]
    revisions: list[RevisionView]
    answer_changed: bool
    own_review: Review | None
    previous_item_id: int | None
    progress: Progress | None = None
    reasons: tuple[ReasonGate, ...] = REASONS
    gates_failed: int = field(default=0)

    @property
    def score(self) -> float | None:
        return self.verification.normalized_score if self.verification else None


def _figure_views(links: list[ItemFigure]) -> list[FigureView]:
    views = []
    for link in links:
        figure = link.figure
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


def revisions_since(item_id: int, version: int) -> list[RevisionView]:
    """Edits made after `version`: the change a stale save did not see."""
    newer = ItemRevision.objects.filter(item_id=item_id, version__gt=version)
    return revision_views(newer.select_related("author").order_by("version"))


RECENT_REVIEWS = 30


def _standing(reviewer: Any) -> QuerySet[Review]:
    return Review.objects.filter(reviewer=reviewer, undone_at__isnull=True)


def _own_and_previous(
    item_id: int, reviewer: Any, *, decided: bool
) -> tuple[Review | None, int | None]:
    """The reviewer's standing decision on this item and the item decided before it.

    `decided` (read with the item) says whether there is a standing decision.
    One query covers the usual case (a new item, or recent work); walking back
    further than RECENT_REVIEWS decisions costs two more.
    """
    ordered = _standing(reviewer).order_by("-created_at", "-id")
    recent = list(ordered[:RECENT_REVIEWS])
    index = next((i for i, r in enumerate(recent) if r.item_id == item_id), None)
    if decided and index is None and len(recent) == RECENT_REVIEWS:
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


def card_for(*, item_id: int, reviewer: Any, with_progress: bool = False) -> Card:
    """Build the card for one item as `reviewer` sees it (raises Item.DoesNotExist).

    `with_progress` reads the reviewer's progress counts in the item's query.
    """
    columns = progress_columns(reviewer) if with_progress else {}
    columns["decided"] = Exists(_standing(reviewer).filter(item_id=item_id))
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
    revisions = list(
        ItemRevision.objects.filter(item_id=item.pk)
        .select_related("author")
        .order_by("-version")
    )
    own_review, previous_item_id = _own_and_previous(
        item.pk, reviewer, decided=counted.decided
    )
    figures = _figure_views(links)
    rubric = evidence.rubric_rows(verification.criteria if verification else [])
    return Card(
        item=item,
        figures=figures,
        document=figures[0].figure.document if figures else None,
        options=[
            OptionView(letter, str(item.options.get(letter, "")), letter == item.answer)
            for letter in ANSWER_LETTERS
        ],
        verification=verification,
        rubric=rubric,
        threshold=policy_for(item.batch.config).threshold,
        flags=evidence.item_flags(item.flags),
        revisions=revision_views(revisions),
        answer_changed=any(r.answer_changed for r in revisions),
        own_review=own_review,
        previous_item_id=previous_item_id,
        progress=progress_of(counted) if with_progress else None,
        gates_failed=sum(1 for row in rubric if row.kind == "gate" and not row.passed),
    )
