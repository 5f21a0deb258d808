"""A seeded dataset whose calibration, quality and agreement figures are known.

Calibration batch (reviewed by erin, one reviewer per item):
  10 kept, score 1.00, CT:  9 accepted, 1 rejected (diagnosis_leaked)
  10 kept, score 0.97, MR, Plausible Distractors failed:
                            6 accepted, 4 rejected (weak_distractors)
   5 dropped, score 0.40, Diagnosis Leak failed:
                            1 accepted, 4 rejected (diagnosis_leaked)
   2 kept, not reviewed;    1 kept, flagged
Overlap batch (bob and dave, two required per item), CT, score 1.0:
   accept/accept, accept/accept, accept/reject (disputed)
   bob's seconds 10, 20, 60; dave's 30, 30, 30
"""

from __future__ import annotations

from review.models import Assignment
from tests.fixtures.builders import add_kept_items, add_review, make_batch, make_user


def seed_calibration_batch():
    erin = make_user("erin")
    batch = make_batch(name="Calibration")
    perfect = add_kept_items(batch, 10, modality="CT")
    for i, item in enumerate(perfect):
        if i == 0:
            add_review(item, erin, "reject", reason_code="diagnosis_leaked")
        else:
            add_review(item, erin, "accept")
    bonus_lost = add_kept_items(
        batch, 10, modality="MR", score=0.97, failed=("Plausible Distractors",)
    )
    for i, item in enumerate(bonus_lost):
        if i < 4:
            add_review(item, erin, "reject", reason_code="weak_distractors")
        else:
            add_review(item, erin, "accept")
    dropped = add_kept_items(
        batch, 5, modality="CT", score=0.4, kept=False, failed=("Diagnosis Leak",)
    )
    for i, item in enumerate(dropped):
        if i == 0:
            add_review(item, erin, "accept")
        else:
            add_review(item, erin, "reject", reason_code="diagnosis_leaked")
    add_kept_items(batch, 2, modality="CT")
    flagged = add_kept_items(batch, 1, modality="CT")[0]
    add_review(flagged, erin, "flag")
    return batch


def seed_overlap_batch(bob):
    dave = make_user("dave")
    batch = make_batch(name="Overlap")
    items = add_kept_items(batch, 3, modality="CT")
    plan = [("accept", "accept"), ("accept", "accept"), ("accept", "reject")]
    for item, (bob_says, dave_says), bob_s in zip(
        items, plan, (10, 20, 60), strict=True
    ):
        for user in (bob, dave):
            Assignment.objects.create(item=item, reviewer=user, planned=True)
        add_review(item, bob, bob_says, seconds=bob_s)
        reason = "factually_wrong" if dave_says == "reject" else ""
        add_review(item, dave, dave_says, reason_code=reason, seconds=30)
    return batch
