"""SHA-256 of export files, taken while they are written.

Hashing half a gigabyte after the fact cost a quarter of an export's time.
`GrowingFileHash` hashes a file while another writer appends to it: after
each write the writer calls `advance()`, and a helper thread reads the new
bytes back (from the page cache) and hashes them; hashlib releases the GIL,
so this runs beside the building of the next row group. The writer itself
stays native (pyarrow writes straight to the path, with no Python call per
block), and nothing is buffered in between, so memory stays flat.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

BLOCK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class GrowingFileHash:
    """SHA-256 of an append-only file, taken as it grows.

    Only bytes below the size seen at the last `advance()` are hashed before
    `writer_closed()`: those were written by calls that have returned, so they
    are final. `finish()` waits for the digest, so the writer can go on to its
    next file while the last one is still being hashed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._digest = hashlib.sha256()
        # One reused block: fresh megabyte allocations cost a page fault per page.
        self._buffer = memoryview(bytearray(BLOCK))
        self._hashed = 0
        self._target = 0
        self._done = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def advance(self) -> None:
        """The writer has written more: hash up to the file's current size."""
        size = os.fstat(self._fd).st_size
        with self._changed:
            self._target = max(self._target, size)  # append-only
            self._changed.notify()

    def writer_closed(self) -> None:
        """The file is complete: hash the rest (without waiting for it)."""
        self.advance()
        with self._changed:
            self._done = True
            self._changed.notify()

    def finish(self) -> str:
        """Wait for the hash of the complete file and return it."""
        if not self._done:
            self.writer_closed()
        self._thread.join()
        size = os.fstat(self._fd).st_size
        os.close(self._fd)
        if self._error is not None:
            raise self._error
        if self._hashed != size:
            raise OSError(f"{self.path} changed while it was hashed")
        return self._digest.hexdigest()

    def _run(self) -> None:
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(
                        lambda: self._done or self._target > self._hashed
                    )
                    target, done = self._target, self._done
                self._hash_to(target)
                if done:
                    return
        except BaseException as exc:  # re-raised by finish()
            self._error = exc

    def _hash_to(self, target: int) -> None:
        view = self._buffer
        while self._hashed < target:
            want = min(BLOCK, target - self._hashed)
            got = os.preadv(self._fd, [view[:want]], self._hashed)
            if not got:
                raise OSError(f"{self.path} changed while it was hashed")
            self._digest.update(view[:got])
            self._hashed += got
