"""Contamination check against a user-supplied benchmark (eval) set.

Text: question + options are normalised (lowercase, numbers → <NUM>, no
punctuation, collapsed spaces) and shingled into character n-grams; MinHash
signatures with LSH banding give candidate pairs, kept when the estimated
Jaccard and then difflib's similarity ratio pass their thresholds (the method
used 3-grams, LSH at 0.5 and a ratio ≥ 0.90, §2.O).

Images: identical bytes (sha256) or a difference hash within a Hamming
distance (default 8). The dHash is computed here for both sides, so the two
hashes always come from the same function.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

NUM_PERM = 128
MAX_CANDIDATES = 200
MAX_REPORTED_PAIRS = 1000
_MASK = (1 << 64) - 1
_rng = np.random.default_rng(20251030)  # fixed: signatures must be reproducible
_XOR = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64) * np.uint64(2)
_MUL = _rng.integers(0, 2**62, NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


class EvalSetError(ValueError):
    """The eval set cannot be read; the message says where and why."""


def normalize_text(question: str, options: dict[str, str] | None) -> str:
    lines = [question] + [f"{k}. {v}" for k, v in (options or {}).items()]
    text = " ".join(lines).lower()
    text = re.sub(r"\d+(?:[.,]\d+)*", " <num> ", text)
    text = re.sub(r"[^\w<>\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: spreads shingle codes over all 64 bits.
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(text: str, n: int) -> np.ndarray:
    data = np.frombuffer(text.encode(), dtype=np.uint8).astype(np.uint64)
    if len(data) < n:
        data = np.pad(data, (0, n - len(data)))
    codes = np.zeros(len(data) - n + 1, dtype=np.uint64)
    for k in range(n):
        codes = codes * np.uint64(1099511628211) + data[k : len(data) - n + 1 + k]
    return np.unique(_mix(codes))


def signature(text: str, n: int) -> np.ndarray:
    hashes = shingle_hashes(text, n)
    return ((hashes[:, None] ^ _XOR[None, :]) * _MUL[None, :]).min(axis=0)


def _rows_per_band(jaccard: float) -> int:
    options = [r for r in (1, 2, 4, 8, 16) if (r / NUM_PERM) ** (1 / r) <= jaccard]
    return max(options) if options else 1


def image_dhash(data: bytes) -> int:
    """64-bit difference hash: brightness gradients of a 9×8 grayscale thumbnail."""
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
        pixels = np.asarray(small, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


@dataclass
class EvalIndex:
    """Hashes of a benchmark: text signatures and LSH buckets, image hashes."""

    ngram: int
    jaccard: float
    name: str = ""
    texts: list[str] = field(default_factory=list)
    signatures: list[np.ndarray] = field(default_factory=list)
    buckets: dict[tuple[int, bytes], list[int]] = field(
        default_factory=lambda: defaultdict(list)
    )
    image_sha: dict[str, int] = field(default_factory=dict)
    image_hashes: list[int] = field(default_factory=list)
    image_owner: list[int] = field(default_factory=list)

    def _bands(self, sig: np.ndarray) -> Iterator[tuple[int, bytes]]:
        rows = _rows_per_band(self.jaccard)
        for band in range(NUM_PERM // rows):
            yield band, sig[band * rows : (band + 1) * rows].tobytes()

    def add(self, question: str, options: dict[str, str], images: list[bytes]) -> None:
        index = len(self.texts)
        text = normalize_text(question, options)
        sig = signature(text, self.ngram)
        self.texts.append(text)
        self.signatures.append(sig)
        for key in self._bands(sig):
            self.buckets[key].append(index)
        for data in images:
            self.image_sha.setdefault(hashlib.sha256(data).hexdigest(), index)
            self.image_hashes.append(image_dhash(data))
            self.image_owner.append(index)

    def text_matches(
        self, question: str, options: dict[str, str], *, ratio: float
    ) -> list[tuple[int, float]]:
        text = normalize_text(question, options)
        sig = signature(text, self.ngram)
        candidates: dict[int, None] = {}
        for key in self._bands(sig):
            for index in self.buckets.get(key, ()):
                candidates.setdefault(index)
                if len(candidates) >= MAX_CANDIDATES:
                    break
        matches = []
        for index in candidates:
            if float(np.mean(self.signatures[index] == sig)) < self.jaccard:
                continue
            score = difflib.SequenceMatcher(None, text, self.texts[index]).ratio()
            if score >= ratio:
                matches.append((index, round(score, 4)))
        return matches

    def image_matches(self, data: bytes, *, hamming: int) -> list[tuple[int, int]]:
        sha = hashlib.sha256(data).hexdigest()
        if sha in self.image_sha:
            return [(self.image_sha[sha], 0)]
        if not self.image_hashes:
            return []
        ours = np.uint64(image_dhash(data))
        theirs = np.array(self.image_hashes, dtype=np.uint64)
        distances = np.bitwise_count(theirs ^ ours)
        hits = np.flatnonzero(distances <= hamming)
        best: dict[int, int] = {}
        for i in hits:
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
class ContaminationReport:
    eval_set: str
    thresholds: dict[str, Any]
    eval_items: int
    eval_images: int
    pairs: list[dict[str, Any]] = field(default_factory=list)

    def flag(self, item_id: int, eval_index: int, kind: str, score: float) -> None:
        self.pairs.append(
            {"item_id": item_id, "eval_index": eval_index, "kind": kind, "score": score}
        )

    @property
    def flagged_item_ids(self) -> set[int]:
        return {p["item_id"] for p in self.pairs}

    def as_dict(self, *, excluded: bool) -> dict[str, Any]:
        kinds = defaultdict(set)
        for pair in self.pairs:
            kinds[pair["kind"]].add(pair["item_id"])
        ordered = sorted(
            self.pairs, key=lambda p: (p["item_id"], p["kind"], p["eval_index"])
        )
        return {
            "eval_set": self.eval_set,
            "eval_items": self.eval_items,
            "eval_images": self.eval_images,
            "thresholds": self.thresholds,
            "flagged_items": len(self.flagged_item_ids),
            "flagged_by_text": len(kinds["text"]),
            "flagged_by_image": len(kinds["image"]),
            "excluded": excluded,
            "pairs": ordered[:MAX_REPORTED_PAIRS],
            "pairs_total": len(ordered),
        }


def check(
    *,
    candidates: list,
    index: EvalIndex,
    text_ratio: float,
    image_hamming: int,
    thresholds: dict[str, Any],
) -> ContaminationReport:
    """Flag export candidates whose text or images match the eval set.

    Images are read a chunk at a time, so memory stays flat.
    """
    from review.export.rows import load_images

    report = ContaminationReport(
        eval_set=index.name,
        thresholds=thresholds,
        eval_items=len(index.texts),
        eval_images=len(index.image_hashes),
    )
    for candidate in candidates:
        for eval_index, score in index.text_matches(
            candidate.question, candidate.options, ratio=text_ratio
        ):
            report.flag(candidate.item_id, eval_index, "text", score)
    if not index.image_hashes:
        return report
    for start in range(0, len(candidates), 256):
        chunk = candidates[start : start + 256]
        loaded = load_images(chunk)
        for candidate in chunk:
            for blob in loaded[candidate.item_id]:
                for eval_index, distance in index.image_matches(
                    blob.data, hamming=image_hamming
                ):
                    report.flag(candidate.item_id, eval_index, "image", distance)
    return report
