"""Accuracy with its uncertainty, and the paired test between two runs.

Pure functions: each returns a value, or None where it is undefined (no items).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054


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
    p = correct / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    half /= denominator
    low = 0.0 if correct == 0 else max(0.0, centre - half)
    high = 1.0 if correct == total else min(1.0, centre + half)
    return Accuracy(correct, total, p, low, high)


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
