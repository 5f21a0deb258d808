"""Which figure groups a batch launch takes: one function, used by the launch
and by the launch form's live count, so the count is what a launch gets."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from synthesis.models import Document, Figure

DOCUMENT_SUGGESTIONS = 20


def select_groups(figure_filter: Mapping[str, Any], *, seed: int) -> list[list[int]]:
    """Figure ids grouped by figure group, in a stable order (then sampled)."""
    figures = Figure.objects.all()
    if figure_filter.get("modality"):
        figures = figures.filter(modality=figure_filter["modality"])
    if figure_filter.get("document"):
        figures = figures.filter(document__source_id=figure_filter["document"])
    if figure_filter.get("figure_ids"):
        figures = figures.filter(pk__in=figure_filter["figure_ids"])
    groups: dict[str, list[int]] = {}
    for key, figure_id in figures.order_by("group_key", "id").values_list(
        "group_key", "id"
    ):
        groups.setdefault(key, []).append(figure_id)
    chosen = list(groups.values())
    if sample := figure_filter.get("sample"):
        rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not secrecy
        chosen = sorted(rng.sample(chosen, min(sample, len(chosen))))
    if limit := figure_filter.get("limit"):
        chosen = chosen[:limit]
    return chosen


def documents_like(text: str) -> list[Document]:
    """Documents whose source id or title contain `text`, for the picker."""
    documents = Document.objects.order_by("source_id")
    if text:
        documents = documents.filter(source_id__icontains=text) | documents.filter(
            title__icontains=text
        )
    return list(documents.only("source_id", "title")[:DOCUMENT_SUGGESTIONS])
