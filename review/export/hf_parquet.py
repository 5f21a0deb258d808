"""Hugging Face parquet: MedSynVQA's fields plus MedSyn's provenance.

`datasets.load_dataset("parquet", data_files=...)` yields `images` as a list of
`Image` (decoded to PIL) because the schema carries the features metadata.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from review.export.parquet_stream import (
    HF_IMAGE_LIST,
    IMAGE_LIST,
    ParquetStream,
    hf_sequence,
    hf_value,
    with_hf_features,
)
from review.export.rows import ExportRow

DIRECTORY = "data"
_STRINGS = pa.list_(pa.string())
_COLUMNS: list[tuple[str, pa.DataType, dict[str, Any]]] = [
    ("images", IMAGE_LIST, HF_IMAGE_LIST),
    ("question", pa.string(), hf_value("string")),
    ("options", pa.string(), hf_value("string")),
    ("answer_label", pa.string(), hf_value("string")),
    ("answer", pa.string(), hf_value("string")),
    ("dataset_name", pa.string(), hf_value("string")),
    ("dataset_index", pa.int64(), hf_value("int64")),
    ("item_version", pa.int64(), hf_value("int64")),
    ("batch_id", pa.int64(), hf_value("int64")),
    ("source_ids", _STRINGS, hf_sequence(hf_value("string"))),
    ("licenses", _STRINGS, hf_sequence(hf_value("string"))),
    ("license_families", _STRINGS, hf_sequence(hf_value("string"))),
    ("image_sha256", _STRINGS, hf_sequence(hf_value("string"))),
    ("modality", pa.string(), hf_value("string")),
    ("anatomy", pa.string(), hf_value("string")),
    ("question_type", pa.string(), hf_value("string")),
    ("verifier_score", pa.float64(), hf_value("float64")),
    ("review_decision", pa.string(), hf_value("string")),
    ("reviews", pa.int64(), hf_value("int64")),
    ("reviewer_agreement", pa.float64(), hf_value("float64")),
]
SCHEMA = with_hf_features(
    pa.schema([(name, dtype) for name, dtype, _ in _COLUMNS]),
    {name: feature for name, _, feature in _COLUMNS},
)
_DICTIONARY = [
    "answer_label",
    "dataset_name",
    "license_families.list.element",
    "licenses.list.element",
    "modality",
    "anatomy",
    "question_type",
    "review_decision",
]


def image_cells(row: ExportRow) -> list[dict[str, Any]]:
    return [{"bytes": blob.data, "path": blob.name} for blob in row.images]


def options_json(options: dict[str, str]) -> str:
    return json.dumps(options, ensure_ascii=False)


def record(row: ExportRow) -> dict[str, Any]:
    c = row.candidate
    return {
        "images": image_cells(row),
        "question": c.question,
        "options": options_json(row.options),
        "answer_label": row.answer_label,
        "answer": row.answer,
        "dataset_name": row.dataset_name,
        "dataset_index": row.index,
        "item_version": c.version,
        "batch_id": c.batch_id,
        "source_ids": list(c.source_ids),
        "licenses": list(row.licenses),
        "license_families": list(c.license_families),
        "image_sha256": list(c.sha256s),
        "modality": c.modality,
        "anatomy": c.anatomy,
        "question_type": c.question_type,
        "verifier_score": c.verifier_score,
        "review_decision": c.review_decision,
        "reviews": c.reviews,
        "reviewer_agreement": c.agreement,
    }


class HfParquetWriter:
    def __init__(self, root: Path, *, row_group_size: int, rows_per_shard: int) -> None:
        self.stream = ParquetStream(
            folder=root / DIRECTORY,
            schema=SCHEMA,
            dictionary_columns=_DICTIONARY,
            row_group_size=row_group_size,
            rows_per_shard=rows_per_shard,
        )

    def write(self, row: ExportRow) -> None:
        self.stream.append(row.split, record(row))

    def close(self) -> None:
        self.stream.close()
