"""Reads for the export pages: what to list, what may be downloaded."""

from __future__ import annotations

from typing import Any

from review.evalsets.models import EvaluationItem
from review.export import planning
from review.export.config import ExportSettings
from review.export.manifest import MANIFEST_NAME
from review.export.splits import SPLITS
from review.models import Export
from synthesis.models import Item


def files_of(export: Export) -> list[dict[str, Any]]:
    """Files to list on the page: one line per data file, image folders summed up.

    An export can hold thousands of JSONL images; they are downloadable one by
    one or in the archive, but listed as a single line.
    """
    listed: list[dict[str, Any]] = []
    folders: dict[str, dict[str, Any]] = {}
    for entry in export.manifest.get("files", []):
        folder, _, rest = entry["path"].partition("/images/")
        if rest:
            summary = folders.setdefault(
                folder, {"path": f"{folder}/images/", "files": 0, "bytes": 0}
            )
            summary["files"] += 1
            summary["bytes"] += entry["bytes"]
        else:
            listed.append(entry)
    listed += folders.values()
    return [*listed, {"path": MANIFEST_NAME, "sha256": "", "bytes": None}]


def file_names(export: Export) -> set[str]:
    """Every downloadable path of a finished export."""
    return {f["path"] for f in export.manifest.get("files", [])} | {MANIFEST_NAME}


def manifest_summary(export: Export) -> dict[str, Any]:
    """The manifest as shown on the page: long lists replaced by their length.

    The full manifest.json (every checksum and source id) is a download.
    """
    summary = dict(export.manifest)
    if "files" in summary:
        summary["files"] = f"{len(summary['files'])} files (see manifest.json)"
    summary["splits"] = {
        split: {**info, "source_ids": len(info.get("source_ids", []))}
        for split, info in summary.get("splits", {}).items()
    }
    return summary


def contamination_pairs(export: Export, *, limit: int = 50) -> list[dict[str, Any]]:
    """The first flagged pairs of the report, each with both sides' text and
    images, so the page can show them side by side (four queries)."""
    report = export.manifest.get("contamination") or {}
    pairs = list(report.get("pairs", []))[:limit]
    items = {
        item.pk: item
        for item in Item.objects.filter(
            pk__in={p["item_id"] for p in pairs}
        ).prefetch_related("item_figures")
    }
    eval_items = {
        item.pk: item
        for item in EvaluationItem.objects.filter(
            pk__in={p.get("eval_item_id") for p in pairs} - {None}
        ).prefetch_related("item_images")
    }
    shown = []
    for pair in pairs:
        item = items.get(pair["item_id"])
        other = eval_items.get(pair.get("eval_item_id"))
        shown.append(
            {
                **pair,
                "item": item,
                "figure_ids": [f.figure_id for f in item.item_figures.all()]
                if item
                else [],
                "eval_item": other,
                "eval_image_ids": [i.image_id for i in other.item_images.all()]
                if other
                else [],
            }
        )
    return shown


def preview(settings: ExportSettings) -> dict[str, Any]:
    """What launching with these settings would export, and what it would leave
    out and why: the export's own plan, summarized (nothing is written)."""
    return planning.explain(planning.breakdown(planning.prepare(settings)))


def breakdown_of(export: Export) -> dict[str, Any]:
    """A finished export's splits and exclusions, as its page shows them.

    Exports written before the manifest kept a breakdown are described from
    the parts of the manifest they have.
    """
    manifest = export.manifest or {}
    stored = manifest.get("breakdown")
    if not stored:
        chosen = manifest.get("selection", {})
        splits = manifest.get("splits", {})
        excluded = dict(chosen.get("excluded", {}))
        selected = chosen.get("accepted_items_selected", 0)
        contaminated = selected - export.item_count
        if contaminated > 0:
            excluded["contaminated"] = contaminated
        stored = {
            "accepted": selected + sum(chosen.get("excluded", {}).values()),
            "exported": export.item_count,
            "excluded": excluded,
            "splits": {s: splits.get(s, {}).get("items", 0) for s in SPLITS},
            "groups": {s: splits.get(s, {}).get("groups", 0) for s in SPLITS},
            "empty_splits": [
                s for s in SPLITS if not splits.get(s, {}).get("items", 0)
            ],
        }
    return planning.explain(stored)
