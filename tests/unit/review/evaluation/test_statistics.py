from __future__ import annotations

import pytest

from review.evaluation.statistics import mcnemar_exact, unweighted_mean, wilson


def test_wilson_interval_matches_the_textbook_values():
    acc = wilson(8, 10)
    assert acc.value == 0.8
    assert acc.low == pytest.approx(0.4902, abs=1e-4)
    assert acc.high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_stays_inside_zero_and_one_at_the_edges():
    none_right = wilson(0, 10)
    assert none_right.low == 0.0 and none_right.high == pytest.approx(0.2775, 1e-3)
    all_right = wilson(10, 10)
    assert all_right.high == 1.0 and all_right.low == pytest.approx(0.7225, 1e-3)


def test_wilson_is_undefined_without_items():
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [(0, 0, 1.0), (0, 6, 0.03125), (6, 0, 0.03125), (2, 8, 0.109375), (5, 5, 1.0)],
)
def test_mcnemar_exact_p_values(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p)


def test_unweighted_mean_counts_each_benchmark_once():
    assert unweighted_mean([50.0, 70.0]) == 60.0
    assert unweighted_mean([]) is None
