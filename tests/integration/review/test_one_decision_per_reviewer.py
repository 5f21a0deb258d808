"""One current decision per reviewer per item (issue 14, #4).

Deciding again, after K or through the API, supersedes the reviewer's own
earlier decision (kept in history) instead of adding a vote.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from review import services
from review.models import Review
from review.quality.dashboard import dashboard_figures
from synthesis.models import ItemStatus
from tests.fixtures.builders import make_reviewable_item

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _decide(client, item, **data):
    data.setdefault("item_version", item.version)
    data.setdefault("seconds_spent", 3)
    return client.post(reverse("review:decide", args=[item.pk]), data, **HTMX)


def _back_to(client, item):
    """K: the previous item's card."""
    response = client.get(reverse("review:item", args=[item.pk]), **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_deciding_again_after_k_replaces_the_reviewers_own_decision(
    reviewer_client, reviewer_user, batch
):
    first, _second = make_reviewable_item(batch), make_reviewable_item(batch)
    reviewer_client.get(reverse("review:next"))
    _decide(reviewer_client, first, decision="accept")
    _back_to(reviewer_client, first)
    _decide(reviewer_client, first, decision="reject", reason_code="factually_wrong")

    first.refresh_from_db()
    assert first.status == ItemStatus.REJECTED  # not disputed with oneself
    current = Review.objects.current().filter(item=first)
    assert [r.decision for r in current] == ["reject"]
    history = Review.objects.filter(item=first).order_by("created_at", "id")
    accept, reject = history
    assert accept.superseded_at is not None and accept.undone_at is None
    assert reject.replaces == accept

    _back_to(reviewer_client, first)
    response = _decide(reviewer_client, first, decision="accept")
    first.refresh_from_db()
    assert first.status == ItemStatus.ACCEPTED
    assert Review.objects.current().filter(item=first).count() == 1
    assert Review.objects.filter(item=first).count() == 3
    assert "<strong>1</strong> decided today" in response.content.decode()


def test_the_dashboard_counts_each_reviewer_once_per_item(
    reviewer_client, reviewer_user, batch
):
    item = make_reviewable_item(batch)
    reviewer_client.get(reverse("review:next"))
    _decide(reviewer_client, item, decision="accept")
    _back_to(reviewer_client, item)
    _decide(reviewer_client, item, decision="accept")

    figures = dashboard_figures(batch)
    assert figures["agreement"]["overlap_items"] == 0
    assert [row["reviews"] for row in figures["throughput"]] == [1]


def test_deciding_again_through_the_api_supersedes_too(
    reviewer_client, reviewer_user, item
):
    url = reverse("review:api_decide", args=[item.pk])
    reviewer_client.get(reverse("review:api_next"))
    for body in (
        {"decision": "accept", "item_version": 1},
        {"decision": "reject", "reason_code": "other", "item_version": 1},
    ):
        response = reviewer_client.post(url, body, content_type="application/json")
        assert response.status_code == 201
    item.refresh_from_db()
    assert item.status == ItemStatus.REJECTED
    assert [r.decision for r in Review.objects.current().filter(item=item)] == [
        "reject"
    ]


def test_undo_after_a_supersede_brings_the_earlier_decision_back(item, reviewer_user):
    def decide(decision: str, **extra):
        return services.decide(
            item=item,
            reviewer=reviewer_user,
            decision=decision,
            seconds_spent=1,
            item_version=1,
            **extra,
        )

    accept = decide("accept")
    reject = decide("reject", reason_code="other")
    undone = services.undo_last(reviewer=reviewer_user)

    assert undone.pk == reject.pk
    accept.refresh_from_db()
    assert accept.superseded_at is None
    item.refresh_from_db()
    assert item.status == ItemStatus.ACCEPTED
    assert list(Review.objects.current().filter(item=item)) == [accept]

    services.undo_last(reviewer=reviewer_user)
    item.refresh_from_db()
    assert item.status == ItemStatus.KEPT
    assert not Review.objects.current().filter(item=item).exists()


def test_the_database_refuses_two_current_decisions_by_one_reviewer(
    item, reviewer_user
):
    from django.db import IntegrityError, transaction

    Review.objects.create(
        item=item, reviewer=reviewer_user, decision="accept", item_version=1
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(
            item=item,
            reviewer=reviewer_user,
            decision="reject",
            item_version=1,
            reason_code="other",
        )
