"""A folder of images described by a CSV or JSONL manifest.

Manifest columns: `image` (a path inside the folder), `caption`, and
optionally `mentions` (a JSON list, or sentences separated by " | "),
`modality`, `anatomy`, `label`, `source_id`, `title`, `journal`, `year`,
`doi`, `pmcid`, `license`, `license_url`. Image paths that leave the folder
or are links are refused.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from synthesis.ingest.sources.records import (
    DocumentInfo,
    FigureRecord,
    ImportLimits,
    Reason,
    Record,
    Skipped,
    clean_text,
    jsonl_rows,
    license_family,
)
from synthesis.vocabulary import canonical_anatomy, canonical_modality

MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")


def find_manifest(root: Path) -> Path | None:
    for name in MANIFEST_NAMES:
        if (root / name).is_file():
            return root / name
    found = sorted([*root.glob("*.jsonl"), *root.glob("*.csv")])
    return found[0] if len(found) == 1 else None


def read(path: Path, *, limits: ImportLimits) -> Iterator[Record]:
    manifest = path if path.is_file() else find_manifest(path)
    if manifest is None:
        yield Skipped(Reason.METADATA_INVALID, path.name, "no manifest.csv/.jsonl")
        return
    root = manifest.parent
    for number, row in _rows(manifest):
        key = f"{manifest.name}:{number}"
        if isinstance(row, Skipped):
            yield row
            continue
        image_path = str(row.get("image") or row.get("image_path") or "")
        data = _image_bytes(root, image_path, key=key, limits=limits)
        if isinstance(data, Skipped):
            yield data
            continue
        yield _record(row, data=data, key=f"{key}:{image_path}", name=image_path)


def _rows(manifest: Path) -> Iterator[tuple[int, dict[str, Any] | Skipped]]:
    with manifest.open(encoding="utf-8", newline="") as handle:
        if manifest.suffix.lower() == ".csv":
            yield from enumerate(csv.DictReader(handle), start=2)
        else:
            yield from jsonl_rows(handle, name=manifest.name, start=1)


def _image_bytes(
    root: Path, relative: str, *, key: str, limits: ImportLimits
) -> bytes | Skipped:
    posix = PurePosixPath(relative.replace("\\", "/"))
    if not relative or posix.is_absolute() or ".." in posix.parts or ":" in relative:
        return Skipped(Reason.UNSAFE_PATH, key, repr(relative))
    target = root / posix
    if any(p.is_symlink() for p in [target, *target.parents] if root in p.parents):
        return Skipped(Reason.LINK_MEMBER, key, repr(relative))
    if not target.resolve().is_relative_to(root.resolve()):
        return Skipped(Reason.UNSAFE_PATH, key, repr(relative))
    if not target.is_file():
        return Skipped(Reason.IMAGE_MISSING, key, repr(relative))
    if target.stat().st_size > limits.max_member_bytes:
        return Skipped(Reason.MEMBER_TOO_LARGE, key, repr(relative))
    return target.read_bytes()


def _record(row: dict[str, Any], *, data: bytes, key: str, name: str) -> FigureRecord:
    license_text = clean_text(row.get("license"))
    license_url = clean_text(row.get("license_url"))
    year = clean_text(str(row.get("year") or ""))
    document = DocumentInfo(
        source_id=clean_text(str(row.get("source_id") or "")) or f"folder:{name}",
        source_kind="folder",
        pmcid=clean_text(row.get("pmcid")),
        doi=clean_text(row.get("doi")),
        title=clean_text(row.get("title")),
        journal=clean_text(row.get("journal"))[:500],
        year=int(year) if year.isdigit() and 1800 <= int(year) <= 2200 else None,
        license=license_text[:200],
        license_url=license_url[:500],
        license_family=license_family(url=license_url, text=license_text),
    )
    return FigureRecord(
        document=document,
        image_bytes=data,
        image_name=PurePosixPath(name).name,
        caption=clean_text(row.get("caption")),
        source_key=key,
        mentions=tuple(_mentions(row.get("mentions"))),
        label=clean_text(row.get("label"))[:100],
        modality=canonical_modality(clean_text(row.get("modality"))),
        anatomy=canonical_anatomy(clean_text(row.get("anatomy"))),
        source_labels={"modality": clean_text(row.get("modality"))},
    )


def _mentions(value: Any) -> list[str]:
    if isinstance(value, str) and value.strip().startswith("["):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, str):
        value = value.split(" | ")
    return [clean_text(str(v)) for v in value or [] if str(v).strip()]
