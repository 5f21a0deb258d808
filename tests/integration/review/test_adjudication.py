"""Consensus applied to stored reviews, and admins settling disputes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from review import adjudication
from review.models import Assignment, Review
from synthesis.models import ItemStatus
from tests.fixtures.builders import add_kept_items, add_review, make_batch, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def dave(db):
    return make_user("dave")


@pytest.fixture
def double_item(reviewer_user, dave):
    item = add_kept_items(make_batch(), 1)[0]
    for user in (reviewer_user, dave):
        Assignment.objects.create(item=item, reviewer=user, planned=True)
    return item


def test_one_accept_of_two_required_keeps_the_item_in_review(double_item, dave):
    add_review(double_item, dave, "accept")
    assert double_item.status == ItemStatus.KEPT


def test_agreeing_reviewers_settle_the_item(double_item, reviewer_user, dave):
    add_review(double_item, dave, "reject", reason_code="diagnosis_leaked")
    add_review(double_item, reviewer_user, "reject", reason_code="factually_wrong")
    assert double_item.status == ItemStatus.REJECTED


def test_a_dispute_is_settled_by_the_admin(
    double_item, reviewer_user, dave, admin_user
):
    add_review(double_item, dave, "accept")
    add_review(double_item, reviewer_user, "reject", reason_code="factually_wrong")
    assert double_item.status == ItemStatus.DISPUTED
    assert double_item in adjudication.adjudication_queue()

    review = adjudication.adjudicate(
        item=double_item,
        admin=admin_user,
        decision="reject",
        reason_code="factually_wrong",
        comment="  Wrong stain named.  ",
    )

    double_item.refresh_from_db()
    assert double_item.status == ItemStatus.REJECTED
    assert review.is_adjudication and review.comment == "Wrong stain named."
    assert double_item not in adjudication.adjudication_queue()


def test_undoing_the_adjudication_reopens_the_dispute(
    double_item, reviewer_user, dave, admin_user
):
    add_review(double_item, dave, "accept")
    add_review(double_item, reviewer_user, "reject", reason_code="factually_wrong")
    review = adjudication.adjudicate(
        item=double_item, admin=admin_user, decision="accept"
    )
    review.undone_at = timezone.now()
    review.save(update_fields=["undone_at"])

    item = adjudication.apply_consensus(item=double_item)

    assert item.status == ItemStatus.DISPUTED


@pytest.mark.parametrize(
    ("decision", "reason", "message"),
    [
        ("skip", "", "accept, reject or flag"),
        ("reject", "", "needs a reason"),
        ("reject", "made_up", "needs a reason"),
        ("accept", "factually_wrong", "Only a rejection"),
    ],
)
def test_bad_adjudications_are_refused_and_write_nothing(
    double_item, admin_user, decision, reason, message
):
    with pytest.raises(adjudication.AdjudicationError, match=message):
        adjudication.adjudicate(
            item=double_item, admin=admin_user, decision=decision, reason_code=reason
        )
    assert not Review.objects.exists()


def test_reviewers_cannot_adjudicate(double_item, reviewer_user):
    with pytest.raises(adjudication.AdjudicationError, match="Only admins"):
        adjudication.adjudicate(
            item=double_item, admin=reviewer_user, decision="accept"
        )
    assert not Review.objects.exists()


def test_an_audited_dropped_item_is_settled_and_returns_when_undone(reviewer_user):
    item = add_kept_items(make_batch(), 1, kept=False, score=0.3)[0]
    assert item.status == ItemStatus.DROPPED
    review = add_review(item, reviewer_user, "accept")
    assert item.status == ItemStatus.ACCEPTED
    review.undone_at = timezone.now()
    review.save(update_fields=["undone_at"])
    assert adjudication.apply_consensus(item=item).status == ItemStatus.DROPPED


def test_an_unverified_item_is_settled_and_returns_to_generated_on_undo(
    reviewer_user,
):
    from review import services
    from tests.fixtures.builders import make_item

    item = make_item(make_batch())
    services.decide(
        item=item,
        reviewer=reviewer_user,
        decision="accept",
        seconds_spent=2,
        item_version=1,
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.ACCEPTED
    services.undo_last(reviewer=reviewer_user)
    item.refresh_from_db()
    assert item.status == ItemStatus.GENERATED
