"""Pairs of texts that mean the same: cosine of sentence embeddings, in blocks.

Both sides are L2-normalised, so a dot product is the cosine. The exported
items are compared a block at a time against every reference vector, so
memory holds one block × references matrix (256 × 20,000 floats: 20 MB)
whatever the size of the export.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

BLOCK = 256


def similar_pairs(
    queries: np.ndarray, references: np.ndarray, *, threshold: float, block: int = BLOCK
) -> Iterator[tuple[int, int, float]]:
    """(query row, reference row, cosine) for every pair at or above threshold."""
    if not len(queries) or not len(references):
        return
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ references.T
        rows, cols = np.nonzero(scores >= threshold)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            yield start + row, col, float(scores[row, col])
