"""Turn source records into Documents, Figures and (for VQA datasets) Items.

Each document is written in one transaction: an error half way rolls back
its rows and deletes the image files it had stored, and the import carries
on with the next document. Every record that is not imported is counted
under a specific reason in the `ImportReport`, with the first examples kept.
Images are stored content-addressed (sha256 of the re-encoded bytes), so
importing the same source again creates nothing new.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count

from synthesis import images, sources
from synthesis.models import (
    Batch,
    BatchKind,
    BatchStatus,
    Document,
    Figure,
    Item,
    ItemFigure,
    ItemStatus,
)
from synthesis.sources.records import (
    DocumentInfo,
    FigureRecord,
    ImportLimits,
    ItemRecord,
    Reason,
    Record,
    Skipped,
)
from synthesis.vocabulary import canonical_modality

logger = logging.getLogger(__name__)
MAX_GROUP = 6
EXAMPLES_PER_REASON = 5


@dataclass(frozen=True)
class ImportOptions:
    """Curation choices (method §2.A) and size limits for one import."""

    modalities: frozenset[str] = frozenset()
    min_caption_chars: int = 1
    min_image_side: int = 1
    group_identical_captions: bool = True
    limits: ImportLimits = field(default_factory=ImportLimits)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportOptions:
        return cls(
            modalities=frozenset(
                canonical_modality(m) or m for m in data.get("modalities") or []
            ),
            min_caption_chars=max(1, int(data.get("min_caption_chars") or 1)),
            min_image_side=max(1, int(data.get("min_image_side") or 1)),
            group_identical_captions=bool(data.get("group_identical_captions", True)),
        )


@dataclass
class ImportReport:
    records_seen: int = 0
    documents_created: int = 0
    figures_created: int = 0
    items_created: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def skip(self, reason: str, source_key: str, detail: str = "") -> None:
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append({"source": source_key[:300], "detail": detail[:300]})

    def merge(self, other: ImportReport) -> None:
        self.documents_created += other.documents_created
        self.figures_created += other.figures_created
        self.items_created += other.items_created
        for reason, examples in other.examples.items():
            for example in examples:
                self.skip(reason, example["source"], example["detail"])
            self.skipped[reason] += other.skipped[reason] - len(examples)

    def as_dict(self) -> dict[str, Any]:
        return {
            "records_seen": self.records_seen,
            "documents_created": self.documents_created,
            "figures_created": self.figures_created,
            "items_created": self.items_created,
            "skipped_total": sum(self.skipped.values()),
            "skipped": dict(self.skipped.most_common()),
            "examples": self.examples,
        }


def import_path(
    *,
    path: Path,
    source_format: str | None = None,
    options: ImportOptions,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import everything at `path` (format detected when not given)."""
    records = sources.read(path, source_format=source_format, limits=options.limits)
    return import_records(records=records, options=options, on_progress=on_progress)


def import_records(
    *,
    records: Iterable[Record],
    options: ImportOptions,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Consume records, writing one document (with its figures) at a time."""
    report = ImportReport()
    pending: list[FigureRecord | ItemRecord] = []
    for record in records:
        report.records_seen += 1
        if isinstance(record, Skipped):
            report.skip(record.reason, record.source_key, record.detail)
        else:
            if pending and _source_id(pending[0]) != _source_id(record):
                _import_document(pending, options=options, report=report)
                pending = []
            pending.append(record)
        if on_progress:
            on_progress(report.records_seen)
    if pending:
        _import_document(pending, options=options, report=report)
    return report


def _source_id(record: FigureRecord | ItemRecord) -> str:
    if isinstance(record, ItemRecord):
        return record.figures[0].document.source_id
    return record.document.source_id


@dataclass
class _Prepared:
    record: FigureRecord
    image: images.CheckedImage
    group_key: str


def _import_document(
    records: list[FigureRecord | ItemRecord],
    *,
    options: ImportOptions,
    report: ImportReport,
) -> None:
    """Validate outside the transaction, then write the document in one."""
    tally = ImportReport()
    figures = [r for r in records if isinstance(r, FigureRecord)]
    prepared = _drop_large_groups(
        [p for r in figures if (p := _prepare(r, options=options, tally=tally))],
        tally=tally,
    )
    items = [
        (item, prepared_figures)
        for item in records
        if isinstance(item, ItemRecord)
        and (prepared_figures := _prepare_item(item, options=options, tally=tally))
    ]
    writer = _DocumentWriter(tally=tally)
    try:
        with transaction.atomic():
            writer.load([*prepared, *(e for _, entries in items for e in entries)])
            for entry in prepared:
                if entry.image.sha256 in writer.figures:
                    existing = writer.figures[entry.image.sha256].pk
                    detail = f"same as figure {existing}"
                    tally.skip(Reason.DUPLICATE_IMAGE, entry.record.source_key, detail)
                else:
                    writer.new_figure(entry)
            for item, prepared_figures in items:
                _store_item(item, prepared_figures, writer=writer)
    except Exception as exc:
        # One bad document must never end the import: roll back, report, go on.
        logger.exception("import of %s failed", _source_id(records[0]))
        for name in writer.stored:
            default_storage.delete(name)
        report.skip(Reason.DOCUMENT_FAILED, _source_id(records[0]), repr(exc))
        return
    report.merge(tally)


def _prepare(
    record: FigureRecord,
    *,
    options: ImportOptions,
    tally: ImportReport,
    for_item: bool = False,
) -> _Prepared | None:
    key = record.source_key
    if record.caption_required and not for_item:
        if not record.caption:
            tally.skip(Reason.CAPTION_MISSING, key, record.label)
            return None
        if len(record.caption) < options.min_caption_chars:
            tally.skip(Reason.CAPTION_TOO_SHORT, key, record.caption[:80])
            return None
    if (
        options.modalities
        and not for_item
        and record.modality not in options.modalities
    ):
        tally.skip(Reason.MODALITY_NOT_SELECTED, key, record.modality or "no label")
        return None
    try:
        checked = images.check_image(
            record.image_bytes,
            max_pixels=options.limits.max_pixels,
            min_side=options.min_image_side,
        )
    except images.ImageRejected as exc:
        tally.skip(exc.reason, key, exc.detail or record.image_name)
        return None
    if options.group_identical_captions and record.caption:
        seed = f"{record.document.source_id}\n{record.caption}"
        group_key = hashlib.sha256(seed.encode()).hexdigest()[:24]
    else:
        group_key = checked.sha256[:24]
    return _Prepared(record, checked, group_key)


def _drop_large_groups(
    prepared: list[_Prepared], *, tally: ImportReport
) -> list[_Prepared]:
    """Identical-caption groups of more than six images are dropped whole."""
    sizes = Counter(entry.group_key for entry in prepared)
    kept = []
    for entry in prepared:
        if sizes[entry.group_key] > MAX_GROUP:
            detail = f"{sizes[entry.group_key]} images share one caption"
            tally.skip(Reason.GROUP_TOO_LARGE, entry.record.source_key, detail)
        else:
            kept.append(entry)
    return kept


def _prepare_item(
    item: ItemRecord, *, options: ImportOptions, tally: ImportReport
) -> list[_Prepared] | None:
    prepared = []
    for record in item.figures:
        entry = _prepare(record, options=options, tally=tally, for_item=True)
        if entry is None:
            tally.skip(Reason.ITEM_INVALID, item.source_key, "an image was refused")
            return None
        prepared.append(entry)
    return prepared


class _DocumentWriter:
    """Writes one document's rows inside its transaction, with few queries.

    Known figures and group sizes are fetched once per document; files it
    stores are listed so a rollback can delete them.
    """

    def __init__(self, *, tally: ImportReport) -> None:
        self.tally = tally
        self.stored: list[str] = []
        self.figures: dict[str, Figure] = {}
        self.group_sizes: Counter = Counter()
        self._documents: dict[str, Document] = {}

    def load(self, entries: list[_Prepared]) -> None:
        shas = {entry.image.sha256 for entry in entries}
        self.figures = {f.sha256: f for f in Figure.objects.filter(sha256__in=shas)}
        keys = {entry.group_key for entry in entries}
        sizes = (
            Figure.objects.filter(group_key__in=keys)
            .values_list("group_key")
            .annotate(n=Count("id"))
        )
        self.group_sizes = Counter(dict(sizes))

    def document(self, info: DocumentInfo) -> Document:
        if info.source_id not in self._documents:
            document, created = Document.objects.get_or_create(
                source_id=info.source_id[:200],
                defaults={
                    "source_kind": info.source_kind,
                    "pmcid": info.pmcid[:20],
                    "doi": info.doi[:255],
                    "title": info.title,
                    "journal": info.journal[:500],
                    "year": info.year,
                    "license": info.license[:200],
                    "license_url": info.license_url[:500],
                    "license_family": info.license_family,
                },
            )
            self.tally.documents_created += int(created)
            self._documents[info.source_id] = document
        return self._documents[info.source_id]

    def new_figure(self, entry: _Prepared) -> Figure | None:
        record, image = entry.record, entry.image
        if self.group_sizes[entry.group_key] >= MAX_GROUP:
            detail = "its group already has six images"
            self.tally.skip(Reason.GROUP_TOO_LARGE, record.source_key, detail)
            return None
        figure = Figure(
            document=self.document(record.document),
            width=image.width,
            height=image.height,
            sha256=image.sha256,
            phash=image.phash,
            caption=record.caption,
            mentions=list(record.mentions),
            label=record.label[:100],
            subfigure=record.subfigure[:20],
            group_key=entry.group_key,
            source_key=record.source_key[:500],
            modality=record.modality,
            anatomy=record.anatomy,
            source_labels=record.source_labels,
        )
        name = f"{image.sha256}.{image.extension}"
        figure.image.save(name, ContentFile(image.data), save=False)
        self.stored.append(figure.image.name)
        figure.save()
        self.figures[image.sha256] = figure
        self.group_sizes[entry.group_key] += 1
        self.tally.figures_created += 1
        return figure


def _store_item(
    item: ItemRecord, prepared: list[_Prepared], *, writer: _DocumentWriter
) -> None:
    tally = writer.tally
    figures = [
        writer.figures.get(entry.image.sha256) or writer.new_figure(entry)
        for entry in prepared
    ]
    figures = list(dict.fromkeys(f for f in figures if f is not None))
    if not figures:
        tally.skip(Reason.ITEM_INVALID, item.source_key, "no image could be stored")
        return
    batch, _ = Batch.objects.get_or_create(
        name=f"Imported: {item.dataset_name}"[:200],
        kind=BatchKind.IMPORTED,
        defaults={
            "status": BatchStatus.COMPLETED,
            "config": {"source": "vqa", "dataset_name": item.dataset_name},
        },
    )
    group_keys = {figure.group_key for figure in figures}
    group_key = group_keys.pop() if len(group_keys) == 1 else _joint_key(figures)
    same_group = Item.objects.filter(batch=batch, group_key=group_key)
    if same_group.filter(question=item.question).exists():
        tally.skip(Reason.DUPLICATE_ITEM, item.source_key, item.question[:80])
        return
    created = Item.objects.create(
        batch=batch,
        group_key=group_key,
        sample_index=same_group.count(),
        question=item.question,
        options=item.options,
        answer=item.answer,
        # Imported items come from a dataset already filtered by its makers;
        # they go straight to the review queue rather than to our verifier.
        status=ItemStatus.KEPT,
        modality=figures[0].modality,
        anatomy=figures[0].anatomy,
        question_type=item.question_type,
        flags=["imported"],
        generator_model=f"imported:{item.dataset_name}"[:200],
    )
    ItemFigure.objects.bulk_create(
        ItemFigure(item=created, figure=figure, position=position)
        for position, figure in enumerate(figures)
    )
    tally.items_created += 1


def _joint_key(figures: list[Figure]) -> str:
    seed = ",".join(sorted(figure.sha256 for figure in figures))
    return hashlib.sha256(seed.encode()).hexdigest()[:24]
