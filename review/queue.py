"""Which item a reviewer sees next, and the expiring claim that reserves it.

Each batch has a queue policy chosen by an admin (`Batch.config["review_policy"]`).
Batches are served oldest first; within a batch the policy picks the order.
A claim is an `Assignment` with `claimed_until` in the future: while it holds,
no other reviewer is handed that item. The candidate's item row is
locked with `SELECT ... FOR UPDATE SKIP LOCKED` before the claim is written, so
concurrent requests never pick the same item (on SQLite, which has no row
locks, writes are serialised anyway).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Abs, Mod
from django.utils import timezone

from medsyn_app.compiled_sql import CompiledSubquery
from medsyn_app.roles import is_admin
from review.evidence import DEFAULT_KEEP_THRESHOLD
from review.models import Assignment, Review
from synthesis.models import Batch, Figure, Item, ItemStatus, Verification

CLAIM_LEASE = timedelta(minutes=10)
# Each attempt skips one item another request holds; enough for many at once.
MAX_CLAIM_ATTEMPTS = 50
# Statuses a verifier leaves behind; reviewer decisions move items out of them.
REVIEWABLE = (ItemStatus.GENERATED, ItemStatus.KEPT, ItemStatus.DROPPED)
# A multiplicative hash modulo a prime turns (seed, id) into a reproducible
# sample order; the seed picks the multiplier, so each seed is a new permutation.
_HASH_MODULUS = 4294967291


class ReviewPolicy(models.TextChoices):
    BORDERLINE = "borderline", "Borderline verifier scores first"
    AUDIT = "audit", "Random audit sample of kept items"
    FAILED_GATES = "failed_gates", "Failed essential gates only"
    EVERYTHING = "everything", "Everything, in order"


@dataclass(frozen=True)
class Policy:
    name: str = ReviewPolicy.EVERYTHING
    threshold: float = DEFAULT_KEEP_THRESHOLD
    seed: int = 0
    sample_rate: float = 0.1


def policy_for(config: dict[str, Any] | None) -> Policy:
    """The queue policy stored in a batch config; unknown names fall back safely."""
    raw = (config or {}).get("review_policy") or {}
    name = raw.get("name", ReviewPolicy.EVERYTHING)
    if name not in ReviewPolicy.values:
        name = ReviewPolicy.EVERYTHING
    threshold = (config or {}).get("keep_threshold", DEFAULT_KEEP_THRESHOLD)
    return Policy(
        name=name,
        threshold=float(raw.get("threshold", threshold)),
        seed=int(raw.get("seed", 0)),
        sample_rate=float(raw.get("sample_rate", 0.1)),
    )


def _latest_verification(field: str) -> Subquery:
    # Correlated per item: fine for the selective policies, not for sorting.
    latest = Verification.objects.filter(item=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return Subquery(latest.values(field)[:1])


def _latest(batch_id: int) -> QuerySet[Verification]:
    """Each item's latest verification, within one batch."""
    newer = Verification.objects.filter(
        item=OuterRef("item"), created_at__gt=OuterRef("created_at")
    )
    return Verification.objects.filter(item__batch_id=batch_id).filter(~Exists(newer))


def _latest_scored(batch_id: int) -> QuerySet[Verification]:
    """Latest scored verifications of items the verifier kept or dropped."""
    return _latest(batch_id).filter(
        item__status__in=(ItemStatus.KEPT, ItemStatus.DROPPED),
        normalized_score__isnull=False,
    )


def borderline_sides(batch_id: int, threshold: float) -> tuple[QuerySet, QuerySet]:
    """Latest verifications just above and just below the threshold, nearest first.

    Walking the score index outwards from the threshold finds the most
    borderline item without sorting the whole batch by |score − threshold|.
    """
    latest = _latest_scored(batch_id)
    above = latest.filter(normalized_score__gte=threshold).order_by(
        "normalized_score", "item_id"
    )
    below = latest.filter(normalized_score__lt=threshold).order_by(
        "-normalized_score", "-item_id"
    )
    return above, below


def ordered_candidates(batch_id: int, policy: Policy) -> QuerySet[Item]:
    """Items of one batch that the policy puts in the queue, in queue order.

    Borderline order is served by `borderline_sides`; here it is the plain
    |score − threshold| sort, which reads clearly and suits small listings.
    """
    if policy.name == ReviewPolicy.BORDERLINE:
        return (
            Item.objects.filter(pk__in=_latest_scored(batch_id).values("item_id"))
            .annotate(score=_latest_verification("normalized_score"))
            .annotate(distance=Abs(F("score") - Value(policy.threshold)))
            .order_by("distance", "id")
        )
    items = Item.objects.filter(batch_id=batch_id)
    if policy.name == ReviewPolicy.AUDIT:
        cut = int(policy.sample_rate * _HASH_MODULUS)
        digest = hashlib.sha256(f"audit:{policy.seed}".encode()).digest()
        multiplier = int.from_bytes(digest[:8], "big") % (_HASH_MODULUS - 1) + 1
        sample_hash = Mod(
            F("id") * Value(multiplier) + Value(policy.seed),
            Value(_HASH_MODULUS),
            output_field=models.BigIntegerField(),
        )
        return (
            items.filter(status=ItemStatus.KEPT)
            .annotate(sample_hash=sample_hash)
            .filter(sample_hash__lt=cut)
            .order_by("sample_hash", "id")
        )
    if policy.name == ReviewPolicy.FAILED_GATES:
        failed = _latest(batch_id).filter(essentials_passed=False)
        return items.filter(
            status=ItemStatus.DROPPED, pk__in=failed.values("item_id")
        ).order_by("id")
    return items.filter(status__in=REVIEWABLE).order_by("id")


def _open_to(reviewer: Any, now: Any, item: str = "pk") -> Q:
    """Not decided by this reviewer and not held by someone else's live claim."""
    held = Assignment.objects.filter(
        item=OuterRef(item), completed_at__isnull=True, claimed_until__gt=now
    ).exclude(reviewer=reviewer)
    decided = Review.objects.current().filter(item=OuterRef(item), reviewer=reviewer)
    # An overlap plan names an item's reviewers; nobody else is handed it.
    planned = Assignment.objects.filter(item=OuterRef(item), planned=True)
    planned_mine = planned.filter(reviewer=reviewer)
    return ~Exists(held) & ~Exists(decided) & (~Exists(planned) | Exists(planned_mine))


def _resume_claim(
    reviewer: Any, now: Any, exclude: Collection[int], prefer: int | None = None
) -> int | None:
    order: list[Any] = ["created_at", "id"]
    if prefer is not None:
        # The claim the browser already shows (a prefetched card) comes first.
        order.insert(0, Case(When(item_id=prefer, then=Value(0)), default=Value(1)))
    mine = (
        Assignment.objects.filter(
            reviewer=reviewer,
            completed_at__isnull=True,
            claimed_until__gt=now,
            item__status__in=REVIEWABLE,
        )
        .exclude(item_id__in=exclude)
        .order_by(*order)
        .values_list("pk", "item_id", "claimed_until")
        .first()
    )
    if mine is None:
        return None
    pk, item_id, claimed_until = mine
    # Renew a claim only once half of it has run out: most reloads stay reads.
    if claimed_until - now < CLAIM_LEASE / 2:
        Assignment.objects.filter(pk=pk).update(claimed_until=now + CLAIM_LEASE)
    return item_id


def _first_open(
    reviewer: Any, batch_id: int, policy: Policy, now: Any, exclude: set[int]
) -> int | None:
    """The first candidate under the policy that is open to this reviewer."""
    if policy.name != ReviewPolicy.BORDERLINE:
        candidates = ordered_candidates(batch_id, policy).filter(
            _open_to(reviewer, now)
        )
        return candidates.exclude(pk__in=exclude).values_list("pk", flat=True).first()
    nearest = []
    for side in borderline_sides(batch_id, policy.threshold):
        found = (
            side.filter(_open_to(reviewer, now, item="item_id"))
            .exclude(item_id__in=exclude)
            .values_list("normalized_score", "item_id")
            .first()
        )
        if found is not None:
            nearest.append((abs(found[0] - policy.threshold), found[1]))
    return min(nearest)[1] if nearest else None


def _claim_in_batch(
    reviewer: Any, batch: dict[str, Any], now: Any, exclude: set[int]
) -> int | None:
    policy = policy_for(batch["config"])
    for _attempt in range(MAX_CLAIM_ATTEMPTS):
        item_id = _first_open(reviewer, batch["id"], policy, now, exclude)
        if item_id is None:
            return None
        exclude.add(item_id)
        # Whoever holds the item row is claiming it right now: move on.
        locked = Item.objects.select_for_update(skip_locked=True).filter(pk=item_id)
        if not locked.values_list("pk", flat=True):
            continue
        # With the row lock held, a fresh statement sees every claim committed
        # before it, so a claim that raced the candidate query is caught here.
        taken = Assignment.objects.filter(
            item_id=item_id, completed_at__isnull=True, claimed_until__gt=now
        ).exclude(reviewer=reviewer)
        if not taken.exists():
            Assignment.objects.update_or_create(
                item_id=item_id,
                reviewer=reviewer,
                defaults={"claimed_until": now + CLAIM_LEASE, "completed_at": None},
            )
            return item_id
    return None


def claim_next(
    *, reviewer: Any, exclude: Collection[int] = (), prefer: int | None = None
) -> int | None:
    """Claim (or keep) the next item for `reviewer`; its id, or None when empty.

    The reviewer's own live claims come first, so reloading the page, or the
    prefetched next item, never hands out a different item; `prefer` names the
    claim to resume first (the card the browser is already showing).
    """
    now = timezone.now()
    # Resuming reads (and at most renews) the reviewer's own claim: no lock needed.
    item_id = _resume_claim(reviewer, now, exclude, prefer)
    if item_id is not None:
        return item_id
    with transaction.atomic():
        has_work = Item.objects.filter(batch=OuterRef("pk"), status__in=REVIEWABLE)
        batches = (
            Batch.objects.filter(Exists(has_work))
            .order_by("created_at", "id")
            .values("id", "config")
        )
        skip = set(exclude)
        for batch in batches:
            item_id = _claim_in_batch(reviewer, batch, now, skip)
            if item_id is not None:
                return item_id
    return None


def claim_after(*, reviewer: Any, passed: Sequence[int]) -> int | None:
    """Claim the next item after the ones the reviewer passed, latest first (J).

    The reviewer's own claims come first in `claim_next`, so excluding only the
    item on screen would hand back an item skipped a moment ago (J from B to A,
    then back to B). Passing over every item the tab has shown moves on instead;
    once nothing else is left, the queue wraps around to the skipped items.
    """
    item_id = claim_next(reviewer=reviewer, exclude=passed)
    if item_id is None and len(passed) > 1:
        item_id = claim_next(reviewer=reviewer, exclude=passed[:1])
    return item_id


_ASSIGNED = CompiledSubquery(
    lambda item, reviewer: Assignment.objects.filter(
        item_id=item, reviewer_id=reviewer
    ).values("pk"),
    "item",
    "reviewer",
)


def visible_items(user: Any, item: int | None = None) -> QuerySet[Item]:
    """Items a user may open: admins all, reviewers those handed to them.

    With `item`, only that item (if visible): the check every decision makes,
    with its subquery compiled once.
    """
    if is_admin(user):
        items = Item.objects.all()
    elif item is not None:
        items = Item.objects.filter(_ASSIGNED.exists(item=item, reviewer=user.pk))
    else:
        items = Item.objects.filter(
            Exists(Assignment.objects.filter(item=OuterRef("pk"), reviewer=user))
        )
    return items if item is None else items.filter(pk=item)


def visible_figure(user: Any, figure_id: int) -> Figure | None:
    """A figure shown by an item the user may open, or None."""
    items = visible_items(user).filter(item_figures__figure_id=figure_id)
    return Figure.objects.filter(pk=figure_id, items__in=items).first()


# Counting every open item is O(items); past this many the page says "1000+".
OPEN_ITEMS_CAP = 1000


@dataclass(frozen=True)
class Progress:
    decided_today: int
    open_items: int

    @property
    def open_items_capped(self) -> bool:
        return self.open_items > OPEN_ITEMS_CAP


def progress_columns(reviewer: Any) -> dict[str, RawSQL]:
    """Both progress counts as columns, so a page's first query can carry them.

    The open-items count reads at most OPEN_ITEMS_CAP + 1 index entries, so it
    costs the same at any queue size.
    """
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    # No ORDER BY: the models' default ordering would sort every open item.
    # Current decisions only: deciding an item again replaces, it does not add.
    decided = (
        Review.objects.current()
        .filter(reviewer=reviewer, created_at__gte=start)
        .order_by()
    )
    open_items = Item.objects.filter(status__in=REVIEWABLE).order_by()
    decided_sql, decided_params = decided.values("pk").query.sql_with_params()
    open_query = open_items.values("pk")[: OPEN_ITEMS_CAP + 1].query
    open_sql, open_params = open_query.sql_with_params()
    # Only ORM-compiled SQL goes in; every value stays a bound parameter.
    return {
        "progress_decided": RawSQL(  # noqa: S611
            f"SELECT COUNT(*) FROM ({decided_sql}) AS decided",  # noqa: S608
            decided_params,
            output_field=models.IntegerField(),
        ),
        "progress_open": RawSQL(  # noqa: S611
            f"SELECT COUNT(*) FROM ({open_sql}) AS open_items",  # noqa: S608
            open_params,
            output_field=models.IntegerField(),
        ),
    }


def progress_of(row: Any) -> Progress:
    """The Progress read by `progress_columns` on a model instance."""
    return Progress(decided_today=row.progress_decided, open_items=row.progress_open)


def progress_for(reviewer: Any) -> Progress:
    """Decisions this reviewer made today and (up to a cap) items awaiting review."""
    columns = progress_columns(reviewer)
    with connection.cursor() as cursor:
        sql = ", ".join(f"({c.sql})" for c in columns.values())
        params = [p for c in columns.values() for p in c.params]
        cursor.execute(f"SELECT {sql}", params)  # noqa: S608
        decided_today, open_count = cursor.fetchone()
    return Progress(decided_today=decided_today, open_items=open_count)
