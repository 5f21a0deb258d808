"""The item list API: same filters and visibility as the page, keyset cursors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from review.models import Assignment
from tests.fixtures.builders import (
    add_review,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_api_filters_and_pages_with_a_cursor(admin_client, reviewer_user):
    batch = make_batch()
    items = [make_reviewable_item(batch) for _ in range(3)]
    add_review(items[0], reviewer_user, "reject", reason_code="factually_wrong")
    url = reverse("items:api-list")
    first = admin_client.get(url, {"size": 25}).json()
    assert [r["id"] for r in first["results"]] == [i.pk for i in reversed(items)]
    rejected = admin_client.get(url, {"reason": "factually_wrong"}).json()
    (row,) = rejected["results"]
    assert row["decisions"][0]["reviewer"] == "bob"
    assert row["decisions"][0]["reason"] == "Factually wrong"
    assert admin_client.get(url, {"after": "nope"}).status_code == 400
    assert (
        admin_client.get(url, {"score_min": 0.9, "score_max": 0.1}).status_code == 400
    )


def test_api_is_blind_for_a_reviewer_under_an_open_plan(client, reviewer_user):
    dora = make_user("dora")
    item = make_reviewable_item()
    for user in (reviewer_user, dora):
        Assignment.objects.create(item=item, reviewer=user, planned=True)
    add_review(item, reviewer_user, "accept")
    client.force_login(dora)
    assert client.get(reverse("items:api-list")).json()["results"] == []
    client.force_login(reviewer_user)
    (row,) = client.get(reverse("items:api-list")).json()["results"]
    assert [d["reviewer"] for d in row["decisions"]] == ["bob"]
