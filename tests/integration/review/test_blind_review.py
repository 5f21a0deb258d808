"""Blind double review: nobody sees another's decision before deciding."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from review import overlap
from review.models import Assignment
from tests.fixtures.builders import (
    add_kept_items,
    add_review,
    make_batch,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(db):
    return add_kept_items(make_batch(), 1)[0]


@pytest.fixture
def dave(db):
    return make_user("dave")


def _api(pk):
    return reverse("quality:api_item_reviews", args=[pk])


def test_an_undecided_reviewer_sees_no_other_decision(item, reviewer_user, dave):
    add_review(item, dave, "reject", reason_code="factually_wrong", settle=False)
    assert list(overlap.visible_reviews_for(item, reviewer_user)) == []


def test_after_deciding_a_reviewer_sees_everyone(item, reviewer_user, dave):
    theirs = add_review(item, dave, "reject", reason_code="factually_wrong")
    mine = add_review(item, reviewer_user, "accept")
    assert set(overlap.visible_reviews_for(item, reviewer_user)) == {theirs, mine}


def test_an_undone_decision_does_not_unblind(item, reviewer_user, dave):
    from django.utils import timezone

    add_review(item, dave, "accept")
    mine = add_review(item, reviewer_user, "accept")
    mine.undone_at = timezone.now()
    mine.save(update_fields=["undone_at"])
    assert list(overlap.visible_reviews_for(item, reviewer_user)) == []


def test_admins_see_every_review(item, admin_user, reviewer_user, dave):
    add_review(item, dave, "accept")
    add_review(item, reviewer_user, "accept")
    assert overlap.visible_reviews_for(item, admin_user).count() == 2


def test_the_api_hides_other_decisions_until_the_caller_decides(
    item, reviewer_client, reviewer_user, dave
):
    Assignment.objects.create(item=item, reviewer=reviewer_user)
    add_review(item, dave, "reject", reason_code="factually_wrong", comment="wrong")
    before = reviewer_client.get(_api(item.pk))
    assert before.status_code == 200
    assert before.json() == []
    assert b"factually_wrong" not in before.content

    add_review(item, reviewer_user, "accept")
    after = reviewer_client.get(_api(item.pk)).json()
    assert {(r["reviewer"], r["decision"]) for r in after} == {
        ("dave", "reject"),
        ("bob", "accept"),
    }


def test_the_api_refuses_outsiders_and_anonymous(outsider_client, item):
    assert outsider_client.get(_api(item.pk)).status_code == 403
    assert Client().get(_api(item.pk)).status_code in {401, 403}


def test_the_api_answers_404_for_an_item_not_handed_to_the_caller(
    item, reviewer_client, dave
):
    add_review(item, dave, "reject", reason_code="factually_wrong", comment="wrong")
    assert reviewer_client.get(_api(item.pk)).status_code == 404
