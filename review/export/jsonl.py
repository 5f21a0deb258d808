"""JSON Lines, one file per split, with a content-addressed image folder.

Each line carries the same fields as the parquet rows; `images` holds paths
relative to the `jsonl/` folder. An image used by several items is stored once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from review.export import hf_parquet
from review.export.rows import ExportRow

DIRECTORY = "jsonl"


class JsonlWriter:
    def __init__(self, root: Path) -> None:
        self.root = root / DIRECTORY
        self.root.mkdir(parents=True, exist_ok=True)
        self._split: str | None = None
        self._handle: IO[str] | None = None

    def write(self, row: ExportRow) -> None:
        if row.split != self._split:
            self.close()
            self._split = row.split
            path = self.root / f"{row.split}.jsonl"
            self._handle = path.open("w", encoding="utf-8", newline="\n")
        paths = []
        for blob in row.images:
            relative = f"images/{blob.name[:2]}/{blob.name}"
            target = self.root / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(blob.data)
            paths.append(relative)
        data = hf_parquet.record(row)
        data["images"] = paths
        data["options"] = row.options
        assert self._handle is not None  # noqa: S101 - opened above
        self._handle.write(json.dumps(data, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
