"""How well the verifier predicts the clinicians: overall, gate by gate, by score.

The human side of every comparison is the item's settled status (Accepted or
Rejected by the consensus rule); the verifier side is the item's latest
Verification. Counting happens in the database on a fine score histogram
(100 buckets), so the reliability curve and the threshold sweep are computed
from at most 100 rows whatever the batch size.

Items the verifier dropped are normally not reviewed, so "verifier keeps" vs
"human accepts" has a measurable precision but a recall that only means
something once some dropped items have been audited too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    QuerySet,
    Value,
)
from django.db.models.functions import Floor, Least

from review import reasons
from review.models import Review
from synthesis.models import Batch, ItemStatus, Verification

FINE_BUCKETS = 100
# A rejection reason names the rubric gate the clinician says the item fails
# (one mapping, in review.reasons; "other" names none).
GATE_OF_REASON: dict[str, str] = {
    code: gate for code, gate in reasons.GATE_FOR_REASON.items() if gate
}
GATES: tuple[str, ...] = tuple(dict.fromkeys(GATE_OF_REASON.values()))


# ---- pure math -------------------------------------------------------------


def fine_bucket(score: float) -> int:
    """0..99; the epsilon keeps 0.29 in bucket 29 despite binary floating point."""
    return min(int(math.floor(score * FINE_BUCKETS + 1e-9)), FINE_BUCKETS - 1)


@dataclass(frozen=True)
class Confusion:
    """Verifier keeps (predicted positive) against human accepts (actual)."""

    kept_accepted: int = 0
    kept_rejected: int = 0
    dropped_accepted: int = 0
    dropped_rejected: int = 0

    @property
    def total(self) -> int:
        return (
            self.kept_accepted
            + self.kept_rejected
            + self.dropped_accepted
            + self.dropped_rejected
        )

    @property
    def precision(self) -> float | None:
        kept = self.kept_accepted + self.kept_rejected
        return self.kept_accepted / kept if kept else None

    @property
    def recall(self) -> float | None:
        accepted = self.kept_accepted + self.dropped_accepted
        return self.kept_accepted / accepted if accepted else None

    @property
    def agreement(self) -> float | None:
        if not self.total:
            return None
        return (self.kept_accepted + self.dropped_rejected) / self.total

    @property
    def kappa(self) -> float | None:
        n = self.total
        if not n:
            return None
        kept = self.kept_accepted + self.kept_rejected
        accepted = self.kept_accepted + self.dropped_accepted
        chance = (kept * accepted + (n - kept) * (n - accepted)) / (n * n)
        if chance >= 1.0:
            return None
        return (self.agreement - chance) / (1 - chance)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "total": self.total,
            "precision": self.precision,
            "recall": self.recall,
            "agreement": self.agreement,
            "kappa": self.kappa,
        }


Histogram = Mapping[int, tuple[int, int]]  # fine bucket -> (reviewed, accepted)


def reliability_curve(histogram: Histogram, *, buckets: int = 10) -> list[dict]:
    """Human accept rate per verifier-score bucket (equal widths over 0..1)."""
    width = FINE_BUCKETS // buckets
    curve = []
    for b in range(buckets):
        n = accepted = 0
        for fine in range(b * width, (b + 1) * width):
            rows, yes = histogram.get(fine, (0, 0))
            n, accepted = n + rows, accepted + yes
        curve.append(
            {
                "lower": b / buckets,
                "upper": (b + 1) / buckets,
                "reviewed": n,
                "accepted": accepted,
                "accept_rate": accepted / n if n else None,
            }
        )
    return curve


def recommend_threshold(
    histogram: Histogram, *, target_precision: float, min_support: int = 30
) -> dict[str, Any]:
    """The lowest keep threshold whose kept items reach the target precision.

    Precision at threshold t is the human accept rate among reviewed items with
    score >= t; only thresholds backed by at least `min_support` items count.
    Lower thresholds keep more items, so the smallest qualifying one is best;
    candidates are the scores actually observed, so the answer never reaches
    into a score range no clinician has seen.
    """
    reviewed = accepted = 0
    best = None
    for fine in range(FINE_BUCKETS - 1, -1, -1):
        rows, yes = histogram.get(fine, (0, 0))
        reviewed, accepted = reviewed + rows, accepted + yes
        if not rows:
            continue  # no evidence for a threshold below the lowest scored item
        if reviewed >= min_support and accepted / reviewed >= target_precision:
            best = (fine / FINE_BUCKETS, accepted / reviewed, reviewed)
    if best is None:
        return {
            "threshold": None,
            "precision": None,
            "support": 0,
            "reason": (
                f"No threshold reaches precision {target_precision:.0%} with at "
                f"least {min_support} reviewed items."
            ),
        }
    return {"threshold": best[0], "precision": best[1], "support": best[2]}


def _title_key(title: str) -> str:
    return " ".join(str(title).replace("–", "-").lower().split())


_GATE_KEYS = {_title_key(g): g for g in GATES}


def failed_gates(criteria: Iterable[Mapping[str, Any]]) -> set[str]:
    """Gates the verifier did not give full marks (a missing gate counts failed)."""
    passed = set()
    for row in criteria or ():
        gate = _GATE_KEYS.get(_title_key(row.get("title", "")))
        try:
            weight, score = int(row.get("weight", 0)), int(row.get("score", 0))
        except (TypeError, ValueError):
            continue
        if gate and weight > 0 and score >= weight:
            passed.add(gate)
    return set(GATES) - passed


def gate_table(counts: Mapping[str, Mapping[str, int]]) -> list[dict[str, Any]]:
    """Per gate: both pass, both fail, only verifier fails, only human fails."""
    table = []
    for gate in GATES:
        c = {k: counts.get(gate, {}).get(k, 0) for k in _CELLS}
        n = sum(c.values())
        table.append(
            {
                "gate": gate,
                **c,
                "items": n,
                "agreement": (c["both_pass"] + c["both_fail"]) / n if n else None,
            }
        )
    return table


_CELLS = ("both_pass", "both_fail", "verifier_only_fail", "human_only_fail")


def tally_gates(
    rows: Iterable[tuple[set[str], set[str]]],
) -> dict[str, dict[str, int]]:
    """Count (verifier-failed gates, human-failed gates) pairs into gate cells."""
    counts = {gate: dict.fromkeys(_CELLS, 0) for gate in GATES}
    for verifier_failed, human_failed in rows:
        for gate in GATES:
            v, h = gate in verifier_failed, gate in human_failed
            cell = ("both_fail" if h else "verifier_only_fail") if v else None
            cell = cell or ("human_only_fail" if h else "both_pass")
            counts[gate][cell] += 1
    return counts


# ---- selectors -------------------------------------------------------------

SETTLED = (ItemStatus.ACCEPTED, ItemStatus.REJECTED)


def _latest_verifications(batch: Batch | None) -> QuerySet[Verification]:
    """Each settled item's newest verdict (an item re-verified keeps only its last)."""
    newer = Verification.objects.filter(item=OuterRef("item"), pk__gt=OuterRef("pk"))
    verifications = Verification.objects.filter(item__status__in=SETTLED).exclude(
        Exists(newer)
    )
    if batch is not None:
        verifications = verifications.filter(item__batch=batch)
    return verifications


def verdict_counts(verifications: QuerySet[Verification]) -> list[dict[str, Any]]:
    """One grouped query: counts by fine score bucket, kept flag and human status.

    At most 100 x 2 x 2 rows (plus unscored verdicts), whatever the pool size;
    both the confusion table and the score histogram are sums over it.
    """
    bucket = Least(
        Floor(F("normalized_score") * FINE_BUCKETS + 1e-9),
        Value(FINE_BUCKETS - 1.0),
        output_field=FloatField(),
    )
    return list(
        verifications.annotate(bucket=bucket)
        .values("bucket", "kept", "item__status")
        .annotate(n=Count("pk"))
        .order_by()
    )


def histogram_of(rows: Iterable[Mapping[str, Any]]) -> dict[int, tuple[int, int]]:
    histogram: dict[int, tuple[int, int]] = {}
    for row in rows:
        if row["bucket"] is None:
            continue
        n, accepted = histogram.get(int(row["bucket"]), (0, 0))
        yes = row["n"] if row["item__status"] == ItemStatus.ACCEPTED else 0
        histogram[int(row["bucket"])] = (n + row["n"], accepted + yes)
    return histogram


def confusion_of(rows: Iterable[Mapping[str, Any]]) -> Confusion:
    cells = dict.fromkeys(
        ("kept_accepted", "kept_rejected", "dropped_accepted", "dropped_rejected"), 0
    )
    for row in rows:
        verdict = "kept" if row["kept"] else "dropped"
        cells[f"{verdict}_{row['item__status']}"] += row["n"]
    return Confusion(**cells)


def gate_agreement(
    verifications: QuerySet[Verification], *, total: int
) -> list[dict[str, Any]]:
    """Gate-by-gate comparison; reads rubric rows only where some point was lost.

    A kept verification with a normalized score of 1.0 gave every criterion
    full marks, so its gates all passed without reading its JSON; `total` is
    the number of verifications in scope (from `verdict_counts`).
    """
    imperfect = verifications.exclude(kept=True, normalized_score__gte=1.0)
    rows = list(imperfect.values_list("item_id", "criteria"))
    human = _human_failed_gates(verifications)
    counts = tally_gates(
        (failed_gates(criteria), human.get(item_id, set()))
        for item_id, criteria in rows
    )
    seen = {item_id for item_id, _ in rows}
    perfect_total = total - len(rows)
    for gate in GATES:
        failed = sum(
            gate in gates for item_id, gates in human.items() if item_id not in seen
        )
        counts[gate]["human_only_fail"] += failed
        counts[gate]["both_pass"] += perfect_total - failed
    return gate_table(counts)


def _human_failed_gates(verifications: QuerySet[Verification]) -> dict[int, set]:
    """Gates named by the current rejections of settled-rejected items in scope."""
    rows = (
        Review.objects.current()
        .filter(
            decision="reject",
            item__status=ItemStatus.REJECTED,
            item_id__in=verifications.values("item"),
        )
        .values_list("item_id", "reason_code")
    )
    gates: dict[int, set[str]] = {}
    for item_id, code in rows:
        if code in GATE_OF_REASON:
            gates.setdefault(item_id, set()).add(GATE_OF_REASON[code])
    return gates


def calibration_figures(
    *, batch: Batch | None = None, target_precision: float = 0.95, min_support: int = 30
) -> dict[str, Any]:
    verifications = _latest_verifications(batch)
    rows = verdict_counts(verifications)
    histogram = histogram_of(rows)
    overall = confusion_of(rows)
    return {
        "overall": overall.as_dict(),
        "gates": gate_agreement(verifications, total=overall.total),
        "reliability": reliability_curve(histogram),
        "recommended_threshold": {
            "target_precision": target_precision,
            "min_support": min_support,
            **recommend_threshold(
                histogram, target_precision=target_precision, min_support=min_support
            ),
        },
    }
