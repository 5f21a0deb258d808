"""RL with verifiable rewards, as verl's RLHFDataset reads it (§2.N).

One chat message per row with one `<image>` placeholder per image; the reward
model's ground truth is the answer text, the letter travels in `extra_info`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from review.export.hf_parquet import image_cells, options_json
from review.export.mcq_prompt import RL_INSTRUCTION, question_text, with_placeholders
from review.export.parquet_stream import IMAGE_LIST, ParquetStream
from review.export.rows import ExportRow

DIRECTORY = "verl"
ABILITY = "medical_mcqa"
SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        (
            "prompt",
            pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])),
        ),
        ("images", IMAGE_LIST),
        ("ability", pa.string()),
        (
            "reward_model",
            pa.struct([("style", pa.string()), ("ground_truth", pa.string())]),
        ),
        (
            "extra_info",
            pa.struct(
                [
                    ("split", pa.string()),
                    ("index", pa.int64()),
                    ("question", pa.string()),
                    ("options", pa.string()),
                    ("answer_label", pa.string()),
                    ("answer", pa.string()),
                    ("dataset_name", pa.string()),
                    ("dataset_index", pa.int64()),
                ]
            ),
        ),
    ]
)


def record(row: ExportRow, index: int) -> dict[str, Any]:
    text = question_text(
        row.candidate.question, row.options, instruction=RL_INSTRUCTION
    )
    return {
        "data_source": row.dataset_name,
        "prompt": [
            {"role": "user", "content": with_placeholders(text, len(row.images))}
        ],
        "images": image_cells(row),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": row.answer},
        "extra_info": {
            "split": row.split,
            "index": index,
            "question": row.candidate.question,
            "options": options_json(row.options),
            "answer_label": row.answer_label,
            "answer": row.answer,
            "dataset_name": row.dataset_name,
            "dataset_index": row.index,
        },
    }


class VerlWriter:
    def __init__(self, root: Path, *, row_group_size: int, rows_per_shard: int) -> None:
        self.stream = ParquetStream(
            folder=root / DIRECTORY,
            schema=SCHEMA,
            dictionary_columns=["data_source", "ability"],
            row_group_size=row_group_size,
            rows_per_shard=rows_per_shard,
        )
        self._index: dict[str, int] = {}

    def write(self, row: ExportRow) -> None:
        index = self._index.get(row.split, 0)
        self._index[row.split] = index + 1
        self.stream.append(row.split, record(row, index))

    def close(self) -> None:
        self.stream.close()
