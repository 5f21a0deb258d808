"""The verifier rubric as data, and the pure function that scores a verdict.

MedVLSynther let the verifier pick 4–8 bonus criteria with weights in a range,
which made scores incomparable between items. Here every criterion is scored on
every item with a fixed weight, so a score means the same thing everywhere.
A rubric version is data: a new version is a new `Rubric`, never an edit.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ESSENTIAL = "Essential"
IMPORTANT = "Important"
OPTIONAL = "Optional"
PITFALL = "Pitfall"

ERROR_INSUFFICIENT_EVIDENCE = "insufficient_evidence"
ERROR_UNPARSEABLE = "unparseable"
ERROR_MISSING_CRITERIA = "missing_criteria"
ERROR_BACKEND = "backend_error"
ERROR_TRUNCATED = "truncated"


@dataclass(frozen=True)
class Criterion:
    title: str
    category: str
    weight: int
    description: str

    @property
    def is_gate(self) -> bool:
        return self.category == ESSENTIAL

    @property
    def is_pitfall(self) -> bool:
        return self.category == PITFALL


@dataclass(frozen=True)
class Rubric:
    version: str
    criteria: tuple[Criterion, ...]

    @property
    def positive_weight(self) -> int:
        return sum(c.weight for c in self.criteria if not c.is_pitfall)

    def prompt_lines(self) -> str:
        """One line per criterion, in the form the verifier prompt lists them."""
        return "\n".join(
            f"- {c.title} [{c.category}, weight {c.weight}]: {c.description}"
            for c in self.criteria
        )


@dataclass(frozen=True)
class KeepRule:
    """Which verified items go on to review; the default is the method's filter.

    Every gate at full marks is always required (the database refuses a kept
    verdict without it); the score threshold is the batch's choice.
    """

    min_score: float = 0.967

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | None) -> KeepRule:
        return cls(min_score=float((data or {}).get("min_score", 0.967)))


@dataclass(frozen=True)
class Score:
    criteria: list[dict[str, Any]]
    essentials_passed: bool
    normalized: float | None
    kept: bool
    error: str = ""


RUBRIC_V1 = Rubric(
    version="v1",
    criteria=(
        Criterion(
            "Stem Self-contained",
            ESSENTIAL,
            5,
            "reads as a standalone exam question and never mentions caption or context",
        ),
        Criterion(
            "Vocabulary Constraint",
            ESSENTIAL,
            5,
            "adds no clinical fact beyond the sources or visible image cues",
        ),
        Criterion(
            "Diagnosis Leak",
            ESSENTIAL,
            5,
            "the stem does not restate the caption's diagnosis or give the answer away",
        ),
        Criterion(
            "Single Correct Option", ESSENTIAL, 5, "exactly one option is correct"
        ),
        Criterion(
            "Option Type Consistency",
            ESSENTIAL,
            5,
            "all options are of one semantic type",
        ),
        Criterion(
            "Clinical Validity",
            ESSENTIAL,
            5,
            "modality, stain, anatomy and pathophysiology are correct and supported",
        ),
        Criterion(
            "Image\u2013Text Consistency",
            ESSENTIAL,
            5,
            "the item agrees with the image and with the text",
        ),
        Criterion(
            "Plausible Distractors",
            IMPORTANT,
            3,
            "every distractor is a strong alternative differing from the key on one "
            "axis",
        ),
        Criterion(
            "Parallel Options",
            IMPORTANT,
            3,
            "uniform grammar, length and specificity; no outlier cues the key",
        ),
        Criterion(
            "Stem Concision",
            OPTIONAL,
            2,
            "at most two sentences and about 35 words, as direct as possible",
        ),
        Criterion(
            "Clarity and Focus", OPTIONAL, 2, "one perfectly unambiguous question"
        ),
        Criterion(
            "Answer Field Validity",
            IMPORTANT,
            3,
            "answer is one of A-E; no duplicate or empty options",
        ),
        Criterion(
            "JSON Schema Compliance",
            IMPORTANT,
            3,
            "exactly question, options A-E and answer",
        ),
        Criterion(
            "Forbidden Terms",
            PITFALL,
            -2,
            "the stem contains the word caption or context",
        ),
        Criterion(
            "Synonym Drift",
            PITFALL,
            -1,
            "the stem introduces a clinical fact that is neither in the sources nor "
            "visible",
        ),
        Criterion(
            "Multiple Keys",
            PITFALL,
            -2,
            "more than one option is reasonably correct",
        ),
        Criterion(
            "Medical Inaccuracy",
            PITFALL,
            -2,
            "a statement contradicts the sources",
        ),
    ),
)

RUBRICS: dict[str, Rubric] = {RUBRIC_V1.version: RUBRIC_V1}

REASON_MAX_CHARS = 80


def verdict_schema(rubric: Rubric, *, title: str) -> dict[str, Any]:
    """The JSON schema of a verdict that cannot be ambiguous.

    One row per criterion, in the rubric's order (`prefixItems` with a `const`
    title, no further items), each score one of its two allowed values: 0 or
    the weight, 0 or the penalty. Under constrained decoding a verifier can
    then neither repeat a title, skip one, nor give partial credit.
    """
    rows = [
        {
            "type": "object",
            "properties": {
                "title": {"const": c.title},
                "score": {"enum": [0, c.weight]},
                "reason": {"type": "string", "maxLength": REASON_MAX_CHARS},
            },
            "required": ["title", "score", "reason"],
            "additionalProperties": False,
        }
        for c in rubric.criteria
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "rubric": {
                        "type": "array",
                        "prefixItems": rows,
                        "items": False,
                        "minItems": len(rows),
                        "maxItems": len(rows),
                    }
                },
                "required": ["rubric"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"error": {"const": ERROR_INSUFFICIENT_EVIDENCE}},
                "required": ["error"],
                "additionalProperties": False,
            },
        ],
    }


_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")


def normalize_title(title: str) -> str:
    """Compare titles by meaning: case, Unicode dashes and spacing do not matter."""
    return _normal_title(str(title))


@functools.lru_cache(maxsize=1024)
def _normal_title(title: str) -> str:
    # Cached: every verdict repeats the same 17 titles, 34 lookups a verdict.
    text = unicodedata.normalize("NFKC", title).casefold()
    text = _DASHES.sub("-", text)
    text = re.sub(r"\s*-\s*", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def get_rubric(version: str) -> Rubric:
    try:
        return RUBRICS[version]
    except KeyError:
        raise ValueError(
            f"unknown rubric version {version!r}; known: {sorted(RUBRICS)}"
        ) from None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _reason(row: Mapping[str, Any] | None) -> str:
    # Untrusted model text; NUL is refused by PostgreSQL JSON.
    return str(row.get("reason", "")).replace("\x00", "")[:300] if row else ""


def score(
    rubric_version: str,
    verifier_rows: Iterable[Mapping[str, Any]] | None,
    *,
    error: str = "",
    keep_rule: KeepRule | None = None,
) -> Score:
    """Score one verdict under fixed weights.

    Positive criteria are all-or-nothing (the method's "0 or full weight").
    A triggered pitfall costs its fixed weight. A missing criterion, an error
    or an unreadable row means the verdict does not pass.
    """
    rubric = get_rubric(rubric_version)
    keep_rule = keep_rule or KeepRule()
    by_title: dict[str, Mapping[str, Any]] = {}
    for row in verifier_rows or ():
        if isinstance(row, Mapping):
            by_title.setdefault(normalize_title(row.get("title", "")), row)

    rows: list[dict[str, Any]] = []
    earned = penalty = 0
    gates_full = True
    missing = []
    for criterion in rubric.criteria:
        row = by_title.get(normalize_title(criterion.title))
        given = _as_int(row.get("score")) if row is not None else None
        if given is None:
            missing.append(criterion.title)
        if criterion.is_pitfall:
            triggered = given is not None and given < 0
            points = criterion.weight if triggered else 0
            penalty += -points
            met = not triggered
        else:
            met = given is not None and given >= criterion.weight
            points = criterion.weight if met else 0
            earned += points
            if criterion.is_gate and not met:
                gates_full = False
        rows.append(
            {
                "title": criterion.title,
                "category": criterion.category,
                "weight": criterion.weight,
                "score": points,
                "met": met,
                "missing": given is None,
                "reason": _reason(row),
            }
        )

    if not error and missing:
        error = ERROR_UNPARSEABLE if verifier_rows is None else ERROR_MISSING_CRITERIA
    if not by_title:
        return Score(
            criteria=[],
            essentials_passed=False,
            normalized=None,
            kept=False,
            error=error,
        )

    normalized = round(
        min(max((earned - penalty) / rubric.positive_weight, 0.0), 1.0), 6
    )
    passed = gates_full and not error
    return Score(
        criteria=rows,
        essentials_passed=passed,
        normalized=normalized,
        kept=passed and normalized >= keep_rule.min_score,
        error=error,
    )
