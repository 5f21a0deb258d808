"""Verifier verdicts written by hand for the shipped demo items.

Imported items skip the verifier, so on a first start the review card said
"Not verified yet." and the dashboard's calibration was empty. Each demo item
gets one verdict from `demo_data/verdicts.json`, scored by the real rubric
(`synthesis.rubric.score`) and stored under a verifier name that says on
screen that a person wrote it. Some are kept; some fail a gate or lose points,
each with a reason a newcomer can read.

Running it again adds nothing, and it never moves an item a person has
already decided or edited: a verdict only sets the status of an item that is
still as the import left it.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.db.models import Q

from medsyn_app.audit import services as audit
from synthesis import rubric
from synthesis.ingest.demo_data import DEMO_DIR
from synthesis.models import Item, ItemStatus, Verification

DEMO_VERIFIER = "Demo verdict written by hand (not a model)"
VERDICTS = DEMO_DIR / "verdicts.json"
DEMO_GENERATOR = "imported:medsyn-demo"


def _rows(overrides: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every criterion of the rubric: the hand-written ones, the rest met."""
    rows = []
    for criterion in rubric.RUBRIC_V1.criteria:
        if criterion.title in overrides:
            score, reason = overrides[criterion.title]
        elif criterion.is_pitfall:
            score, reason = 0, f"Not triggered: {criterion.description}."
        else:
            score, reason = criterion.weight, f"Met: {criterion.description}."
        rows.append({"title": criterion.title, "score": score, "reason": reason})
    return rows


def _demo_item(question: str) -> Item | None:
    """The demo item first imported with this question, even if since edited."""
    return (
        Item.objects.filter(generator_model=DEMO_GENERATOR)
        .filter(Q(question=question) | Q(revisions__before__question=question))
        .order_by("pk")
        .first()
    )


@transaction.atomic
def attach_demo_verdicts() -> int:
    """Give each demo item its hand-written verdict once; returns how many."""
    added = 0
    for entry in json.loads(VERDICTS.read_text())["verdicts"]:
        item = _demo_item(entry["question"])
        if item is None or item.verifications.filter(verifier_model=DEMO_VERIFIER):
            continue
        verdict = rubric.score(rubric.RUBRIC_V1.version, _rows(entry["criteria"]))
        Verification.objects.create(
            item=item,
            verifier_model=DEMO_VERIFIER,
            rubric_version=rubric.RUBRIC_V1.version,
            criteria=verdict.criteria,
            essentials_passed=verdict.essentials_passed,
            normalized_score=verdict.normalized,
            kept=verdict.kept,
            error=verdict.error,
        )
        added += 1
        untouched = item.status == ItemStatus.KEPT and item.version == 1
        if untouched and not item.reviews.exists() and not verdict.kept:
            item.status = ItemStatus.DROPPED
            item.save(update_fields=["status", "updated_at"])
        audit.record(
            "demo.verdict",
            target=item,
            after={"verifier": DEMO_VERIFIER, "kept": verdict.kept},
        )
    return added
