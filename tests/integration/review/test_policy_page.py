"""Admins choose a batch's review queue policy; reviewers may not."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from review import queue

pytestmark = pytest.mark.django_db


def test_admin_sets_the_policy_and_the_queue_follows_it(admin_client, batch):
    url = reverse("review:batch_policy", args=[batch.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url, {"name": "audit", "threshold": 0.9, "sample_rate": 0.25, "seed": 3}
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert queue.policy_for(batch.config) == queue.Policy(
        name="audit", threshold=0.9, seed=3, sample_rate=0.25
    )


def test_invalid_policy_is_refused_and_nothing_saved(admin_client, batch):
    url = reverse("review:batch_policy", args=[batch.pk])
    response = admin_client.post(
        url, {"name": "vibes", "threshold": 2, "sample_rate": 0.1, "seed": 0}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    batch.refresh_from_db()
    assert "review_policy" not in batch.config


def test_only_admins_choose_policies(reviewer_user, outsider_user, batch):
    url = reverse("review:batch_policy", args=[batch.pk])
    assert Client().get(url).status_code == 302
    for user in (reviewer_user, outsider_user):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == 403
