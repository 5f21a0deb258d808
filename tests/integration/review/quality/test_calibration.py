"""Calibration and quality estimate on a seeded batch with known answers."""

from __future__ import annotations

import pytest

from review.quality import calibration, estimates
from tests.fixtures.builders import add_kept_items, make_batch
from tests.integration.review.quality.seeded_quality import (
    seed_calibration_batch,
    seed_overlap_batch,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(db):
    return seed_calibration_batch()


def test_verifier_keeps_against_human_accepts(batch):
    figures = calibration.calibration_figures(batch=batch)
    overall = figures["overall"]
    # kept: 9 + 6 accepted, 1 + 4 rejected; dropped: 1 accepted, 4 rejected.
    assert (overall["kept_accepted"], overall["kept_rejected"]) == (15, 5)
    assert (overall["dropped_accepted"], overall["dropped_rejected"]) == (1, 4)
    assert overall["precision"] == pytest.approx(15 / 20)
    assert overall["recall"] == pytest.approx(15 / 16)
    assert overall["agreement"] == pytest.approx(19 / 25)


def test_reliability_curve_by_score_bucket(batch):
    curve = calibration.calibration_figures(batch=batch)["reliability"]
    assert (curve[9]["reviewed"], curve[9]["accepted"]) == (20, 15)
    assert (curve[4]["reviewed"], curve[4]["accepted"]) == (5, 1)
    assert sum(b["reviewed"] for b in curve) == 25


def test_recommended_threshold_for_a_target_precision(batch):
    # From the top: 0.99 -> 9/10 = 0.90; 0.97 -> 15/20; 0.40 -> 16/25.
    figures = calibration.calibration_figures(
        batch=batch, target_precision=0.9, min_support=5
    )
    recommended = figures["recommended_threshold"]
    assert recommended["threshold"] == pytest.approx(0.99)
    assert recommended["precision"] == pytest.approx(0.9)
    assert recommended["support"] == 10
    stricter = calibration.calibration_figures(batch=batch, target_precision=0.95)
    assert stricter["recommended_threshold"]["threshold"] is None


def test_gate_by_gate_agreement(batch):
    gates = {
        g["gate"]: g for g in calibration.calibration_figures(batch=batch)["gates"]
    }
    leak = gates["Diagnosis Leak"]
    # 19 both pass, 4 both fail, 1 only the verifier fails, 1 only the human.
    assert [leak[k] for k in ("both_pass", "both_fail")] == [19, 4]
    assert [leak[k] for k in ("verifier_only_fail", "human_only_fail")] == [1, 1]
    assert leak["agreement"] == pytest.approx(23 / 25)
    distractors = gates["Plausible Distractors"]
    assert [distractors[k] for k in ("both_pass", "both_fail")] == [15, 4]
    assert distractors["verifier_only_fail"] == 6
    assert distractors["human_only_fail"] == 0
    assert gates["Clinical Validity"]["agreement"] == pytest.approx(1.0)


def test_quality_estimate_per_batch_and_modality(batch, reviewer_user):
    other = seed_overlap_batch(reviewer_user)
    scoped = estimates.quality_estimates(batch=batch, margin=0.05)
    overall = scoped["overall"]
    # Audited kept items: 20, of which 5 rejected; dropped and flagged are out.
    assert (overall["reviewed"], overall["rejected"]) == (20, 5)
    assert overall["reject_rate"] == pytest.approx(0.25)
    assert (overall["ci_low"], overall["ci_high"]) == pytest.approx(
        estimates.wilson_interval(5, 20)
    )
    assert not overall["enough"] and overall["more_needed"] > 0
    by_modality = {m["modality"]: m for m in scoped["by_modality"]}
    assert (by_modality["CT"]["reviewed"], by_modality["CT"]["rejected"]) == (10, 1)
    assert (by_modality["MR"]["reviewed"], by_modality["MR"]["rejected"]) == (10, 4)

    everything = estimates.quality_estimates(margin=0.05)
    by_batch = {b["name"]: b for b in everything["by_batch"]}
    assert by_batch["Calibration"]["reviewed"] == 20
    # Overlap batch: two accepted, one disputed (not settled, so not counted).
    assert (by_batch["Overlap"]["reviewed"], by_batch["Overlap"]["rejected"]) == (2, 0)
    assert other.pk == by_batch["Overlap"]["batch"]


def test_a_re_verified_item_counts_by_its_newest_verdict(reviewer_user):
    from tests.fixtures.builders import add_review, add_verification

    batch = make_batch(name="Re-verified")
    item = add_kept_items(batch, 1)[0]
    add_verification(
        item, kept=False, score=0.5, failed=("Clinical Validity",), verifier_model="v2"
    )
    add_review(item, reviewer_user, "accept")
    estimate = estimates.quality_estimates(batch=batch)["overall"]
    assert estimate["reviewed"] == 0
    overall = calibration.calibration_figures(batch=batch)["overall"]
    assert (overall["dropped_accepted"], overall["total"]) == (1, 1)
