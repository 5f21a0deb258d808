"""The settings an export runs with, validated once and stored on the Export.

Everything that can change the output lives here, so the manifest can record it
and a re-run with the same settings gives the same files.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

FORMATS = ("hf", "jsonl", "verl", "sft")
SFT_TARGETS = ("letter", "think_answer")
SPLITS = ("train", "validation", "test")
# Families that allow redistribution of the figure with derived questions for
# any purpose; NC and ND need an explicit opt-in, unknown/other are never assumed.
OPEN_LICENSE_FAMILIES = ("cc0", "cc-by", "cc-by-sa")
RESTRICTED_LICENSE_FAMILIES = ("cc-by-nc", "cc-by-nd")


class ExportSettingsError(ValueError):
    """Settings that cannot produce an export; the message says which and why."""


@dataclass(frozen=True)
class ExportSettings:
    dataset_name: str = "medsyn"
    formats: tuple[str, ...] = ("hf", "jsonl")
    seed: int = 42
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    batch_ids: tuple[int, ...] = ()
    min_verifier_score: float | None = None
    modalities: tuple[str, ...] = ()
    license_families: tuple[str, ...] = ()
    include_noncommercial: bool = False
    min_reviews: int = 0
    min_agreement: float | None = None
    rebalance_letters: bool = False
    phash_threshold: int = 4
    freeze_test_from: int | None = None
    frozen_test_source_ids: tuple[str, ...] = ()
    eval_set_path: str = ""
    # Registered benchmarks checked for contamination: every one registered
    # when the export was created, unless the request named others.
    benchmark_ids: tuple[int, ...] = ()
    exclude_contaminated: bool = False
    text_ngram: int = 3
    text_jaccard: float = 0.5
    text_ratio: float = 0.9
    image_hamming: int = 8
    # Cosine of sentence embeddings at or above which a pair is flagged (the
    # method flagged bge-m3 pairs at 0.88, §2.O).
    semantic_threshold: float = 0.88
    # The SFT assistant turn: "letter" or "think_answer" (`sft.py`).
    sft_target: str = "letter"
    rows_per_shard: int = 10_000
    row_group_size: int = 256
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed_license_families(self) -> tuple[str, ...]:
        if self.license_families:
            return self.license_families
        if self.include_noncommercial:
            return OPEN_LICENSE_FAMILIES + RESTRICTED_LICENSE_FAMILIES
        return OPEN_LICENSE_FAMILIES

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["allowed_license_families"] = list(self.allowed_license_families)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def slugify_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "export"


def parse_settings(raw: dict[str, Any]) -> ExportSettings:
    """Build settings from a JSON-like dict, refusing anything ambiguous."""
    known = {f.name for f in fields(ExportSettings)} | {"allowed_license_families"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ExportSettingsError(f"unknown export settings: {', '.join(unknown)}")
    data = {k: v for k, v in raw.items() if k != "allowed_license_families"}
    try:
        for key, kind in _TUPLES.items():
            if key in data:
                if isinstance(data[key], str | bytes):
                    raise TypeError(f"{key} must be a list")
                data[key] = tuple(_as(kind, v, key) for v in data[key])
        for key, kind in _SCALARS.items():
            if data.get(key) is not None:
                data[key] = _as(kind, data[key], key)
        settings = ExportSettings(**data)
        _validate(settings)
    except ExportSettingsError:
        raise
    except (TypeError, ValueError) as exc:
        raise ExportSettingsError(f"invalid export settings: {exc}") from exc
    return settings


def _as(kind: type, value: Any, key: str) -> Any:
    """`kind(value)`, refusing what would convert silently but wrongly
    (True as 1, 2.7 as 2, a dict or list as a number)."""
    if kind in (int, float) and (
        isinstance(value, bool | dict | list)
        or (kind is int and isinstance(value, float) and not value.is_integer())
    ):
        raise TypeError(f"{key} must be a {'whole ' if kind is int else ''}number")
    return kind(value)


_TUPLES = {
    "formats": str,
    "ratios": float,
    "batch_ids": int,
    "modalities": str,
    "license_families": str,
    "frozen_test_source_ids": str,
    "benchmark_ids": int,
}
_SCALARS = {
    "seed": int,
    "min_verifier_score": float,
    "min_agreement": float,
    "min_reviews": int,
    "phash_threshold": int,
    "freeze_test_from": int,
    "eval_set_path": str,
    "text_ngram": int,
    "text_jaccard": float,
    "text_ratio": float,
    "image_hamming": int,
    "semantic_threshold": float,
    "sft_target": str,
    "rows_per_shard": int,
    "row_group_size": int,
}


# Whole numbers that reach the database or size a loop: (lowest, highest).
_RANGES = {
    "seed": (0, 2**31 - 1),
    "min_reviews": (0, 100),
    "phash_threshold": (0, 32),
    "image_hamming": (0, 32),
    "text_ngram": (1, 20),
    "rows_per_shard": (1, 10_000_000),
    "row_group_size": (1, 1_000_000),
    "freeze_test_from": (1, 2**63 - 1),
}


def _check_ranges(settings: ExportSettings) -> None:
    for key, (low, high) in _RANGES.items():
        value = getattr(settings, key)
        if value is not None and not low <= value <= high:
            raise ExportSettingsError(f"{key} must be a whole number in {low}..{high}")
    if any(not 1 <= pk <= 2**63 - 1 for pk in settings.batch_ids):
        raise ExportSettingsError("batch_ids must be batch ids (positive numbers)")


def _validate(settings: ExportSettings) -> None:
    _check_ranges(settings)
    bad = [f for f in settings.formats if f not in FORMATS]
    if not settings.formats or bad:
        raise ExportSettingsError(
            f"formats must be chosen from {', '.join(FORMATS)}; got {bad or 'none'}"
        )
    ratios = settings.ratios
    if len(ratios) != 3 or any(r < 0 for r in ratios) or ratios[0] <= 0:
        raise ExportSettingsError(
            "ratios must be three non-negative numbers (train, validation, test) "
            "with a positive train share"
        )
    if not math.isclose(sum(ratios), 1.0, abs_tol=1e-6):
        raise ExportSettingsError(f"ratios must add up to 1, got {sum(ratios):.4f}")
    if settings.min_verifier_score is not None and not (
        0.0 <= settings.min_verifier_score <= 1.0
    ):
        raise ExportSettingsError("min_verifier_score must be between 0 and 1")
    if settings.min_agreement is not None and not 0.0 <= settings.min_agreement <= 1:
        raise ExportSettingsError("min_agreement must be between 0 and 1")
    if not 0 <= settings.phash_threshold <= 32:
        raise ExportSettingsError("phash_threshold must be between 0 and 32")
    if not 0 <= settings.image_hamming <= 32:
        raise ExportSettingsError("image_hamming must be between 0 and 32")
    if not 0.0 < settings.text_ratio <= 1.0 or not 0.0 < settings.text_jaccard <= 1:
        raise ExportSettingsError("text thresholds must be in (0, 1]")
    if settings.sft_target not in SFT_TARGETS:
        raise ExportSettingsError(f"sft_target must be one of {', '.join(SFT_TARGETS)}")
    if not 0.0 < settings.semantic_threshold <= 1.0:
        raise ExportSettingsError("semantic_threshold must be in (0, 1]")
    if settings.text_ngram < 1 or settings.row_group_size < 1:
        raise ExportSettingsError("text_ngram and row_group_size must be positive")
    if settings.rows_per_shard < settings.row_group_size:
        raise ExportSettingsError("rows_per_shard must be at least row_group_size")
    if settings.exclude_contaminated and not (
        settings.eval_set_path or settings.benchmark_ids
    ):
        raise ExportSettingsError(
            "exclude_contaminated needs an eval set: an uploaded file or a "
            "registered benchmark"
        )
