"""The consensus rule, as a table of review combinations and their outcomes."""

from __future__ import annotations

import pytest

from review import consensus
from review.models import Decision
from synthesis.models import ItemStatus


@pytest.mark.parametrize(
    ("decisions", "required", "adjudication", "expected"),
    [
        ([], 1, None, None),
        (["accept"], 1, None, "accepted"),
        (["edit_accept"], 1, None, "accepted"),
        (["reject"], 1, None, "rejected"),
        (["flag"], 1, None, "flagged"),
        (["skip"], 1, None, None),
        (["accept"], 2, None, None),
        (["accept", "edit_accept"], 2, None, "accepted"),
        (["reject", "reject"], 2, None, "rejected"),
        (["accept", "reject"], 2, None, "disputed"),
        (["accept", "reject"], 3, None, "disputed"),
        (["accept", "flag"], 2, None, "flagged"),
        (["accept", "reject", "flag"], 3, None, "flagged"),
        (["accept", "skip"], 2, None, None),
        (["skip", "skip", "accept", "accept"], 2, None, "accepted"),
        (["accept", "reject"], 2, "reject", "rejected"),
        (["accept", "reject"], 2, "accept", "accepted"),
        (["reject", "reject"], 2, "accept", "accepted"),
        (["accept", "flag"], 2, "flag", "flagged"),
        ([], 2, "edit_accept", "accepted"),
    ],
)
def test_final_status_table(decisions, required, adjudication, expected):
    result = consensus.final_status(
        decisions=decisions, required=required, adjudication=adjudication
    )
    assert result == expected


def test_an_adjudication_cannot_skip():
    with pytest.raises(ValueError, match="accept, reject or flag"):
        consensus.final_status(decisions=["accept"], adjudication="skip")


def test_rule_values_are_real_decisions_and_statuses():
    assert {*consensus.ACCEPTING, consensus.REJECT, consensus.FLAG, consensus.SKIP} == (
        set(Decision.values)
    )
    statuses = {
        consensus.ACCEPTED,
        consensus.REJECTED,
        consensus.FLAGGED,
        consensus.DISPUTED,
    }
    assert statuses <= set(ItemStatus.values)


def test_rule_text_lists_every_step_in_order():
    for number, step in enumerate(consensus.RULE_STEPS, start=1):
        assert f"{number}. {step}" in consensus.RULE
    assert "Disputed" in consensus.RULE


@pytest.mark.parametrize(
    ("decisions", "required", "adjudication", "proposals", "expected"),
    [
        (["edit_accept"], 2, None, 1, None),
        (["edit_accept", "accept"], 2, None, 1, "disputed"),
        (["edit_accept", "edit_accept"], 2, None, 2, "disputed"),
        (["edit_accept", "reject"], 2, None, 1, "disputed"),
        (["edit_accept", "flag"], 2, None, 1, "flagged"),
        (["edit_accept", "skip"], 2, None, 1, None),
        (["edit_accept", "accept"], 2, "accept", 1, "accepted"),
        (["edit_accept", "accept"], 2, None, 0, "accepted"),
    ],
)
def test_an_edit_proposal_needs_an_admin_once_everyone_decided(
    decisions, required, adjudication, proposals, expected
):
    result = consensus.final_status(
        decisions=decisions,
        required=required,
        adjudication=adjudication,
        proposals=proposals,
    )
    assert result == expected


@pytest.mark.parametrize(
    ("verifier_kept", "status_before", "expected"),
    [
        (True, "", "kept"),
        (False, "kept", "dropped"),
        (None, "kept", "kept"),
        (None, "", "generated"),
        (None, "generated", "generated"),
    ],
)
def test_without_a_verdict_the_item_keeps_the_status_it_had(
    verifier_kept, status_before, expected
):
    assert (
        consensus.status_in_review(
            verifier_kept=verifier_kept, status_before=status_before
        )
        == expected
    )
