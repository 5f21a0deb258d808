"""Every write of the synthesis app goes through here."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q

from synthesis.models import Batch


@transaction.atomic
def refresh_batch_counters(*, batch_id: int) -> Batch:
    """Recompute a batch's cached counters from its rows (the rows are the ledger)."""
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    counts = batch.items.aggregate(
        generated=Count("id"),
        verified=Count("id", filter=Q(verifications__isnull=False), distinct=True),
        kept=Count("id", filter=Q(verifications__kept=True), distinct=True),
    )
    batch.items_generated = counts["generated"]
    batch.items_verified = counts["verified"]
    batch.items_kept = counts["kept"]
    batch.save(update_fields=["items_generated", "items_verified", "items_kept"])
    return batch
