"""Overlap planning: counts, a reproducible seeded sample, specialties, idempotence."""

from __future__ import annotations

from collections import Counter

import pytest

from review import overlap
from review.models import Assignment
from tests.fixtures.builders import (
    add_kept_items,
    add_reviewer_profile,
    add_verification,
    make_batch,
    make_figure,
    make_item,
    make_user,
)

pytestmark = pytest.mark.django_db


def _kept_items(batch, n, modality="CT"):
    return add_kept_items(batch, n, modality=modality)


@pytest.fixture
def reviewers(db):
    return [make_user(name) for name in ("r1", "r2", "r3")]


def test_default_plan_gives_each_kept_item_one_reviewer_evenly(reviewers):
    batch = make_batch()
    items = _kept_items(batch, 6)
    dropped = make_item(batch, [make_figure(color=(1, 2, 3))], group_key="d")
    add_verification(dropped, kept=False, score=0.2, failed=("Diagnosis Leak",))

    plan = overlap.plan_assignments(batch=batch, settings=overlap.OverlapSettings())

    assert (plan.items_planned, plan.assignments_created) == (6, 6)
    per_item = Counter(Assignment.objects.values_list("item_id", flat=True))
    assert set(per_item) == {i.pk for i in items}
    assert set(per_item.values()) == {1}
    per_reviewer = Counter(Assignment.objects.values_list("reviewer_id", flat=True))
    assert sorted(per_reviewer.values()) == [2, 2, 2]


def test_a_seeded_sample_gets_two_distinct_reviewers(reviewers):
    batch = make_batch()
    _kept_items(batch, 10)
    settings = overlap.OverlapSettings(overlap_fraction=0.2, seed=7)

    plan = overlap.plan_assignments(batch=batch, settings=settings)

    per_item = Counter(Assignment.objects.values_list("item_id", flat=True))
    assert plan.overlap_items == 2
    assert sorted(per_item.values()) == [1] * 8 + [2] * 2
    assert plan.assignments_created == 12 == Assignment.objects.count()


def test_the_same_seed_draws_the_same_samples(reviewers):
    batch = make_batch()
    _kept_items(batch, 20)
    settings = overlap.OverlapSettings(
        overlap_fraction=0.2, review_fraction=0.5, seed=11
    )

    def doubled():
        overlap.plan_assignments(batch=batch, settings=settings)
        counts = Counter(Assignment.objects.values_list("item_id", flat=True))
        Assignment.objects.all().delete()
        return {pk for pk, n in counts.items() if n == 2}, set(counts)

    first, second = doubled(), doubled()
    assert first == second
    assert len(first[1]) == 10 and len(first[0]) == 2
    other = overlap.OverlapSettings(overlap_fraction=0.2, review_fraction=0.5, seed=12)
    overlap.plan_assignments(batch=batch, settings=other)
    assert set(Assignment.objects.values_list("item_id", flat=True)) != first[1]


def test_planning_twice_adds_nothing(reviewers):
    batch = make_batch()
    _kept_items(batch, 5)
    settings = overlap.OverlapSettings(reviewers_per_item=2)
    overlap.plan_assignments(batch=batch, settings=settings)
    before = set(Assignment.objects.values_list("item_id", "reviewer_id"))

    again = overlap.plan_assignments(batch=batch, settings=settings)

    assert again.assignments_created == 0
    assert set(Assignment.objects.values_list("item_id", "reviewer_id")) == before


def test_raising_the_overlap_only_adds_the_shortfall(reviewers):
    batch = make_batch()
    _kept_items(batch, 4)
    overlap.plan_assignments(batch=batch, settings=overlap.OverlapSettings())
    more = overlap.plan_assignments(
        batch=batch, settings=overlap.OverlapSettings(reviewers_per_item=3)
    )
    assert more.assignments_created == 8
    per_item = Counter(Assignment.objects.values_list("item_id", flat=True))
    assert set(per_item.values()) == {3}


def test_specialists_get_their_modality_and_others_fall_back(reviewers):
    radiologist, pathologist, generalist = reviewers
    add_reviewer_profile(radiologist, "radiology")
    add_reviewer_profile(pathologist, "pathology")
    batch = make_batch()
    ct = _kept_items(batch, 3, modality="CT")
    micro = _kept_items(batch, 3, modality="Microscopy")
    settings = overlap.OverlapSettings(match_specialty=True)

    overlap.plan_assignments(batch=batch, settings=settings)

    owner = dict(Assignment.objects.values_list("item_id", "reviewer_id"))
    assert {owner[i.pk] for i in ct} == {radiologist.pk}
    assert {owner[i.pk] for i in micro} == {pathologist.pk}

    double = overlap.OverlapSettings(match_specialty=True, reviewers_per_item=2)
    plan = overlap.plan_assignments(batch=batch, settings=double)
    assert plan.specialty_fallbacks == 6  # one specialist each, two needed


def test_an_explicit_pool_limits_the_reviewers(reviewers):
    batch = make_batch()
    _kept_items(batch, 4)
    settings = overlap.OverlapSettings(reviewer_ids=[reviewers[0].pk])
    overlap.plan_assignments(batch=batch, settings=settings)
    assert set(Assignment.objects.values_list("reviewer_id", flat=True)) == {
        reviewers[0].pk
    }


def test_settings_are_stored_in_the_batch_config():
    batch = make_batch(config={"seed": 3})
    settings = overlap.OverlapSettings(overlap_fraction=0.2, seed=5)
    overlap.save_settings(batch=batch, settings=settings)
    batch.refresh_from_db()
    assert batch.config["seed"] == 3
    assert overlap.OverlapSettings.of_batch(batch) == settings


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("reviewers_per_item", 0, "reviewers per item"),
        ("overlap_fraction", 1.5, "overlap fraction"),
        ("review_fraction", -0.1, "review fraction"),
    ],
)
def test_impossible_settings_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        overlap.OverlapSettings(**{field: value})


def test_planning_without_reviewers_says_so_and_writes_nothing():
    batch = make_batch()
    _kept_items(batch, 2)
    with pytest.raises(ValueError, match="no active reviewers"):
        overlap.plan_assignments(batch=batch, settings=overlap.OverlapSettings())
    assert not Assignment.objects.exists()
