"""Rejection reasons as data: each one names the rubric gate it contradicts.

A rejection therefore says which verifier judgement the clinician overruled, and
agreement per criterion can be computed later without parsing free text. The
order here is the order of the number keys (1–8) on the review page.
"""

from __future__ import annotations

from dataclasses import dataclass

from review.models import RejectReason


@dataclass(frozen=True)
class ReasonGate:
    code: str
    label: str
    key: str
    gate: str


# Gate titles follow the MedVLSynther rubric's fixed essential items (and, for
# distractor quality, its bonus criterion): shared/reference/medvlsynther.md §4.3.
_GATES = {
    RejectReason.FACTUALLY_WRONG: "Clinical Validity",
    RejectReason.NOT_SUPPORTED_BY_IMAGE: "Image–Text Consistency",
    RejectReason.MULTIPLE_CORRECT: "Single Correct Option",
    RejectReason.DIAGNOSIS_LEAKED: "Diagnosis Leak",
    RejectReason.NOT_SELF_CONTAINED: "Stem Self-contained",
    RejectReason.WEAK_DISTRACTORS: "Plausible Distractors",
    RejectReason.IMAGE_UNUSABLE: "Image–Text Consistency",
    RejectReason.OTHER: "",
}

REASONS: tuple[ReasonGate, ...] = tuple(
    ReasonGate(code=reason.value, label=reason.label, key=str(n), gate=_GATES[reason])
    for n, reason in enumerate(RejectReason, start=1)
)
GATE_FOR_REASON: dict[str, str] = {r.code: r.gate for r in REASONS}


def gate_for(reason_code: str) -> str:
    """The rubric gate a rejection reason contradicts ("" for "other")."""
    return GATE_FOR_REASON[reason_code]
