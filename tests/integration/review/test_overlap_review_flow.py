"""An overlap plan drives the review queue and the item's final status."""

from __future__ import annotations

import pytest

from review import adjudication, overlap, queue, services
from synthesis.models import Item, ItemStatus
from tests.fixtures.builders import make_batch, make_reviewable_item, make_user

pytestmark = pytest.mark.django_db


def decide(item_id, reviewer, decision, reason_code=""):
    item = Item.objects.get(pk=item_id)
    return services.decide(
        item=item,
        reviewer=reviewer,
        decision=decision,
        reason_code=reason_code,
        seconds_spent=3,
        item_version=item.version,
    )


def test_double_review_goes_only_to_planned_reviewers_and_disputes_go_to_admin(
    admin_user,
):
    ann, ben, cat = (make_user(name) for name in ("ann", "ben", "cat"))
    batch = make_batch()
    item = make_reviewable_item(batch)
    plan = overlap.plan_assignments(
        batch=batch,
        settings=overlap.OverlapSettings(
            reviewers_per_item=2, reviewer_ids=[ann.pk, ben.pk]
        ),
    )
    assert plan.assignments_created == 2

    # Someone outside the plan is never handed the item.
    assert queue.claim_next(reviewer=cat) is None

    assert queue.claim_next(reviewer=ann) == item.pk
    decide(item.pk, ann, "accept")
    item.refresh_from_db()
    assert item.status == ItemStatus.KEPT  # one of two decisions: still in review

    assert queue.claim_next(reviewer=ben) == item.pk
    decide(item.pk, ben, "reject", reason_code="multiple_correct")
    item.refresh_from_db()
    assert item.status == ItemStatus.DISPUTED
    assert queue.claim_next(reviewer=ann) is None

    adjudication.adjudicate(
        item=item, admin=admin_user, decision="reject", reason_code="multiple_correct"
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.REJECTED


def test_agreeing_planned_reviewers_settle_the_item():
    ann, ben = make_user("ann"), make_user("ben")
    batch = make_batch()
    item = make_reviewable_item(batch)
    overlap.plan_assignments(
        batch=batch,
        settings=overlap.OverlapSettings(
            reviewers_per_item=2, reviewer_ids=[ann.pk, ben.pk]
        ),
    )
    for reviewer in (ann, ben):
        assert queue.claim_next(reviewer=reviewer) == item.pk
        decide(item.pk, reviewer, "accept")
    item.refresh_from_db()
    assert item.status == ItemStatus.ACCEPTED
