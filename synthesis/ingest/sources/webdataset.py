"""Biomedica-style webdataset shards: `.tar` files of image + JSON samples.

Members of one sample share a key (the path up to the first dot of the file
name) and sit next to each other, so the shard is streamed once, holding
only the current sample in memory; nothing is extracted to disk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from synthesis.ingest.sources import archives
from synthesis.ingest.sources.records import (
    DocumentInfo,
    FigureRecord,
    ImportLimits,
    Reason,
    Record,
    Skipped,
    clean_text,
    license_family,
)
from synthesis.vocabulary import canonical_anatomy, canonical_modality

IMAGE_SUFFIXES = {"jpg", "jpeg", "png", "tif", "tiff"}
_NO_CAPTION = {"", "no caption found"}


def sample_key(name: str) -> tuple[str, str]:
    """Split a member name: "a/b.x.jpg" -> ("a/b", "x.jpg")."""
    path = PurePosixPath(name)
    stem, _, suffix = path.name.partition(".")
    return str(path.parent / stem), suffix.lower()


def read(path: Path, *, limits: ImportLimits) -> Iterator[Record]:
    shard = path.name
    current: str | None = None
    sample: dict[str, bytes] = {}
    with archives.open_archive(str(path), streaming=True) as archive:
        for entry in archives.iter_members(archive, limits=limits, source=shard):
            if isinstance(entry, Skipped):
                yield entry
                continue
            key, suffix = sample_key(entry.name)
            if key != current and current is not None:
                yield from sample_records(sample, shard=shard, key=current)
                sample = {}
            current = key
            sample[suffix] = entry.data
    if current is not None:
        yield from sample_records(sample, shard=shard, key=current)


def sample_records(
    sample: dict[str, bytes], *, shard: str, key: str
) -> Iterator[Record]:
    source_key = f"{shard}::{key}"
    image_suffix = next((s for s in sample if s in IMAGE_SUFFIXES), None)
    if image_suffix is None:
        yield Skipped(Reason.IMAGE_MISSING, source_key, f"members: {sorted(sample)}")
        return
    try:
        meta = json.loads(sample["json"]) if "json" in sample else {}
        if not isinstance(meta, dict):
            raise ValueError("metadata is not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        yield Skipped(Reason.METADATA_INVALID, source_key, str(exc)[:200])
        return
    image_id = str(meta.get("image_id") or meta.get("image_cluster_id") or key)
    caption = _caption(meta, image_id) or clean_text(
        sample.get("txt", b"").decode("utf-8", "replace")
    )
    primary = _labels(meta.get("image_primary_label"))
    secondary = _labels(meta.get("image_secondary_label"))
    yield FigureRecord(
        document=_document(meta, shard=shard, key=key),
        image_bytes=sample[image_suffix],
        image_name=f"{PurePosixPath(key).name}.{image_suffix}",
        caption="" if caption.lower() in _NO_CAPTION else caption,
        source_key=source_key,
        mentions=tuple(_context(meta.get("image_context"), image_id)),
        label=clean_text(str(meta.get("image_panel_subtype") or ""))[:100],
        modality=_first(canonical_modality, secondary + primary),
        anatomy=_first(canonical_anatomy, secondary),
        source_labels={"primary": primary, "secondary": secondary, "id": image_id},
    )


def _document(meta: dict[str, Any], *, shard: str, key: str) -> DocumentInfo:
    accession = clean_text(str(meta.get("article_accession_id") or ""))
    pmid = clean_text(str(meta.get("pmid") or ""))
    license_text = clean_text(str(meta.get("article_license") or ""))
    url = license_text if license_text.startswith("http") else ""
    year = str(meta.get("article_date") or "")[:4]
    return DocumentInfo(
        source_id=accession or (f"pmid:{pmid}" if pmid else f"wds:{shard}:{key}"),
        source_kind="webdataset",
        pmcid=accession if accession.upper().startswith("PMC") else "",
        doi=clean_text(str(meta.get("article_doi") or ""))[:255],
        title=clean_text(str(meta.get("article_title") or "")),
        journal=clean_text(str(meta.get("article_journal") or ""))[:500],
        year=int(year) if year.isdigit() and 1800 <= int(year) <= 2200 else None,
        license=license_text[:200],
        license_url=url[:500],
        license_family=license_family(url=url, text=license_text),
    )


def _caption(meta: dict[str, Any], image_id: str) -> str:
    if meta.get("caption"):
        return clean_text(str(meta["caption"]))
    for entry in meta.get("image_set") or []:
        if isinstance(entry, dict) and str(entry.get("image_id")) == image_id:
            return clean_text(str(entry.get("caption") or ""))
    return ""


def _context(context: Any, image_id: str) -> list[str]:
    """Citing sentences: a dict (or list of dicts) keyed by image id, or a list."""
    if isinstance(context, dict):
        context = context.get(image_id, [])
    elif isinstance(context, list) and context and isinstance(context[0], dict):
        context = [s for part in context for s in part.get(image_id, [])]
    if isinstance(context, str):
        context = [context]
    sentences = [clean_text(str(s)) for s in context or [] if str(s).strip()]
    return list(dict.fromkeys(sentences))


def _labels(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    return [clean_text(str(v)) for v in value or [] if str(v).strip()]


def _first(canonical, labels: list[str]) -> str:
    for label in labels:
        value = canonical(label)
        if value:
            return value
    return ""
