from __future__ import annotations

import pytest

from synthesis.ingest.sources.sentences import split_sentences


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


@pytest.mark.parametrize(
    "abbreviation",
    ["Fig.", "Figs.", "et al.", "i.e.", "e.g.", "vs.", "cf.", "approx.", "Dr."],
)
def test_common_abbreviations_do_not_end_a_sentence(abbreviation):
    text = f"One claim {abbreviation} Another part of it. Second sentence."
    assert sentences(text) == [
        f"One claim {abbreviation} Another part of it.",
        "Second sentence.",
    ]


def test_initials_and_decimals_do_not_end_a_sentence():
    text = "As J. Smith measured, the lesion was 2.5 cm wide. It grew."
    assert sentences(text) == [
        "As J. Smith measured, the lesion was 2.5 cm wide.",
        "It grew.",
    ]


def test_questions_exclamations_and_closing_brackets_end_sentences():
    text = "Was it seen (Fig. 3)? Yes! It was (see Fig. 4.) Done."
    assert sentences(text) == [
        "Was it seen (Fig. 3)?",
        "Yes!",
        "It was (see Fig. 4.)",
        "Done.",
    ]


def test_offsets_point_into_the_original_text():
    text = "  First one.   Second one.  "
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "First one.",
        "Second one.",
    ]
