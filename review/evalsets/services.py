"""Every write of evaluation sets: registering a benchmark, storing a snapshot.

A benchmark is read through the VQA import reader (its layout adapted by
`layouts.py`), every image passes the import's image checks (re-encoded,
hashed), and every item is embedded once, here, with the vectors cached by
content hash. The set, its items and its audit event are written in one
transaction; image files are content-addressed, so one left behind by a failed
registration is simply reused by the next.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from medsyn_app.audit import services as audit
from review.evalsets import embeddings, layouts
from review.evalsets.models import (
    Benchmark,
    EvaluationImage,
    EvaluationItem,
    EvaluationItemImage,
    EvaluationSet,
    SetKind,
)
from review.models import Export
from synthesis.ingest.images import ImageRejected, check_image
from synthesis.ingest.sources import vqa
from synthesis.ingest.sources.records import ImportLimits, ItemRecord, Skipped

EXAMPLES_PER_REASON = 5


class EvaluationSetError(ValueError):
    """A set that cannot be registered or stored; the message says why."""


@dataclass(frozen=True)
class NewImage:
    """An image for a new item: its stored name (already saved) and hashes."""

    sha256: str
    name: str
    width: int
    height: int
    dct_phash: str


@dataclass(frozen=True)
class NewItem:
    question: str
    options: dict[str, str]
    answer: str
    images: tuple[NewImage, ...]
    benchmark: str = ""
    modality: str = ""
    anatomy: str = ""
    question_type: str = ""
    source_key: str = ""
    source_item_id: int | None = None


@dataclass
class Tally:
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def skip(self, reason: str, source: str, detail: str) -> None:
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append({"source": source[:300], "detail": detail[:300]})


def store_image(data: bytes, *, limits: ImportLimits | None = None) -> NewImage:
    """Check, re-encode and store one image (content-addressed)."""
    limits = limits or ImportLimits()
    checked = check_image(data, max_pixels=limits.max_pixels)
    name = f"evalsets/{checked.sha256[:2]}/{checked.sha256}.{checked.extension}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(checked.data))
    return NewImage(
        checked.sha256, name, checked.width, checked.height, checked.dct_phash
    )


def _read_benchmark(
    path: Path, *, benchmark: str, limits: ImportLimits
) -> tuple[list[NewItem], Tally]:
    tally = Tally()
    items: list[NewItem] = []
    records = vqa.read(
        path,
        limits=limits,
        adapt=layouts.ADAPTERS[benchmark],
        letters=layouts.LETTERS,
    )
    for record in records:
        tally.rows += 1
        if isinstance(record, Skipped):
            tally.skip(record.reason, record.source_key, record.detail)
            continue
        if not isinstance(record, ItemRecord):
            continue  # the VQA reader yields items or skips only
        try:
            images = tuple(
                store_image(f.image_bytes, limits=limits) for f in record.figures
            )
        except ImageRejected as exc:
            tally.skip(exc.reason, record.source_key, exc.detail)
            continue
        first = record.figures[0]
        items.append(
            NewItem(
                question=record.question,
                options=record.options,
                answer=record.answer,
                images=images,
                # A mixed file names each row's benchmark in dataset_name.
                benchmark=(
                    record.dataset_name
                    if benchmark == Benchmark.OTHER
                    and record.dataset_name != "imported"
                    else benchmark
                ),
                modality=first.modality,
                anatomy=first.anatomy,
                question_type=record.question_type,
                source_key=record.source_key,
            )
        )
    return items, tally


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_benchmark(
    *,
    path: Path,
    benchmark: str,
    split: str,
    name: str = "",
    license: str = "",
    created_by: Any = None,
    limits: ImportLimits | None = None,
) -> EvaluationSet:
    """Read a benchmark's released file into a new registered set."""
    path = Path(path)
    if benchmark not in Benchmark.values:
        raise EvaluationSetError(
            f"benchmark must be one of {', '.join(Benchmark.values)}, not {benchmark!r}"
        )
    if not path.is_file() or path.suffix.lower() not in {".parquet", ".jsonl"}:
        raise EvaluationSetError(
            f"{path.name!r} must be an existing .parquet or .jsonl"
        )
    if not split.strip():
        raise EvaluationSetError("a benchmark needs its split (test, validation, ...)")
    name = name.strip() or f"{Benchmark(benchmark).label} {split.strip()}"
    if EvaluationSet.objects.filter(name=name).exists():
        raise EvaluationSetError(f"an evaluation set named {name!r} already exists")
    items, tally = _read_benchmark(
        path, benchmark=benchmark, limits=limits or ImportLimits()
    )
    if not items:
        raise EvaluationSetError(
            f"{path.name}: no usable rows in {tally.rows} "
            f"(skipped: {dict(tally.skipped) or 'none'})"
        )
    # Embedded before the transaction: the cache rows stand on their own, and
    # no write lock waits for the model.
    embeddings.embed_cached(
        [embeddings.embedding_text(i.question, i.options) for i in items]
    )
    report = {
        "rows": tally.rows,
        "items": len(items),
        "skipped": dict(tally.skipped.most_common()),
        "examples": tally.examples,
    }
    return store_set(
        name=name,
        kind=SetKind.BENCHMARK,
        benchmark=benchmark,
        split=split.strip(),
        license=license.strip(),
        source_name=path.name,
        source_sha256=_sha256_file(path),
        items=items,
        report=report,
        embedding_model=embeddings.MODEL_NAME,
        created_by=created_by,
    )


@transaction.atomic
def store_set(
    *,
    name: str,
    kind: str,
    split: str,
    items: list[NewItem],
    benchmark: str = "",
    license: str = "",
    source_name: str = "",
    source_sha256: str = "",
    export: Export | None = None,
    report: dict[str, Any] | None = None,
    embedding_model: str = "",
    created_by: Any = None,
) -> EvaluationSet:
    """Write a set and its items (images stored already) in one transaction."""
    if EvaluationSet.objects.filter(name=name).exists():
        raise EvaluationSetError(f"an evaluation set named {name!r} already exists")
    evaluation_set = EvaluationSet.objects.create(
        name=name,
        kind=kind,
        benchmark=benchmark,
        split=split,
        license=license[:200],
        source_name=source_name[:255],
        source_sha256=source_sha256,
        export=export,
        item_count=len(items),
        embedding_model=embedding_model,
        report=report or {},
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    shas = {image.sha256: image for item in items for image in item.images}
    known = {i.sha256: i for i in EvaluationImage.objects.filter(sha256__in=list(shas))}
    EvaluationImage.objects.bulk_create(
        [
            EvaluationImage(
                sha256=image.sha256,
                image=image.name,
                width=image.width,
                height=image.height,
                dct_phash=image.dct_phash,
            )
            for sha, image in shas.items()
            if sha not in known
        ],
        ignore_conflicts=True,
    )
    images = {
        i.sha256: i for i in EvaluationImage.objects.filter(sha256__in=list(shas))
    }
    rows = EvaluationItem.objects.bulk_create(
        [
            EvaluationItem(
                evaluation_set=evaluation_set,
                index=index,
                benchmark=item.benchmark[:40],
                question=item.question,
                options=item.options,
                answer=item.answer,
                modality=item.modality[:50],
                anatomy=item.anatomy[:50],
                question_type=item.question_type[:60],
                source_key=item.source_key[:300],
                source_item_id=item.source_item_id,
                text_sha256=embeddings.text_key(
                    embeddings.embedding_text(item.question, item.options)
                ),
            )
            for index, item in enumerate(items)
        ],
        batch_size=500,
    )
    links = [
        EvaluationItemImage(item=row, image=images[image.sha256], position=position)
        for row, item in zip(rows, items, strict=True)
        for position, image in enumerate(item.images)
    ]
    EvaluationItemImage.objects.bulk_create(links, batch_size=1000)
    evaluation_set.image_count = len(shas)
    evaluation_set.save(update_fields=["image_count"])
    audit.record(
        "evalsets.create",
        target=evaluation_set,
        after={
            "name": name,
            "kind": kind,
            "benchmark": benchmark,
            "split": split,
            "items": len(items),
            "source": source_name,
            "export": export.pk if export else None,
        },
    )
    return evaluation_set
