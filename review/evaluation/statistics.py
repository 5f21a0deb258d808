"""Accuracy with its uncertainty, and the paired test between two runs.

Pure functions: each returns a value, or None where it is undefined (no items).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from medsyn_app.proportions import Z_95, wilson_interval


@dataclass(frozen=True)
class Accuracy:
    correct: int
    total: int
    value: float
    low: float
    high: float

    @property
    def percent(self) -> float:
        return round(100 * self.value, 2)


def wilson(correct: int, total: int, z: float = Z_95) -> Accuracy | None:
    """Accuracy with its Wilson score interval (95% by default); None for no items.

    Wilson's interval stays inside [0, 1] and keeps its coverage near 0% and
    100%, where the normal approximation collapses to a point.
    """
    if total <= 0:
        return None
    low, high = wilson_interval(correct, total, z=z)
    return Accuracy(correct, total, correct / total, low, high)


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs.

    Under the null each discordant item is equally likely to favour either run,
    so the count favouring one run is Binomial(n, 1/2).
    """
    n = only_first + only_second
    if n == 0:
        return 1.0
    k = min(only_first, only_second)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def unweighted_mean(values: list[float]) -> float | None:
    """The paper's "Avg.": every benchmark counts once, whatever its size."""
    return sum(values) / len(values) if values else None
