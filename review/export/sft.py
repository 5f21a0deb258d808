"""Supervised fine-tuning rows in TRL's vision chat format.

`messages` holds a user turn (one image entry per image, then the question and
options) and an assistant turn with the answer; `images` holds the images in
the same order. Loads with `datasets` as a list of `Image`.

Two targets: "letter" (the SFT prompt, answered "C. text") or "think_answer"
(the RL prompt, answered `<think>…</think><answer>C</answer>`, the method's
TRL layout, §2.N), which the verl reward and the evaluation read. MedSyn keeps
no chain of thought, so the think block is empty: this target teaches the
format a later GRPO run is rewarded for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from review.export.hf_parquet import image_cells
from review.export.mcq_prompt import RL_INSTRUCTION, SFT_INSTRUCTION, question_text
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


TARGETS = ("letter", "think_answer")


def assistant_text(row: ExportRow, target: str = "letter") -> str:
    if target == "think_answer":
        return f"<think>\n</think>\n<answer>{row.answer_label}</answer>"
    return f"{row.answer_label}. {row.answer}"


def record(row: ExportRow, target: str = "letter") -> dict[str, Any]:
    instruction = RL_INSTRUCTION if target == "think_answer" else SFT_INSTRUCTION
    text = question_text(row.candidate.question, row.options, instruction=instruction)
    user = [{"type": "image", "text": None} for _ in row.images]
    user.append({"type": "text", "text": text})
    return {
        "messages": [
            {"role": "user", "content": user},
            {
                "role": "assistant",
                "content": [{"type": "text", "text": assistant_text(row, target)}],
            },
        ],
        "images": image_cells(row),
        "dataset_index": row.index,
    }


class SftWriter:
    def __init__(
        self,
        root: Path,
        *,
        row_group_size: int,
        rows_per_shard: int,
        target: str = "letter",
    ) -> None:
        self.target = target
        self.stream = ParquetStream(
            folder=root / DIRECTORY,
            schema=SCHEMA,
            dictionary_columns=[],
            row_group_size=row_group_size,
            rows_per_shard=rows_per_shard,
        )

    def write(self, row: ExportRow) -> None:
        self.stream.append(row.split, record(row, self.target))

    def close(self) -> None:
        self.stream.close()
