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

from django.core.files.storage import default_storage
from django.db import transaction

from synthesis import services as synthesis_services
from synthesis.ingest import images, sources
from synthesis.ingest.report import ImportReport
from synthesis.ingest.sources.records import (
    FigureRecord,
    ImportLimits,
    ItemRecord,
    Reason,
    Record,
    Skipped,
)
from synthesis.ingest.writer import (
    MAX_GROUP,
    DocumentWriter,
    PreparedFigure,
    store_item,
)
from synthesis.vocabulary import canonical_modality

__all__ = ["ImportOptions", "ImportReport", "import_path", "import_records"]

logger = logging.getLogger(__name__)


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
    for batch_id in sorted(report.batch_ids):
        synthesis_services.record_import(batch_id=batch_id, import_job_id=None)
    return report


def _source_id(record: FigureRecord | ItemRecord) -> str:
    if isinstance(record, ItemRecord):
        return record.figures[0].document.source_id
    return record.document.source_id


def _import_document(
    records: list[FigureRecord | ItemRecord],
    *,
    options: ImportOptions,
    report: ImportReport,
) -> None:
    """Validate outside the transaction, then write the document in one.

    Skips found while checking stand even if the write fails; what the write
    counted (rows created, duplicates) is kept only once it has committed.
    """
    checks, tally = ImportReport(), ImportReport()
    figures = [r for r in records if isinstance(r, FigureRecord)]
    prepared = _drop_large_groups(
        [p for r in figures if (p := _prepare(r, options=options, tally=checks))],
        tally=checks,
    )
    items = [
        (item, prepared_figures)
        for item in records
        if isinstance(item, ItemRecord)
        and (prepared_figures := _prepare_item(item, options=options, tally=checks))
    ]
    writer = DocumentWriter(tally=tally)
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
                store_item(item, prepared_figures, writer=writer)
    except Exception as exc:
        # One bad document must never end the import: roll back, report, go on.
        logger.exception("import of %s failed", _source_id(records[0]))
        for name in writer.stored:
            default_storage.delete(name)
        report.merge(checks)
        report.skip(Reason.DOCUMENT_FAILED, _source_id(records[0]), repr(exc))
        return
    report.merge(checks)
    report.merge(tally)


def _prepare(
    record: FigureRecord,
    *,
    options: ImportOptions,
    tally: ImportReport,
    for_item: bool = False,
) -> PreparedFigure | None:
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
    return PreparedFigure(record, checked, group_key)


def _drop_large_groups(
    prepared: list[PreparedFigure], *, tally: ImportReport
) -> list[PreparedFigure]:
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
) -> list[PreparedFigure] | None:
    prepared = []
    for record in item.figures:
        entry = _prepare(record, options=options, tally=tally, for_item=True)
        if entry is None:
            tally.skip(Reason.ITEM_INVALID, item.source_key, "an image was refused")
            return None
        prepared.append(entry)
    return prepared
