"""The verifier's verdict schema (v2) leaves no room for ambiguous verdicts."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from synthesis import parsing, prompts, rubric
from synthesis.backends.structured_output import check_output, check_schema

SCHEMA = prompts.schema("verifier", "v2")
CRITERIA = rubric.RUBRIC_V1.criteria


def full_marks() -> dict:
    return {
        "rubric": [
            {"title": c.title, "score": 0 if c.is_pitfall else c.weight, "reason": "ok"}
            for c in CRITERIA
        ]
    }


def refused(document) -> bool:
    return not jsonschema.Draft202012Validator(SCHEMA).is_valid(document)


def test_the_file_is_the_schema_the_rubric_defines():
    assert (
        rubric.verdict_schema(
            rubric.RUBRIC_V1, title="MedSyn verifier verdict, v2 (rubric v1)"
        )
        == SCHEMA
    )
    assert check_schema(SCHEMA) is None
    rows = SCHEMA["anyOf"][0]["properties"]["rubric"]
    assert [r["properties"]["title"]["const"] for r in rows["prefixItems"]] == [
        c.title for c in CRITERIA
    ]
    assert rows["minItems"] == rows["maxItems"] == 17 and rows["items"] is False


def test_a_complete_verdict_and_insufficient_evidence_pass():
    jsonschema.validate(full_marks(), SCHEMA)
    jsonschema.validate({"error": "insufficient_evidence"}, SCHEMA)
    every_pitfall = full_marks()
    for row, c in zip(every_pitfall["rubric"], CRITERIA, strict=True):
        row["score"] = c.weight if c.is_pitfall else 0
    jsonschema.validate(every_pitfall, SCHEMA)


def test_the_real_servers_duplicate_titles_are_refused():
    # What a real vLLM verdict looked like under the v1 schema: 15 rows of one title.
    doc = full_marks()
    doc["rubric"] = (
        doc["rubric"][:2]
        + [{"title": "Forbidden Terms", "score": 0, "reason": "none"}] * 15
    )
    v1 = jsonschema.Draft202012Validator(prompts.schema("verifier", "v1"))
    assert v1.is_valid(doc)  # the bug: v1 let it through
    assert refused(doc)
    one_twice = full_marks()
    one_twice["rubric"][16] = dict(one_twice["rubric"][13])
    assert refused(one_twice)


@pytest.mark.parametrize(
    ("index", "score"),
    [(0, 3), (0, 1), (7, 2), (9, 1), (13, -1), (14, -2), (16, 2), (0, -5), (0, "5")],
)
def test_partial_or_foreign_scores_are_refused(index, score):
    doc = full_marks()
    doc["rubric"][index]["score"] = score
    assert refused(doc)


def test_missing_extra_or_reordered_rows_are_refused():
    short = full_marks()
    del short["rubric"][5]
    long = full_marks()
    long["rubric"].append(copy.deepcopy(long["rubric"][0]))
    swapped = full_marks()
    swapped["rubric"][0], swapped["rubric"][1] = (
        swapped["rubric"][1],
        swapped["rubric"][0],
    )
    chatty = full_marks()
    chatty["rubric"][0]["total"] = 51
    assert refused(short) and refused(long) and refused(swapped) and refused(chatty)
    assert refused({"rubric": full_marks()["rubric"], "total": 51})


def test_a_backend_checks_answers_against_it():
    text = json.dumps(full_marks())
    assert check_output(text, SCHEMA, finish_reason="stop", max_tokens=3072) is None
    doc = full_marks()
    doc["rubric"][3]["score"] = 2
    error = check_output(json.dumps(doc), SCHEMA, finish_reason="stop", max_tokens=99)
    assert error is not None and "does not match the schema" in error.message


def test_parsing_stays_tolerant_when_a_server_ignores_the_schema():
    # Duplicates and partial credit still parse, and score as not passed.
    doc = full_marks()
    doc["rubric"][16] = dict(doc["rubric"][13])
    rows, error = parsing.parse_verdict(json.dumps(doc))
    assert error == "" and len(rows) == 17
    result = rubric.score("v1", rows)
    assert result.error == rubric.ERROR_MISSING_CRITERIA and not result.kept
    partial = full_marks()
    partial["rubric"][0]["score"] = 3
    rows, _ = parsing.parse_verdict(json.dumps(partial))
    assert not rubric.score("v1", rows).kept  # a gate below full marks fails


def test_constrained_decoding_on_the_local_model_gives_valid_verdicts(demo_model_dir):
    """llguidance (the engine of vLLM's `guidance` backend and of the local
    logits processors) accepts the schema, and the demo model decoded under it
    gives a verdict the schema accepts: 17 rows in order, allowed scores."""
    from synthesis.backends import get_backend
    from synthesis.backends.base import ChatMessage, GenerationRequest, SamplingParams
    from tests.fixtures.demo_model import png_bytes

    backend = get_backend("hf_transformers", model_path=str(demo_model_dir))
    # Only the rubric branch, so the random-weight model cannot take the short
    # way out through {"error": ...}.
    rows_only = {"$schema": SCHEMA["$schema"], **SCHEMA["anyOf"][0]}
    request = GenerationRequest(
        messages=(ChatMessage("user", "Judge this item.", (png_bytes(),)),),
        json_schema=rows_only,
        sampling=SamplingParams(max_tokens=3072, temperature=1.0, seed=3),
        request_id="v",
    )
    (completion,) = backend.generate([request])
    assert completion.ok, completion.error
    verdict = json.loads(completion.text)
    jsonschema.validate(verdict, SCHEMA)
    assert [row["title"] for row in verdict["rubric"]] == [c.title for c in CRITERIA]
    assert rubric.score("v1", verdict["rubric"]).error == ""
