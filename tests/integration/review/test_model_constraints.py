"""Review rows keep the audit trail consistent."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from review.models import Assignment, ItemRevision, Review
from tests.fixtures.builders import make_item

pytestmark = pytest.mark.django_db


def refused(action) -> bool:
    try:
        with transaction.atomic():
            action()
    except IntegrityError:
        return True
    return False


def test_a_rejection_needs_a_reason(reviewer_user):
    item = make_item()
    assert refused(
        lambda: Review.objects.create(
            item=item, reviewer=reviewer_user, decision="reject"
        )
    )
    Review.objects.create(
        item=item,
        reviewer=reviewer_user,
        decision="reject",
        reason_code="multiple_correct",
    )


def test_an_acceptance_carries_no_reason(reviewer_user):
    item = make_item()
    assert refused(
        lambda: Review.objects.create(
            item=item, reviewer=reviewer_user, decision="accept", reason_code="other"
        )
    )


def test_seconds_spent_cannot_be_negative(reviewer_user):
    item = make_item()
    assert refused(
        lambda: Review.objects.create(
            item=item, reviewer=reviewer_user, decision="accept", seconds_spent=-1
        )
    )


def test_revision_versions_are_unique_per_item(reviewer_user):
    item = make_item()
    ItemRevision.objects.create(
        item=item, author=reviewer_user, version=2, before={}, after={}
    )
    assert refused(
        lambda: ItemRevision.objects.create(
            item=item, author=reviewer_user, version=2, before={}, after={}
        )
    )
    assert refused(
        lambda: ItemRevision.objects.create(
            item=item, author=reviewer_user, version=1, before={}, after={}
        )
    )


def test_an_item_is_assigned_to_a_reviewer_once(reviewer_user):
    item = make_item()
    Assignment.objects.create(item=item, reviewer=reviewer_user)
    assert refused(lambda: Assignment.objects.create(item=item, reviewer=reviewer_user))
