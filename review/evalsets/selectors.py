"""Reads of evaluation sets: registered benchmarks, and what contamination needs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet

from review.evalsets.models import (
    EvaluationItemImage,
    EvaluationSet,
    SetKind,
)


def registered_benchmarks() -> QuerySet[EvaluationSet]:
    return EvaluationSet.objects.filter(kind=SetKind.BENCHMARK).order_by("name")


@dataclass(frozen=True)
class ReferenceItem:
    """One benchmark item as the contamination check reads it."""

    item_id: int
    question: str
    options: dict[str, str]
    text_sha256: str
    images: tuple[tuple[str, str], ...]  # (sha256, pHash hex or "")


def reference_items(set_id: int) -> list[ReferenceItem]:
    """A set's items in order with their image hashes: two queries."""
    evaluation_set = EvaluationSet.objects.get(pk=set_id)
    hashes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    links = EvaluationItemImage.objects.filter(
        item__evaluation_set=evaluation_set
    ).order_by("item_id", "position")
    for item_id, sha256, phash in links.values_list(
        "item_id", "image__sha256", "image__dct_phash"
    ).iterator(chunk_size=5000):
        hashes[item_id].append((sha256, phash))
    rows = evaluation_set.items.order_by("index").values_list(
        "id", "question", "options", "text_sha256"
    )
    return [
        ReferenceItem(pk, question, dict(options), key, tuple(hashes[pk]))
        for pk, question, options, key in rows.iterator(chunk_size=5000)
    ]
