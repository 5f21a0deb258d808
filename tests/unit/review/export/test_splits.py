"""Split assignment: determinism, leak-freedom, stability, freezing, strata."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from review.export.splits import SplitUnit, assign_splits, hamming, near_pairs

RATIOS = (0.8, 0.1, 0.1)


def _unit(item_id, doc, *, sha=None, phash=None, stratum="CT"):
    return SplitUnit(
        item_id=item_id,
        source_ids=(doc,),
        sha256s=(sha or f"{item_id:064x}",),
        phashes=(phash or f"{(item_id * 0x9E3779B97F4A7C15) % 2**64:016x}",),
        stratum=stratum,
    )


units_strategy = st.lists(
    st.tuples(
        st.integers(0, 30),  # document
        st.integers(0, 40),  # image (shared ids = identical image)
        st.integers(0, 2**64 - 1),  # phash
        st.sampled_from(["CT", "MR", "X-Ray"]),
    ),
    min_size=1,
    max_size=60,
)


def _build(raw):
    return [
        SplitUnit(
            item_id=i,
            source_ids=(f"PMC{doc:04d}",),
            sha256s=(f"{image:064x}",),
            phashes=(f"{ph:016x}",),
            stratum=stratum,
        )
        for i, (doc, image, ph, stratum) in enumerate(raw)
    ]


@settings(max_examples=60, deadline=None)
@given(units_strategy, st.integers(0, 10_000))
def test_assignment_is_deterministic_and_order_independent(raw, seed):
    units = _build(raw)
    first = assign_splits(units, ratios=RATIOS, seed=seed)
    shuffled = list(units)
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - test order only
    second = assign_splits(shuffled, ratios=RATIOS, seed=seed)
    assert first.split_of == second.split_of
    assert first.groups == second.groups


@settings(max_examples=60, deadline=None)
@given(units_strategy, st.integers(0, 10_000), st.integers(0, 8))
def test_no_document_or_similar_image_straddles_splits(raw, seed, threshold):
    units = _build(raw)
    plan = assign_splits(
        units, ratios=(0.4, 0.3, 0.3), seed=seed, phash_threshold=threshold
    )
    splits_of = defaultdict(set)
    for unit in units:
        split = plan.split_of[unit.item_id]
        for key in unit.source_ids + unit.sha256s:
            splits_of[key].add(split)
    assert all(len(s) == 1 for s in splits_of.values())
    for a, b in combinations(units, 2):
        if hamming(a.phashes[0], b.phashes[0]) <= threshold:
            assert plan.split_of[a.item_id] == plan.split_of[b.item_id]


@settings(max_examples=40, deadline=None)
@given(units_strategy, units_strategy, st.integers(0, 10_000))
def test_adding_unrelated_papers_never_moves_existing_items(old_raw, new_raw, seed):
    old = _build(old_raw)
    # New papers with their own documents and images (no links to the old ones).
    new = [
        SplitUnit(
            item_id=10_000 + i,
            source_ids=(f"NEW{u.source_ids[0]}",),
            sha256s=(f"{10_000 + i:064x}",),
            phashes=("",),
            stratum=u.stratum,
        )
        for i, u in enumerate(_build(new_raw))
    ]
    before = assign_splits(old, ratios=RATIOS, seed=seed, phash_threshold=0)
    after = assign_splits(old + new, ratios=RATIOS, seed=seed, phash_threshold=0)
    assert all(after.split_of[i] == s for i, s in before.split_of.items())


def test_seed_changes_the_assignment():
    units = [_unit(i, f"PMC{i:04d}") for i in range(200)]
    a = assign_splits(units, ratios=RATIOS, seed=1).split_of
    b = assign_splits(units, ratios=RATIOS, seed=2).split_of
    assert a != b


def test_frozen_test_split_keeps_exactly_those_papers():
    units = [_unit(i, f"PMC{i:04d}") for i in range(300)]
    first = assign_splits(units, ratios=RATIOS, seed=7)
    frozen = first.source_ids("test")
    assert frozen
    grown = units + [_unit(1000 + i, f"NEW{i:04d}") for i in range(300)]
    later = assign_splits(
        grown, ratios=RATIOS, seed=7, frozen_test_source_ids=frozen + ["GONE"]
    )
    assert later.source_ids("test") == frozen
    for split in ("train", "validation"):
        assert set(first.source_ids(split)) <= set(later.source_ids(split))
    assert later.frozen_missing == ("GONE",)
    shares = Counter(later.split_of.values())
    assert shares["validation"] > 0 and shares["train"] > shares["validation"]


def test_stratification_is_roughly_honoured():
    units = [
        _unit(i, f"PMC{i:05d}", stratum=("CT", "MR", "X-Ray")[i % 3])
        for i in range(3000)
    ]
    plan = assign_splits(units, ratios=RATIOS, seed=42)
    for stratum, counts in plan.stratum_counts().items():
        total = sum(counts.values())
        for split, ratio in zip(("train", "validation", "test"), RATIOS, strict=True):
            assert abs(counts[split] / total - ratio) < 0.04, (stratum, counts)


def test_shared_image_across_papers_pulls_them_into_one_group():
    units = [
        _unit(1, "PMC1", sha="a" * 64),
        _unit(2, "PMC2", sha="a" * 64),
        _unit(3, "PMC3", phash="ffff0000ffff0000"),
        _unit(4, "PMC4", phash="ffff0000ffff0001"),
    ]
    plan = assign_splits(units, ratios=RATIOS, seed=0, phash_threshold=4)
    canonical = {g.canonical_id: g.item_ids for g in plan.groups}
    assert canonical["PMC1"] == (1, 2)
    assert canonical["PMC3"] == (3, 4)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=40), st.integers(0, 10))
def test_near_pairs_matches_brute_force(values, threshold):
    values = sorted(set(values))
    found = {tuple(sorted(p)) for p in near_pairs(values, threshold)}
    expected = {
        (i, j)
        for i, j in combinations(range(len(values)), 2)
        if threshold > 0 and (values[i] ^ values[j]).bit_count() <= threshold
    }
    assert found == expected


@pytest.mark.parametrize("threshold", [1, 2, 4])
def test_near_pairs_in_large_blocks_matches_brute_force(threshold):
    # Single bits and pairs of bits share most bit ranges, so blocks hold far
    # more hashes than the small-block path handles.
    values = sorted({0} | {1 << k for k in range(64)} | {3 << k for k in range(63)})
    found = {tuple(sorted(p)) for p in near_pairs(values, threshold)}
    expected = {
        (i, j)
        for i, j in combinations(range(len(values)), 2)
        if (values[i] ^ values[j]).bit_count() <= threshold
    }
    assert found == expected
    assert len(found) > 100
