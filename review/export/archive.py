"""Stream an export folder as one zip archive without building it on disk.

Images are already compressed, so entries are stored; zipfile writes data
descriptors when the output cannot seek, so the archive streams in blocks.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def stream_zip(root: Path, names: Iterable[str], *, prefix: str) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in names:
            info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            with (
                archive.open(info, "w", force_zip64=True) as target,
                (root / name).open("rb") as source,
            ):
                for block in iter(lambda: source.read(1 << 20), b""):
                    target.write(block)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
