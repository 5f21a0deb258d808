"""The tolerant extractor, strict validation and deterministic item checks."""

from __future__ import annotations

import json

import pytest

from synthesis import parsing, prompts

VALIDATOR = prompts.validator("generator", "v1")
OPTIONS = {
    "A": "Consolidation",
    "B": "Pneumothorax",
    "C": "Pleural effusion",
    "D": "Atelectasis",
    "E": "Pulmonary nodule",
}
GOOD = {
    "question": "Which finding is present in the lower zone?",
    "options": OPTIONS,
    "answer": "A",
}


def parse(text, caption=""):
    return parsing.parse_item(text, validator=VALIDATOR, caption=caption)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        "```json\n" + json.dumps(GOOD) + "\n```",
        "Sure! Here it is:\n" + json.dumps(GOOD) + "\nHope this helps.",
        "<think>let me see {</think>" + json.dumps(GOOD),
        json.dumps(GOOD, indent=2).replace('"A"\n}', '"A",\n}'),
        json.dumps(GOOD).replace('"question"', "\u201cquestion\u201d"),
        json.dumps(GOOD)[:-1] + ",}",
    ],
    ids=[
        "plain",
        "fence",
        "prose-around",
        "think",
        "trailing-comma-nl",
        "smart",
        "trailing-comma",
    ],
)
def test_tolerant_extractor_recovers_the_item(text):
    item = parse(text)
    assert item.question == GOOD["question"]
    assert item.options == OPTIONS
    assert item.answer == "A"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", parsing.EMPTY_OUTPUT),
        ("The image shows consolidation.", parsing.UNPARSEABLE),
        ('{"question": "Q", "options": {"A": "x",', parsing.UNPARSEABLE),
        ("[1, 2]", parsing.NOT_AN_OBJECT),
        (json.dumps({**GOOD, "explanation": "x"}), parsing.EXTRA_FIELDS),
        (
            json.dumps({"question": "Which?", "options": OPTIONS}),
            parsing.MISSING_FIELDS,
        ),
        (
            json.dumps({**GOOD, "options": {k: OPTIONS[k] for k in "ABCD"}}),
            parsing.WRONG_OPTION_COUNT,
        ),
        (
            json.dumps({**GOOD, "options": {**OPTIONS, "F": "Other"}}),
            parsing.WRONG_OPTION_COUNT,
        ),
        (
            json.dumps({**GOOD, "options": list(OPTIONS.values())}),
            parsing.WRONG_OPTION_COUNT,
        ),
        (json.dumps({**GOOD, "answer": "Consolidation"}), parsing.ANSWER_NOT_LETTER),
        (json.dumps({**GOOD, "answer": "a"}), parsing.ANSWER_NOT_LETTER),
        (json.dumps({**GOOD, "question": "Why?"}), parsing.SCHEMA_INVALID),
        (json.dumps({**GOOD, "options": {**OPTIONS, "C": 3}}), parsing.SCHEMA_INVALID),
        (
            json.dumps({**GOOD, "options": {**OPTIONS, "C": "   "}}),
            parsing.EMPTY_OPTION,
        ),
        (
            json.dumps({**GOOD, "options": {**OPTIONS, "C": "consolidation "}}),
            parsing.DUPLICATE_OPTIONS,
        ),
        (
            json.dumps({**GOOD, "question": "Based on the caption, which finding?"}),
            parsing.FORBIDDEN_WORD,
        ),
        (
            json.dumps({**GOOD, "question": "In this context, which finding is seen?"}),
            parsing.FORBIDDEN_WORD,
        ),
        (
            json.dumps({**GOOD, "options": {**OPTIONS, "E": "None of the above"}}),
            parsing.ALL_NONE_OF_THE_ABOVE,
        ),
        (
            json.dumps({**GOOD, "options": {**OPTIONS, "E": "All of the above"}}),
            parsing.ALL_NONE_OF_THE_ABOVE,
        ),
    ],
)
def test_malformed_output_is_rejected_with_a_specific_reason(text, code):
    with pytest.raises(parsing.Rejected) as caught:
        parse(text)
    assert caught.value.code == code


def test_contextual_is_not_a_forbidden_word():
    item = parse(
        json.dumps({**GOOD, "question": "Which contextual sign is shown here?"})
    )
    assert item.flags == ()


def test_longest_option_being_the_key_is_flagged_not_rejected():
    options = {**OPTIONS, "B": "Tension pneumothorax with mediastinal shift"}
    item = parse(json.dumps({**GOOD, "options": options, "answer": "B"}))
    assert parsing.FLAG_LONGEST_OPTION_IS_ANSWER in item.flags
    assert parsing.FLAG_LONGEST_OPTION_IS_ANSWER not in parse(json.dumps(GOOD)).flags


def test_stem_that_restates_the_caption_is_flagged():
    caption = "Chest radiograph showing a large right sided pleural effusion."
    stem = "This chest radiograph showing a large right sided opacity suggests what?"
    item = parse(json.dumps({**GOOD, "question": stem}), caption=caption)
    assert parsing.FLAG_STEM_REPEATS_CAPTION in item.flags
    clean = parse(json.dumps(GOOD), caption=caption)
    assert parsing.FLAG_STEM_REPEATS_CAPTION not in clean.flags


def test_key_named_in_caption_and_stem_is_flagged():
    caption = "CT shows consolidation of the right lower lobe."
    stem = "Which finding explains the consolidation seen in the right lower lobe?"
    item = parse(json.dumps({**GOOD, "question": stem}), caption=caption)
    assert parsing.FLAG_KEY_IN_STEM in item.flags


def test_verdict_reader_reports_errors_instead_of_raising():
    read = parsing.parse_verdict
    assert read("nonsense") == (None, "unparseable")
    assert read("[1, 2]") == (None, "unparseable")
    assert read('{"score": 3}') == (None, "unparseable")
    assert read('{"error": "insufficient_evidence"}') == (None, "insufficient_evidence")
    row = {"title": "Clinical Validity", "score": 5, "reason": "ok"}
    text = json.dumps({"rubric": [row, "junk"], "total": 5})
    assert read(f"```json\n{text}\n```") == ([row], "")
