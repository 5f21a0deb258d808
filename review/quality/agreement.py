"""Inter-rater agreement statistics, pure functions over category labels.

Each statistic returns an `Agreement`: a value, or `None` with the reason it is
undefined, so a dashboard can say *why* a number is missing instead of showing
0 or NaN. The degenerate case that matters for MedSyn: when nearly every item
is accepted, chance agreement approaches 1 and the kappas collapse toward 0 (or
become undefined) even though raters agree; Gwet's AC1 stays meaningful there.

Ratings for the multi-rater statistics are given per item as the list of labels
the item received (one per rater); items may have different numbers of raters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NOT_ENOUGH_OVERLAP = "no item was rated by two or more reviewers"
ONE_CATEGORY = (
    "every rating falls in one category, so chance agreement is 1 and kappa "
    "is undefined"
)
TOO_FEW_CATEGORIES = "AC1 needs at least two possible categories"


@dataclass(frozen=True)
class Agreement:
    value: float | None
    items: int
    reason: str = ""

    def as_dict(self) -> dict[str, float | int | str | None]:
        return {"value": self.value, "items": self.items, "reason": self.reason}


def _rated_items(ratings: Iterable[Sequence[str]]) -> list[Counter[str]]:
    """Items with at least two ratings, as label counts; others carry no overlap."""
    return [Counter(labels) for labels in ratings if len(labels) >= 2]


def _observed_agreement(items: list[Counter[str]]) -> float:
    # Share of agreeing rater pairs within an item, averaged over items (Fleiss).
    total = 0.0
    for counts in items:
        n = sum(counts.values())
        total += sum(c * (c - 1) for c in counts.values()) / (n * (n - 1))
    return total / len(items)


def percent_agreement(ratings: Iterable[Sequence[str]]) -> Agreement:
    """Share of agreeing rater pairs per item, averaged over overlapping items.

    For two raters this is the plain share of items on which they agree.
    """
    items = _rated_items(ratings)
    if not items:
        return Agreement(None, 0, NOT_ENOUGH_OVERLAP)
    return Agreement(_observed_agreement(items), len(items))


def cohens_kappa(pairs: Iterable[tuple[str, str]]) -> Agreement:
    """Cohen's kappa for two fixed raters; each pair is (rater 1, rater 2)."""
    pairs = list(pairs)
    if not pairs:
        return Agreement(None, 0, NOT_ENOUGH_OVERLAP)
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    chance = sum(first[k] * second[k] for k in first) / (n * n)
    if chance >= 1.0:
        return Agreement(None, n, ONE_CATEGORY)
    return Agreement((observed - chance) / (1 - chance), n)


def fleiss_kappa(ratings: Iterable[Sequence[str]]) -> Agreement:
    """Fleiss' kappa, extended to a varying number of raters per item.

    Observed agreement is the mean per-item pair agreement; category shares are
    pooled over all ratings, so an item with more raters weighs more in the
    chance term. With a constant number of raters this is Fleiss (1971) exactly.
    """
    items = _rated_items(ratings)
    if not items:
        return Agreement(None, 0, NOT_ENOUGH_OVERLAP)
    pooled: Counter[str] = Counter()
    for counts in items:
        pooled.update(counts)
    total = sum(pooled.values())
    chance = sum((c / total) ** 2 for c in pooled.values())
    if chance >= 1.0:
        return Agreement(None, len(items), ONE_CATEGORY)
    observed = _observed_agreement(items)
    return Agreement((observed - chance) / (1 - chance), len(items))


def gwet_ac1(
    ratings: Iterable[Sequence[str]], *, categories: Sequence[str] | None = None
) -> Agreement:
    """Gwet's AC1 for any number of raters (Gwet 2008; 2014 handbook, ch. 4).

    `categories` is the set of labels a rater could choose; its size Q enters
    chance agreement, pe = 1/(Q-1) * sum pi_k (1 - pi_k), where pi_k is the mean
    over items of the share of the item's ratings in category k. Pass it
    explicitly: when everything is accepted, the observed labels are one
    category but the raters still had two or more to choose from.
    """
    items = _rated_items(ratings)
    if not items:
        return Agreement(None, 0, NOT_ENOUGH_OVERLAP)
    labels = set(categories or ())
    for counts in items:
        labels.update(counts)
    if len(labels) < 2:
        return Agreement(None, len(items), TOO_FEW_CATEGORIES)
    shares = dict.fromkeys(labels, 0.0)
    for counts in items:
        n = sum(counts.values())
        for label, count in counts.items():
            shares[label] += count / n
    pi = [share / len(items) for share in shares.values()]
    chance = sum(p * (1 - p) for p in pi) / (len(labels) - 1)
    observed = _observed_agreement(items)
    return Agreement((observed - chance) / (1 - chance), len(items))
