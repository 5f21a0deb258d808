"""The adjudication queue and item page: side-by-side decisions, diff, settling."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from review.consensus import RULE_STEPS
from review.models import Assignment, Review
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    OPTIONS,
    add_kept_items,
    add_review,
    add_revision,
    make_batch,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(reviewer_user):
    dave = make_user("dave")
    item = add_kept_items(make_batch(name="Chest CT"), 1)[0]
    for user in (reviewer_user, dave):
        Assignment.objects.create(item=item, reviewer=user, planned=True)
    before = {"question": item.question, "options": dict(OPTIONS), "answer": "A"}
    after = {**before, "question": "Which <b>finding</b> is shown?", "answer": "B"}
    add_revision(item, reviewer_user, before=before, after=after)
    add_review(item, reviewer_user, "edit_accept", comment="Tightened the stem")
    add_review(
        item,
        dave,
        "reject",
        reason_code="multiple_correct",
        comment="<script>alert(1)</script> B is also right",
    )
    assert item.status == ItemStatus.DISPUTED
    return item


def test_queue_lists_disputed_items(admin_client, disputed):
    page = admin_client.get(reverse("quality:adjudication_queue"))
    assert page.status_code == 200
    assert reverse("quality:adjudication_item", args=[disputed.pk]).encode() in (
        page.content
    )
    assert b"Reviewers disagree" in page.content


def test_item_page_shows_both_decisions_the_diff_and_the_rule(admin_client, disputed):
    page = admin_client.get(reverse("quality:adjudication_item", args=[disputed.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Edit and accept" in html and "Tightened the stem" in html
    assert "More than one correct option" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span class="removed">-answer: A</span>' in html
    assert '<span class="added">+answer: B</span>' in html
    assert "Which &lt;b&gt;finding&lt;/b&gt; is shown?" in html
    for step in RULE_STEPS:
        assert step.replace("'", "&#x27;") in html


def test_settling_with_htmx_returns_the_panel(admin_client, disputed):
    response = admin_client.post(
        reverse("quality:settle", args=[disputed.pk]),
        {"decision": "reject", "reason_code": "multiple_correct", "comment": "Agreed"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b'id="settled"' in response.content
    assert b"<html" not in response.content
    disputed.refresh_from_db()
    assert disputed.status == ItemStatus.REJECTED
    assert Review.objects.get(is_adjudication=True).comment == "Agreed"


def test_settling_without_htmx_redirects_to_the_queue(admin_client, disputed):
    response = admin_client.post(
        reverse("quality:settle", args=[disputed.pk]), {"decision": "accept"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("quality:adjudication_queue")
    disputed.refresh_from_db()
    assert disputed.status == ItemStatus.ACCEPTED


def test_a_rejection_without_reason_is_refused_with_a_message(admin_client, disputed):
    response = admin_client.post(
        reverse("quality:settle", args=[disputed.pk]),
        {"decision": "reject"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert b"A rejection needs a reason." in response.content
    assert not Review.objects.filter(is_adjudication=True).exists()


@pytest.mark.parametrize("name", ["adjudication_queue", "adjudication_item", "settle"])
def test_only_admins_reach_adjudication(reviewer_client, disputed, name):
    args = [] if name == "adjudication_queue" else [disputed.pk]
    url = reverse(f"quality:{name}", args=args)
    anonymous_client = Client()
    call = anonymous_client.post if name == "settle" else anonymous_client.get
    anonymous = call(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    call = reviewer_client.post if name == "settle" else reviewer_client.get
    assert call(url, {"decision": "accept"}).status_code == 403
    disputed.refresh_from_db()
    assert disputed.status == ItemStatus.DISPUTED


# ---- blind double review: proposals side by side, adopt or merge --------------


@pytest.fixture
def proposed(reviewer_user):
    """Two planned reviewers proposed different edits; the item awaits an admin."""
    from review import services

    dave = make_user("dave")
    item = add_kept_items(make_batch(name="Proposals"), 1)[0]
    for user in (reviewer_user, dave):
        Assignment.objects.create(item=item, reviewer=user, planned=True)
    for user, stem in ((reviewer_user, "Bob's <i>stem</i>?"), (dave, "Dave's stem?")):
        services.edit_item(
            item=item,
            author=user,
            question=stem,
            options=OPTIONS,
            answer="A",
            item_version=1,
        )
    item.refresh_from_db()
    assert item.status == ItemStatus.DISPUTED
    return item


def _proposal(author):
    from review.models import EditProposal

    return EditProposal.objects.get(author__username=author)


def test_item_page_shows_every_proposal_against_the_current_content(
    admin_client, proposed
):
    page = admin_client.get(reverse("quality:adjudication_item", args=[proposed.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    for author in ("bob", "dave"):
        proposal = _proposal(author)
        assert f'id="proposal-{proposal.pk}"' in html
        assert reverse("quality:adopt", args=[proposed.pk, proposal.pk]) in html
    assert f'<span class="removed">-question: {proposed.question}</span>' in html
    assert (
        '<span class="added">+question: Bob&#x27;s &lt;i&gt;stem&lt;/i&gt;?</span>'
        in (html)
    )
    assert '<span class="added">+question: Dave&#x27;s stem?</span>' in html
    assert reverse("quality:merge", args=[proposed.pk]) in html
    assert "Revisions (0)" in html


def test_adopting_a_proposal_writes_one_revision_and_accepts(admin_client, proposed):
    proposal = _proposal("dave")
    response = admin_client.post(
        reverse("quality:adopt", args=[proposed.pk, proposal.pk]), {"item_version": 1}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "quality:adjudication_item", args=[proposed.pk]
    )
    proposed.refresh_from_db()
    assert (proposed.status, proposed.version) == (ItemStatus.ACCEPTED, 2)
    assert proposed.question == "Dave's stem?"
    assert proposed.revisions.count() == 1
    page = admin_client.get(response["Location"]).content.decode()
    assert "Revisions (1)" in page and "adopted" in page


def test_adopting_from_a_stale_page_is_a_conflict(admin_client, proposed):
    first, second = _proposal("bob"), _proposal("dave")
    admin_client.post(
        reverse("quality:adopt", args=[proposed.pk, first.pk]), {"item_version": 1}
    )
    response = admin_client.post(
        reverse("quality:adopt", args=[proposed.pk, second.pk]), {"item_version": 1}
    )
    assert response.status_code == 409
    assert b'id="adjudication-error"' in response.content
    assert proposed.revisions.count() == 1


def test_adopting_without_a_version_is_refused(admin_client, proposed):
    proposal = _proposal("bob")
    response = admin_client.post(
        reverse("quality:adopt", args=[proposed.pk, proposal.pk]), {}
    )
    assert response.status_code == 400
    assert proposed.revisions.count() == 0


def test_merging_saves_the_admins_content(admin_client, proposed):
    data = {f"option_{k}": v for k, v in OPTIONS.items()}
    data |= {"question": "Merged stem?", "answer": "B", "item_version": 1}
    response = admin_client.post(reverse("quality:merge", args=[proposed.pk]), data)
    assert response.status_code == 302
    proposed.refresh_from_db()
    assert (proposed.question, proposed.answer, proposed.status) == (
        "Merged stem?",
        "B",
        ItemStatus.ACCEPTED,
    )


def test_a_bad_merge_shows_the_field_error(admin_client, proposed):
    data = {f"option_{k}": v for k, v in OPTIONS.items()}
    data |= {"question": "Merged stem?", "answer": "B", "item_version": 1}
    data["option_C"] = OPTIONS["A"]
    response = admin_client.post(reverse("quality:merge", args=[proposed.pk]), data)
    assert response.status_code == 400
    assert b"Option C repeats option A." in response.content
    proposed.refresh_from_db()
    assert proposed.version == 1


@pytest.mark.parametrize("name", ["adopt", "merge"])
def test_only_admins_adopt_or_merge(reviewer_client, proposed, name):
    args = [proposed.pk, _proposal("bob").pk] if name == "adopt" else [proposed.pk]
    url = reverse(f"quality:{name}", args=args)
    assert reviewer_client.post(url, {"item_version": 1}).status_code == 403
    anonymous = Client().post(url, {"item_version": 1})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    proposed.refresh_from_db()
    assert (proposed.version, proposed.status) == (1, ItemStatus.DISPUTED)
