from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from review.export.balance import balance_report, letter_counts, rebalance

LETTERS = "ABCDE"


@given(st.lists(st.sampled_from(LETTERS), max_size=80))
def test_rebalance_evens_letters_and_keeps_the_key(answers):
    items = [
        ({letter: f"option {letter} of {i}" for letter in LETTERS}, answer)
        for i, answer in enumerate(answers)
    ]
    result = rebalance(items)
    counts = letter_counts(answer for _, answer in result)
    assert max(counts.values()) - min(counts.values()) <= 1
    for (old_options, old_answer), (new_options, new_answer) in zip(
        items, result, strict=True
    ):
        assert new_options[new_answer] == old_options[old_answer]
        assert sorted(new_options.values()) == sorted(old_options.values())


def test_rebalance_follows_the_method_on_a_small_case():
    items = [({k: k.lower() for k in LETTERS}, "A") for _ in range(6)]
    result = rebalance(items)
    # Targets are A=2, B..E=1; ties in deficit go to the earliest letter.
    assert [answer for _, answer in result] == ["A", "A", "B", "C", "D", "E"]
    # The distractors keep their alphabetical order in the remaining letters.
    assert result[2][0] == {"A": "b", "B": "a", "C": "c", "D": "d", "E": "e"}


def test_items_without_five_options_pass_through():
    odd = ({"A": "x", "B": "y"}, "B")
    assert rebalance([odd]) == [odd]


def test_balance_report_measures_deviation():
    report = balance_report(["A"] * 10)
    assert report["counts"]["A"] == 10
    assert report["max_deviation_from_uniform"] == 4.0
