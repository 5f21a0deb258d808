"""The quality dashboard page and its API show the same figures."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from review.quality.dashboard import dashboard_figures
from tests.fixtures.builders import add_kept_items, add_review, make_batch, make_user
from tests.integration.review.quality.seeded_quality import (
    seed_calibration_batch,
    seed_overlap_batch,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(reviewer_user):
    return seed_calibration_batch(), seed_overlap_batch(reviewer_user)


def _api(batch="all"):
    return reverse("quality:api", args=[batch])


def test_agreement_on_the_overlap_sample(seeded):
    figures = dashboard_figures(seeded[1])
    decisions = figures["agreement"]["decisions"]
    assert figures["agreement"]["overlap_items"] == 3
    # Pairs (A,A), (A,A), (A,R): po = 2/3; bob always accepts, so pe = 2/3 and
    # kappa = 0. Fleiss pools 5 accepts and 1 reject: Pe = 26/36, so
    # (24/36 - 26/36) / (10/36) = -0.2.
    # AC1 over 3 categories: pi = 5/6, 1/6, 0; pe = (10/36)/2 = 5/36;
    # AC1 = (2/3 - 5/36) / (31/36) = 19/31.
    assert decisions["percent"]["value"] == pytest.approx(2 / 3)
    assert decisions["fleiss_kappa"]["value"] == pytest.approx(-0.2)
    assert decisions["gwet_ac1"]["value"] == pytest.approx(19 / 31)
    (pair,) = figures["agreement"]["pairs"]
    assert pair["reviewers"] == ["bob", "dave"]
    assert pair["cohens_kappa"]["value"] == pytest.approx(0.0)
    assert figures["agreement"]["reasons"]["percent"]["reason"]


def test_throughput_per_reviewer(seeded):
    rows = {r["reviewer"]: r for r in dashboard_figures(seeded[1])["throughput"]}
    # bob: 10, 20, 60 seconds -> median 20, 3 items in 90 s = 120 per hour.
    assert rows["bob"]["median_seconds"] == pytest.approx(20)
    assert rows["bob"]["items_per_hour"] == pytest.approx(120)
    assert rows["dave"]["median_seconds"] == pytest.approx(30)
    assert set(rows) == {"bob", "dave"}


def test_status_counts_and_reasons(seeded):
    figures = dashboard_figures(seeded[0])
    counts = figures["status_counts"]
    assert (counts["accepted"], counts["rejected"]) == (16, 9)
    assert (counts["kept"], counts["flagged"], counts["disputed"]) == (2, 1, 0)
    reasons = {r["reason"]: r["count"] for r in figures["rejection_reasons"]}
    assert reasons["diagnosis_leaked"] == 5 and reasons["weak_distractors"] == 4


def test_api_returns_exactly_the_dashboard_figures(admin_client, seeded):
    batch = seeded[0]
    response = admin_client.get(
        reverse("quality:api", args=[batch.pk]), {"target_precision": "0.9"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body.pop("computed_at")
    assert body.pop("behind") is False
    expected = dashboard_figures(batch, target_precision=0.9)
    assert body == json.loads(json.dumps(expected))
    everything = admin_client.get(_api()).json()
    everything.pop("computed_at")
    assert everything.pop("behind") is False
    assert everything == json.loads(json.dumps(dashboard_figures()))
    assert everything["status_counts"]["disputed"] == 1


def test_api_refuses_bad_input_clearly(admin_client, seeded):
    assert admin_client.get(reverse("quality:api", args=["x"])).status_code == 404
    assert admin_client.get(reverse("quality:api", args=[99999])).status_code == 404
    bad = admin_client.get(_api(), {"target_precision": "2"})
    assert bad.status_code == 400
    assert "target_precision" in bad.json()["errors"]


def test_dashboard_page_shows_the_figures(admin_client, seeded):
    page = admin_client.get(
        reverse("quality:dashboard"),
        {"batch": seeded[0].pk, "target_precision": "0.9", "min_support": "5"},
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<svg") == 6
    assert "Recommended keep threshold for 90.0% precision" in html
    assert "<strong>0.99</strong>" in html
    assert 'id="calibration-precision">75.0%' in html
    assert "5 of 20 audited kept items rejected" in html
    assert "Accepts and rejects together make it Disputed" in html


def test_dashboard_rejects_bad_settings(admin_client):
    page = admin_client.get(reverse("quality:dashboard"), {"margin_points": "-3"})
    assert page.status_code == 400


def test_labels_from_data_are_escaped(admin_client, db):
    evil = "<script>alert(1)</script>"
    reviewer = make_user(evil)
    item = add_kept_items(make_batch(name=evil), 1, modality=evil)[0]
    add_review(item, reviewer, "reject", reason_code="other")
    html = admin_client.get(reverse("quality:dashboard")).content.decode()
    assert evil not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_query_count_does_not_grow_with_items(admin_user):
    batch = make_batch()
    reviewer = make_user("fay")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            dashboard_figures(batch)
        return len(captured)

    for item in add_kept_items(batch, 5):
        add_review(item, reviewer, "accept")
    small = queries()
    for item in add_kept_items(batch, 10, score=0.9, failed=("Diagnosis Leak",)):
        add_review(item, reviewer, "reject", reason_code="diagnosis_leaked")
    assert queries() == small


@pytest.mark.parametrize(
    "url",
    [
        reverse("quality:dashboard"),
        reverse("quality:api", args=["all"]),
        reverse("quality:adjudication_queue"),
    ],
)
def test_only_admins_see_quality(url, reviewer_user, admin_user, outsider_user):
    anonymous = Client().get(url)
    assert anonymous.status_code in {302, 401, 403}
    if anonymous.status_code == 302:
        assert "/login/" in anonymous["Location"]
    for user, expected in (
        (reviewer_user, 403),
        (outsider_user, 403),
        (admin_user, 200),
    ):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == expected


def test_nav_shows_quality_only_to_admins(admin_client, reviewer_user):
    assert reverse("quality:dashboard") in admin_client.get("/").content.decode()
    client = Client()
    client.force_login(reviewer_user)
    assert reverse("quality:dashboard") not in client.get("/").content.decode()
