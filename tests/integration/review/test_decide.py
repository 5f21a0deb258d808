"""services.decide / edit_item / undo_last against the real database."""

from __future__ import annotations

import pytest

from review import services
from review.models import Assignment, Decision, ItemRevision, RejectReason, Review
from synthesis.models import ItemStatus

pytestmark = pytest.mark.django_db

NEW_OPTIONS = {
    "A": "Consolidation",
    "B": "Pneumothorax",
    "C": "Pleural effusion",
    "D": "Atelectasis",
    "E": "Lung abscess",
}


def _decide(item, reviewer, decision, **kwargs):
    kwargs.setdefault("seconds_spent", 4.5)
    kwargs.setdefault("item_version", item.version)
    return services.decide(item=item, reviewer=reviewer, decision=decision, **kwargs)


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        (Decision.ACCEPT, ItemStatus.ACCEPTED),
        (Decision.FLAG, ItemStatus.FLAGGED),
        (Decision.SKIP, ItemStatus.KEPT),
    ],
)
def test_decision_sets_status_and_records_who_and_how_long(
    item, reviewer_user, decision, status
):
    review = _decide(item, reviewer_user, decision)
    item.refresh_from_db()
    assert item.status == status
    assert review.reviewer == reviewer_user
    assert review.seconds_spent == 4.5
    assert review.created_at is not None
    assert review.status_before == ItemStatus.KEPT
    assignment = Assignment.objects.get(item=item, reviewer=reviewer_user)
    assert assignment.completed_at is not None


def test_reject_needs_a_reason_and_stores_it_with_the_comment(item, reviewer_user):
    with pytest.raises(services.InvalidDecision, match="reason"):
        _decide(item, reviewer_user, Decision.REJECT)
    assert not Review.objects.exists()
    review = _decide(
        item,
        reviewer_user,
        Decision.REJECT,
        reason_code=RejectReason.DIAGNOSIS_LEAKED,
        comment="  the stem names it  ",
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.REJECTED
    assert review.reason_code == "diagnosis_leaked"
    assert review.comment == "the stem names it"


def test_a_reason_on_anything_but_reject_is_refused(item, reviewer_user):
    with pytest.raises(services.InvalidDecision):
        _decide(item, reviewer_user, Decision.ACCEPT, reason_code="other")
    with pytest.raises(services.InvalidDecision):
        _decide(item, reviewer_user, "approve")
    with pytest.raises(services.InvalidDecision):
        _decide(item, reviewer_user, Decision.ACCEPT, seconds_spent=-1)


def test_stale_version_is_refused_and_nothing_is_written(
    item, reviewer_user, admin_user
):
    services.edit_item(
        item=item,
        author=admin_user,
        question="Which abnormality is seen in the right lower lobe?",
        options=NEW_OPTIONS,
        answer="A",
        item_version=1,
    )
    with pytest.raises(services.StaleVersion) as caught:
        _decide(
            item, reviewer_user, Decision.REJECT, reason_code="other", item_version=1
        )
    assert caught.value.item.version == 2
    assert not Review.objects.filter(reviewer=reviewer_user).exists()
    item.refresh_from_db()
    assert item.status == ItemStatus.ACCEPTED


def test_edit_writes_a_revision_bumps_the_version_and_accepts(item, reviewer_user):
    review = services.edit_item(
        item=item,
        author=reviewer_user,
        question="  Which abnormality is seen?  ",
        options=NEW_OPTIONS,
        answer="A",
        item_version=1,
        seconds_spent=12,
    )
    item.refresh_from_db()
    assert item.version == 2
    assert item.status == ItemStatus.ACCEPTED
    assert item.question == "Which abnormality is seen?"
    assert item.options["E"] == "Lung abscess"
    revision = ItemRevision.objects.get(item=item)
    assert revision.version == 2
    assert revision.before["options"]["E"] == "Pulmonary nodule"
    assert revision.after["options"]["E"] == "Lung abscess"
    assert revision.answer_changed is False
    assert review.decision == Decision.EDIT_ACCEPT
    assert review.item_version == 2


def test_an_edit_that_changes_the_answer_key_is_flagged(item, reviewer_user):
    services.edit_item(
        item=item,
        author=reviewer_user,
        question=item.question,
        options=item.options,
        answer="C",
        item_version=1,
    )
    assert ItemRevision.objects.get(item=item).answer_changed is True


@pytest.mark.parametrize(
    ("options", "answer", "field"),
    [
        ({**NEW_OPTIONS, "C": "  "}, "A", "option_C"),
        ({**NEW_OPTIONS, "D": "consolidation"}, "A", "option_D"),
        ({k: v for k, v in NEW_OPTIONS.items() if k != "E"}, "A", "option_E"),
        (NEW_OPTIONS, "F", "answer"),
        (NEW_OPTIONS, "", "answer"),
    ],
)
def test_invalid_edits_are_refused_with_the_field_named(
    item, reviewer_user, options, answer, field
):
    with pytest.raises(services.InvalidDecision) as caught:
        services.edit_item(
            item=item,
            author=reviewer_user,
            question=item.question,
            options=options,
            answer=answer,
            item_version=1,
        )
    assert field in caught.value.errors
    item.refresh_from_db()
    assert item.version == 1
    assert not ItemRevision.objects.exists()
    assert not Review.objects.exists()


def test_stale_edit_never_overwrites_the_other_edit(item, reviewer_user, admin_user):
    services.edit_item(
        item=item,
        author=admin_user,
        question="First edit wins",
        options=NEW_OPTIONS,
        answer="A",
        item_version=1,
    )
    with pytest.raises(services.StaleVersion):
        services.edit_item(
            item=item,
            author=reviewer_user,
            question="Second edit from a stale page",
            options=NEW_OPTIONS,
            answer="B",
            item_version=1,
        )
    item.refresh_from_db()
    assert item.question == "First edit wins"
    assert item.answer == "A"
    assert ItemRevision.objects.count() == 1


def test_undo_restores_status_and_stamps_the_review(item, reviewer_user):
    review = _decide(item, reviewer_user, Decision.REJECT, reason_code="other")
    undone = services.undo_last(reviewer=reviewer_user)
    assert undone.pk == review.pk
    assert undone.undone_at is not None
    item.refresh_from_db()
    assert item.status == ItemStatus.KEPT
    assignment = Assignment.objects.get(item=item, reviewer=reviewer_user)
    assert assignment.completed_at is None
    assert assignment.claimed_until is not None
    with pytest.raises(services.NothingToUndo):
        services.undo_last(reviewer=reviewer_user)


def test_undo_takes_only_the_reviewers_own_latest_decision(
    batch, reviewer_user, admin_user
):
    from tests.fixtures.builders import make_reviewable_item

    first, second = make_reviewable_item(batch), make_reviewable_item(batch)
    _decide(first, reviewer_user, Decision.ACCEPT)
    _decide(second, reviewer_user, Decision.FLAG)
    _decide(first, admin_user, Decision.SKIP)
    assert services.undo_last(reviewer=reviewer_user).item_id == second.pk
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == ItemStatus.KEPT
    assert first.status == ItemStatus.ACCEPTED


def test_undo_of_an_edit_reverts_the_content_through_a_new_revision(
    item, reviewer_user
):
    original = item.question
    services.edit_item(
        item=item,
        author=reviewer_user,
        question="Edited stem",
        options=NEW_OPTIONS,
        answer="B",
        item_version=1,
    )
    services.undo_last(reviewer=reviewer_user)
    item.refresh_from_db()
    assert item.question == original
    assert item.answer == "A"
    assert item.version == 3
    assert item.status == ItemStatus.KEPT
    revert = ItemRevision.objects.get(item=item, version=3)
    assert revert.before["question"] == "Edited stem"
    assert revert.after["question"] == original
    assert revert.answer_changed is True


def test_undo_of_an_edit_is_refused_once_someone_edited_again(
    item, reviewer_user, admin_user
):
    services.edit_item(
        item=item,
        author=reviewer_user,
        question="Mine",
        options=NEW_OPTIONS,
        answer="A",
        item_version=1,
    )
    services.edit_item(
        item=item,
        author=admin_user,
        question="Theirs",
        options=NEW_OPTIONS,
        answer="A",
        item_version=2,
    )
    with pytest.raises(services.StaleVersion):
        services.undo_last(reviewer=reviewer_user)
    item.refresh_from_db()
    assert item.question == "Theirs"
    assert Review.objects.filter(undone_at__isnull=False).count() == 0
