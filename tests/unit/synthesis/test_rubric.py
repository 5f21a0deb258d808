"""The scoring table: fixed weights, title normalisation, clamping, errors."""

from __future__ import annotations

import pytest

from synthesis import rubric
from synthesis.rubric import RUBRIC_V1, KeepRule, normalize_title, score

GATES = [c for c in RUBRIC_V1.criteria if c.is_gate]
BONUS = [c for c in RUBRIC_V1.criteria if not c.is_gate and not c.is_pitfall]
PITFALLS = [c for c in RUBRIC_V1.criteria if c.is_pitfall]


def perfect(**changes):
    """Rows with every criterion met; `changes` maps a title to its score."""
    return [
        {
            "title": c.title,
            "score": changes.get(c.title, 0 if c.is_pitfall else c.weight),
            "reason": "r",
        }
        for c in RUBRIC_V1.criteria
    ]


def test_rubric_v1_has_the_seven_gates_six_bonus_and_four_pitfalls():
    assert [c.title for c in GATES] == [
        "Stem Self-contained",
        "Vocabulary Constraint",
        "Diagnosis Leak",
        "Single Correct Option",
        "Option Type Consistency",
        "Clinical Validity",
        "Image\u2013Text Consistency",
    ]
    assert all(c.weight == 5 for c in GATES)
    assert len(BONUS) == 6 and all(c.weight > 0 for c in BONUS)
    assert len(PITFALLS) == 4 and all(c.weight < 0 for c in PITFALLS)
    assert RUBRIC_V1.positive_weight == 35 + sum(c.weight for c in BONUS)


@pytest.mark.parametrize(
    "written",
    [
        "Image-Text Consistency",
        "image \u2014 text consistency",
        "IMAGE\u2212TEXT  CONSISTENCY",
        " Image \u2013Text Consistency ",
    ],
)
def test_titles_match_whatever_dash_case_or_spacing(written):
    assert normalize_title(written) == normalize_title("Image\u2013Text Consistency")
    rows = [
        {**row, "title": written} if row["title"].startswith("Image") else row
        for row in perfect()
    ]
    assert score("v1", rows).essentials_passed


def test_perfect_verdict_scores_one_and_is_kept():
    result = score("v1", perfect())
    assert (result.normalized, result.essentials_passed, result.kept) == (
        1.0,
        True,
        True,
    )
    assert len(result.criteria) == len(RUBRIC_V1.criteria)
    assert result.error == ""


def test_a_gate_below_full_fails_even_with_a_high_score():
    result = score("v1", perfect(**{"Diagnosis Leak": 4}))
    assert not result.essentials_passed and not result.kept
    assert result.normalized == pytest.approx(46 / 51)


def test_bonus_is_all_or_nothing_and_the_verifier_cannot_inflate_weights():
    result = score("v1", perfect(**{"Plausible Distractors": 2, "Parallel Options": 9}))
    row = {r["title"]: r for r in result.criteria}
    assert row["Plausible Distractors"]["score"] == 0
    assert row["Parallel Options"]["score"] == 3
    assert result.normalized == pytest.approx(48 / 51)
    assert not result.kept


def test_one_point_pitfall_is_tolerated_by_the_default_threshold_two_are_not():
    drift = score("v1", perfect(**{"Synonym Drift": -1}))
    assert drift.normalized == pytest.approx(50 / 51) and drift.kept
    keys = score("v1", perfect(**{"Multiple Keys": -1}))
    # A triggered pitfall costs its fixed weight, whatever number was written.
    assert keys.normalized == pytest.approx(49 / 51) and not keys.kept


def test_normalised_score_is_clamped_at_zero():
    rows = perfect(**{c.title: 0 for c in RUBRIC_V1.criteria if not c.is_pitfall})
    rows = [
        {**r, "score": -5} if r["title"] in {p.title for p in PITFALLS} else r
        for r in rows
    ]
    result = score("v1", rows)
    assert result.normalized == 0.0 and not result.kept


def test_threshold_is_a_batch_setting():
    rows = perfect(**{"Stem Concision": 0})
    assert not score("v1", rows).kept
    assert score("v1", rows, keep_rule=KeepRule(min_score=0.95)).kept


def test_missing_criterion_is_an_error_and_not_passed():
    rows = [r for r in perfect() if r["title"] != "Clinical Validity"]
    result = score("v1", rows)
    assert result.error == rubric.ERROR_MISSING_CRITERIA
    assert not result.essentials_passed and not result.kept
    assert {r["title"]: r["missing"] for r in result.criteria}["Clinical Validity"]


def test_missing_pitfall_also_counts_as_an_error():
    rows = [r for r in perfect() if r["title"] != "Medical Inaccuracy"]
    assert score("v1", rows).error == rubric.ERROR_MISSING_CRITERIA


def test_non_numeric_scores_count_as_missing():
    result = score("v1", perfect(**{"Clinical Validity": "five"}))
    assert result.error == rubric.ERROR_MISSING_CRITERIA and not result.kept


@pytest.mark.parametrize(
    ("rows", "error", "expected"),
    [
        (None, "insufficient_evidence", "insufficient_evidence"),
        (None, "", rubric.ERROR_UNPARSEABLE),
        ([], "", rubric.ERROR_MISSING_CRITERIA),
        (["junk", 3], "", rubric.ERROR_MISSING_CRITERIA),
    ],
)
def test_verifier_errors_are_stored_as_such(rows, error, expected):
    result = score("v1", rows, error=error)
    assert result.error == expected
    assert (result.essentials_passed, result.kept, result.normalized) == (
        False,
        False,
        None,
    )


def test_duplicate_titles_use_the_first_row():
    rows = perfect(**{"Diagnosis Leak": 0}) + [
        {"title": "Diagnosis Leak", "score": 5, "reason": "second"}
    ]
    assert not score("v1", rows).essentials_passed


def test_unknown_rubric_version_is_refused():
    with pytest.raises(ValueError, match="unknown rubric version"):
        score("v0", perfect())
