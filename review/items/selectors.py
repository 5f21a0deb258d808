"""Reads for the item browser: a page of items with everything its rows show.

A page costs a fixed number of queries whatever its size or depth: the page
itself (keyset: `WHERE id < last` on the sort key, never OFFSET), then the
latest verdicts, current decisions, edits, proposals and exclusions of just
those items.

Who sees what: an admin sees every item and every decision. A reviewer sees
only the items they decided (a decisive decision, not a skip), and on an item
whose overlap plan is open nothing of the other reviewers: not their
decisions, edits or proposals, and not the status those moved (blind review,
as on the review card). Filters on decisions, flags and edits read only the
reviewer's own work, and the status filter leaves out items under an open plan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)

from medsyn_app.roles import is_admin
from review import consensus, evidence, overlap
from review.items import search
from review.models import (
    Decision,
    EditProposal,
    ExportExclusion,
    ItemRevision,
    RejectReason,
    Review,
    current_q,
)
from review.queue import REVIEWABLE
from synthesis.models import (
    GenerationFailure,
    Item,
    ItemFigure,
    ItemStatus,
    Verification,
)
from synthesis.rubric import RUBRIC_V1

DEFAULT_PAGE_SIZE = 50
PAGE_SIZES = (25, 50, 100, 200)
GATES: tuple[str, ...] = tuple(c.title for c in RUBRIC_V1.criteria if c.is_gate)


class Sort:
    NEWEST = "newest"
    OLDEST = "oldest"
    SCORE_HIGH = "score_high"
    SCORE_LOW = "score_low"
    CHOICES = (
        (NEWEST, "Newest first"),
        (OLDEST, "Oldest first"),
        (SCORE_HIGH, "Verifier score, high to low"),
        (SCORE_LOW, "Verifier score, low to high"),
    )
    BY_SCORE = (SCORE_HIGH, SCORE_LOW)


# Items with no scored verdict come after every score, in either direction;
# their cursors carry this score (scores lie in [0, 1]).
NO_SCORE = -1.0


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    batch: int | None = None
    modality: str = ""
    score_min: float | None = None
    score_max: float | None = None
    failed_gate: str = ""
    reason: str = ""
    reviewer: int | None = None
    flagged: bool | None = None
    edited: bool | None = None
    sort: str = Sort.NEWEST


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: the last row's sort key and id."""

    pk: int
    score: float | None = None

    def encode(self) -> str:
        return str(self.pk) if self.score is None else f"{self.score!r}_{self.pk}"

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        """Parse a cursor for `sort` (ValueError if it is not one)."""
        if sort in Sort.BY_SCORE:
            score, _, pk = text.partition("_")
            return cls(pk=int(pk), score=float(score))
        return cls(pk=int(text))


@dataclass(frozen=True)
class DecisionView:
    reviewer: str
    decision: str
    decision_label: str
    reason: str
    comment: str
    is_adjudication: bool
    created_at: datetime


@dataclass
class Row:
    item: Item
    status: str
    score: float | None
    failed_gates: list[str]
    verifier_error: str
    decisions: list[DecisionView] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)
    excluded: str = ""
    blind: bool = False

    @property
    def status_label(self) -> str:
        return ItemStatus(self.status).label


@dataclass
class Page:
    rows: list[Row]
    next_cursor: str | None
    page_size: int


# ---- which items --------------------------------------------------------------


def visible_items(user: Any) -> QuerySet[Item]:
    """Admins: every item. Reviewers: the items they made a decisive decision on."""
    if is_admin(user):
        return Item.objects.all()
    mine = (
        Review.objects.current()
        .filter(item=OuterRef("pk"), reviewer=user)
        .exclude(decision=Decision.SKIP)
    )
    return Item.objects.filter(Exists(mine)).annotate(
        **overlap.plan_columns(OuterRef("pk"))
    )


def _open_plan() -> Q:
    # `is_open` over the columns `plan_columns` added (reviewers' rows only).
    return Q(plan_reviewers__gte=2, plan_adjudicated=False) & Q(
        plan_decided__lt=F("plan_reviewers")
    )


def latest_verifications() -> QuerySet[Verification]:
    """Each item's latest verification (as the review queue reads it)."""
    newer = Verification.objects.filter(
        item=OuterRef("item"), created_at__gt=OuterRef("created_at")
    )
    return Verification.objects.filter(~Exists(newer))


def filtered(items: QuerySet[Item], filters: Filters, user: Any) -> QuerySet[Item]:
    """`items` narrowed by every filter that is set."""
    admin = is_admin(user)
    f = filters
    if f.q:
        items = items.filter(search.matching(f.q))
    if f.status:
        items = items.filter(status=f.status)
        if not admin:
            items = items.exclude(_open_plan())
    if f.batch is not None:
        items = items.filter(batch_id=f.batch)
    if f.modality:
        of_figure = ItemFigure.objects.filter(
            item=OuterRef("pk"), figure__modality=f.modality
        )
        items = items.filter(
            Q(modality=f.modality) | (Q(modality="") & Q(Exists(of_figure)))
        )
    verdicts = latest_verifications().filter(item=OuterRef("pk"))
    if f.score_min is not None:
        verdicts = verdicts.filter(normalized_score__gte=f.score_min)
    if f.score_max is not None:
        verdicts = verdicts.filter(normalized_score__lte=f.score_max)
    if f.failed_gate:
        verdicts = verdicts.filter(search.FailedGate(F("criteria"), f.failed_gate))
    if f.score_min is not None or f.score_max is not None or f.failed_gate:
        items = items.filter(Exists(verdicts))
    reviews = Review.objects.current().filter(item=OuterRef("pk"))
    revisions = ItemRevision.objects.filter(item=OuterRef("pk"))
    proposals = EditProposal.objects.filter(
        current_q("review__"), item=OuterRef("pk"), adopted_at__isnull=True
    )
    if not admin:
        reviews = reviews.filter(reviewer=user)
        revisions = revisions.filter(author=user)
        proposals = proposals.filter(author=user)
    if f.reason:
        items = items.filter(
            Exists(reviews.filter(decision=Decision.REJECT, reason_code=f.reason))
        )
    if f.reviewer is not None:
        items = items.filter(Exists(reviews.filter(reviewer_id=f.reviewer)))
    if f.flagged is not None:
        flagged = Q(Exists(reviews.filter(decision=Decision.FLAG)))
        if admin:
            flagged |= Q(status=ItemStatus.FLAGGED)
        items = items.filter(flagged if f.flagged else ~flagged)
    if f.edited is not None:
        edited = Q(Exists(revisions)) | Q(Exists(proposals))
        items = items.filter(edited if f.edited else ~edited)
    return items


def ordered(items: QuerySet[Item], sort: str, after: Cursor | None) -> QuerySet[Item]:
    """Newest or oldest first, after the cursor: a keyset, so depth costs nothing."""
    if sort == Sort.OLDEST:
        if after is not None:
            items = items.filter(pk__gt=after.pk)
        return items.order_by("pk")
    if after is not None:
        items = items.filter(pk__lt=after.pk)
    return items.order_by("-pk")


def _with_page_columns(items: QuerySet[Item], user: Any) -> QuerySet[Item]:
    """What the rows read from the item query itself (the raw output stays out)."""
    if is_admin(user):
        exclusion = ExportExclusion.objects.filter(item=OuterRef("pk"))
        items = items.annotate(excluded_reason=Subquery(exclusion.values("reason")[:1]))
    else:
        first = Review.objects.filter(item=OuterRef("pk")).order_by("created_at", "id")
        items = items.annotate(
            status_before_review=Subquery(first.values("status_before")[:1])
        )
    return items.select_related("batch").defer("raw_output")


def scored_query(
    items: QuerySet[Item], sort: str, after: Cursor | None
) -> QuerySet[Verification]:
    """(item id, score) of the items' latest scored verdicts, in score order.

    Read off the verification score index and stopped at a page, rather than
    scoring every item and sorting them all.
    """
    scored = latest_verifications().filter(
        normalized_score__isnull=False, item_id__in=items.values("pk")
    )
    high = sort == Sort.SCORE_HIGH
    if after is not None and after.score is not None:
        if high:
            scored = scored.filter(
                Q(normalized_score__lt=after.score)
                | Q(normalized_score=after.score, item_id__lt=after.pk)
            )
        else:
            scored = scored.filter(
                Q(normalized_score__gt=after.score)
                | Q(normalized_score=after.score, item_id__gt=after.pk)
            )
    order = (
        ("-normalized_score", "-item_id") if high else ("normalized_score", "item_id")
    )
    return scored.order_by(*order).values_list("item_id", "normalized_score")


def _by_score(
    items: QuerySet[Item], user: Any, sort: str, after: Cursor | None, size: int
) -> list[Item]:
    """Scored items in score order, then the never-scored ones (newest first)."""
    found: list[Item] = []
    in_tail = after is not None and after.score == NO_SCORE
    if not in_tail:
        pairs = list(scored_query(items, sort, after)[: size + 1])
        by_pk = _with_page_columns(items, user).in_bulk([pk for pk, _ in pairs])
        for pk, score in pairs:
            item = by_pk[pk]
            item.sort_score = score
            found.append(item)
    if len(found) <= size:
        has_score = latest_verifications().filter(
            item=OuterRef("pk"), normalized_score__isnull=False
        )
        tail = items.filter(~Exists(has_score))
        if in_tail:
            tail = tail.filter(pk__lt=after.pk)
        for item in _with_page_columns(tail.order_by("-pk"), user)[
            : size + 1 - len(found)
        ]:
            item.sort_score = NO_SCORE
            found.append(item)
    return found


def page_query(
    *, user: Any, filters: Filters, after: Cursor | None, size: int
) -> QuerySet[Any]:
    """The page's main query (one row more than `size`, to see if more follow)."""
    items = filtered(visible_items(user), filters, user)
    if filters.sort in Sort.BY_SCORE:
        return scored_query(items, filters.sort, after)[: size + 1]
    items = ordered(items, filters.sort, after)
    return _with_page_columns(items, user)[: size + 1]


def page(
    *,
    user: Any,
    filters: Filters,
    after: Cursor | None = None,
    size: int = DEFAULT_PAGE_SIZE,
) -> Page:
    """One page of the browser as `user` may see it."""
    if filters.sort in Sort.BY_SCORE:
        items = filtered(visible_items(user), filters, user)
        found = _by_score(items, user, filters.sort, after, size)
    else:
        found = list(page_query(user=user, filters=filters, after=after, size=size))
    more = len(found) > size
    found = found[:size]
    rows = rows_for(found, user)
    next_cursor = None
    if more and found:
        last = found[-1]
        score = (
            getattr(last, "sort_score", None) if filters.sort in Sort.BY_SCORE else None
        )
        next_cursor = Cursor(pk=last.pk, score=score).encode()
    return Page(rows=rows, next_cursor=next_cursor, page_size=size)


# ---- what each row shows --------------------------------------------------------


def rows_for(items: list[Item], user: Any) -> list[Row]:
    """Rows for these items: three queries, whatever their number."""
    admin = is_admin(user)
    ids = [item.pk for item in items]
    verdicts: dict[int, Verification] = {}
    for verification in (
        Verification.objects.filter(item_id__in=ids)
        .order_by("item_id", "-created_at", "-id")
        .only("item_id", "criteria", "normalized_score", "kept", "error", "created_at")
    ):
        verdicts.setdefault(verification.item_id, verification)
    reviews: dict[int, list[Review]] = defaultdict(list)
    for review in (
        Review.objects.current()
        .filter(item_id__in=ids)
        .select_related("reviewer")
        .order_by("created_at", "id")
    ):
        reviews[review.item_id].append(review)
    edits: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for item_id, author_id, text in _edit_lines(ids):
        edits[item_id].append((author_id, text))
    rows = []
    for item in items:
        blind = not admin and overlap.open_in_row(item)
        verification = verdicts.get(item.pk)
        shown = [r for r in reviews[item.pk] if not blind or r.reviewer_id == user.pk]
        status = item.status
        if blind and status not in REVIEWABLE:
            status = consensus.status_in_review(
                verifier_kept=verification.kept if verification else None,
                status_before=getattr(item, "status_before_review", "") or "",
            )
        rubric = evidence.rubric_rows(verification.criteria if verification else [])
        rows.append(
            Row(
                item=item,
                status=status,
                score=verification.normalized_score if verification else None,
                failed_gates=[
                    r.title for r in rubric if r.kind == "gate" and r.passed is False
                ],
                verifier_error=verification.error if verification else "",
                decisions=[_decision_view(r) for r in shown],
                flags=[flag.code for flag in evidence.item_flags(item.flags)],
                edits=[
                    text
                    for author_id, text in edits[item.pk]
                    if not blind or author_id == user.pk
                ],
                excluded=getattr(item, "excluded_reason", None) or "",
                blind=blind,
            )
        )
    return rows


def _edit_lines(ids: list[int]) -> list[tuple[int, int, str]]:
    """(item id, author id, "v2 by bob") for edits and open proposals: one query."""
    revisions = (
        ItemRevision.objects.filter(item_id__in=ids)
        .order_by()
        .values_list("item_id", "author_id", "version", "author__username")
    )
    proposals = (
        EditProposal.objects.filter(
            current_q("review__"), item_id__in=ids, adopted_at__isnull=True
        )
        .annotate(version=Value(0))
        .order_by()
        .values_list("item_id", "author_id", "version", "author__username")
    )
    rows = sorted(revisions.union(proposals, all=True))
    return [
        (
            item_id,
            author_id,
            f"v{version} by {name}" if version else f"proposed by {name}",
        )
        for item_id, author_id, version, name in rows
    ]


def _decision_view(review: Review) -> DecisionView:
    return DecisionView(
        reviewer=review.reviewer.get_username(),
        decision=review.decision,
        decision_label=Decision(review.decision).label,
        reason=RejectReason(review.reason_code).label if review.reason_code else "",
        comment=review.comment,
        is_adjudication=review.is_adjudication,
        created_at=review.created_at,
    )


# ---- one item -------------------------------------------------------------------


@dataclass
class Detail:
    row: Row
    reviews: list[Review]
    figures: list[Any]
    rubric: list[evidence.RubricRow]
    exclusion: ExportExclusion | None


def detail(*, user: Any, pk: int) -> Detail:
    """One item with every decision the user may see (raises Item.DoesNotExist)."""
    items = visible_items(user).select_related("batch").filter(pk=pk)
    if not is_admin(user):
        first = Review.objects.filter(item=OuterRef("pk")).order_by("created_at", "id")
        items = items.annotate(
            status_before_review=Subquery(first.values("status_before")[:1])
        )
    item = items.get()
    (row,) = rows_for([item], user)
    reviews = overlap.visible_reviews_for(item, user).order_by("created_at", "id")
    verification = (
        Verification.objects.filter(item=item).order_by("-created_at", "-id").first()
    )
    return Detail(
        row=row,
        reviews=list(reviews),
        figures=[
            link.figure
            for link in ItemFigure.objects.filter(item=item)
            .select_related("figure")
            .order_by("position")
        ],
        rubric=evidence.rubric_rows(verification.criteria if verification else []),
        exclusion=ExportExclusion.objects.filter(item=item)
        .select_related("excluded_by")
        .first()
        if is_admin(user)
        else None,
    )


# ---- failures -------------------------------------------------------------------


class FailureKind:
    GENERATION = "generation"
    VERIFICATION = "verification"
    CHOICES = (
        (GENERATION, "Failed generations"),
        (VERIFICATION, "Failed verifications"),
    )


@dataclass(frozen=True)
class Failure:
    pk: int
    kind: str
    cause: str
    batch_id: int
    batch_name: str
    where: str
    detail: str
    raw_output: str
    created_at: datetime


FAILURES_PER_PAGE = 50


def failure_causes(batch: int | None = None) -> dict[str, list[tuple[str, int]]]:
    """Each kind's causes with their counts, most frequent first."""
    generation = GenerationFailure.objects.all()
    verification = Verification.objects.exclude(error="")
    if batch is not None:
        generation = generation.filter(batch_id=batch)
        verification = verification.filter(item__batch_id=batch)
    return {
        FailureKind.GENERATION: list(
            generation.values_list("reason")
            .annotate(n=Count("pk"))
            .order_by("-n", "reason")
        ),
        FailureKind.VERIFICATION: list(
            verification.values_list("error")
            .annotate(n=Count("pk"))
            .order_by("-n", "error")
        ),
    }


def failures(
    *, kind: str, cause: str = "", batch: int | None = None, before: int | None = None
) -> tuple[list[Failure], int | None]:
    """A page of failures of one kind, newest first, and the cursor for the next."""
    if kind == FailureKind.VERIFICATION:
        rows = Verification.objects.exclude(error="").select_related("item__batch")
        if cause:
            rows = rows.filter(error=cause)
        if batch is not None:
            rows = rows.filter(item__batch_id=batch)
    else:
        rows = GenerationFailure.objects.select_related("batch")
        if cause:
            rows = rows.filter(reason=cause)
        if batch is not None:
            rows = rows.filter(batch_id=batch)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows.order_by("-pk")[: FAILURES_PER_PAGE + 1])
    more = len(found) > FAILURES_PER_PAGE
    found = found[:FAILURES_PER_PAGE]
    shown = [_failure(row, kind) for row in found]
    return shown, (found[-1].pk if more else None)


def _failure(row: Any, kind: str) -> Failure:
    if kind == FailureKind.VERIFICATION:
        batch = row.item.batch
        return Failure(
            pk=row.pk,
            kind=kind,
            cause=row.error,
            batch_id=batch.pk,
            batch_name=batch.name,
            where=f"item {row.item_id} by {row.verifier_model}",
            detail="",
            raw_output=row.raw_output,
            created_at=row.created_at,
        )
    return Failure(
        pk=row.pk,
        kind=kind,
        cause=row.reason,
        batch_id=row.batch_id,
        batch_name=row.batch.name,
        where=f"group {row.group_key} sample {row.sample_index} attempt {row.attempt}",
        detail=row.detail,
        raw_output=row.raw_output,
        created_at=row.created_at,
    )
