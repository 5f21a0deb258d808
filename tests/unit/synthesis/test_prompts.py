"""Prompt templates render the method's per-image blocks and ship bounded schemas."""

from __future__ import annotations

import json

import jsonschema
import pytest

from synthesis import prompts, rubric


def test_generator_prompt_lists_one_caption_and_context_line_per_image():
    text = prompts.render_generator(
        "v1",
        captions=["Axial CT shows a mass.", "Axial CT shows a mass."],
        contexts=[["The mass (Fig. 1A) is large.", "It enhances."], []],
    )
    assert "[Image 1] Axial CT shows a mass." in text
    assert "[Image 2] Axial CT shows a mass." in text
    assert "[Image 1] The mass (Fig. 1A) is large. It enhances." in text
    assert "[Image 2] (empty)" in text
    assert "$" not in text.replace("$captions", "")


def test_generator_prompt_says_when_there_is_no_context_at_all():
    text = prompts.render_generator("v1", captions=["A"], contexts=[[" "]])
    assert "No additional context is provided." in text


def test_captions_are_whitespace_normalised_and_dollars_kept_literal():
    text = prompts.render_generator(
        "v1", captions=["cost $5\n  per\tscan"], contexts=[[]]
    )
    assert "[Image 1] cost $5 per scan" in text


def test_verifier_prompt_carries_the_item_first_caption_and_every_criterion():
    item = {"question": "Q?", "options": {k: k.lower() for k in "ABCDE"}, "answer": "C"}
    text = prompts.render_verifier(
        "v1",
        item={**item, "flags": ["x"]},
        caption="Cap one",
        contexts=[["ctx"]],
        criteria=rubric.RUBRIC_V1.prompt_lines(),
    )
    assert json.dumps(item) in text
    assert "flags" not in text.split("QUESTION (JSON):")[1]
    assert "Image(s) Public Caption:\nCap one" in text
    for criterion in rubric.RUBRIC_V1.criteria:
        assert (
            f"- {criterion.title} [{criterion.category}, weight {criterion.weight}]"
            in text
        )


def test_unknown_versions_are_refused():
    with pytest.raises(ValueError, match="version 'v9'"):
        prompts.template("generator", "v9")
    with pytest.raises(ValueError, match="version 'v9'"):
        prompts.schema("verifier", "v9")


@pytest.mark.parametrize("name", ["generator", "verifier"])
def test_schemas_are_valid_and_bound_every_string(name):
    schema = prompts.schema(name, "v1")
    jsonschema.Draft202012Validator.check_schema(schema)

    def strings(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node:
                yield node
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)

    found = list(strings(schema))
    assert found
    assert all("maxLength" in node for node in found)


def test_generator_schema_accepts_the_method_shape_and_nothing_more():
    schema = prompts.schema("generator", "v1")
    good = {
        "question": "Which finding?",
        "options": {k: k for k in "ABCDE"},
        "answer": "B",
    }
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "why": "x"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "answer": "F"}, schema)


def test_verifier_schema_offers_exactly_the_rubric_titles_once_each():
    rows = prompts.schema("verifier", "v1")["anyOf"][0]["properties"]["rubric"]
    titles = rows["items"]["properties"]["title"]["enum"]
    assert titles == [c.title for c in rubric.RUBRIC_V1.criteria]
    assert rows["minItems"] == rows["maxItems"] == len(titles)


def test_every_request_shares_one_schema_object_so_its_check_runs_once():
    """Backends cache a schema's check and validator by identity (checking
    costs milliseconds): a fresh copy per request would miss every time."""
    first = prompts.schema("verifier", "v2")
    assert prompts.schema("verifier", "v2") is first
    assert prompts.schema("generator", "v1") is prompts.schema("generator", "v1")
