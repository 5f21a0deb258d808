"""Rebalancing moves keys to even out letters, never changing what is asked."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from synthesis.rebalancing import LETTERS, rebalance, refers_to_letters, reletter

OPTIONS = {"A": "alpha", "B": "beta", "C": "gamma", "D": "delta", "E": "epsilon"}


def apply(rows, changes):
    return [
        (i, changes[i].options, changes[i].answer) if i in changes else (i, o, a)
        for i, o, a in rows
    ]


def test_reletter_moves_the_key_and_keeps_distractor_order():
    out = reletter(OPTIONS, "A", "D")
    assert out.answer == "D" and out.options["D"] == "alpha"
    assert [out.options[k] for k in "ABCE"] == ["beta", "gamma", "delta", "epsilon"]


@pytest.mark.parametrize("n", [1, 4, 5, 13, 100, 257])
def test_keys_end_up_as_even_as_possible_and_each_item_keeps_its_content(n):
    rng = random.Random(n)  # noqa: S311
    rows = []
    for i in range(n):
        texts = [f"opt{i}-{j}" for j in range(5)]
        rows.append((i, dict(zip(LETTERS, texts, strict=True)), rng.choice("AAAB")))
    final = apply(rows, rebalance(rows))
    counts = Counter(answer for _, _, answer in final)
    assert max(counts.values()) - min(counts.get(x, 0) for x in LETTERS) <= 1
    for (_, before, old), (_, after, new) in zip(rows, final, strict=True):
        assert after[new] == before[old]
        assert sorted(after.values()) == sorted(before.values())
        distractors_before = [before[x] for x in LETTERS if x != old]
        assert [after[x] for x in LETTERS if x != new] == distractors_before


def test_rebalancing_is_deterministic_and_reports_only_changes():
    rows = [(i, dict(OPTIONS), "A") for i in range(10)]
    first, second = rebalance(rows), rebalance(rows)
    assert first == second
    assert all(change.answer != "A" for change in first.values())
    assert len(first) == 8


@pytest.mark.parametrize(
    "text",
    ["Both A and C", "Options B or D", "A, B", "answer E", "As in (B)", "A & D"],
)
def test_options_that_point_at_letters_are_never_relettered(text):
    options = {**OPTIONS, "E": text}
    assert refers_to_letters(options)
    rows = [(0, options, "A")] + [(i, dict(OPTIONS), "A") for i in range(1, 10)]
    changes = rebalance(rows)
    assert 0 not in changes
    counts = Counter(a for _, _, a in apply(rows, changes))
    assert sorted(counts.values()) == [2, 2, 2, 2, 2]


@pytest.mark.parametrize(
    "text",
    [
        "Vitamin A deficiency",
        "Hepatitis B",
        "Type A dissection",
        "Cyclin D1 overexpression",
    ],
)
def test_ordinary_letters_in_medical_terms_are_not_references(text):
    assert not refers_to_letters({**OPTIONS, "B": text})
