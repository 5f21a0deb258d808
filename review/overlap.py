"""Who reviews what: per-batch overlap settings, assignment planning, blind review.

Settings live in `Batch.config["review_overlap"]`, beside the rest of the
batch's configuration, so a batch records how it was audited. Planning draws
its random samples from a seeded generator: the same batch, settings and seed
always give the same audit sample and the same double-review sample.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from medsyn_app.audit import services as audit
from medsyn_app.compiled_sql import CompiledSubquery
from medsyn_app.roles import REVIEWER_GROUP, is_admin
from review import trail
from review.models import Assignment, Decision, Review, ReviewerProfile, Specialty
from synthesis.models import Batch, Item, ItemFigure, ItemStatus

CONFIG_KEY = "review_overlap"

# Which specialty can judge which modality (MedVLSynther's modality vocabulary).
# Modalities not listed ("Other", blank) may go to any reviewer.
MODALITY_SPECIALTY: dict[str, str] = {
    "CT": Specialty.RADIOLOGY,
    "MR": Specialty.RADIOLOGY,
    "X-Ray": Specialty.RADIOLOGY,
    "Ultrasound": Specialty.RADIOLOGY,
    "Microscopy": Specialty.PATHOLOGY,
    "Dermoscopy": Specialty.DERMATOLOGY,
    "Digital Photography": Specialty.DERMATOLOGY,
    "Fundus Photography": Specialty.OPHTHALMOLOGY,
    "OCT": Specialty.OPHTHALMOLOGY,
    "Infrared Reflectance Imaging": Specialty.OPHTHALMOLOGY,
    "Endoscopy": Specialty.GASTROENTEROLOGY,
    "Colposcopy": Specialty.GYNECOLOGY,
}


@dataclass(frozen=True)
class OverlapSettings:
    """How many reviewers see each item of a batch, and who they may be.

    `review_fraction` of the kept items (a seeded random audit sample) is
    reviewed; of those, `overlap_fraction` get `overlap_reviewers` reviewers
    (blind double review) and the rest `reviewers_per_item`.
    """

    reviewers_per_item: int = 1
    overlap_reviewers: int = 2
    overlap_fraction: float = 0.0
    review_fraction: float = 1.0
    seed: int = 0
    reviewer_ids: list[int] = field(default_factory=list)
    match_specialty: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.reviewers_per_item <= 10:
            raise ValueError("reviewers per item must be between 1 and 10")
        if not 1 <= self.overlap_reviewers <= 10:
            raise ValueError("reviewers on the overlap sample must be between 1 and 10")
        for name in ("overlap_fraction", "review_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name.replace('_', ' ')} must be between 0 and 1")

    @classmethod
    def of_batch(cls, batch: Batch) -> OverlapSettings:
        return cls(**(batch.config or {}).get(CONFIG_KEY, {}))

    def as_config(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    items_planned: int
    overlap_items: int
    assignments_created: int
    specialty_fallbacks: int

    @property
    def summary(self) -> str:
        return (
            f"{self.assignments_created} assignments created for "
            f"{self.items_planned} items ({self.overlap_items} double-reviewed; "
            f"{self.specialty_fallbacks} without enough specialists)."
        )


@transaction.atomic
def save_settings(*, batch: Batch, settings: OverlapSettings) -> Batch:
    """Store the overlap settings in the batch's config (other keys untouched)."""
    batch = Batch.objects.select_for_update().get(pk=batch.pk)
    old = (batch.config or {}).get(CONFIG_KEY)
    batch.config = {**(batch.config or {}), CONFIG_KEY: settings.as_config()}
    batch.save(update_fields=["config"])
    trail.batch_setting(
        "review.overlap", batch=batch, key=CONFIG_KEY, old=old, new=settings.as_config()
    )
    return batch


@transaction.atomic
def apply_settings(*, batch: Batch, settings: OverlapSettings) -> Plan:
    """Save the settings and plan with them, all or nothing."""
    save_settings(batch=batch, settings=settings)
    plan = plan_assignments(batch=batch, settings=settings)
    audit.record("review.overlap_planned", target=batch, after=asdict(plan))
    return plan


def reviewer_pool(settings: OverlapSettings) -> list[Any]:
    """Active reviewers to plan with: the listed ones, else every reviewer."""
    users = get_user_model().objects.filter(is_active=True)
    if settings.reviewer_ids:
        users = users.filter(pk__in=settings.reviewer_ids)
    else:
        users = users.filter(groups__name=REVIEWER_GROUP)
    return list(users.distinct().order_by("pk"))


def specialty_for(modality: str) -> str:
    return MODALITY_SPECIALTY.get(modality, "")


@transaction.atomic
def plan_assignments(*, batch: Batch, settings: OverlapSettings) -> Plan:
    """Create the missing `Assignment` rows for a batch's kept items.

    Idempotent: an item keeps the reviewers it already has, and only the
    shortfall is added, to the least-loaded eligible reviewers. When specialty
    matching finds too few specialists for an item, the whole pool is used and
    the item is counted in `specialty_fallbacks`.
    """
    pool = reviewer_pool(settings)
    if not pool:
        raise ValueError("no active reviewers to assign; add reviewers first")
    items = _items_with_modality(batch)
    rng = random.Random(settings.seed)  # noqa: S311 - a reproducible sample, not a secret
    ids = [pk for pk, _ in items]
    audited = set(rng.sample(ids, round(len(ids) * settings.review_fraction)))
    overlap = set(
        rng.sample(sorted(audited), round(len(audited) * settings.overlap_fraction))
    )
    existing: dict[int, set[int]] = defaultdict(set)
    for item_id, reviewer_id in Assignment.objects.filter(
        item_id__in=audited
    ).values_list("item_id", "reviewer_id"):
        existing[item_id].add(reviewer_id)
    load = Counter(
        Assignment.objects.filter(completed_at__isnull=True).values_list(
            "reviewer_id", flat=True
        )
    )
    specialties = _specialties(pool)
    new: list[Assignment] = []
    fallbacks = 0
    for item_id, modality in items:
        if item_id not in audited:
            continue
        wanted = settings.overlap_reviewers if item_id in overlap else None
        wanted = min(wanted or settings.reviewers_per_item, len(pool))
        eligible = pool
        needed_specialty = specialty_for(modality) if settings.match_specialty else ""
        if needed_specialty:
            experts = [u for u in pool if needed_specialty in specialties[u.pk]]
            eligible = experts if len(experts) >= wanted else pool
            fallbacks += eligible is pool
        candidates = [u for u in eligible if u.pk not in existing[item_id]]
        rng.shuffle(candidates)
        candidates.sort(key=lambda u: load[u.pk])
        for user in candidates[: max(wanted - len(existing[item_id]), 0)]:
            new.append(Assignment(item_id=item_id, reviewer=user, planned=True))
            load[user.pk] += 1
    Assignment.objects.bulk_create(new, ignore_conflicts=True)
    return Plan(len(audited), len(overlap), len(new), fallbacks)


def _items_with_modality(batch: Batch) -> list[tuple[int, str]]:
    # An item's own modality tag, else the modality of its first figure.
    first_figure = ItemFigure.objects.filter(item=OuterRef("pk")).order_by("position")
    rows = (
        Item.objects.filter(batch=batch, status=ItemStatus.KEPT)
        .annotate(figure_modality=Subquery(first_figure.values("figure__modality")[:1]))
        .order_by("pk")
        .values_list("pk", "modality", "figure_modality")
    )
    return [(pk, own or figure or "") for pk, own, figure in rows]


def _specialties(users: list[Any]) -> dict[int, set[str]]:
    found = dict(
        ReviewerProfile.objects.filter(user__in=users).values_list(
            "user_id", "specialties"
        )
    )
    return {u.pk: set(found.get(u.pk) or ()) for u in users}


# ---- blind review: is an item's overlap plan open? ---------------------------


def is_open(*, reviewers: int, decided: int, adjudicated: bool) -> bool:
    """Whether an overlap plan still holds its reviewers blind to each other.

    Open while the item has two or more planned reviewers, no current admin
    adjudication, and fewer of its planned reviewers than planned have a current
    decisive (not skip) decision. A skip does not end it: a reviewer who skipped
    has judged nothing, and must not see the others' work before they do.
    """
    return reviewers >= 2 and not adjudicated and decided < reviewers


def _count(rows: QuerySet[Any]) -> Coalesce:
    counted = rows.order_by().values("item").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def planned_reviewers(item: int | OuterRef) -> Coalesce:
    """How many reviewers the item's overlap plan names, as a column."""
    return _count(_planned_assignments(item))


def _planned_assignments(item: int | OuterRef) -> QuerySet[Assignment]:
    return Assignment.objects.filter(item=item, planned=True)


def _plan_decisions(item: int | OuterRef) -> QuerySet[Review]:
    """Current decisive decisions by the item's planned reviewers."""
    planned_reviewer = Assignment.objects.filter(
        item=OuterRef("item"), reviewer=OuterRef("reviewer"), planned=True
    )
    return (
        Review.objects.current()
        .filter(item=item, is_adjudication=False)
        .exclude(decision=Decision.SKIP)
        .filter(Exists(planned_reviewer))
    )


def _adjudications(item: int | OuterRef) -> QuerySet[Review]:
    return Review.objects.current().filter(item=item, is_adjudication=True)


# The same subqueries for one item, compiled once (the review card's hot path).
PLANNED_FOR_ITEM = CompiledSubquery(
    lambda item: _planned_assignments(item).values("pk"), "item"
)
_DECIDED_FOR_ITEM = CompiledSubquery(
    lambda item: _plan_decisions(item).values("pk"), "item"
)
_ADJUDICATED_FOR_ITEM = CompiledSubquery(
    lambda item: _adjudications(item).values("pk"), "item"
)


def plan_columns(item: int | OuterRef) -> dict[str, Any]:
    """The figures `is_open` needs, as columns another query can carry.

    `item` is an item id, or `OuterRef("pk")` on a query over items.
    """
    if isinstance(item, int):
        return {
            "plan_reviewers": PLANNED_FOR_ITEM.count(item=item),
            "plan_decided": _DECIDED_FOR_ITEM.count(item=item),
            "plan_adjudicated": _ADJUDICATED_FOR_ITEM.exists(item=item),
        }
    return {
        "plan_reviewers": planned_reviewers(item),
        "plan_decided": _count(_plan_decisions(item)),
        "plan_adjudicated": Exists(_adjudications(item)),
    }


def open_in_row(row: Any) -> bool:
    """`is_open` read from a row that carries `plan_columns`."""
    return is_open(
        reviewers=row.plan_reviewers,
        decided=row.plan_decided,
        adjudicated=row.plan_adjudicated,
    )


def with_open_plan(items: QuerySet[Item]) -> QuerySet[Item]:
    """The items among `items` whose overlap plan is open (see `is_open`)."""
    return (
        items.annotate(**plan_columns(OuterRef("pk")))
        .filter(plan_reviewers__gte=2, plan_adjudicated=False)
        .filter(plan_decided__lt=F("plan_reviewers"))
    )


def plan_is_open(item: Item | int) -> bool:
    pk = item if isinstance(item, int) else item.pk
    return with_open_plan(Item.objects.filter(pk=pk)).exists()


def blind_to(item: Item | int, user: Any) -> bool:
    """Whether `user` may see only their own work on the item (admins never are)."""
    return not is_admin(user) and plan_is_open(item)


def visible_reviews_for(item: Item, user: Any) -> QuerySet[Review]:
    """The reviews of an item that this user may see (blind double review).

    A reviewer sees only their own decision while the item's overlap plan is
    open, and otherwise until they have made a decisive (not skip) decision;
    after that, everyone's current decisions. Admins see everything, undone and
    superseded reviews included.
    """
    reviews = Review.objects.filter(item=item).select_related("reviewer")
    if is_admin(user):
        return reviews
    current = reviews.current()
    mine = current.filter(reviewer=user)
    if plan_is_open(item) or not mine.exclude(decision=Decision.SKIP).exists():
        return mine
    return current
