"""Existing VQA datasets in the MedSynVQA layout, imported for audit.

Each row holds `images` (PNG/JPEG bytes, or `{bytes, path}` structs; base64
strings in JSONL), `question`, `options` (a JSON string or a dict keyed A–E),
`answer_label`, and optionally `dataset_name`, `dataset_index`, `caption`,
`context`, `article_accession_id`, `article_title`, `license`, `modality`,
`anatomy`, `question_type`. Parquet is read in small row batches, so memory
does not grow with the file.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
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


class InvalidRow(ValueError):
    pass


def read(path: Path, *, limits: ImportLimits) -> Iterator[Record]:
    for number, row in _rows(path):
        key = f"{path.name}:{number}"
        if isinstance(row, Skipped):
            yield row
            continue
        try:
            yield _item(row, key=key, number=number, limits=limits)
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
    row: dict[str, Any], *, key: str, number: int, limits: ImportLimits
) -> ItemRecord:
    question = clean_text(row.get("question"))
    if not question:
        raise InvalidRow("the question is empty")
    options = _options(row.get("options"))
    answer = clean_text(row.get("answer_label")).upper()
    if answer not in options:
        raise InvalidRow(f"answer_label {answer!r} is not one of the options")
    dataset = clean_text(row.get("dataset_name")) or "imported"
    index = row.get("dataset_index")
    index = number if index is None else index
    document = _document(row, dataset=dataset, index=index)
    images = [_image(value, limits=limits) for value in row.get("images") or []]
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


def _options(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InvalidRow("options are not valid JSON") from exc
    if not isinstance(value, dict):
        raise InvalidRow("options must be an object keyed by letter")
    options = {str(k).strip().upper(): clean_text(str(v)) for k, v in value.items()}
    if not set(options) <= set(LETTERS) or len(options) < 2:
        raise InvalidRow(f"option keys must be 2-5 of A-E, got {sorted(options)}")
    if not all(options.values()):
        raise InvalidRow("an option is empty")
    return dict(sorted(options.items()))


def _image(value: Any, *, limits: ImportLimits) -> bytes:
    if isinstance(value, dict):
        value = value.get("bytes")
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
