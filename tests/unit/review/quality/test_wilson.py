"""Wilson intervals against published values and the sample-size search."""

from __future__ import annotations

import pytest

from review.quality import estimates


# Newcombe (1998), Stat Med 17:857, Table I, method 3 (Wilson score, no
# continuity correction), rounded to four places.
@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (29, 29, 0.8830, 1.0000),
    ],
)
def test_wilson_interval_matches_newcombe(successes, n, low, high):
    result = estimates.wilson_interval(successes, n)
    assert result == pytest.approx((low, high), abs=6e-5)


def test_no_sample_is_the_whole_unit_interval():
    assert estimates.wilson_interval(0, 0) == (0.0, 1.0)


def test_impossible_counts_are_refused():
    with pytest.raises(ValueError, match="between 0 and n"):
        estimates.wilson_interval(5, 3)


def test_sample_size_is_the_smallest_meeting_the_margin():
    # At p = 0.5 the half-width is close to 1.96 * 0.5 / sqrt(n): about 384 for 5%.
    n = estimates.sample_size_for(rate=0.5, margin=0.05)
    assert 375 <= n <= 390
    assert estimates.half_width(round(0.5 * n), n) <= 0.05
    assert estimates.half_width(round(0.5 * (n - 1)), n - 1) > 0.05


def test_rare_rejections_need_a_smaller_sample():
    assert estimates.sample_size_for(
        rate=0.05, margin=0.05
    ) < estimates.sample_size_for(rate=0.5, margin=0.05)


def test_estimate_says_when_the_sample_is_large_enough():
    small = estimates.estimate(2, 40, margin=0.05)
    assert not small["enough"]
    assert small["more_needed"] == small["sample_needed"] - 40 > 0
    large = estimates.estimate(20, 1000, margin=0.05)
    assert large["enough"] and large["more_needed"] == 0
    assert large["ci_low"] < 0.02 < large["ci_high"]


def test_a_margin_outside_zero_and_one_is_refused():
    with pytest.raises(ValueError, match="margin"):
        estimates.sample_size_for(rate=0.1, margin=0)
