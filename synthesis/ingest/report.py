"""The import report: what was created, and every skip with its reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

EXAMPLES_PER_REASON = 5


@dataclass
class ImportReport:
    records_seen: int = 0
    documents_created: int = 0
    figures_created: int = 0
    items_created: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # Imported batches that received items (VQA datasets), by id.
    batch_ids: set[int] = field(default_factory=set)

    def skip(self, reason: str, source_key: str, detail: str = "") -> None:
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append({"source": source_key[:300], "detail": detail[:300]})

    def merge(self, other: ImportReport) -> None:
        self.documents_created += other.documents_created
        self.figures_created += other.figures_created
        self.items_created += other.items_created
        self.batch_ids |= other.batch_ids
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
            "batch_ids": sorted(self.batch_ids),
        }
