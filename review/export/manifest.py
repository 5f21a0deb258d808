"""manifest.json: checksums of every file, counts, settings and provenance.

Everything in it derives from the data and settings except `created_at`, so
two exports of the same items with the same settings differ only there.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow

from review.export import agreement, balance
from review.export.checksums import sha256_file
from review.export.config import ExportSettings
from review.export.rows import ExportRow
from review.export.selection import Candidate, Selection
from review.export.splits import SPLITS, SplitPlan
from synthesis.models import Batch

MANIFEST_NAME = "manifest.json"


def file_entries(
    root: Path, known: dict[Path, str] | None = None
) -> list[dict[str, Any]]:
    """Every file under root except the manifest itself, in a fixed order.

    `known` holds checksums taken while writing; other files are hashed here.
    """
    known = known or {}
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative == MANIFEST_NAME:
            continue
        entries.append(
            {
                "path": relative,
                "sha256": known.get(path) or sha256_file(path),
                "bytes": path.stat().st_size,
            }
        )
    return entries


class Tally:
    """Counts gathered while rows stream past."""

    def __init__(self) -> None:
        self.rows: Counter = Counter()
        self.images: Counter = Counter()
        self.by: dict[str, dict[str, Counter]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        self.items_per_source: Counter = Counter()

    def add(self, row: ExportRow) -> None:
        c = row.candidate
        self.rows[row.split] += 1
        self.images[row.split] += len(row.images)
        self.by["modality"][row.split][c.modality or "unknown"] += 1
        self.by["anatomy"][row.split][c.anatomy or "unknown"] += 1
        self.by["answer_letter"][row.split][row.answer_label] += 1
        self.by["question_type"][row.split][c.question_type or "unknown"] += 1
        for family in c.license_families:
            self.by["license_family"][row.split][family] += 1
        for source_id in c.source_ids:
            self.items_per_source[source_id] += 1

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, Any] = {
            "rows": {s: self.rows.get(s, 0) for s in SPLITS},
            "images": {s: self.images.get(s, 0) for s in SPLITS},
        }
        for key, per_split in sorted(self.by.items()):
            total: Counter = Counter()
            for split_counts in per_split.values():
                total.update(split_counts)
            counts[key] = {
                "total": dict(sorted(total.items())),
                **{s: dict(sorted(per_split[s].items())) for s in SPLITS},
            }
        return counts


def _pick(config: dict[str, Any], *paths: str) -> Any:
    """First value found at one of the dotted paths; configs vary by version."""
    for path in paths:
        value: Any = config
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, ""):
            return value
    return None


def batch_provenance(batch_ids: list[int]) -> list[dict[str, Any]]:
    provenance = []
    for batch in Batch.objects.filter(pk__in=batch_ids).order_by("pk"):
        config = batch.config if isinstance(batch.config, dict) else {}
        provenance.append(
            {
                "id": batch.pk,
                "name": batch.name,
                "kind": batch.kind,
                "generator_model": _pick(
                    config, "generator.model", "generator_model", "model"
                ),
                "verifier_model": _pick(config, "verifier.model", "verifier_model"),
                "prompt_version": _pick(
                    config,
                    "prompt_version",
                    "generator.prompt_version",
                    "prompt.version",
                ),
                "rubric_version": _pick(
                    config,
                    "rubric_version",
                    "verifier.rubric_version",
                    "rubric.version",
                ),
                # Batches name a registered endpoint and record its runtime;
                # older batches stored the runtime as "backend".
                "generator_endpoint": _pick(config, "generator.endpoint"),
                "verifier_endpoint": _pick(config, "verifier.endpoint"),
                "backend": _pick(
                    config, "generator.runtime", "backend", "generator.backend"
                ),
                "seed": _pick(config, "seed", "sampling.seed"),
            }
        )
    return provenance


def describe(
    *,
    name: str,
    settings: ExportSettings,
    chosen: Selection,
    exported: list[Candidate],
    letters: dict[int, tuple[dict[str, str], str]],
    plan: SplitPlan,
    counts: dict[str, Any],
    contamination: dict[str, Any],
    breakdown: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest's body; file checksums and the creation time come last."""
    exported_letters = [letters.get(c.item_id, ({}, c.answer))[1] for c in exported]
    return {
        "name": name,
        "dataset_name": settings.dataset_name,
        "settings": settings.to_dict(),
        "selection": {
            "accepted_items_selected": len(chosen.candidates),
            "excluded": chosen.excluded,
            "answer_balance_before": balance.balance_report(
                [c.answer for c in chosen.candidates]
            ),
            "answer_balance_exported": balance.balance_report(exported_letters),
            "rebalanced": settings.rebalance_letters,
        },
        "splits": {
            split: {
                "items": counts["rows"][split],
                "groups": sum(1 for g in plan.groups if g.split == split),
                "source_ids": plan.source_ids(split),
            }
            for split in SPLITS
        },
        "stratification": plan.stratum_counts(),
        "frozen_test": {
            "from_export": settings.freeze_test_from,
            "source_ids": len(settings.frozen_test_source_ids),
            "missing_now": list(plan.frozen_missing),
        },
        "counts": counts,
        "batches": batch_provenance(sorted({c.batch_id for c in exported})),
        "reviewers": agreement.summarize(chosen.agreements),
        "contamination": contamination,
        # The same counts the preview showed: per split, and why items were
        # left out (see planning.breakdown).
        "breakdown": breakdown or {},
        "software": {"pyarrow": pyarrow.__version__},
    }
