"""Answer-letter rebalancing across a batch (MedVLSynther §2.H).

A generator favours some letters; a trained model then learns the bias. The
key of each item moves to the letter furthest below its target count, while
the option texts and the order of the distractors stay as they were. Items
whose options point at other options by letter ("both A and C") would change
meaning, so they are left alone and only counted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LETTERS = ("A", "B", "C", "D", "E")

_LETTER_REFERENCE = re.compile(
    r"\b(?:options?|answers?|choices?)\s+\(?[A-E]\)?(?![\w-])"
    r"|\b[A-E]\s*(?:,|and|or|&|\+)\s*[A-E]\b"
    r"|\((?:[A-E])\)",
)


@dataclass(frozen=True)
class Relettered:
    options: dict[str, str]
    answer: str


def refers_to_letters(options: Mapping[str, str]) -> bool:
    """True when an option names another option by its letter."""
    return any(_LETTER_REFERENCE.search(text) for text in options.values())


def _targets(n: int) -> dict[str, int]:
    base, extra = divmod(n, len(LETTERS))
    return {letter: base + (i < extra) for i, letter in enumerate(LETTERS)}


def reletter(options: Mapping[str, str], answer: str, to: str) -> Relettered:
    """Move the key to `to`; distractors fill the other letters in their order."""
    distractors = [options[letter] for letter in LETTERS if letter != answer]
    out: dict[str, str] = {}
    for letter in LETTERS:
        out[letter] = options[answer] if letter == to else distractors.pop(0)
    return Relettered(out, to)


def rebalance(
    items: Sequence[tuple[int, Mapping[str, str], str]],
) -> dict[int, Relettered]:
    """Relettering for (id, options, answer) rows, in the order given.

    Returns only the rows that change. Rows that refer to letters keep theirs
    and count towards that letter, so the final spread stays as even as it can.
    """
    fixed = [row for row in items if refers_to_letters(row[1])]
    movable = [row for row in items if not refers_to_letters(row[1])]
    counts = dict.fromkeys(LETTERS, 0)
    for _, _, answer in fixed:
        counts[answer] += 1
    targets = _targets(len(items))
    changes: dict[int, Relettered] = {}
    for item_id, options, answer in movable:
        # Largest deficit first; ties go to the earliest letter.
        to = max(LETTERS, key=lambda x: (targets[x] - counts[x], -LETTERS.index(x)))
        counts[to] += 1
        if to != answer:
            changes[item_id] = reletter(options, answer, to)
    return changes
