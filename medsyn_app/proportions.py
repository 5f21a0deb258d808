"""The Wilson score interval, shared by every page that reports a rate.

Wilson's interval stays inside [0, 1] and keeps its coverage near 0% and 100%,
where the normal approximation collapses to a point; the bounds are exact at
the ends (0 successes gives a lower bound of exactly 0).
"""

from __future__ import annotations

import math

Z_95 = 1.959963984540054


def wilson_interval(successes: int, n: int, *, z: float = Z_95) -> tuple[float, float]:
    """The interval for `successes` out of `n`; (0, 1) when nothing was counted."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)
