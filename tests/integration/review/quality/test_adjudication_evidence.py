"""Adjudication with the evidence (issue 17): the review card's images, caption,
mentions and rubric beside every reviewer's decision; settling names the admin
and updates the badge; a flag's comment reaches the queue."""

from __future__ import annotations

import pytest
from django.urls import reverse

from review.models import Assignment
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    add_review,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(reviewer_user):
    dave = make_user("dave")
    item = make_reviewable_item(make_batch(name="Chest CT"))
    for user in (reviewer_user, dave):
        Assignment.objects.create(item=item, reviewer=user, planned=True)
    add_review(item, reviewer_user, "accept")
    add_review(
        item, dave, "reject", reason_code="diagnosis_leaked", comment="Stem says it"
    )
    assert item.status == ItemStatus.DISPUTED
    return item


def test_item_page_shows_the_review_card_evidence(admin_client, disputed):
    html = admin_client.get(
        reverse("quality:adjudication_item", args=[disputed.pk])
    ).content.decode()
    figure = disputed.figures.get()
    assert reverse("review:figure_image", args=[figure.pk]) in html
    assert "right lower lobe consolidation" in html  # the caption
    assert "<mark>Fig. 1</mark>" in html  # a citing sentence, highlighted
    assert 'id="rubric-panel"' in html and "Diagnosis Leak" in html
    assert "0.980" in html  # the verifier's score
    # Every reviewer's decision, reason and comment, side by side.
    assert "Diagnosis leaked in the stem" in html and "Stem says it" in html
    assert html.count('class="card review-column"') == 2


def test_settling_names_the_admin_and_updates_the_badge(admin_client, disputed):
    response = admin_client.post(
        reverse("quality:settle", args=[disputed.pk]),
        {"decision": "reject", "reason_code": "diagnosis_leaked"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    settled = html[html.index('id="settled"') :]
    assert "by reviewer" not in html
    assert "Rejected by admin alice (adjudication)" in settled
    assert 'id="status-badge" class="badge warn" hx-swap-oob="true"' in html
    assert "Reviewers disagree" not in html
    page = admin_client.get(
        reverse("quality:adjudication_item", args=[disputed.pk])
    ).content.decode()
    badge = page[page.index('id="status-badge"') :]
    assert badge[: badge.index("</span>")].endswith(
        "Rejected by admin alice (adjudication)"
    )


def test_flag_comment_shows_in_the_queue(admin_client, reviewer_user):
    item = make_reviewable_item(make_batch(name="Derm"))
    add_review(item, reviewer_user, "flag", comment="Lesion border unclear")
    assert item.status == ItemStatus.FLAGGED
    html = admin_client.get(reverse("quality:adjudication_queue")).content.decode()
    assert "Lesion border unclear" in html
    assert reviewer_user.get_username() in html
