"""The per-batch overlap page saves settings and plans assignments."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from review.models import Assignment
from review.overlap import OverlapSettings
from tests.fixtures.builders import add_kept_items, make_batch, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(db):
    batch = make_batch(name="Audit me")
    add_kept_items(batch, 10)
    return batch


def test_admin_sets_a_double_review_sample(admin_client, batch, reviewer_user):
    make_user("dave")
    url = reverse("quality:overlap", args=[batch.pk])
    form = {
        "reviewers_per_item": 1,
        "overlap_reviewers": 2,
        "overlap_percent": 20,
        "review_percent": 100,
        "seed": 4,
    }
    response = admin_client.post(url, form, follow=True)
    assert response.status_code == 200
    assert b"12 assignments created for 10 items (2 double-reviewed" in (
        response.content
    )
    batch.refresh_from_db()
    assert OverlapSettings.of_batch(batch).overlap_fraction == pytest.approx(0.2)
    assert Assignment.objects.count() == 12
    page = admin_client.get(url).content.decode()
    assert 'name="overlap_percent" value="20.0"' in page


def test_planning_without_reviewers_shows_the_reason(admin_client, batch):
    url = reverse("quality:overlap", args=[batch.pk])
    form = {
        "reviewers_per_item": 1,
        "overlap_reviewers": 2,
        "overlap_percent": 0,
        "review_percent": 100,
        "seed": 0,
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert b"no active reviewers" in response.content
    batch.refresh_from_db()
    assert "review_overlap" not in batch.config


def test_only_admins_set_overlap(batch, reviewer_user):
    url = reverse("quality:overlap", args=[batch.pk])
    assert "/login/" in Client().get(url)["Location"]
    client = Client()
    client.force_login(reviewer_user)
    assert client.get(url).status_code == 403
