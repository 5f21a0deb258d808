"""The evaluation set of an export's test or validation split.

Read from the export's own files (the Hugging Face parquet, else the JSON
Lines), so the questions, options and answer letters are exactly what was
exported (rebalanced letters included); images are the exported figures,
found by their sha256. Made once per export and split, then reused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from review.evalsets import services as evalsets
from review.evalsets.models import EvaluationSet, SetKind
from review.export import hf_parquet, jsonl
from review.export import services as exports
from review.models import Export, ExportStatus
from synthesis.models import Figure

SPLITS = ("test", "validation")
_COLUMNS = [
    "question",
    "options",
    "answer_label",
    "dataset_index",
    "image_sha256",
    "modality",
    "anatomy",
    "question_type",
]


class ExportSplitError(ValueError):
    """The split cannot be evaluated; the message says why."""


def _rows(root: Path, split: str) -> list[dict[str, Any]]:
    shards = sorted((root / hf_parquet.DIRECTORY).glob(f"{split}-*.parquet"))
    if shards:
        rows: list[dict[str, Any]] = []
        for shard in shards:
            rows += pq.read_table(shard, columns=_COLUMNS).to_pylist()
        return rows
    lines = root / jsonl.DIRECTORY / f"{split}.jsonl"
    if lines.is_file():
        with lines.open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    if (root / hf_parquet.DIRECTORY).is_dir() or (root / jsonl.DIRECTORY).is_dir():
        return []
    raise ExportSplitError(
        "this export has neither Hugging Face parquet nor JSON Lines files; "
        "evaluation reads the split from one of them"
    )


def split_set(*, export_id: int, split: str, created_by: Any = None) -> EvaluationSet:
    """The set for an export's split, made from its files on first use."""
    if split not in SPLITS:
        raise ExportSplitError(f"split must be one of {', '.join(SPLITS)}")
    existing = EvaluationSet.objects.filter(export_id=export_id, split=split).first()
    if existing is not None:
        return existing
    export = Export.objects.filter(pk=export_id, status=ExportStatus.DONE).first()
    if export is None:
        raise ExportSplitError(f"export {export_id} is not a finished export")
    rows = _rows(exports.export_path(export), split)
    if not rows:
        raise ExportSplitError(f"the {split} split of export {export_id} is empty")
    shas = {sha for row in rows for sha in row["image_sha256"]}
    figures = {f.sha256: f for f in Figure.objects.filter(sha256__in=shas)}
    if missing := shas - set(figures):
        raise ExportSplitError(f"{len(missing)} exported images are no longer stored")
    items = []
    for number, row in enumerate(rows):
        options = row["options"]
        if isinstance(options, str):
            options = json.loads(options)
        items.append(
            evalsets.NewItem(
                question=row["question"],
                options=dict(options),
                answer=row["answer_label"],
                images=tuple(
                    evalsets.NewImage(
                        sha,
                        figures[sha].image.name,
                        figures[sha].width,
                        figures[sha].height,
                        figures[sha].dct_phash,
                    )
                    for sha in row["image_sha256"]
                ),
                modality=row.get("modality") or "",
                anatomy=row.get("anatomy") or "",
                question_type=row.get("question_type") or "",
                source_key=f"export {export.pk} {split} row {number}",
                source_item_id=row.get("dataset_index"),
            )
        )
    return evalsets.store_set(
        name=f"Export {export.pk} {export.name} · {split}"[:200],
        kind=SetKind.EXPORT_SPLIT,
        split=split,
        items=items,
        export=export,
        source_name=f"{export.output_dir}",
        created_by=created_by,
    )
