"""Streaming parquet output shared by the parquet formats.

Rows are buffered up to one row group and then written, so memory stays flat.
Dictionary encoding is on only for the named (short, repetitive) text columns,
given as leaf paths such as `licenses.list.element`: on image bytes it
silently de-duplicates blobs. Shards roll over at
`rows_per_shard`. Fixed row order, row-group size, compression and schema
metadata make the files byte-identical for identical input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from review.export.checksums import GrowingFileHash

IMAGE_STRUCT = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
IMAGE_LIST = pa.list_(IMAGE_STRUCT)
# Hugging Face features for a list of images: decoded to PIL by `datasets`.
# "Sequence" of a non-dict feature reads as a list in datasets 3, 4 and 5.
HF_IMAGE_LIST = {"feature": {"_type": "Image"}, "_type": "Sequence"}


def hf_value(dtype: str) -> dict[str, str]:
    return {"dtype": dtype, "_type": "Value"}


def hf_sequence(feature: dict[str, Any]) -> dict[str, Any]:
    """A list of scalars, readable by every datasets major version."""
    return {"feature": feature, "_type": "Sequence"}


def hf_list(feature: dict[str, Any]) -> dict[str, Any]:
    """A list of structs: needs datasets >= 4 ("Sequence" of a dict means
    a dict of lists there, which is not what the file holds)."""
    return {"feature": feature, "_type": "List"}


def with_hf_features(schema: pa.Schema, features: dict[str, Any]) -> pa.Schema:
    """Attach `datasets` features metadata so images load as `Image`."""
    if list(features) != schema.names:
        raise ValueError("Hugging Face features must name every column in order")
    payload = json.dumps({"info": {"features": features}}, sort_keys=True)
    return schema.with_metadata({"huggingface": payload})


def _leaf_paths(schema: pa.Schema) -> list[str]:
    """Parquet column paths, e.g. `images.list.element.bytes`."""

    def walk(prefix: str, kind: pa.DataType) -> list[str]:
        if pa.types.is_list(kind):
            return walk(f"{prefix}.list.element", kind.value_type)
        if pa.types.is_struct(kind):
            return [
                path
                for i in range(kind.num_fields)
                for path in walk(f"{prefix}.{kind.field(i).name}", kind.field(i).type)
            ]
        return [prefix]

    return [path for field in schema for path in walk(field.name, field.type)]


class ParquetStream:
    """Writes records of several splits to `<folder>/<split>-NNNNN.parquet` shards."""

    def __init__(
        self,
        *,
        folder: Path,
        schema: pa.Schema,
        dictionary_columns: list[str],
        row_group_size: int,
        rows_per_shard: int,
    ) -> None:
        self.folder = folder
        self.schema = schema
        self.dictionary_columns = dictionary_columns
        self.row_group_size = row_group_size
        self.rows_per_shard = rows_per_shard
        self._writer: pq.ParquetWriter | None = None
        self._hash: GrowingFileHash | None = None
        self._split: str | None = None
        self._shard = 0
        self._rows_in_shard = 0
        self._buffer: dict[str, list[Any]] = {name: [] for name in schema.names}
        self._buffered = 0
        self.files: list[Path] = []
        # SHA-256 of every file, taken while writing it; complete after close().
        self.checksums: dict[Path, str] = {}
        self._finishing: list[GrowingFileHash] = []
        # Image bytes (PNG/JPEG) are already compressed: zstd only on the rest.
        self.compression = {
            column: "none" if column.endswith("bytes") else "zstd"
            for column in _leaf_paths(schema)
        }

    def append(self, split: str, record: dict[str, Any]) -> None:
        if split != self._split:
            self._close_file()
            self._split, self._shard = split, 0
        elif self._rows_in_shard >= self.rows_per_shard:
            self._close_file()
            self._shard += 1
        for name, column in self._buffer.items():
            column.append(record[name])
        self._buffered += 1
        self._rows_in_shard += 1
        if self._buffered >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if not self._buffered:
            return
        if self._writer is None:
            path = self.folder / f"{self._split}-{self._shard:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                path,
                self.schema,
                compression=self.compression,
                use_dictionary=self.dictionary_columns,
                write_statistics=False,
            )
            self._hash = GrowingFileHash(path)
            self.files.append(path)
        table = pa.Table.from_pydict(self._buffer, schema=self.schema)
        self._writer.write_table(table, row_group_size=self.row_group_size)
        self._hash.advance()
        self._buffer = {name: [] for name in self.schema.names}
        self._buffered = 0

    def _close_file(self) -> None:
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._hash is not None:
            self._hash.writer_closed()  # hashed behind the next file's rows
            self._finishing.append(self._hash)
            self._hash = None
        self._rows_in_shard = 0

    def close(self) -> None:
        self._close_file()
        for hashed in self._finishing:
            self.checksums[hashed.path] = hashed.finish()
        self._finishing = []
