"""Contamination check of an export against reference sets, by text and pixels.

The references are every registered benchmark (by default) and, when one is
uploaded, an eval file. Following the method's audit (§2.O):

Text: question + options are normalised (lowercase, numbers → <NUM>, no
punctuation, collapsed spaces) and shingled into character n-grams; datasketch's
MinHash LSH gives at most `MAX_CANDIDATES` candidates per exported item, kept
when rapidfuzz's normalised Levenshtein similarity passes the ratio (the method
used 3-grams, LSH at 0.5 and a similarity ≥ 0.90).

Images: identical bytes (sha256) or imagehash's 64-bit pHash within a Hamming
distance (default 8); the report also counts items within 4, 8 and 16, as the
method reports them. Exported figures carry their pHash from import
(`Figure.dct_phash`); references hash their images when they are read.

Meaning (sentence embeddings) is `semantic.py`; this module owns the report.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
from datasketch import MinHash, MinHashLSH
from PIL import Image
from rapidfuzz.distance import Levenshtein

NUM_PERM = 128
MAX_CANDIDATES = 200
MAX_REPORTED_PAIRS = 1000
# Hamming distances at which image overlap is counted in the report (§2.O).
REPORTED_DISTANCES = (4, 8, 16)
_TEMPLATE = MinHash(num_perm=NUM_PERM)  # datasketch's default seed and scheme
_PERMUTATIONS, _SCHEME = _TEMPLATE.permutations, _TEMPLATE.scheme


class EvalSetError(ValueError):
    """The eval set cannot be read; the message says where and why."""


def normalize_text(question: str, options: dict[str, str] | None) -> str:
    lines = [question] + [f"{k}. {v}" for k, v in (options or {}).items()]
    text = " ".join(lines).lower()
    text = re.sub(r"\d+(?:[.,]\d+)*", " <num> ", text)
    text = re.sub(r"[^\w<>\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def shingles(text: str, n: int) -> list[bytes]:
    data = text.encode()
    if len(data) < n:
        return [data]
    return list({data[i : i + n] for i in range(len(data) - n + 1)})


def image_phash(data: bytes) -> int:
    """imagehash's 64-bit pHash (hash size 8), the method's image hash."""
    with Image.open(io.BytesIO(data)) as image:
        return phash_of(image)


def phash_of(image: Image.Image) -> int:
    return int(str(imagehash.phash(image)), 16)


@dataclass
class EvalIndex:
    """Hashes of one reference set: a MinHash LSH over its texts, image hashes."""

    ngram: int
    jaccard: float
    name: str = ""
    texts: list[str] = field(default_factory=list)
    lsh: MinHashLSH | None = None
    image_sha: dict[str, int] = field(default_factory=dict)
    image_hashes: list[int] = field(default_factory=list)
    image_owner: list[int] = field(default_factory=list)
    image_count: int = 0

    def __post_init__(self) -> None:
        if self.lsh is None:
            self.lsh = MinHashLSH(threshold=self.jaccard, num_perm=NUM_PERM)

    def _minhash(self, text: str) -> MinHash:
        # The permutations are drawn once: drawing them per text was most of
        # the cost of indexing a benchmark.
        minhash = MinHash(num_perm=NUM_PERM, permutations=_PERMUTATIONS, scheme=_SCHEME)
        minhash.update_batch(shingles(text, self.ngram))
        return minhash

    def add(self, question: str, options: dict[str, str], images: list[bytes]) -> None:
        """Index one reference item, hashing its image bytes."""
        self.add_hashed(
            question,
            options,
            [(hashlib.sha256(data).hexdigest(), image_phash(data)) for data in images],
        )

    def add_hashed(
        self,
        question: str,
        options: dict[str, str],
        images: Iterable[tuple[str, int | None]],
    ) -> None:
        """Index one reference item whose images are already hashed
        (sha256, pHash or None)."""
        index = len(self.texts)
        text = normalize_text(question, options)
        self.texts.append(text)
        self.lsh.insert(index, self._minhash(text))
        for sha256, phash in images:
            self.image_count += 1
            self.image_sha.setdefault(sha256, index)
            if phash is not None:
                self.image_hashes.append(phash)
                self.image_owner.append(index)

    def text_matches(
        self, question: str, options: dict[str, str], *, ratio: float
    ) -> list[tuple[int, float]]:
        text = normalize_text(question, options)
        candidates = sorted(self.lsh.query(self._minhash(text)))[:MAX_CANDIDATES]
        matches = []
        for index in candidates:
            score = Levenshtein.normalized_similarity(text, self.texts[index])
            if score >= ratio:
                matches.append((index, round(score, 4)))
        return matches

    def image_matches(self, data: bytes, *, hamming: int) -> list[tuple[int, int]]:
        return self.image_matches_hashed(
            hashlib.sha256(data).hexdigest(), image_phash(data), hamming=hamming
        )

    def image_matches_hashed(
        self, sha256: str, phash: int | None, *, hamming: int
    ) -> list[tuple[int, int]]:
        """(reference item, smallest Hamming distance) for every item with an
        image within `hamming`; identical bytes count as distance 0."""
        if sha256 in self.image_sha:
            return [(self.image_sha[sha256], 0)]
        if phash is None or not self.image_hashes:
            return []
        theirs = np.array(self.image_hashes, dtype=np.uint64)
        distances = np.bitwise_count(theirs ^ np.uint64(phash))
        best: dict[int, int] = {}
        for i in np.flatnonzero(distances <= hamming):
            owner = self.image_owner[i]
            best[owner] = min(best.get(owner, 64), int(distances[i]))
        return sorted(best.items())


def _as_options(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {"A": value}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        letters = "ABCDEFGHIJ"
        return {letters[i]: str(v) for i, v in enumerate(value[: len(letters)])}
    return {}


def _image_bytes(value: Any, base: Path) -> list[bytes]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        value = [value]
    found = []
    for entry in value:
        if isinstance(entry, dict) and entry.get("bytes"):
            found.append(bytes(entry["bytes"]))
        elif isinstance(entry, bytes):
            found.append(entry)
        elif isinstance(entry, str | dict):
            name = entry if isinstance(entry, str) else entry.get("path") or ""
            path = (base / name).resolve()
            if (
                not name
                or not path.is_relative_to(base.resolve())
                or not path.is_file()
            ):
                raise EvalSetError(f"eval image {name!r} not found beside the eval set")
            found.append(path.read_bytes())
    return found


def _records(path: Path) -> Iterable[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            yield from batch.to_pylist()
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalSetError(f"{path.name} line {number}: {exc.msg}") from exc


def load_eval_set(path: str | Path, *, ngram: int, jaccard: float) -> EvalIndex:
    """Index a JSONL or parquet file of {question, options, images|image}."""
    path = Path(path)
    if not path.is_file() or path.suffix not in {".jsonl", ".parquet"}:
        raise EvalSetError(
            f"eval set {path.name!r} must be an existing .jsonl/.parquet"
        )
    index = EvalIndex(ngram=ngram, jaccard=jaccard, name=path.name)
    for number, record in enumerate(_records(path), start=1):
        if not isinstance(record, dict) or not isinstance(record.get("question"), str):
            raise EvalSetError(f"{path.name} record {number} has no question text")
        images = _image_bytes(record.get("images", record.get("image")), path.parent)
        index.add(record["question"], _as_options(record.get("options")), images)
    return index


@dataclass
class Reference:
    """One set an export is checked against: an uploaded file or a registered
    benchmark. `item_ids` names each indexed row's stored item (benchmarks), so
    the report can show the pair side by side."""

    name: str
    kind: str  # "upload" | "benchmark"
    index: EvalIndex
    set_id: int | None = None
    item_ids: list[int] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "id": self.set_id,
            "items": len(self.index.texts),
            "images": self.index.image_count,
        }

    def item_id(self, position: int) -> int | None:
        return self.item_ids[position] if position < len(self.item_ids) else None


@dataclass
class ContaminationReport:
    references: list[dict[str, Any]]
    thresholds: dict[str, Any]
    pairs: list[dict[str, Any]] = field(default_factory=list)
    # Exported items with an image within each reported distance.
    near_images: dict[int, set[int]] = field(
        default_factory=lambda: {d: set() for d in REPORTED_DISTANCES}
    )

    def flag(
        self,
        item_id: int,
        eval_index: int,
        kind: str,
        score: float,
        *,
        reference: Reference | None = None,
    ) -> None:
        self.pairs.append(
            {
                "item_id": item_id,
                "eval_index": eval_index,
                "kind": kind,
                "score": score,
                "reference": reference.name if reference else "",
                "reference_kind": reference.kind if reference else "",
                "set_id": reference.set_id if reference else None,
                "eval_item_id": reference.item_id(eval_index) if reference else None,
            }
        )

    @property
    def flagged_item_ids(self) -> set[int]:
        return {p["item_id"] for p in self.pairs}

    def as_dict(self, *, excluded: bool) -> dict[str, Any]:
        kinds = defaultdict(set)
        for pair in self.pairs:
            kinds[pair["kind"]].add(pair["item_id"])
        ordered = sorted(
            self.pairs,
            key=lambda p: (p["item_id"], p["kind"], p["reference"], p["eval_index"]),
        )
        uploads = [r for r in self.references if r["kind"] == "upload"]
        return {
            "eval_set": uploads[0]["name"] if uploads else "",
            "eval_items": sum(r["items"] for r in self.references),
            "eval_images": sum(r["images"] for r in self.references),
            "references": self.references,
            "thresholds": self.thresholds,
            "flagged_items": len(self.flagged_item_ids),
            "flagged_by_text": len(kinds["text"]),
            "flagged_by_image": len(kinds["image"]),
            "flagged_by_meaning": len(kinds["meaning"]),
            "items_with_image_within": {
                str(d): len(ids) for d, ids in sorted(self.near_images.items())
            },
            "excluded": excluded,
            "pairs": ordered[:MAX_REPORTED_PAIRS],
            "pairs_total": len(ordered),
        }


def _candidate_hashes(candidates: list) -> dict[int, list[tuple[str, int | None]]]:
    """(sha256, pHash) of every exported image; the pHash stored at import, or
    computed now for a figure that has none."""
    from review.export.rows import load_images

    hashes: dict[int, list[tuple[str, int | None]]] = {}
    missing = []
    for c in candidates:
        if all(c.dct_phashes) and len(c.dct_phashes) == len(c.sha256s):
            hashes[c.item_id] = [
                (sha, int(p, 16))
                for sha, p in zip(c.sha256s, c.dct_phashes, strict=True)
            ]
        else:
            missing.append(c)
    # Images are read a chunk at a time, so memory stays flat.
    for start in range(0, len(missing), 256):
        chunk = missing[start : start + 256]
        loaded = load_images(chunk)
        for c in chunk:
            hashes[c.item_id] = [
                (blob.sha256, image_phash(blob.data)) for blob in loaded[c.item_id]
            ]
    return hashes


def check(
    *,
    candidates: list,
    references: list[Reference],
    text_ratio: float,
    image_hamming: int,
    thresholds: dict[str, Any],
) -> ContaminationReport:
    """Flag export candidates whose text or images match a reference set."""
    report = ContaminationReport(
        references=[r.describe() for r in references], thresholds=thresholds
    )
    if not references:
        return report
    for reference in references:
        for candidate in candidates:
            for eval_index, score in reference.index.text_matches(
                candidate.question, candidate.options, ratio=text_ratio
            ):
                report.flag(
                    candidate.item_id, eval_index, "text", score, reference=reference
                )
    if not any(r.index.image_count for r in references):
        return report
    widest = max(image_hamming, *REPORTED_DISTANCES)
    for item_id, images in _candidate_hashes(candidates).items():
        for reference in references:
            best: dict[int, int] = {}
            for sha256, phash in images:
                for eval_index, distance in reference.index.image_matches_hashed(
                    sha256, phash, hamming=widest
                ):
                    best[eval_index] = min(best.get(eval_index, 64), distance)
            for eval_index, distance in sorted(best.items()):
                for reported in REPORTED_DISTANCES:
                    if distance <= reported:
                        report.near_images[reported].add(item_id)
                if distance <= image_hamming:
                    report.flag(
                        item_id, eval_index, "image", distance, reference=reference
                    )
    return report
