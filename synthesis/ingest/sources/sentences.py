"""Sentence splitting for scientific prose, with character offsets.

A period ends a sentence unless it belongs to an abbreviation that papers
use all the time before a figure reference ("Fig.", "Figs.", "et al.",
"i.e.", "e.g.", "vs.", "approx."), an initial ("J. Smith") or a number
("2.5 mm"). Offsets let the JATS reader tell which sentence holds which
cross-reference.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    {
        "fig", "figs", "al", "i.e", "e.g", "etc", "vs", "cf", "approx", "ca",
        "resp", "ref", "refs", "eq", "eqs", "tab", "no", "nos", "dr", "mr", "mrs",
        "ms", "prof", "st", "vol", "pp", "p", "min", "max", "sec", "suppl",
        "mo", "yr", "yrs", "wk", "wks", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "inc", "ltd", "co", "corp",
        "spp", "sp", "var", "ext", "viz", "incl", "e.m", "s.d", "s.e.m",
    }
)  # fmt: skip

# A candidate end: ., ! or ? (optionally closed by a quote or bracket), then
# space, then something that can start a sentence.
_BOUNDARY = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return (start, end) offsets of each sentence of `text`."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.start() + 1
        if _is_abbreviation(text[start:end]):
            continue
        spans.append(_trim(text, start, match.end()))
        start = match.end()
    if text[start:].strip():
        spans.append(_trim(text, start, len(text)))
    return [span for span in spans if span[1] > span[0]]


def _is_abbreviation(sentence: str) -> bool:
    if not sentence.endswith("."):
        return False
    match = _WORD_BEFORE.search(sentence)
    if not match:
        return False
    word = match.group(1).lower()
    # A single letter is an initial ("J. Smith") or a panel ("Fig. 2 A.") label.
    return word in ABBREVIATIONS or len(word) == 1


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
