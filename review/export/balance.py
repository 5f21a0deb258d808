"""Answer-letter balance: report it, and reletter items to even it out.

Rebalancing follows MedVLSynther (§2.H): target floor(n/5) per letter with the
remainder to A, B, … in turn; in item order, the key moves to the letter with
the largest deficit (ties to the earliest) and the other options keep their
alphabetical order in the remaining letters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from synthesis.models import ANSWER_LETTERS


def letter_counts(answers: Iterable[str]) -> dict[str, int]:
    counts = Counter(answers)
    return {letter: counts.get(letter, 0) for letter in ANSWER_LETTERS}


def balance_report(answers: Sequence[str]) -> dict[str, object]:
    counts = letter_counts(answers)
    n = len(answers)
    expected = n / len(ANSWER_LETTERS) if n else 0
    worst = max((abs(c - expected) for c in counts.values()), default=0)
    return {
        "counts": counts,
        "max_deviation_from_uniform": round(worst / expected, 4) if expected else 0,
    }


def _targets(n: int) -> dict[str, int]:
    base, extra = divmod(n, len(ANSWER_LETTERS))
    return {
        letter: base + (1 if i < extra else 0)
        for i, letter in enumerate(ANSWER_LETTERS)
    }


def rebalance(
    items: Sequence[tuple[dict[str, str], str]],
) -> list[tuple[dict[str, str], str]]:
    """Return (options, answer) for each item, relettered toward uniform letters.

    Items without exactly the five string options A–E are passed through, as in
    the method; they still count toward the letter they already have.
    """
    eligible = [
        set(options) == set(ANSWER_LETTERS)
        and all(isinstance(v, str) for v in options.values())
        and answer in ANSWER_LETTERS
        for options, answer in items
    ]
    targets = _targets(sum(eligible))
    placed = dict.fromkeys(ANSWER_LETTERS, 0)
    result: list[tuple[dict[str, str], str]] = []
    for (options, answer), ok in zip(items, eligible, strict=True):
        if not ok:
            result.append((options, answer))
            continue
        deficits = {letter: targets[letter] - placed[letter] for letter in targets}
        new_letter = max(ANSWER_LETTERS, key=lambda letter: deficits[letter])
        others = [options[letter] for letter in ANSWER_LETTERS if letter != answer]
        free = [letter for letter in ANSWER_LETTERS if letter != new_letter]
        relettered = dict(zip(free, others, strict=True))
        relettered[new_letter] = options[answer]
        placed[new_letter] += 1
        result.append(
            ({letter: relettered[letter] for letter in ANSWER_LETTERS}, new_letter)
        )
    return result
