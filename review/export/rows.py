"""One exported row: an item's latest revision, its images and provenance.

Rows are built a chunk of items at a time, so memory holds at most one chunk
of image bytes whatever the size of the export.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from django.core.exceptions import SuspiciousFileOperation

from review.export.selection import Candidate
from synthesis.models import Figure


@dataclass(frozen=True)
class ImageBlob:
    sha256: str
    name: str
    data: bytes


@dataclass(frozen=True)
class ExportRow:
    split: str
    dataset_name: str
    candidate: Candidate
    options: dict[str, str]
    answer_label: str
    images: tuple[ImageBlob, ...]
    licenses: tuple[str, ...]

    @property
    def answer(self) -> str:
        return self.options.get(self.answer_label, "")

    @property
    def index(self) -> int:
        return self.candidate.item_id


def _reader() -> Callable[[str], bytes]:
    """Read a stored image; straight from disk when the storage has paths.

    Django's `Storage.open` wraps every file in a `File` object: for ten
    thousand images that was half a second of an export's time.
    """
    storage = Figure._meta.get_field("image").storage

    def from_storage(name: str) -> bytes:
        with storage.open(name, "rb") as handle:
            return handle.read()

    try:
        root = storage.path("")
    except NotImplementedError:
        return from_storage

    def from_disk(name: str) -> bytes:
        # `storage.path`'s containment check, without its cost per file.
        if name.startswith("/") or ".." in name.split("/"):
            raise SuspiciousFileOperation(f"image name outside MEDIA_ROOT: {name}")
        with open(os.path.join(root, name), "rb", buffering=0) as handle:
            return handle.readall()

    return from_disk


def load_images(candidates: Sequence[Candidate]) -> dict[int, tuple[ImageBlob, ...]]:
    """The image bytes of a chunk of candidates, by item id."""
    read = _reader()
    loaded: dict[int, tuple[ImageBlob, ...]] = {}
    for c in candidates:
        blobs = []
        for sha256, name in zip(c.sha256s, c.image_names, strict=True):
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else "png"
            blobs.append(ImageBlob(sha256, f"{sha256}.{ext}", read(name)))
        loaded[c.item_id] = tuple(blobs)
    return loaded


def iter_rows(
    *,
    split: str,
    candidates: Sequence[Candidate],
    letters: dict[int, tuple[dict[str, str], str]],
    dataset_name: str,
    chunk_size: int = 256,
) -> Iterator[ExportRow]:
    """Rows of one split in the given (deterministic) order."""
    for start in range(0, len(candidates), chunk_size):
        chunk = candidates[start : start + chunk_size]
        loaded = load_images(chunk)
        for candidate in chunk:
            options, answer = letters.get(
                candidate.item_id, (candidate.options, candidate.answer)
            )
            yield ExportRow(
                split=split,
                dataset_name=dataset_name,
                candidate=candidate,
                options=options,
                answer_label=answer,
                images=loaded[candidate.item_id],
                licenses=candidate.licenses,
            )
