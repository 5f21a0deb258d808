"""Pure evidence shaping: highlighting, rubric rows, flags, diffs, reasons."""

from __future__ import annotations

from review import evidence, history, reasons
from review.models import RejectReason


def _marked(segments):
    return [s.text for s in segments if s.marked]


def test_figure_references_are_marked_in_their_common_spellings():
    text = "As in Fig. 2B and Figure 2, unlike Fig. 12 or Figs 3; see fig.2."
    assert _marked(evidence.highlight(text, "Figure 2")) == [
        "Fig. 2B",
        "Figure 2",
        "fig.2",
    ]


def test_highlight_keeps_every_character_in_order():
    text = "<b>Fig. 1</b> shows & more"
    segments = evidence.highlight(text, "Fig. 1")
    assert "".join(s.text for s in segments) == text
    assert _marked(segments) == ["Fig. 1"]


def test_a_label_without_a_number_is_matched_literally():
    assert _marked(evidence.highlight("see Panel A here", "panel a")) == ["Panel A"]
    assert evidence.highlight("no label", "") == [evidence.Segment("no label")]


def test_mentions_accept_strings_and_dicts_and_ignore_junk():
    rows = evidence.highlighted_mentions(
        ["Fig. 1 shows it", {"text": "see Fig. 1"}, {"other": 1}, ""], "Fig. 1"
    )
    assert len(rows) == 2
    assert evidence.highlighted_mentions("not a list", "Fig. 1") == []


def test_rubric_rows_classify_gates_bonuses_and_penalties():
    rows = evidence.rubric_rows(
        [
            {"title": "Stem Self-contained", "category": "Essential", "weight": 5,
             "score": 5, "reason": "ok"},
            {"title": "Diagnosis Leak", "category": "Essential", "weight": 5,
             "score": 0, "notes": "names it"},
            {"title": "Multiple Keys", "category": "Pitfall", "weight": -2,
             "score": -2},
            {"title": "Parallel Options", "category": "Important", "weight": 3,
             "score": 3},
        ]
    )  # fmt: skip
    by_title = {row.title: row for row in rows}
    assert [row.kind for row in rows] == ["gate", "gate", "bonus", "penalty"]
    assert by_title["Stem Self-contained"].passed is True
    assert by_title["Diagnosis Leak"].passed is False
    assert by_title["Diagnosis Leak"].reason == "names it"
    assert by_title["Multiple Keys"].passed is False
    assert by_title["Multiple Keys"].points == "-2"
    assert by_title["Parallel Options"].points == "+3"


def test_rubric_rows_survive_missing_and_malformed_keys():
    rows = evidence.rubric_rows([{}, "junk", {"category": "Essential", "score": "x"}])
    assert [row.title for row in rows] == ["(untitled criterion)"] * 2
    assert rows[0].passed is None
    assert evidence.rubric_rows(None) == []


def test_flags_accept_codes_and_dicts():
    flags = evidence.item_flags(["longest_option_is_answer", {"code": "leak"}])
    assert flags[0].message == "longest option is answer"
    assert flags[1].code == "leak"
    assert evidence.item_flags({"not": "a list"}) == []


def test_diff_marks_changed_lines_only():
    before = {"question": "Q1", "options": {"A": "a", "B": "b"}, "answer": "A"}
    after = {"question": "Q2", "options": {"A": "a", "B": "b"}, "answer": "B"}
    changed = [(d.op, d.text) for d in history.diff(before, after) if d.op != " "]
    assert changed == [
        ("-", "Question: Q1"),
        ("+", "Question: Q2"),
        ("-", "Answer: A"),
        ("+", "Answer: B"),
    ]


def test_every_reject_reason_has_a_key_and_all_but_other_a_gate():
    assert [r.key for r in reasons.REASONS] == [str(n) for n in range(1, 9)]
    assert {r.code for r in reasons.REASONS} == set(RejectReason.values)
    for reason in reasons.REASONS:
        assert bool(reason.gate) is (reason.code != RejectReason.OTHER)
    assert reasons.gate_for("diagnosis_leaked") == "Diagnosis Leak"
