"""Existing VQA datasets in the MedSynVQA layout, imported for audit.

Each row holds `images` (PNG/JPEG bytes, or `{bytes, path}` structs; base64
strings in JSONL; or file names ending in .png/.jpg/.tif, relative to the
file's folder, which may not leave it), `question`, `options` (a JSON string
or a dict keyed A–E),
`answer_label`, and optionally `dataset_name`, `dataset_index`, `caption`,
`context`, `article_accession_id`, `article_title`, `license`, `modality`,
`anatomy`, `question_type`. Parquet is read in small row batches, so memory
does not grow with the file.

Benchmarks released in other layouts are read through the same code: the
caller passes `adapt`, which turns one of their rows into this layout (or
raises `NotSelected` for a row left out on purpose, such as an open question
of a closed-question benchmark), and the letters their options may use.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from synthesis.ingest.sources.records import (
    DocumentInfo,
    FigureRecord,
    ImportLimits,
    ItemRecord,
    Reason,
    Record,
    Skipped,
    clean_text,
    jsonl_rows,
    license_family,
)
from synthesis.vocabulary import (
    canonical_anatomy,
    canonical_modality,
    canonical_question_type,
)

LETTERS = ("A", "B", "C", "D", "E")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


class InvalidRow(ValueError):
    pass


class NotSelected(Exception):
    """A well-formed row the caller leaves out on purpose; `reason` is counted."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


Adapter = Callable[[dict[str, Any]], dict[str, Any]]


def read(
    path: Path,
    *,
    limits: ImportLimits,
    adapt: Adapter | None = None,
    letters: tuple[str, ...] = LETTERS,
) -> Iterator[Record]:
    for number, row in _rows(path):
        key = f"{path.name}:{number}"
        if isinstance(row, Skipped):
            yield row
            continue
        try:
            row = adapt(row) if adapt is not None else row
            yield _item(
                row,
                key=key,
                number=number,
                limits=limits,
                base=path.parent,
                letters=letters,
            )
        except NotSelected as exc:
            yield Skipped(exc.reason, key, exc.detail[:200])
        except InvalidRow as exc:
            yield Skipped(Reason.ITEM_INVALID, key, str(exc)[:200])


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | Skipped]]:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=64):
            for row in batch.to_pylist():
                yield number, row
                number += 1
        return
    with path.open(encoding="utf-8") as handle:
        yield from jsonl_rows(handle, name=path.name, start=0)


def _item(
    row: dict[str, Any],
    *,
    key: str,
    number: int,
    limits: ImportLimits,
    base: Path,
    letters: tuple[str, ...],
) -> ItemRecord:
    question = clean_text(row.get("question"))
    if not question:
        raise InvalidRow("the question is empty")
    options = _options(row.get("options"), letters)
    answer = clean_text(row.get("answer_label")).upper()
    if answer not in options:
        raise InvalidRow(f"answer_label {answer!r} is not one of the options")
    dataset = clean_text(row.get("dataset_name")) or "imported"
    index = row.get("dataset_index")
    index = number if index is None else index
    document = _document(row, dataset=dataset, index=index)
    images = [
        _image(value, limits=limits, base=base) for value in row.get("images") or []
    ]
    if not images:
        raise InvalidRow("the row has no images")
    caption = clean_text(row.get("caption"))
    context = row.get("context") or []
    mentions = tuple(clean_text(s) for s in context if isinstance(s, str))
    figures = tuple(
        FigureRecord(
            document=document,
            image_bytes=data,
            image_name=f"{dataset}-{index}-{position}.png",
            caption=caption,
            source_key=f"{key}:image{position}",
            mentions=mentions,
            modality=canonical_modality(clean_text(row.get("modality"))),
            anatomy=canonical_anatomy(clean_text(row.get("anatomy"))),
            caption_required=False,
        )
        for position, data in enumerate(images)
    )
    return ItemRecord(
        figures=figures,
        question=question,
        options=options,
        answer=answer,
        dataset_name=dataset,
        source_key=key,
        question_type=canonical_question_type(clean_text(row.get("question_type"))),
    )


def _options(value: Any, letters: tuple[str, ...]) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidRow("options are not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidRow("options must be an object keyed by letter")
    options = {str(k).strip().upper(): clean_text(str(v)) for k, v in value.items()}
    if not set(options) <= set(letters) or len(options) < 2:
        raise InvalidRow(
            f"option keys must be 2-{len(letters)} of {letters[0]}-{letters[-1]}, "
            f"got {sorted(options)}"
        )
    if not all(options.values()):
        raise InvalidRow("an option is empty")
    return dict(sorted(options.items()))


def _image(value: Any, *, limits: ImportLimits, base: Path) -> bytes:
    if isinstance(value, dict):
        value = value.get("bytes") or value.get("path")
    # "." is not base64: a name ending in an image suffix is a file.
    if isinstance(value, str) and value.lower().endswith(_IMAGE_SUFFIXES):
        return _image_file(value, limits=limits, base=base)
    if isinstance(value, str):
        try:
            value = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRow("an image is not valid base64") from exc
    if not isinstance(value, bytes | bytearray) or not value:
        raise InvalidRow("an image has no bytes")
    if len(value) > limits.max_member_bytes:
        raise InvalidRow("an image is larger than the member limit")
    return bytes(value)


def _image_file(name: str, *, limits: ImportLimits, base: Path) -> bytes:
    root = base.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise InvalidRow(f"image path {name!r} leaves the dataset's folder")
    if not path.is_file():
        raise InvalidRow(f"image {name!r} not found beside the dataset")
    if path.stat().st_size > limits.max_member_bytes:
        raise InvalidRow("an image is larger than the member limit")
    return path.read_bytes()


def _document(row: dict[str, Any], *, dataset: str, index: Any) -> DocumentInfo:
    accession = clean_text(str(row.get("article_accession_id") or ""))
    license_text = clean_text(row.get("license"))
    return DocumentInfo(
        source_id=accession or f"vqa:{dataset}:{index}",
        source_kind="vqa",
        pmcid=accession if accession.upper().startswith("PMC") else "",
        title=clean_text(row.get("article_title")),
        license=license_text[:200],
        license_family=license_family(text=license_text),
    )
