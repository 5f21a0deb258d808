"""Planning the random audit sample the quality estimate rests on.

The dashboard's "share of kept items a clinician would reject" is read off a
random sample of kept items that reached a human verdict. Until some batch
draws one (the `audit` queue policy), the estimate has nothing to stand on;
one button on the dashboard plans it here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from review import overlap, services
from review.queue import Policy, ReviewPolicy, policy_for
from synthesis.models import Batch, ItemStatus

DEFAULT_RATE = 0.1


@dataclass(frozen=True)
class BatchSetup:
    """How one batch is reviewed: its queue policy and its overlap plan."""

    batch: Batch
    policy: Policy
    policy_label: str
    overlap_summary: str

    @property
    def audited(self) -> bool:
        return self.policy.name == ReviewPolicy.AUDIT


def batch_setups(batch: Batch | None = None) -> list[BatchSetup]:
    """Every batch (or one) with its review set-up, newest first (one query)."""
    batches = (
        Batch.objects.all() if batch is None else Batch.objects.filter(pk=batch.pk)
    )
    rows = []
    for row in batches.order_by("-pk"):
        policy = policy_for(row.config)
        plan = overlap.OverlapSettings.of_batch(row)
        rows.append(
            BatchSetup(
                batch=row,
                policy=policy,
                policy_label=ReviewPolicy(policy.name).label,
                overlap_summary=(
                    f"{plan.reviewers_per_item} reviewer(s) per item; "
                    f"{plan.overlap_fraction:.0%} double-reviewed"
                ),
            )
        )
    return rows


@transaction.atomic
def plan_audit_sample(
    *, batch: Batch | None = None, rate: float = DEFAULT_RATE
) -> list[Batch]:
    """Switch batches with kept items to a seeded random audit of `rate` of them.

    Only batches without an audit plan change (each change is audited by
    `services.set_review_policy`); the keep threshold they had stays.
    """
    planned = []
    for setup in batch_setups(batch):
        kept = setup.batch.items.filter(status=ItemStatus.KEPT)
        if setup.audited or not kept.exists():
            continue
        policy = Policy(
            name=ReviewPolicy.AUDIT,
            threshold=setup.policy.threshold,
            seed=setup.policy.seed,
            sample_rate=rate,
        )
        planned.append(services.set_review_policy(batch=setup.batch, policy=policy))
    return planned
