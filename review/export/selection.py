"""Which accepted items go into an export, and why the others do not.

Reads only: item text, figure names, hashes and provenance, latest verifier
score and reviewer agreement. Image bytes are read later, while writing, one
chunk at a time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Subquery

from review.export import agreement
from review.export.config import ExportSettings
from review.models import ExportExclusion
from synthesis.models import Item, ItemFigure, ItemStatus, Verification

# The cause counted for items an admin excluded from export.
EXCLUDED_BY_ADMIN = "excluded_by_admin"


@dataclass(frozen=True)
class Candidate:
    item_id: int
    batch_id: int
    version: int
    question: str
    options: dict[str, str]
    answer: str
    modality: str
    anatomy: str
    question_type: str
    verifier_score: float | None
    review_decision: str
    reviews: int
    agreement: float | None
    source_ids: tuple[str, ...]
    license_families: tuple[str, ...]
    sha256s: tuple[str, ...]
    phashes: tuple[str, ...]
    # Storage names of the images, in position order, and their licence texts.
    image_names: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ()
    # imagehash pHashes of the images (contamination); "" where not computed.
    dct_phashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selection:
    candidates: list[Candidate]
    excluded: dict[str, int]
    agreements: list[agreement.ItemAgreement]


def _latest_score() -> Subquery:
    return Subquery(
        Verification.objects.filter(item=OuterRef("pk"), normalized_score__isnull=False)
        .order_by("-created_at", "-id")
        .values("normalized_score")[:1]
    )


def _figures_by_item(batch_ids: tuple[int, ...]) -> dict[int, list[tuple]]:
    links = ItemFigure.objects.filter(item__status=ItemStatus.ACCEPTED)
    if batch_ids:
        links = links.filter(item__batch_id__in=batch_ids)
    rows = links.order_by("item_id", "position").values_list(
        "item_id",
        "figure__sha256",
        "figure__phash",
        "figure__document__source_id",
        "figure__document__license_family",
        "figure__modality",
        "figure__anatomy",
        "figure__image",
        "figure__document__license",
        "figure__dct_phash",
    )
    figures: dict[int, list[tuple]] = defaultdict(list)
    for item_id, *rest in rows.iterator(chunk_size=5000):
        figures[item_id].append(tuple(rest))
    return figures


def _reason_to_drop(
    c: Candidate, settings: ExportSettings, families: frozenset[str]
) -> str | None:
    if not c.sha256s:
        return "no_image"
    if not families.issuperset(c.license_families):
        return "license_family"
    if settings.modalities and c.modality not in settings.modalities:
        return "modality"
    if settings.min_verifier_score is not None and (
        c.verifier_score is None or c.verifier_score < settings.min_verifier_score
    ):
        return "verifier_score"
    if c.reviews < settings.min_reviews:
        return "too_few_reviews"
    if settings.min_agreement is not None and (
        c.agreement is None or c.agreement < settings.min_agreement
    ):
        return "reviewer_agreement"
    return None


def select(*, settings: ExportSettings) -> Selection:
    """Accepted items (their current, latest revision) that pass every filter."""
    items = Item.objects.filter(status=ItemStatus.ACCEPTED)
    if settings.batch_ids:
        items = items.filter(batch_id__in=settings.batch_ids)
    # An admin excluded these from every export (the item browser), with a reason.
    by_admin = Exists(ExportExclusion.objects.filter(item=OuterRef("pk")))
    admin_excluded = items.filter(by_admin).count()
    items = items.filter(~by_admin)
    items = items.annotate(score=_latest_score()).order_by("id")
    figures = _figures_by_item(settings.batch_ids)
    agreements = agreement.for_accepted_items()
    kept: list[Candidate] = []
    excluded: Counter = Counter()
    if admin_excluded:
        excluded[EXCLUDED_BY_ADMIN] = admin_excluded
    kept_agreements = []
    fields = ("id", "batch_id", "version", "question", "options", "answer")
    fields += ("modality", "anatomy", "question_type", "score")
    # A property that builds a tuple: read once, not once per item.
    families = frozenset(settings.allowed_license_families)
    for row in items.values(*fields).iterator(chunk_size=2000):
        figs = figures.get(row["id"], [])
        agreed = agreements.get(row["id"])
        candidate = Candidate(
            item_id=row["id"],
            batch_id=row["batch_id"],
            version=row["version"],
            question=row["question"],
            options=dict(row["options"]),
            answer=row["answer"],
            modality=row["modality"] or next((f[4] for f in figs if f[4]), ""),
            anatomy=row["anatomy"] or next((f[5] for f in figs if f[5]), ""),
            question_type=row["question_type"],
            verifier_score=row["score"],
            review_decision=agreed.latest_decision if agreed else "",
            reviews=agreed.reviews if agreed else 0,
            agreement=agreed.share_agreeing if agreed else None,
            source_ids=tuple(dict.fromkeys(f[2] for f in figs)),
            license_families=tuple(dict.fromkeys(f[3] for f in figs)),
            sha256s=tuple(f[0] for f in figs),
            phashes=tuple(f[1] for f in figs),
            image_names=tuple(f[6] for f in figs),
            licenses=tuple(dict.fromkeys(f[7] for f in figs)),
            dct_phashes=tuple(f[8] for f in figs),
        )
        reason = _reason_to_drop(candidate, settings, families)
        if reason:
            excluded[reason] += 1
            continue
        kept.append(candidate)
        if agreed:
            kept_agreements.append(agreed)
    return Selection(kept, dict(sorted(excluded.items())), kept_agreements)
