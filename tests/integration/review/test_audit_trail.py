"""Every review action leaves one audit event, written with the action itself."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medsyn_app.audit import selectors
from medsyn_app.audit.models import AuditEvent
from review import adjudication, overlap, proposals, queue, services
from tests.fixtures.builders import OPTIONS, make_reviewable_item, make_user

pytestmark = pytest.mark.django_db


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_a_decision_is_recorded_with_its_reviewer_and_status_change(
    reviewer_user, item
):
    review = services.decide(
        item=item,
        reviewer=reviewer_user,
        decision="reject",
        reason_code="factually_wrong",
        comment="Wrong lobe.",
        seconds_spent=3,
        item_version=item.version,
    )
    (event,) = _events("review.decide")
    assert event.actor == reviewer_user
    assert (event.object_type, event.object_id) == ("synthesis.item", str(item.pk))
    assert event.after == {
        "review": review.pk,
        "decision": "reject",
        "reason": "factually_wrong",
        "comment": "Wrong lobe.",
        "status": "rejected",
    }
    assert event.before == {"status": "kept"}


def test_a_refused_decision_records_nothing(reviewer_user, item):
    with pytest.raises(services.StaleVersion):
        services.decide(
            item=item,
            reviewer=reviewer_user,
            decision="accept",
            seconds_spent=1,
            item_version=item.version + 5,
        )
    assert not AuditEvent.objects.filter(action__startswith="review.").exists()


def test_an_edit_records_what_changed_and_undo_records_the_revert(reviewer_user, item):
    services.edit_item(
        item=item,
        author=reviewer_user,
        question="Which lobe shows consolidation?",
        options=OPTIONS,
        answer="B",
        item_version=item.version,
    )
    (edit,) = _events("review.edit")
    assert edit.before["answer"] == "A" and edit.after["answer"] == "B"
    assert edit.after["question"] == "Which lobe shows consolidation?"
    assert edit.after["version"] == 2
    services.undo_last(reviewer=reviewer_user)
    (undo,) = _events("review.undo")
    assert undo.actor == reviewer_user
    assert undo.before["answer"] == "B" and undo.after["answer"] == "A"


def test_adjudication_adoption_policy_and_overlap_are_recorded(admin_user, batch):
    ann, ben = make_user("ann"), make_user("ben")
    item = make_reviewable_item(batch)
    overlap.apply_settings(
        batch=batch,
        settings=overlap.OverlapSettings(
            reviewers_per_item=2, reviewer_ids=[ann.pk, ben.pk]
        ),
    )
    assert (
        _events("review.overlap")[0].after["review_overlap"]["reviewers_per_item"] == 2
    )
    assert _events("review.overlap_planned")[0].after["assignments_created"] == 2
    services.edit_item(
        item=item, author=ann, question="Edited stem?", options=OPTIONS,
        answer="A", item_version=1,
    )  # fmt: skip
    (proposed,) = _events("review.propose_edit")
    assert proposed.after["question"] == "Edited stem?" and proposed.before is None
    services.decide(
        item=item, reviewer=ben, decision="accept", seconds_spent=1, item_version=1
    )
    proposal = item.proposals.get()
    proposals.adopt(
        item_id=item.pk, proposal_id=proposal.pk, admin=admin_user, item_version=1
    )
    (adopted,) = _events("review.adopt")
    assert adopted.actor == admin_user
    assert adopted.after["proposed_by"] == "ann"
    assert adopted.after["question"] == "Edited stem?"
    other = make_reviewable_item(batch)
    adjudication.adjudicate(item=other, admin=admin_user, decision="flag")
    assert _events("review.adjudicate")[0].after["decision"] == "flag"
    services.set_review_policy(batch=batch, policy=queue.Policy(name="audit"))
    (policy,) = _events("review.policy")
    assert policy.after["review_policy"]["name"] == "audit"
    assert selectors.verify()[1] is None


def test_pages_record_the_address_and_browser(reviewer_client, reviewer_user, item):
    from review.models import Assignment

    Assignment.objects.create(item=item, reviewer=reviewer_user)
    reviewer_client.post(
        reverse("review:decide", args=[item.pk]),
        {"decision": "accept", "item_version": item.version, "seconds_spent": 2},
        HTTP_USER_AGENT="MedSynTest/1.0",
    )
    (event,) = _events("review.decide")
    assert event.ip == "127.0.0.1" and event.user_agent == "MedSynTest/1.0"
