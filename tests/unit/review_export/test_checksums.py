"""HashingFile: the digest taken while writing is the digest of the file."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq

from review.export.checksums import HashingFile, sha256_file


def test_digest_matches_the_bytes_written(tmp_path):
    blocks = [b"first block", bytearray(b"x" * 300_000), memoryview(b"tail")]
    sink = HashingFile(tmp_path / "out.bin")
    for block in blocks:
        sink.write(block)
    sink.close()
    expected = hashlib.sha256(b"".join(bytes(b) for b in blocks)).hexdigest()
    assert sink.sha256 == expected
    assert sha256_file(tmp_path / "out.bin") == expected
    assert (tmp_path / "out.bin").read_bytes() == b"".join(bytes(b) for b in blocks)


def test_parquet_through_the_sink_is_byte_identical_to_a_path(tmp_path):
    table = pa.table({"blob": [bytes([i]) * 5000 for i in range(200)]})
    with pq.ParquetWriter(tmp_path / "direct.parquet", table.schema) as writer:
        writer.write_table(table, row_group_size=64)
    sink = HashingFile(tmp_path / "hashed.parquet")
    with pq.ParquetWriter(sink, table.schema) as writer:
        writer.write_table(table, row_group_size=64)
    sink.close()
    direct = (tmp_path / "direct.parquet").read_bytes()
    assert (tmp_path / "hashed.parquet").read_bytes() == direct
    assert sink.sha256 == hashlib.sha256(direct).hexdigest()
