"""Writing one document's rows: figures (with their files) and imported items.

`DocumentWriter` lives inside the importer's per-document transaction; it
fetches what it needs to know once per document and remembers the files it
stored, so a rollback can delete them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db.models import Q

from synthesis.ingest.images import CheckedImage
from synthesis.ingest.report import ImportReport
from synthesis.ingest.sources.records import (
    DocumentInfo,
    FigureRecord,
    ItemRecord,
    Reason,
)
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

MAX_GROUP = 6


@dataclass
class PreparedFigure:
    """A record whose image passed the checks, with its figure group."""

    record: FigureRecord
    image: CheckedImage
    group_key: str


class DocumentWriter:
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

    def load(self, entries: list[PreparedFigure]) -> None:
        """One query: figures with these hashes, and members of these groups."""
        shas = {entry.image.sha256 for entry in entries}
        keys = {entry.group_key for entry in entries}
        known = list(Figure.objects.filter(Q(sha256__in=shas) | Q(group_key__in=keys)))
        self.figures = {f.sha256: f for f in known if f.sha256 in shas}
        self.group_sizes = Counter(f.group_key for f in known if f.group_key in keys)

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

    def new_figure(self, entry: PreparedFigure) -> Figure | None:
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
            dct_phash=image.dct_phash,
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


def store_item(
    item: ItemRecord, prepared: list[PreparedFigure], *, writer: DocumentWriter
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
    # An item edited since its import keeps its first question in its first
    # revision: importing the file again must not bring the original back.
    seen = Q(question=item.question) | Q(revisions__before__question=item.question)
    if same_group.filter(seen).exists():
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
    tally.batch_ids.add(batch.pk)


def _joint_key(figures: list[Figure]) -> str:
    seed = ",".join(sorted(figure.sha256 for figure in figures))
    return hashlib.sha256(seed.encode()).hexdigest()[:24]
