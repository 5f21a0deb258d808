"""Calibration math: confusion counts, reliability buckets, threshold choice."""

from __future__ import annotations

import pytest

from review.quality import calibration


def test_confusion_precision_recall_and_kappa_by_hand():
    # 40 kept and accepted, 10 kept but rejected, 5 dropped but accepted,
    # 45 dropped and rejected. precision = 40/50 = 0.8; recall = 40/45;
    # agreement = 85/100; pe = (50*45 + 50*55)/100^2 = 0.5; kappa = 0.35/0.5 = 0.7
    c = calibration.Confusion(40, 10, 5, 45)
    assert c.precision == pytest.approx(0.8)
    assert c.recall == pytest.approx(40 / 45)
    assert c.agreement == pytest.approx(0.85)
    assert c.kappa == pytest.approx(0.7)


def test_empty_confusion_is_undefined_not_zero():
    c = calibration.Confusion()
    assert (c.precision, c.recall, c.agreement, c.kappa) == (None, None, None, None)


def test_fine_bucket_is_robust_to_binary_fractions():
    assert calibration.fine_bucket(0.29) == 29
    assert calibration.fine_bucket(1.0) == 99
    assert calibration.fine_bucket(0.0) == 0


def test_reliability_curve_merges_fine_buckets():
    histogram = {5: (4, 1), 9: (6, 3), 95: (10, 9), 99: (10, 10)}
    curve = calibration.reliability_curve(histogram)
    assert len(curve) == 10
    assert curve[0]["reviewed"] == 10 and curve[0]["accept_rate"] == pytest.approx(0.4)
    assert curve[5]["accept_rate"] is None
    assert curve[9]["reviewed"] == 20
    assert curve[9]["accept_rate"] == pytest.approx(0.95)


def test_recommended_threshold_is_the_lowest_reaching_the_target():
    # From the top: score 0.99 -> 20/20 accepted; 0.90 adds 20 with 18 accepted
    # (38/40 = 0.95); 0.50 adds 20 with 10 accepted (48/60 = 0.8).
    histogram = {99: (20, 20), 90: (20, 18), 50: (20, 10)}
    result = calibration.recommend_threshold(
        histogram, target_precision=0.95, min_support=30
    )
    assert result["threshold"] == pytest.approx(0.90)
    assert result["precision"] == pytest.approx(0.95)
    assert result["support"] == 40


def test_threshold_needs_minimum_support():
    histogram = {99: (20, 20), 50: (20, 10)}
    result = calibration.recommend_threshold(
        histogram, target_precision=0.95, min_support=30
    )
    assert result["threshold"] is None
    assert "No threshold reaches precision 95%" in result["reason"]


def test_failed_gates_reads_scores_and_normalises_dashes():
    criteria = [
        {"title": "Clinical Validity", "weight": 5, "score": 5},
        {"title": "Image-Text Consistency", "weight": 5, "score": 5},
        {"title": "Single Correct Option", "weight": 5, "score": 0},
        {"title": "Diagnosis Leak", "weight": "5", "score": "5"},
        {"title": "Stem Self-contained", "weight": 5, "score": 5},
        {"title": "Plausible Distractors", "weight": 4, "score": 0},
    ]
    assert calibration.failed_gates(criteria) == {
        "Single Correct Option",
        "Plausible Distractors",
    }


def test_a_missing_gate_counts_as_failed():
    assert calibration.failed_gates([]) == set(calibration.GATES)


def test_tally_gates_fills_the_four_cells():
    rows = [
        (set(), set()),
        ({"Diagnosis Leak"}, {"Diagnosis Leak"}),
        ({"Diagnosis Leak"}, set()),
        (set(), {"Diagnosis Leak", "Clinical Validity"}),
    ]
    table = {
        r["gate"]: r for r in calibration.gate_table(calibration.tally_gates(rows))
    }
    leak = table["Diagnosis Leak"]
    assert (leak["both_pass"], leak["both_fail"]) == (1, 1)
    assert (leak["verifier_only_fail"], leak["human_only_fail"]) == (1, 1)
    assert leak["agreement"] == pytest.approx(0.5)
    assert table["Clinical Validity"]["human_only_fail"] == 1
    assert table["Clinical Validity"]["agreement"] == pytest.approx(0.75)
