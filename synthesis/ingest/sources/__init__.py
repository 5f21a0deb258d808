"""Input formats for figures, one module each, all yielding the same records.

`read(path, source_format=...)` picks the module; `detect_format` guesses the
format from what is at the path when none is given.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

from synthesis.ingest.sources import folder, jats, vqa, webdataset
from synthesis.ingest.sources.records import ImportLimits, Record

READERS = {
    "jats": jats.read,
    "webdataset": webdataset.read,
    "folder": folder.read,
    "vqa": vqa.read,
}
FORMATS = tuple(READERS)


class UnknownFormat(ValueError):
    pass


def detect_format(path: Path) -> str:
    """Guess the format: by suffix for files, by contents for folders and tars."""
    if path.is_dir():
        # PMC packages unpack into one folder per article: look one level down.
        candidates = [*path.glob("*"), *path.glob("*/*")]
        if any(p.suffix.lower() in jats.XML_SUFFIXES for p in candidates):
            return "jats"
        if folder.find_manifest(path):
            return "folder"
        raise UnknownFormat(f"{path}: no JATS XML and no manifest in the folder")
    name = path.name.lower()
    if name.endswith((".parquet", ".jsonl")):
        return "vqa"
    if name.endswith(".csv"):
        return "folder"
    if name.endswith((".tar", ".tar.gz", ".tgz")):
        return "jats" if _tar_holds_xml(path) else "webdataset"
    raise UnknownFormat(f"{path}: cannot tell the format; pass --format")


def _tar_holds_xml(path: Path, *, peek: int = 200) -> bool:
    try:
        with tarfile.open(path, mode="r|*") as archive:
            for count, member in enumerate(archive):
                if member.name.lower().endswith(jats.XML_SUFFIXES):
                    return True
                if count >= peek:
                    break
    except (tarfile.TarError, OSError, EOFError):
        return False
    return False


def read(
    path: Path, *, source_format: str | None = None, limits: ImportLimits
) -> Iterator[Record]:
    source_format = source_format or detect_format(path)
    if source_format not in READERS:
        raise UnknownFormat(f"unknown format {source_format!r}; use one of {FORMATS}")
    if not path.exists():
        raise FileNotFoundError(path)
    return READERS[source_format](path, limits=limits)
