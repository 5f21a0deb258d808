"""The plain records every source yields, and the reasons a member is skipped.

Sources know nothing of Django: they read bytes and text and yield
`FigureRecord`s (one image with its text), `ItemRecord`s (an existing VQA
item with its images) or `Skipped` (a member that was refused, and why). The
importer turns records into rows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


class Reason:
    """Skip reason codes: stable strings, counted in the import report."""

    UNSAFE_PATH = "unsafe_path"
    LINK_MEMBER = "link_member"
    SPECIAL_MEMBER = "special_member"
    MEMBER_TOO_LARGE = "member_too_large"
    ARCHIVE_TOO_LARGE = "archive_too_large"
    ARCHIVE_UNREADABLE = "archive_unreadable"
    XML_ENTITIES = "xml_entities_declared"
    XML_INVALID = "xml_invalid"
    GRAPHIC_MISSING = "graphic_missing"
    METADATA_INVALID = "metadata_invalid"
    IMAGE_MISSING = "image_missing"
    NOT_AN_IMAGE = "not_an_image"
    FORMAT_NOT_ALLOWED = "image_format_not_allowed"
    IMAGE_CORRUPT = "image_corrupt"
    DECOMPRESSION_BOMB = "decompression_bomb"
    IMAGE_TOO_SMALL = "image_too_small"
    CAPTION_MISSING = "caption_missing"
    CAPTION_TOO_SHORT = "caption_too_short"
    MODALITY_NOT_SELECTED = "modality_not_selected"
    DUPLICATE_IMAGE = "duplicate_image"
    GROUP_TOO_LARGE = "group_too_large"
    ITEM_INVALID = "item_invalid"
    DUPLICATE_ITEM = "duplicate_item"
    DOCUMENT_FAILED = "document_failed"
    # Benchmarks read for evaluation: rows left out on purpose.
    OPEN_QUESTION = "open_question"
    OTHER_LANGUAGE = "other_language"


@dataclass(frozen=True)
class ImportLimits:
    """Size limits for archives and images; generous defaults, all configurable."""

    max_member_bytes: int = 64 * 1024**2
    max_total_bytes: int = 8 * 1024**3
    max_members: int = 2_000_000
    max_pixels: int = 40_000_000
    max_xml_bytes: int = 32 * 1024**2


@dataclass(frozen=True)
class DocumentInfo:
    """Identity and metadata of the paper (or other source) a figure comes from."""

    source_id: str
    source_kind: str
    pmcid: str = ""
    doi: str = ""
    title: str = ""
    journal: str = ""
    year: int | None = None
    license: str = ""
    license_url: str = ""
    license_family: str = "unknown"


@dataclass(frozen=True)
class FigureRecord:
    document: DocumentInfo
    image_bytes: bytes
    image_name: str
    caption: str
    source_key: str
    mentions: tuple[str, ...] = ()
    label: str = ""
    subfigure: str = ""
    modality: str = ""
    anatomy: str = ""
    source_labels: dict = field(default_factory=dict)
    # Existing VQA datasets ship no captions; their figures may go without.
    caption_required: bool = True


@dataclass(frozen=True)
class ItemRecord:
    """One item of an existing VQA dataset, with the images it asks about."""

    figures: tuple[FigureRecord, ...]
    question: str
    options: dict[str, str]
    answer: str
    dataset_name: str
    source_key: str
    question_type: str = ""


@dataclass(frozen=True)
class Skipped:
    reason: str
    source_key: str
    detail: str = ""


Record = FigureRecord | ItemRecord | Skipped

_CC_CODE = re.compile(r"(?:licenses/|\bcc[ -])(by(?:-(?:nc|nd|sa))*)")


def license_family(*, url: str = "", text: str = "") -> str:
    """Classify a license by its URL or text into `LicenseFamily` values.

    CC BY-NC must be filterable at export, so the non-commercial part wins
    over the rest of the code ("by-nc-sa" is non-commercial).
    """
    haystack = f"{url} {text}".lower()
    if not haystack.strip():
        return "unknown"
    if "publicdomain" in haystack or "cc0" in haystack:
        return "cc0"
    match = _CC_CODE.search(haystack)
    if match:
        parts = set(match.group(1).split("-"))
    elif "creative commons attribution" in haystack:
        words = {"noncommercial": "nc", "noderiv": "nd", "sharealike": "sa"}
        flat = haystack.replace("-", "")
        parts = {"by"} | {code for word, code in words.items() if word in flat}
    else:
        return "other"
    for code in ("nc", "nd", "sa"):
        if code in parts:
            return f"cc-by-{code}"
    return "cc-by"


def clean_text(text: str | None) -> str:
    """Collapse whitespace (captions arrive with markup line breaks)."""
    return re.sub(r"\s+", " ", text or "").strip()


def jsonl_rows(
    lines: Iterable[str], *, name: str, start: int = 1
) -> Iterator[tuple[int, dict[str, Any] | Skipped]]:
    """The objects of a JSON Lines file, numbered; a bad line becomes a Skipped."""
    for number, line in enumerate(lines, start=start):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("row is not a JSON object")
        except ValueError as exc:
            key = f"{name}:{number}"
            yield number, Skipped(Reason.METADATA_INVALID, key, str(exc)[:200])
            continue
        yield number, row
