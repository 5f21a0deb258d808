"""Tags come from figure labels and the method's question-type tie-breaks."""

from __future__ import annotations

import pytest

from synthesis import tagging, vocabulary


def test_modality_and_anatomy_come_from_the_first_label_in_the_vocabulary():
    tags = tagging.tags(
        modalities=["", "unknown thing", "MRI"],
        anatomies=["Head"],
        question="Which sequence is shown?",
    )
    assert tags == {
        "modality": "MR",
        "anatomy": "Brain",
        "question_type": "Modality Recognition",
    }


def test_no_usable_label_gives_empty_tags():
    tags = tagging.tags(modalities=["zzz"], anatomies=[], question="What is shown?")
    assert (tags["modality"], tags["anatomy"]) == ("", "")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is the next best step in management?", "Next Step"),
        ("What grade is this tumour?", "Lesion Grading"),
        ("What is the most likely diagnosis?", "Disease Diagnosis"),
        ("Which stain was used?", "Modality Recognition"),
        ("Where is the lesion located?", "Anatomy/Localization"),
        ("Which sign is present?", "Finding/Abnormality Identification"),
        (
            "Which receptor is expressed by these cells?",
            "Other Biological/Technical Attributes",
        ),
    ],
)
def test_question_type_follows_the_tie_break_rules(question, expected):
    assert tagging.question_type(question) == expected
    assert expected in vocabulary.QUESTION_TYPES
