"""Supervised fine-tuning rows in TRL's vision chat format.

`messages` holds a user turn (one image entry per image, then the question and
options) and an assistant turn with the answer; `images` holds the images in
the same order. Loads with `datasets` as a list of `Image`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from review.export.hf_parquet import image_cells
from review.export.mcq_prompt import SFT_INSTRUCTION, question_text
from review.export.parquet_stream import (
    HF_IMAGE_LIST,
    IMAGE_LIST,
    ParquetStream,
    hf_list,
    hf_value,
    with_hf_features,
)
from review.export.rows import ExportRow

DIRECTORY = "sft"
_PART = pa.struct([("type", pa.string()), ("text", pa.string())])
_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.list_(_PART))])
_MESSAGE_FEATURE = {
    "role": hf_value("string"),
    "content": hf_list({"type": hf_value("string"), "text": hf_value("string")}),
}
SCHEMA = with_hf_features(
    pa.schema(
        [
            ("messages", pa.list_(_MESSAGE)),
            ("images", IMAGE_LIST),
            ("dataset_index", pa.int64()),
        ]
    ),
    {
        "messages": hf_list(_MESSAGE_FEATURE),
        "images": HF_IMAGE_LIST,
        "dataset_index": hf_value("int64"),
    },
)


def assistant_text(row: ExportRow) -> str:
    return f"{row.answer_label}. {row.answer}"


def record(row: ExportRow) -> dict[str, Any]:
    text = question_text(
        row.candidate.question, row.options, instruction=SFT_INSTRUCTION
    )
    user = [{"type": "image", "text": None} for _ in row.images]
    user.append({"type": "text", "text": text})
    return {
        "messages": [
            {"role": "user", "content": user},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": assistant_text(row)}],
            },
        ],
        "images": image_cells(row),
        "dataset_index": row.index,
    }


class SftWriter:
    def __init__(self, root: Path, *, row_group_size: int, rows_per_shard: int) -> None:
        self.stream = ParquetStream(
            folder=root / DIRECTORY,
            schema=SCHEMA,
            dictionary_columns=[],
            row_group_size=row_group_size,
            rows_per_shard=rows_per_shard,
        )

    def write(self, row: ExportRow) -> None:
        self.stream.append(row.split, record(row))

    def close(self) -> None:
        self.stream.close()
