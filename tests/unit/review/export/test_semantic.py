from __future__ import annotations

import numpy as np

from review.export.semantic import similar_pairs


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_block_comparison_finds_the_same_pairs_as_one_big_product():
    rng = np.random.default_rng(0)
    references = _unit(rng.standard_normal((300, 16)))
    queries = _unit(
        np.vstack([references[[3, 77, 250]] + 0.05, rng.standard_normal((40, 16))])
    )
    full = queries @ references.T
    expected = {(int(r), int(c)) for r, c in zip(*np.nonzero(full >= 0.9), strict=True)}
    for block in (1, 7, 256):
        found = {
            (r, c)
            for r, c, _ in similar_pairs(
                queries, references, threshold=0.9, block=block
            )
        }
        assert found == expected
    assert {(0, 3), (1, 77), (2, 250)} <= expected


def test_nothing_to_compare_yields_nothing():
    empty = np.zeros((0, 4), dtype=np.float32)
    assert list(similar_pairs(empty, _unit(np.ones((2, 4))), threshold=0.5)) == []
