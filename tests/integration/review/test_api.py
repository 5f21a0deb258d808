"""The review API goes through the same queue and services as the page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from review.models import ItemRevision, Review
from synthesis.models import ItemStatus
from tests.fixtures.builders import OPTIONS

pytestmark = pytest.mark.django_db


def test_next_item_then_accept(reviewer_client, item):
    body = reviewer_client.get(reverse("review:api_next")).json()
    assert body["id"] == item.pk
    assert body["version"] == 1
    assert body["verification"]["normalized_score"] == 0.98
    assert len(body["verification"]["criteria"]) == 10
    assert body["images"] == [
        reverse("review:figure_image", args=[item.figures.get().pk])
    ]
    response = reviewer_client.post(
        reverse("review:api_decide", args=[item.pk]),
        {"decision": "accept", "item_version": 1, "seconds_spent": 2},
        content_type="application/json",
    )
    assert response.status_code == 201
    item.refresh_from_db()
    assert item.status == ItemStatus.ACCEPTED
    assert reviewer_client.get(reverse("review:api_next")).status_code == 204


def test_edit_then_stale_save_is_409_and_revisions_are_listed(reviewer_client, item):
    reviewer_client.get(reverse("review:api_next"))
    url = reverse("review:api_decide", args=[item.pk])
    edit = {
        "decision": "edit_accept",
        "item_version": 1,
        "question": "Edited through the API",
        "options": OPTIONS,
        "answer": "B",
    }
    assert (
        reviewer_client.post(url, edit, content_type="application/json").status_code
        == 201
    )
    stale = reviewer_client.post(url, edit, content_type="application/json")
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    assert ItemRevision.objects.count() == 1
    revisions = reviewer_client.get(reverse("review:api_revisions", args=[item.pk]))
    assert revisions.json()[0]["answer_changed"] is True


def test_invalid_decisions_are_400_with_reasons(reviewer_client, item):
    reviewer_client.get(reverse("review:api_next"))
    url = reverse("review:api_decide", args=[item.pk])
    missing_reason = reviewer_client.post(
        url, {"decision": "reject", "item_version": 1}, content_type="application/json"
    )
    assert missing_reason.status_code == 400
    bad_edit = reviewer_client.post(
        url,
        {"decision": "edit_accept", "item_version": 1, "question": "Q", "answer": "A"},
        content_type="application/json",
    )
    assert bad_edit.status_code == 400
    assert "option_A" in bad_edit.json()["errors"]
    assert not Review.objects.exists()


def test_api_enforces_roles_and_per_item_access(reviewer_client, outsider_user, item):
    assert (
        reviewer_client.get(reverse("review:api_item", args=[item.pk])).status_code
        == 404
    )
    anonymous = Client().get(reverse("review:api_next"))
    assert anonymous.status_code in {401, 403}
    outsider = Client()
    outsider.force_login(outsider_user)
    assert outsider.get(reverse("review:api_next")).status_code == 403
