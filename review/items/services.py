"""Admin bulk actions on items chosen in the browser, each one audited per item.

Every action runs in one transaction, locks the items it changes, and writes
one audit event per changed item naming the admin who did it, so the log of
an item tells its whole story whichever page changed it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from medsyn_app.audit import services as audit
from review import consensus, overlap
from review.models import Assignment, ExportExclusion, Review
from review.queue import REVIEWABLE
from synthesis.models import Item, ItemStatus, Verification

# One POST names at most this many items (a page holds at most 200).
MAX_ITEMS = 500


class BulkRefused(ValueError):
    """The action cannot run as asked (no reviewers to plan with, no reason)."""


@dataclass(frozen=True)
class BulkResult:
    action: str
    changed: int
    skipped: int

    @property
    def summary(self) -> str:
        return f"{self.changed} changed, {self.skipped} left as they were."


def _locked(item_ids: Sequence[int]) -> list[Item]:
    if len(item_ids) > MAX_ITEMS:
        raise BulkRefused(f"Choose at most {MAX_ITEMS} items at a time.")
    return list(Item.objects.select_for_update().filter(pk__in=item_ids).order_by("pk"))


@transaction.atomic
def send_to_review(*, item_ids: Sequence[int], actor: Any) -> BulkResult:
    """Put settled items (accepted, rejected, flagged, disputed) back in the queue.

    The item returns to the status the verifier left it in, so reviewers who
    have not judged it yet are offered it; the decisions already made stay
    current and count again when the next decision settles it. Items already
    in the queue are left alone.
    """
    items = _locked(item_ids)
    settled = [item for item in items if item.status not in REVIEWABLE]
    kept = _latest_kept([item.pk for item in settled])
    first = _status_before_first_review([item.pk for item in settled])
    for item in settled:
        before = item.status
        item.status = consensus.status_in_review(
            verifier_kept=kept.get(item.pk), status_before=first.get(item.pk, "")
        )
        item.save(update_fields=["status", "updated_at"])
        audit.record(
            "items.sent_to_review",
            actor=actor,
            target=item,
            before={"status": before},
            after={"status": item.status},
        )
    return BulkResult("send_to_review", len(settled), len(items) - len(settled))


def _latest_kept(ids: list[int]) -> dict[int, bool]:
    kept: dict[int, bool] = {}
    for item_id, was_kept in (
        Verification.objects.filter(item_id__in=ids)
        .order_by("item_id", "-created_at", "-id")
        .values_list("item_id", "kept")
    ):
        kept.setdefault(item_id, was_kept)
    return kept


def _status_before_first_review(ids: list[int]) -> dict[int, str]:
    first: dict[int, str] = {}
    for item_id, status in (
        Review.objects.filter(item_id__in=ids)
        .order_by("item_id", "created_at", "id")
        .values_list("item_id", "status_before")
    ):
        first.setdefault(item_id, status)
    return first


@transaction.atomic
def add_to_audit_sample(*, item_ids: Sequence[int], actor: Any) -> BulkResult:
    """Plan review of kept items as the audit sample does (planned assignments).

    Each item gets its batch's `reviewers_per_item` reviewers from the batch's
    reviewer pool, the least loaded first. Items not kept by the verifier, or
    already planned, are left alone.
    """
    items = _locked(item_ids)
    planned = set(
        Assignment.objects.filter(item__in=items, planned=True).values_list(
            "item_id", flat=True
        )
    )
    wanted = [i for i in items if i.status == ItemStatus.KEPT and i.pk not in planned]
    load = Counter(
        Assignment.objects.filter(completed_at__isnull=True).values_list(
            "reviewer_id", flat=True
        )
    )
    pools: dict[int, tuple[overlap.OverlapSettings, list[Any]]] = {}
    for item in wanted:
        if item.batch_id not in pools:
            settings = overlap.OverlapSettings.of_batch(item.batch)
            pools[item.batch_id] = (settings, overlap.reviewer_pool(settings))
        settings, pool = pools[item.batch_id]
        if not pool:
            raise BulkRefused("There are no active reviewers to plan with.")
        chosen = sorted(pool, key=lambda u: (load[u.pk], u.pk))
        chosen = chosen[: settings.reviewers_per_item]
        for reviewer in chosen:
            Assignment.objects.update_or_create(
                item=item, reviewer=reviewer, defaults={"planned": True}
            )
            load[reviewer.pk] += 1
        audit.record(
            "items.added_to_audit_sample",
            actor=actor,
            target=item,
            after={"reviewers": [u.get_username() for u in chosen]},
        )
    return BulkResult("add_to_audit_sample", len(wanted), len(items) - len(wanted))


@transaction.atomic
def exclude_from_export(
    *, item_ids: Sequence[int], actor: Any, reason: str
) -> BulkResult:
    """Keep items out of every export from now on, with the admin's reason."""
    reason = reason.strip()
    if not reason:
        raise BulkRefused("Say why these items are excluded from export.")
    items = _locked(item_ids)
    old = dict(
        ExportExclusion.objects.filter(item__in=items).values_list("item_id", "reason")
    )
    changed = 0
    for item in items:
        if old.get(item.pk) == reason:
            continue
        ExportExclusion.objects.update_or_create(
            item=item, defaults={"reason": reason, "excluded_by": actor}
        )
        audit.record(
            "items.excluded_from_export",
            actor=actor,
            target=item,
            before={"excluded": old[item.pk]} if item.pk in old else None,
            after={"excluded": reason},
        )
        changed += 1
    return BulkResult("exclude_from_export", changed, len(items) - changed)


@transaction.atomic
def include_in_export(*, item_ids: Sequence[int], actor: Any) -> BulkResult:
    """Undo an exclusion: the items may be exported again."""
    items = _locked(item_ids)
    old = dict(
        ExportExclusion.objects.filter(item__in=items).values_list("item_id", "reason")
    )
    ExportExclusion.objects.filter(item_id__in=old).delete()
    for item in items:
        if item.pk in old:
            audit.record(
                "items.included_in_export",
                actor=actor,
                target=item,
                before={"excluded": old[item.pk]},
                after={"excluded": None},
            )
    return BulkResult("include_in_export", len(old), len(items) - len(old))
