"""Leak-free, deterministic, stable train/validation/test assignment.

Items are grouped into connected components: two items are linked when they
share a source Document, an identical image (sha256) or a near-identical one
(perceptual-hash Hamming distance ≤ threshold). A whole component goes to one
split, so no paper and no image straddles splits.

A component's split follows only from sha256(seed, canonical id), where the
canonical id is the smallest Document.source_id in it, compared against the
cumulative ratios (the id-hash split). Adding papers therefore never moves an
existing one, unless a new item links two old components. Stratification by
modality is honoured in expectation: the hash does not depend on modality, so
each modality stratum receives the ratios; the realised shares per modality are
reported (`stratum_counts`) rather than forced, because forcing them would
move old papers when data grows.

A frozen test split (document source ids from an earlier export) keeps exactly
those papers in test; papers whose hash falls in the test range are shared out
between train and validation in the train:validation proportion.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "validation", "test")
_SMALL_BLOCK = 16


@dataclass(frozen=True)
class SplitUnit:
    """What the splitter needs to know about one item (no images, no text)."""

    item_id: int
    source_ids: tuple[str, ...]
    sha256s: tuple[str, ...]
    phashes: tuple[str, ...]
    stratum: str


@dataclass(frozen=True)
class Group:
    canonical_id: str
    item_ids: tuple[int, ...]
    source_ids: tuple[str, ...]
    stratum: str
    split: str


@dataclass(frozen=True)
class SplitPlan:
    groups: tuple[Group, ...]
    split_of: dict[int, str]
    frozen_missing: tuple[str, ...]

    def item_ids(self, split: str) -> list[int]:
        return sorted(i for i, s in self.split_of.items() if s == split)

    def stratum_counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter] = defaultdict(Counter)
        for group in self.groups:
            counts[group.stratum][group.split] += len(group.item_ids)
        return {
            stratum: {split: counts[stratum].get(split, 0) for split in SPLITS}
            for stratum in sorted(counts)
        }

    def source_ids(self, split: str) -> list[str]:
        return sorted(
            {sid for g in self.groups if g.split == split for sid in g.source_ids}
        )


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _chunk_bounds(bits: int, parts: int) -> list[tuple[int, int]]:
    base, extra = divmod(bits, parts)
    bounds, lo = [], 0
    for i in range(parts):
        hi = lo + base + (1 if i < extra else 0)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def near_pairs(hashes: Sequence[int], threshold: int) -> Iterable[tuple[int, int]]:
    """Index pairs of distinct 64-bit hashes within `threshold` bits.

    Pigeonhole blocking: if two hashes differ in at most t bits, at least one of
    t+1 disjoint bit ranges is identical, so only hashes that share a range are
    compared. Scales to far more hashes than all-pairs comparison.
    """
    if threshold <= 0 or len(hashes) < 2:
        return
    values = np.array(hashes, dtype=np.uint64)
    seen: set[tuple[int, int]] = set()
    for lo, hi in _chunk_bounds(64, threshold + 1):
        mask = np.uint64((1 << (hi - lo)) - 1)
        keys = (values >> np.uint64(lo)) & mask
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(order)]
        shared = (ends - starts) >= 2
        bounds = zip(starts[shared].tolist(), ends[shared].tolist(), strict=True)
        for start, end in bounds:
            members = order[start:end]
            for pair in _close_pairs(hashes, members, values, threshold):
                if pair not in seen:
                    seen.add(pair)
                    yield pair


def _close_pairs(
    hashes: Sequence[int], members: np.ndarray, values: np.ndarray, threshold: int
) -> Iterator[tuple[int, int]]:
    """Pairs (row-major, i < j) of one block within `threshold` bits.

    Most blocks hold two or three hashes, where plain integers beat the fixed
    cost of numpy calls; large blocks are compared as a matrix.
    """
    if len(members) <= _SMALL_BLOCK:
        ids = members.tolist()
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if (hashes[a] ^ hashes[b]).bit_count() <= threshold:
                    yield a, b
        return
    block = values[members]
    close = np.bitwise_count(block[:, None] ^ block[None, :]) <= threshold
    for i, j in zip(*np.nonzero(np.triu(close, k=1)), strict=True):
        yield int(members[i]), int(members[j])


def _components(units: Sequence[SplitUnit], phash_threshold: int) -> list[list[int]]:
    uf = _UnionFind(len(units))
    owner: dict[str, int] = {}
    for index, unit in enumerate(units):
        keys = [f"doc:{s}" for s in unit.source_ids]
        keys += [f"sha:{s}" for s in unit.sha256s]
        keys += [f"ph:{p.lower()}" for p in unit.phashes if p]
        for key in keys:
            if key in owner:
                uf.union(owner[key], index)
            else:
                owner[key] = index
    distinct = sorted(key[3:] for key in owner if key.startswith("ph:"))
    for i, j in near_pairs([int(h, 16) for h in distinct], phash_threshold):
        uf.union(owner[f"ph:{distinct[i]}"], owner[f"ph:{distinct[j]}"])
    members: dict[int, list[int]] = defaultdict(list)
    for index in range(len(units)):
        members[uf.find(index)].append(index)
    return list(members.values())


def unit_interval(seed: int, canonical_id: str) -> float:
    digest = hashlib.sha256(f"{seed}\x00{canonical_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _split_for(u: float, ratios: Sequence[float], frozen: bool) -> str:
    train, validation, _ = ratios
    if u < train:
        return "train"
    if u < train + validation:
        return "validation"
    if not frozen:
        return "test"
    # Test is closed: a paper that would have gone there is shared out between
    # train and validation, re-using the rest of its hash, so papers already in
    # train or validation stay where an unfrozen export would put them.
    rest = (u - train - validation) / max(1 - train - validation, 1e-12)
    return "train" if rest < train / (train + validation) else "validation"


def assign_splits(
    units: Sequence[SplitUnit],
    *,
    ratios: Sequence[float],
    seed: int,
    phash_threshold: int = 4,
    frozen_test_source_ids: Iterable[str] = (),
) -> SplitPlan:
    """Assign every unit to a split; see the module docstring for the rules."""
    frozen = set(frozen_test_source_ids)
    groups: list[Group] = []
    split_of: dict[int, str] = {}
    present: set[str] = set()
    for component in _components(units, phash_threshold):
        members = [units[i] for i in component]
        source_ids = sorted({s for u in members for s in u.source_ids})
        present.update(source_ids)
        item_ids = tuple(sorted(u.item_id for u in members))
        canonical = source_ids[0] if source_ids else f"item:{item_ids[0]}"
        if len(members) == 1:  # most papers: skip the Counter
            stratum = members[0].stratum
        else:
            strata = Counter(u.stratum for u in members)
            stratum = min(strata, key=lambda s: (-strata[s], s))
        if frozen and frozen.intersection(source_ids):
            split = "test"
        else:
            split = _split_for(unit_interval(seed, canonical), ratios, bool(frozen))
        groups.append(Group(canonical, item_ids, tuple(source_ids), stratum, split))
        split_of.update(dict.fromkeys(item_ids, split))
    groups.sort(key=lambda g: g.canonical_id)
    return SplitPlan(
        groups=tuple(groups),
        split_of=split_of,
        frozen_missing=tuple(sorted(frozen - present)),
    )
