"""What the reviewer sees as evidence, shaped for a template that only displays.

Everything here is pure: no database, no HTML. Model and paper text stays plain
text; highlighting is expressed as segments the template marks up itself, so no
string ever needs `|safe`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_KEEP_THRESHOLD = 0.967


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool = False


def figure_reference_pattern(label: str) -> re.Pattern[str] | None:
    """A pattern for the ways papers cite a figure label ("Fig. 2B", "Figure 2")."""
    label = (label or "").strip()
    number = re.search(r"(\d+)", label)
    if number:
        n = number.group(1)
        return re.compile(
            rf"\b(?:Fig(?:ure)?s?\.?|FIG\.?)\s*{n}(?!\d)[A-Za-z]?\b", re.IGNORECASE
        )
    if label:
        return re.compile(re.escape(label), re.IGNORECASE)
    return None


def highlight(text: str, label: str) -> list[Segment]:
    """Split `text` into plain and marked segments around references to `label`."""
    text = str(text or "")
    pattern = figure_reference_pattern(label)
    if pattern is None:
        return [Segment(text)] if text else []
    segments: list[Segment] = []
    cursor = 0
    for match in pattern.finditer(text):
        if match.start() > cursor:
            segments.append(Segment(text[cursor : match.start()]))
        segments.append(Segment(match.group(0), marked=True))
        cursor = match.end()
    if cursor < len(text):
        segments.append(Segment(text[cursor:]))
    return segments


def highlighted_mentions(mentions: Any, label: str) -> list[list[Segment]]:
    """Citing sentences as segment lists; tolerates strings or {"text": ...} dicts."""
    if not isinstance(mentions, list):
        return []
    rows = []
    for mention in mentions:
        text = mention.get("text", "") if isinstance(mention, dict) else mention
        if text:
            rows.append(highlight(str(text), label))
    return rows


@dataclass(frozen=True)
class RubricRow:
    title: str
    category: str
    kind: str  # "gate", "bonus", "penalty" or "other"
    weight: float | None
    score: float | None
    passed: bool | None
    points: str
    reason: str


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _points(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+g}" if value else "0"


def rubric_rows(criteria: Any) -> list[RubricRow]:
    """Turn the verifier's criteria rows into display rows, whatever keys are missing.

    Essentials are gates (passed only with full marks); Important/Optional give
    bonus points; Pitfalls take points away when their score is negative.
    """
    if not isinstance(criteria, list):
        return []
    rows = []
    for raw in criteria:
        if not isinstance(raw, dict):
            continue
        category = str(raw.get("category") or "")
        weight, score = _number(raw.get("weight")), _number(raw.get("score"))
        kind = {
            "essential": "gate",
            "important": "bonus",
            "optional": "bonus",
            "pitfall": "penalty",
        }.get(category.lower(), "other")
        passed: bool | None = None
        if kind == "gate" and score is not None:
            passed = weight is not None and weight > 0 and score == weight
        elif kind == "penalty" and score is not None:
            passed = score >= 0
        reason = raw.get("reason") or raw.get("notes") or ""
        rows.append(
            RubricRow(
                title=str(raw.get("title") or "(untitled criterion)"),
                category=category or "—",
                kind=kind,
                weight=weight,
                score=score,
                passed=passed,
                points=_points(score) if kind != "gate" else "",
                reason=str(reason),
            )
        )
    order = {"gate": 0, "bonus": 1, "penalty": 2, "other": 3}
    return sorted(rows, key=lambda row: order[row.kind])


@dataclass(frozen=True)
class Flag:
    code: str
    message: str


def item_flags(flags: Any) -> list[Flag]:
    """Deterministic-check flags, as strings or {"code", "message"} dicts."""
    if not isinstance(flags, Iterable) or isinstance(flags, str | bytes | dict):
        return []
    shown = []
    for flag in flags:
        if isinstance(flag, dict):
            code = str(flag.get("code") or flag.get("name") or "flag")
            message = str(flag.get("message") or flag.get("detail") or "")
        else:
            code, message = str(flag), ""
        shown.append(Flag(code=code, message=message or code.replace("_", " ")))
    return shown


def threshold_distance(score: float | None, threshold: float) -> float | None:
    return None if score is None else abs(score - threshold)
