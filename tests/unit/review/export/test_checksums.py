"""GrowingFileHash: the digest taken while a file grows is the digest of the file."""

from __future__ import annotations

import hashlib
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from review.export.checksums import GrowingFileHash, sha256_file


def test_digest_matches_the_bytes_appended(tmp_path):
    path = tmp_path / "out.bin"
    blocks = [b"first block", b"x" * 3_000_000, b"", b"tail"]
    with path.open("wb", buffering=0) as handle:
        hasher = GrowingFileHash(path)
        for block in blocks:
            handle.write(block)
            hasher.advance()
        handle.write(b"after the last advance")
    digest = hasher.finish()
    expected = hashlib.sha256(b"".join(blocks) + b"after the last advance").hexdigest()
    assert digest == expected
    assert sha256_file(path) == expected


def test_parquet_hashed_while_written_matches_the_finished_file(tmp_path):
    path = tmp_path / "hashed.parquet"
    table = pa.table({"blob": [bytes([i]) * 5000 for i in range(200)]})
    writer = pq.ParquetWriter(path, table.schema)
    hasher = GrowingFileHash(path)
    for start in range(0, 200, 64):
        writer.write_table(table.slice(start, 64))
        hasher.advance()
    writer.close()
    assert hasher.finish() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pq.read_table(path).equals(table)


def test_a_file_that_shrinks_under_the_hash_is_an_error(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"x" * 10_000)
    hasher = GrowingFileHash(path)
    hasher.advance()
    os.truncate(path, 10)
    with pytest.raises(OSError, match="changed while it was hashed"):
        hasher.finish()
