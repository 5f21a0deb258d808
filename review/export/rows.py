"""One exported row: an item's latest revision, its images and provenance.

Rows are built a chunk of items at a time, so memory holds at most one chunk
of image bytes whatever the size of the export.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from review.export.selection import Candidate
from synthesis.models import Figure, ItemFigure


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


def load_images(item_ids: Sequence[int]) -> dict[int, list[tuple[ImageBlob, str]]]:
    storage = Figure._meta.get_field("image").storage
    links = (
        ItemFigure.objects.filter(item_id__in=item_ids)
        .order_by("item_id", "position")
        .values_list(
            "item_id", "figure__image", "figure__sha256", "figure__document__license"
        )
    )
    loaded: dict[int, list[tuple[ImageBlob, str]]] = defaultdict(list)
    for item_id, image_name, sha256, license_text in links:
        with storage.open(image_name, "rb") as handle:
            data = handle.read()
        ext = image_name.rsplit(".", 1)[-1].lower() if "." in image_name else "png"
        loaded[item_id].append(
            (ImageBlob(sha256, f"{sha256}.{ext}", data), license_text)
        )
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
        loaded = load_images([c.item_id for c in chunk])
        for candidate in chunk:
            options, answer = letters.get(
                candidate.item_id, (candidate.options, candidate.answer)
            )
            images = loaded.get(candidate.item_id, [])
            yield ExportRow(
                split=split,
                dataset_name=dataset_name,
                candidate=candidate,
                options=options,
                answer_label=answer,
                images=tuple(blob for blob, _ in images),
                licenses=tuple(dict.fromkeys(text for _, text in images)),
            )
