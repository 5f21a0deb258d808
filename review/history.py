"""Item content snapshots and line diffs between them (rendered escaped)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from synthesis.models import ANSWER_LETTERS, Item


def snapshot(item: Item) -> dict[str, Any]:
    """The editable content of an item, as stored in ItemRevision.before/after."""
    return {
        "question": item.question,
        "options": dict(item.options),
        "answer": item.answer,
    }


def _lines(content: dict[str, Any]) -> list[str]:
    options = content.get("options") or {}
    lines = [f"Question: {content.get('question', '')}"]
    lines += [f"{letter}: {options.get(letter, '')}" for letter in ANSWER_LETTERS]
    lines.append(f"Answer: {content.get('answer', '')}")
    return lines


@dataclass(frozen=True)
class DiffLine:
    op: str  # "+", "-" or " "
    text: str


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[DiffLine]:
    """A line diff of two snapshots: one line per stem, option and answer key."""
    result = []
    for line in difflib.ndiff(_lines(before), _lines(after)):
        op, text = line[:1], line[2:]
        if op in {"+", "-", " "}:
            result.append(DiffLine(op=op, text=text))
    return result
