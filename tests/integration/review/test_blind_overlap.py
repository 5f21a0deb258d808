"""Blind double review holds while an item's overlap plan is open (issue 14, #3).

Two planned reviewers, ann and ben. Until both have decided (a skip does not
count) neither sees the other's edit, decision, reason, comment or revision,
on any page, partial or API.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from review import overlap, queue
from review.models import ItemRevision, Review
from synthesis.models import Item, ItemStatus
from tests.fixtures.builders import OPTIONS, make_batch, make_reviewable_item, make_user

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
EDITED_STEM = "Which lobe shows the consolidation on this axial CT?"
EDITED_OPTIONS = {**OPTIONS, "E": "Lung abscess"}


@pytest.fixture
def ann(db):
    return make_user("ann")


@pytest.fixture
def ben(db):
    return make_user("ben")


@pytest.fixture
def planned(ann, ben):
    """One item whose overlap plan names ann and ben."""
    batch = make_batch("Blind batch")
    item = make_reviewable_item(batch)
    overlap.plan_assignments(
        batch=batch,
        settings=overlap.OverlapSettings(
            reviewers_per_item=2, reviewer_ids=[ann.pk, ben.pk]
        ),
    )
    return item


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _edit(client, item, **extra):
    data = {
        "question": EDITED_STEM,
        "answer": "B",
        "item_version": item.version,
        "seconds_spent": 9,
        **{f"option_{k}": v for k, v in EDITED_OPTIONS.items()},
        **extra,
    }
    return client.post(reverse("review:edit", args=[item.pk]), data, **HTMX)


def _decide(client, item, **data):
    data.setdefault("item_version", item.version)
    data.setdefault("seconds_spent", 3)
    return client.post(reverse("review:decide", args=[item.pk]), data, **HTMX)


def _api_decide(client, item, **data):
    data.setdefault("item_version", item.version)
    url = reverse("review:api_decide", args=[item.pk])
    return client.post(url, data, content_type="application/json")


def test_the_second_reviewer_never_sees_the_first_reviewers_edit(planned, ann, ben):
    ann_client, ben_client = _client(ann), _client(ben)
    assert ann_client.get(reverse("review:next")).status_code == 200
    assert _edit(ann_client, planned).status_code == 200

    page = ben_client.get(reverse("review:item", args=[planned.pk])).content.decode()
    assert planned.question in page
    assert EDITED_STEM not in page
    assert "Lung abscess" not in page
    assert "History:" not in page
    assert "answer key changed" not in page
    assert "ann" not in page

    revisions = ben_client.get(reverse("review:api_revisions", args=[planned.pk]))
    assert revisions.status_code == 200
    assert revisions.json() == []
    body = ben_client.get(reverse("review:api_item", args=[planned.pk])).json()
    assert body["question"] == planned.question
    assert body["answer"] == "A"
    assert body["proposal"] is None
    upcoming = ben_client.get(reverse("review:upcoming"), {"after": 0}).content
    assert EDITED_STEM.encode() not in upcoming


def test_an_edit_under_overlap_is_a_proposal_and_the_item_does_not_move(planned, ann):
    from review.models import EditProposal

    ann_client = _client(ann)
    ann_client.get(reverse("review:next"))
    _edit(ann_client, planned)

    item = Item.objects.get(pk=planned.pk)
    assert (item.version, item.question, item.answer) == (1, planned.question, "A")
    assert item.status == ItemStatus.KEPT
    assert not ItemRevision.objects.exists()
    proposal = EditProposal.objects.get()
    assert (proposal.author, proposal.base_version) == (ann, 1)
    assert (proposal.question, proposal.answer) == (EDITED_STEM, "B")
    assert proposal.answer_changed is True
    assert proposal.review.decision == "edit_accept"

    # Her own card shows her proposal; the API names it too.
    own = ann_client.get(reverse("review:item", args=[planned.pk])).content.decode()
    assert EDITED_STEM in own and 'id="own-proposal"' in own
    body = ann_client.get(reverse("review:api_item", args=[planned.pk])).json()
    assert body["proposal"]["question"] == EDITED_STEM
    assert body["question"] == planned.question


def test_skipping_reveals_no_other_decision(planned, ann, ben):
    ann_client, ben_client = _client(ann), _client(ben)
    ann_client.get(reverse("review:next"))
    _decide(
        ann_client,
        planned,
        decision="reject",
        reason_code="multiple_correct",
        comment="B is also defensible",
    )
    reviews_url = reverse("quality:api_item_reviews", args=[planned.pk])

    assert _api_decide(ben_client, planned, decision="skip").status_code == 201
    after_skip = ben_client.get(reviews_url)
    assert after_skip.status_code == 200
    assert [r["reviewer"] for r in after_skip.json()] == ["ben"]
    assert b"multiple_correct" not in after_skip.content
    assert b"B is also defensible" not in after_skip.content
    page = ben_client.get(reverse("review:item", args=[planned.pk])).content
    assert b"You decided: Skip" in page
    assert b"B is also defensible" not in page
    assert b"Reviewers disagree" not in page

    assert ben_client.post(reverse("review:undo"), **HTMX).status_code == 200
    assert ben_client.get(reviews_url).json() == []


def test_a_flag_does_not_show_on_the_other_reviewers_card(planned, ann, ben):
    ann_client, ben_client = _client(ann), _client(ben)
    ann_client.get(reverse("review:next"))
    _decide(ann_client, planned, decision="flag")
    planned.refresh_from_db()
    assert planned.status == ItemStatus.FLAGGED

    page = ben_client.get(reverse("review:item", args=[planned.pk])).content.decode()
    assert "Flagged" not in page and "Kept by verifier" in page
    body = ben_client.get(reverse("review:api_item", args=[planned.pk])).json()
    assert body["status"] == ItemStatus.KEPT


def test_blindness_ends_when_every_planned_reviewer_has_decided(planned, ann, ben):
    ann_client, ben_client = _client(ann), _client(ben)
    ann_client.get(reverse("review:next"))
    _decide(ann_client, planned, decision="reject", reason_code="multiple_correct")
    assert overlap.plan_is_open(planned)
    _decide(ben_client, planned, decision="accept")
    assert not overlap.plan_is_open(planned)

    reviews_url = reverse("quality:api_item_reviews", args=[planned.pk])
    seen = {r["reviewer"] for r in ben_client.get(reviews_url).json()}
    assert seen == {"ann", "ben"}
    planned.refresh_from_db()
    assert planned.status == ItemStatus.DISPUTED


def test_admins_see_every_proposal_and_review_while_the_plan_is_open(
    planned, ann, admin_client
):
    ann_client = _client(ann)
    ann_client.get(reverse("review:next"))
    _edit(ann_client, planned)
    reviews = admin_client.get(
        reverse("quality:api_item_reviews", args=[planned.pk])
    ).json()
    assert [(r["reviewer"], r["decision"]) for r in reviews] == [("ann", "edit_accept")]


def test_the_plan_is_open_until_every_planned_reviewer_decides(planned, ann, ben):
    from review import services

    assert overlap.plan_is_open(planned)
    assert planned in overlap.with_open_plan(Item.objects.all())
    services.decide(
        item=planned, reviewer=ben, decision="skip", seconds_spent=1, item_version=1
    )
    assert overlap.plan_is_open(planned)  # a skip is not a decision
    for reviewer in (ann, ben):
        services.decide(
            item=planned,
            reviewer=reviewer,
            decision="accept",
            seconds_spent=1,
            item_version=1,
        )
    assert not overlap.plan_is_open(planned)
    assert planned not in overlap.with_open_plan(Item.objects.all())
    assert Review.objects.current().filter(item=planned).count() == 2
    assert queue.claim_next(reviewer=ben) is None
