"""Tags for an item: modality and anatomy from its figures' labels, and the
question type from the stem, using the method's vocabularies and tie-breaks.

The method asked a model for all three; figure labels (from the source or the
importer) are cheaper and exact where present. The question type follows the
method's tie-break rules as keyword patterns; an item they cannot place is
"Other Biological/Technical Attributes", the method's own catch-all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from synthesis import vocabulary

_QUESTION_TYPE_RULES: tuple[tuple[str, str], ...] = (
    (r"\bnext (best )?step\b|\bmanagement\b|\btreatment\b|\bfurther (test|work)",
     "Next Step"),
    (r"\b(grade|grading|stage|staging|severity|score)\b", "Lesion Grading"),
    (r"\b(diagnosis|diagnostic consideration|most likely (condition|disease|cause))",
     "Disease Diagnosis"),
    (r"\b(modality|technique|sequence|stain|staining|imaging method|phase)\b",
     "Modality Recognition"),
    (r"\b(where|located|location|structure|region|lobe|segment|which side)\b",
     "Anatomy/Localization"),
    (r"\b(finding|sign|abnormality|feature|appearance|shown|seen|demonstrated)\b",
     "Finding/Abnormality Identification"),
)  # fmt: skip


def question_type(question: str) -> str:
    text = question.lower()
    for pattern, label in _QUESTION_TYPE_RULES:
        if re.search(pattern, text):
            return label
    return "Other Biological/Technical Attributes"


def first_label(labels: Iterable[str], canonical) -> str:
    """The first label that maps into the vocabulary; '' when none does."""
    for label in labels:
        if value := canonical(label):
            return value
    return ""


def tags(*, modalities: Iterable[str], anatomies: Iterable[str], question: str):
    return {
        "modality": first_label(modalities, vocabulary.canonical_modality),
        "anatomy": first_label(anatomies, vocabulary.canonical_anatomy),
        "question_type": question_type(question),
    }
