"""The released layouts of the six benchmarks, turned into MedSynVQA rows.

Each adapter takes one row of a benchmark's own file (parquet or JSON Lines)
and returns a row in the layout the VQA reader reads (`question`, `options`,
`answer_label`, `images`, plus `modality`, `anatomy`, `question_type`), or
raises `NotSelected` for a row the method leaves out. Multiple-choice
benchmarks keep their options; VQA-RAD, SLAKE and PathVQA keep only their
closed yes/no questions, as two options (A yes, B no), as MedVLThinker-Eval
does (§6.3). A file already in the MedSynVQA layout (MedVLThinker-Eval,
MedSynVQA) goes through unchanged, each row naming its benchmark in
`dataset_name`. Pure: no Django.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from typing import Any

from synthesis.ingest.sources.records import Reason
from synthesis.ingest.sources.vqa import InvalidRow, NotSelected

LETTERS = tuple("ABCDEFGHIJ")
YES_NO = {"A": "yes", "B": "no"}


def _text(row: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _images(row: dict[str, Any], *keys: str) -> list[Any]:
    found: list[Any] = []
    for key in keys:
        value = row.get(key)
        if value in (None, "", []):
            continue
        found.extend(value if isinstance(value, list) else [value])
    if not found:
        raise InvalidRow(f"no image in {', '.join(keys)}")
    return found


def _option_list(value: Any) -> list[str]:
    """MMMU writes its options as a Python list in a string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError) as exc:
                raise InvalidRow("options are neither JSON nor a list") from exc
    if not isinstance(value, list | tuple):
        raise InvalidRow("options must be a list")
    return [str(v) for v in value]


def _closed(row: dict[str, Any], *, answer: str) -> dict[str, Any]:
    """A yes/no question as a two-option item; anything else is left out."""
    kind = _text(row, "answer_type").upper()
    value = answer.strip().lower().rstrip(".")
    if (kind and kind != "CLOSED") or value not in YES_NO.values():
        raise NotSelected(Reason.OPEN_QUESTION, f"answer {answer[:40]!r}")
    return {"options": dict(YES_NO), "answer_label": "A" if value == "yes" else "B"}


def medsynvqa(row: dict[str, Any]) -> dict[str, Any]:
    return row


def pmc_vqa(row: dict[str, Any]) -> dict[str, Any]:
    """PMC-VQA: `Question`, `Choice A`..`Choice D` ("A:text"), `Answer_label`,
    the image in `image` or `Figure_path`."""
    options = {}
    for letter in "ABCD":
        choice = _text(row, f"Choice {letter}", f"choice_{letter.lower()}")
        options[letter] = re.sub(rf"^\s*{letter}\s*[:.)]\s*", "", choice)
    return {
        "question": _text(row, "Question", "question"),
        "options": options,
        "answer_label": _text(row, "Answer_label", "answer_label"),
        "images": _images(row, "image", "images", "Figure_path"),
    }


def mmmu_med(row: dict[str, Any]) -> dict[str, Any]:
    """MMMU: `question`, `options` (a list), `answer` (a letter),
    `image_1`..`image_7`, `question_type` ("multiple-choice" or "open")."""
    if _text(row, "question_type").lower() == "open":
        raise NotSelected(Reason.OPEN_QUESTION, "open question")
    choices = _option_list(row.get("options"))
    if len(choices) > len(LETTERS):
        raise InvalidRow(f"{len(choices)} options; at most {len(LETTERS)}")
    return {
        "question": _text(row, "question"),
        "options": dict(zip(LETTERS, choices, strict=False)),
        "answer_label": _text(row, "answer"),
        "images": _images(row, *(f"image_{i}" for i in range(1, 8))),
        "question_type": _text(row, "subfield", "topic_difficulty"),
    }


def medxpertqa_mm(row: dict[str, Any]) -> dict[str, Any]:
    """MedXpertQA MM: `question`, `options` {A..E}, `label`, `images` (file
    names beside the file), `medical_task`, `body_system`."""
    return {
        "question": _text(row, "question"),
        "options": row.get("options"),
        "answer_label": _text(row, "label", "answer_label"),
        "images": _images(row, "images", "image"),
        "question_type": _text(row, "medical_task", "question_type"),
        "anatomy": _text(row, "body_system"),
    }


def vqa_rad(row: dict[str, Any]) -> dict[str, Any]:
    """VQA-RAD: `question`, `answer`, optional `answer_type`, the image in
    `image` (bytes struct) or `image_name`; `image_organ` is the anatomy."""
    return {
        "question": _text(row, "question"),
        **_closed(row, answer=_text(row, "answer")),
        "images": _images(row, "image", "image_name"),
        "anatomy": _text(row, "image_organ"),
        "question_type": _text(row, "question_type"),
    }


def slake(row: dict[str, Any]) -> dict[str, Any]:
    """SLAKE: English rows only (`q_lang`), `question`, `answer`,
    `answer_type`, `img_name` or `image`, `modality`, `location`."""
    if _text(row, "q_lang").lower() not in ("", "en"):
        raise NotSelected(Reason.OTHER_LANGUAGE, _text(row, "q_lang"))
    return {
        "question": _text(row, "question"),
        **_closed(row, answer=_text(row, "answer")),
        "images": _images(row, "image", "img_name"),
        "modality": _text(row, "modality"),
        "anatomy": _text(row, "location"),
        "question_type": _text(row, "content_type"),
    }


def pathvqa(row: dict[str, Any]) -> dict[str, Any]:
    """PathVQA: `image`, `question`, `answer`; yes/no answers are the closed ones."""
    return {
        "question": _text(row, "question"),
        **_closed(row, answer=_text(row, "answer")),
        "images": _images(row, "image", "images"),
        "modality": "Microscopy Images",
    }


ADAPTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "pmc_vqa": pmc_vqa,
    "mmmu_med": mmmu_med,
    "medxpertqa_mm": medxpertqa_mm,
    "pathvqa": pathvqa,
    "slake": slake,
    "vqa_rad": vqa_rad,
    "other": medsynvqa,
}
