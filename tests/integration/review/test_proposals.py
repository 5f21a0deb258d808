"""Edit proposals under an overlap plan, and an admin adopting or merging them."""

from __future__ import annotations

import pytest

from review import adjudication, overlap, proposals, services
from review.models import EditProposal, ItemRevision, Review
from synthesis.models import Item, ItemStatus
from tests.fixtures.builders import OPTIONS, make_batch, make_reviewable_item, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    return make_user("ann")


@pytest.fixture
def ben(db):
    return make_user("ben")


@pytest.fixture
def planned(ann, ben):
    batch = make_batch("Proposal batch")
    item = make_reviewable_item(batch)
    overlap.plan_assignments(
        batch=batch,
        settings=overlap.OverlapSettings(
            reviewers_per_item=2, reviewer_ids=[ann.pk, ben.pk]
        ),
    )
    return item


def _edit(item, author, question: str, answer: str = "A") -> Review:
    return services.edit_item(
        item=item,
        author=author,
        question=question,
        options=OPTIONS,
        answer=answer,
        item_version=1,
        seconds_spent=5,
    )


def _accept(item, reviewer) -> Review:
    return services.decide(
        item=item, reviewer=reviewer, decision="accept", seconds_spent=1, item_version=1
    )


def _status(item) -> str:
    return Item.objects.values_list("status", flat=True).get(pk=item.pk)


def test_a_proposal_sends_the_item_to_adjudication_once_both_decided(planned, ann, ben):
    _edit(planned, ann, "Which lobe is consolidated?")
    assert _status(planned) == ItemStatus.KEPT  # still in review, blind
    _accept(planned, ben)
    assert _status(planned) == ItemStatus.DISPUTED
    assert planned in adjudication.adjudication_queue()


def test_editing_again_replaces_the_reviewers_own_proposal(planned, ann):
    first = _edit(planned, ann, "First wording?")
    second = _edit(planned, ann, "Second wording?")
    first.refresh_from_db()
    assert first.superseded_at is not None
    assert second.replaces == first
    current = EditProposal.objects.filter(review__in=Review.objects.current())
    assert [p.question for p in current] == ["Second wording?"]


def test_editing_after_the_plan_closed_is_still_a_proposal(planned, ann, ben):
    _accept(planned, ann)
    _accept(planned, ben)
    assert _status(planned) == ItemStatus.ACCEPTED
    _edit(planned, ann, "A late thought?")
    assert Item.objects.get(pk=planned.pk).version == 1
    assert _status(planned) == ItemStatus.DISPUTED


def test_undo_withdraws_a_proposal_without_touching_the_item(planned, ann):
    _edit(planned, ann, "Withdrawn wording?")
    services.undo_last(reviewer=ann)
    item = Item.objects.get(pk=planned.pk)
    assert (item.version, item.status) == (1, ItemStatus.KEPT)
    assert not ItemRevision.objects.exists()


def test_adopting_writes_exactly_one_revision_and_accepts(
    planned, ann, ben, admin_user
):
    _edit(planned, ann, "Which lobe is consolidated?", answer="B")
    _edit(planned, ben, "Where is the consolidation?")
    chosen = EditProposal.objects.get(author=ann)

    review = proposals.adopt(
        item_id=planned.pk, proposal_id=chosen.pk, admin=admin_user, item_version=1
    )

    item = Item.objects.get(pk=planned.pk)
    assert (item.version, item.question, item.answer) == (
        2,
        "Which lobe is consolidated?",
        "B",
    )
    assert item.status == ItemStatus.ACCEPTED
    revision = ItemRevision.objects.get()
    assert (revision.version, revision.author, revision.answer_changed) == (
        2,
        ann,
        True,
    )
    assert revision.before["question"] == planned.question
    chosen.refresh_from_db()
    assert chosen.adopted_by == admin_user and chosen.adopted_at is not None
    assert review.is_adjudication and review.decision == "accept"
    assert not overlap.plan_is_open(planned)


def test_an_adoption_from_a_stale_page_is_refused(planned, ann, ben, admin_user):
    _edit(planned, ann, "First?")
    _edit(planned, ben, "Second?")
    first, second = EditProposal.objects.order_by("pk")
    proposals.adopt(
        item_id=planned.pk, proposal_id=first.pk, admin=admin_user, item_version=1
    )
    with pytest.raises(adjudication.StaleAdjudication):
        proposals.adopt(
            item_id=planned.pk, proposal_id=second.pk, admin=admin_user, item_version=1
        )
    assert ItemRevision.objects.count() == 1


@pytest.mark.parametrize("withdraw", ["undo", "supersede"])
def test_a_withdrawn_proposal_cannot_be_adopted(planned, ann, admin_user, withdraw):
    _edit(planned, ann, "Withdrawn?")
    proposal = EditProposal.objects.get()
    if withdraw == "undo":
        services.undo_last(reviewer=ann)
    else:
        _accept(planned, ann)
    with pytest.raises(adjudication.AdjudicationError, match="withdrew"):
        proposals.adopt(
            item_id=planned.pk,
            proposal_id=proposal.pk,
            admin=admin_user,
            item_version=1,
        )
    assert not ItemRevision.objects.exists()


def test_only_admins_adopt(planned, ann, ben):
    _edit(planned, ann, "Mine?")
    proposal = EditProposal.objects.get()
    with pytest.raises(adjudication.AdjudicationError, match="Only admins"):
        proposals.adopt(
            item_id=planned.pk, proposal_id=proposal.pk, admin=ben, item_version=1
        )


def test_merging_writes_the_admins_content_as_one_revision(
    planned, ann, ben, admin_user
):
    _edit(planned, ann, "First?")
    _edit(planned, ben, "Second?")
    proposals.merge(
        item_id=planned.pk,
        admin=admin_user,
        question="  Merged wording?  ",
        options={**OPTIONS, "E": "Lung abscess"},
        answer="A",
        item_version=1,
    )
    item = Item.objects.get(pk=planned.pk)
    assert (item.question, item.options["E"], item.version) == (
        "Merged wording?",
        "Lung abscess",
        2,
    )
    assert item.status == ItemStatus.ACCEPTED
    assert ItemRevision.objects.get().author == admin_user
    assert not EditProposal.objects.filter(adopted_at__isnull=False).exists()


def test_a_bad_merge_names_the_field_and_writes_nothing(planned, ann, admin_user):
    _edit(planned, ann, "First?")
    with pytest.raises(adjudication.AdjudicationError) as caught:
        proposals.merge(
            item_id=planned.pk,
            admin=admin_user,
            question="",
            options=OPTIONS,
            answer="A",
            item_version=1,
        )
    assert "question" in caught.value.errors
    assert not ItemRevision.objects.exists()
    assert not Review.objects.filter(is_adjudication=True).exists()
