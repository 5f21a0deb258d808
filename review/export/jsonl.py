"""JSON Lines, one file per split, with a content-addressed image folder.

Each line carries the same fields as the parquet rows; `images` holds paths
relative to the `jsonl/` folder. An image used by several items is stored once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from review.export import hf_parquet
from review.export.rows import ExportRow, ImageBlob

DIRECTORY = "jsonl"


class JsonlWriter:
    def __init__(self, root: Path) -> None:
        self.root = root / DIRECTORY
        self.root.mkdir(parents=True, exist_ok=True)
        self._split: str | None = None
        self._handle: IO[str] | None = None

    def _file_for(self, split: str) -> IO[str]:
        if split != self._split or self._handle is None:
            self.close()
            self._split = split
            path = self.root / f"{split}.jsonl"
            self._handle = path.open("w", encoding="utf-8", newline="\n")
        return self._handle

    def _store(self, blob: ImageBlob) -> str:
        relative = f"images/{blob.name[:2]}/{blob.name}"
        target = self.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.data)
        return relative

    def write(self, row: ExportRow) -> None:
        handle = self._file_for(row.split)
        data = hf_parquet.record(row)
        data["images"] = [self._store(blob) for blob in row.images]
        data["options"] = row.options
        handle.write(json.dumps(data, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
