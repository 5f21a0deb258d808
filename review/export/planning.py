"""What an export will hold, decided before a byte is written.

`prepare` is the one place that chooses the items, checks contamination and
assigns splits. The export task writes what it returns, and the preview shown
before launching summarizes what it returns, so the two cannot disagree.
`breakdown` turns it into plain counts: per split, and every left-out item
under its cause; the manifest stores the same dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count

from review.evalsets import embeddings
from review.export import balance, contamination, references, selection
from review.export.config import ExportSettings
from review.export.splits import SPLITS, SplitPlan, SplitUnit, assign_splits
from synthesis.models import Item, ItemStatus

# Why an accepted item is left out, in words an admin can act on. Causes the
# selection adds later fall back to their key, so none is ever hidden.
CAUSES = {
    "license_family": "Licence not allowed (unknown or restricted licence)",
    "reviewer_agreement": "Reviewers disagree (below the agreement threshold)",
    "too_few_reviews": "Not reviewed enough (fewer reviews than required)",
    "contaminated": "Overlaps a benchmark (contamination)",
    "excluded_by_admin": "Excluded by an admin",
    "verifier_score": "Verifier score below the threshold",
    "modality": "Modality not chosen",
    "no_image": "No image",
}
# Items of the chosen batches that are not accepted, so not exportable yet.
NOT_ACCEPTED = {
    ItemStatus.KEPT.value: "Not reviewed yet (kept by the verifier, awaiting review)",
    ItemStatus.FLAGGED.value: "Flagged, awaiting discussion",
    ItemStatus.DISPUTED.value: "Reviewers disagree, awaiting adjudication",
}


@dataclass(frozen=True)
class Prepared:
    """Everything decided before the first byte is written."""

    settings: ExportSettings
    chosen: selection.Selection
    candidates: list[selection.Candidate]
    report: contamination.ContaminationReport
    letters: dict[int, tuple[dict[str, str], str]]
    plan: SplitPlan


def _contamination(
    s: ExportSettings, candidates: list[selection.Candidate]
) -> contamination.ContaminationReport:
    """Check the candidates against every reference: the uploaded eval file (if
    any) and the registered benchmarks the settings name."""
    uploaded = []
    if s.eval_set_path:
        index = contamination.load_eval_set(
            s.eval_set_path, ngram=s.text_ngram, jaccard=s.text_jaccard
        )
        uploaded.append(contamination.Reference(index.name, "upload", index))
    benchmarks = references.benchmark_references(s)
    thresholds = {
        "text_ngram": s.text_ngram,
        "text_jaccard": s.text_jaccard,
        "text_ratio": s.text_ratio,
        "image_hamming": s.image_hamming,
        "semantic_cosine": s.semantic_threshold,
        "embedding_model": embeddings.MODEL_NAME if benchmarks else "",
    }
    report = contamination.check(
        candidates=candidates,
        references=uploaded + [reference for reference, _ in benchmarks],
        text_ratio=s.text_ratio,
        image_hamming=s.image_hamming,
        thresholds=thresholds,
    )
    references.flag_meaning(
        report,
        candidates=candidates,
        references=benchmarks,
        threshold=s.semantic_threshold,
    )
    return report


def prepare(s: ExportSettings) -> Prepared:
    """Choose, check and split: the export's whole plan."""
    chosen = selection.select(settings=s)
    candidates = chosen.candidates
    report = _contamination(s, candidates)
    if s.exclude_contaminated:
        flagged = report.flagged_item_ids
        candidates = [c for c in candidates if c.item_id not in flagged]
    letters: dict[int, tuple[dict[str, str], str]] = {}
    if s.rebalance_letters:
        relettered = balance.rebalance([(c.options, c.answer) for c in candidates])
        letters = {c.item_id: r for c, r in zip(candidates, relettered, strict=True)}
    plan = assign_splits(
        [
            SplitUnit(c.item_id, c.source_ids, c.sha256s, c.phashes, c.modality)
            for c in candidates
        ],
        ratios=s.ratios,
        seed=s.seed,
        phash_threshold=s.phash_threshold,
        frozen_test_source_ids=s.frozen_test_source_ids,
    )
    return Prepared(s, chosen, candidates, report, letters, plan)


def _not_accepted(s: ExportSettings) -> dict[str, int]:
    items = Item.objects.filter(status__in=list(NOT_ACCEPTED))
    if s.batch_ids:
        items = items.filter(batch_id__in=s.batch_ids)
    rows = items.values_list("status").annotate(n=Count("id")).order_by("status")
    return dict(rows)


def breakdown(prepared: Prepared) -> dict[str, Any]:
    """Counts per split and every left-out item under its cause (JSON-ready)."""
    s = prepared.settings
    excluded = dict(prepared.chosen.excluded)
    contaminated = len(prepared.chosen.candidates) - len(prepared.candidates)
    if contaminated:
        excluded["contaminated"] = contaminated
    splits = {split: len(prepared.plan.item_ids(split)) for split in SPLITS}
    wanted = dict(zip(SPLITS, s.ratios, strict=True))
    chosen = prepared.chosen
    return {
        "accepted": len(chosen.candidates) + sum(chosen.excluded.values()),
        "exported": len(prepared.candidates),
        "excluded": dict(sorted(excluded.items())),
        "flagged_contamination": len(prepared.report.flagged_item_ids),
        "not_accepted": _not_accepted(s),
        "splits": splits,
        "groups": {
            split: sum(1 for g in prepared.plan.groups if g.split == split)
            for split in SPLITS
        },
        "empty_splits": [
            split for split in SPLITS if wanted[split] > 0 and not splits[split]
        ],
        "eval_set_uploaded": bool(s.eval_set_path),
    }


def explain(breakdown: dict[str, Any]) -> dict[str, Any]:
    """The breakdown as the pages show it: labelled rows and warnings."""
    splits = breakdown.get("splits", {})
    groups = breakdown.get("groups", {})
    warnings = []
    if empty := breakdown.get("empty_splits", []):
        exported, papers = breakdown.get("exported", 0), sum(groups.values())
        warnings.append(
            f"The {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} "
            f"empty: the {exported} exported item{'s' if exported != 1 else ''} "
            f"come from {papers} group{'s' if papers != 1 else ''} of papers and "
            "images, and a group is never divided between splits."
        )
    excluded = breakdown.get("excluded", {})
    left_out = sum(excluded.values())
    if left_out:
        warnings.append(
            f"{left_out} of {breakdown.get('accepted', 0)} accepted items "
            "are left out; the causes are listed below."
        )
    return {
        "exported": breakdown.get("exported", 0),
        "accepted": breakdown.get("accepted", 0),
        "splits": [(s, splits.get(s, 0), groups.get(s, 0)) for s in SPLITS],
        "excluded": [
            (cause, CAUSES.get(cause, cause.replace("_", " ").capitalize()), n)
            for cause, n in excluded.items()
        ],
        "not_accepted": [
            (status, NOT_ACCEPTED.get(status, status), n)
            for status, n in breakdown.get("not_accepted", {}).items()
        ],
        "warnings": warnings,
    }
