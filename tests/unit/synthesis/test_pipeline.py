"""Pure pipeline steps over a backend: requests, images, parsing, scoring."""

from __future__ import annotations

import io
import json

from PIL import Image

from synthesis import parsing, pipeline, prompts
from synthesis.backends.base import Completion, CompletionError, SamplingParams
from tests.fixtures.fake_backends import GOOD_ITEM, FakeGenerator, FakeVerifier

SETTINGS = pipeline.Settings()


def png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def group(images=()):
    return pipeline.Group(
        "g1",
        (pipeline.FigureText("Axial CT shows consolidation.", ("See Fig. 1.",)),),
        tuple(images),
    )


def test_images_are_shrunk_for_the_model_never_enlarged():
    original = png(1000, 500)
    resized = pipeline.resize_for_model(original, long_side=384)
    assert Image.open(io.BytesIO(resized)).size == (384, 192)
    small = pipeline.resize_for_model(png(100, 40), long_side=384)
    assert Image.open(io.BytesIO(small)).size == (100, 40)
    assert Image.open(io.BytesIO(original)).size == (1000, 500)


def test_a_small_rgb_image_goes_as_it_is_anything_else_as_an_rgb_png():
    small = png(100, 40)
    assert pipeline.resize_for_model(small, long_side=384) is small
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 20), (9, 9, 9, 128)).save(buffer, format="PNG")
    converted = Image.open(
        io.BytesIO(pipeline.resize_for_model(buffer.getvalue(), long_side=384))
    )
    assert (converted.format, converted.mode, converted.size) == (
        "PNG",
        "RGB",
        (50, 20),
    )
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 10, 10)).save(buffer, format="JPEG")
    shrunk = Image.open(
        io.BytesIO(pipeline.resize_for_model(buffer.getvalue(), long_side=384))
    )
    assert (shrunk.format, shrunk.mode, shrunk.size) == ("PNG", "RGB", (384, 288))
    assert abs(shrunk.getpixel((100, 100))[0] - 200) <= 3  # the picture, not noise


def test_generation_request_carries_schema_images_and_a_seed_per_sample():
    image = png(10, 10)
    first = pipeline.generation_request(pipeline.Unit(group([image]), 0), SETTINGS)
    second = pipeline.generation_request(pipeline.Unit(group([image]), 1), SETTINGS)
    assert first.json_schema == prompts.schema("generator", "v1")
    assert first.messages[-1].images == (image,)
    assert "[Image 1] Axial CT shows consolidation." in first.messages[-1].text
    assert (first.request_id, second.request_id) == ("g1:0", "g1:1")
    assert second.sampling.seed == first.sampling.seed + 1


def test_generate_returns_items_and_failures_in_unit_order():
    units = [pipeline.Unit(group(), i) for i in range(3)]
    results = pipeline.generate(FakeGenerator(), units, SETTINGS)
    assert [r.unit for r in results] == units
    assert all(r.item and r.item.options == GOOD_ITEM["options"] for r in results)
    bad = pipeline.generate(FakeGenerator(mode="prose"), units, SETTINGS)
    assert {(r.failure, r.item) for r in bad} == {(parsing.UNPARSEABLE, None)}


def test_only_what_a_resample_can_fix_is_tried_again():
    unit = pipeline.Unit(group(), 0)

    def failed(text, finish, **error):
        completion = Completion(
            "g1:0", text, finish_reason=finish, error=CompletionError("x", **error)
        )
        return pipeline.parse_generation(unit, completion, SETTINGS)

    refused = failed("", "error", retryable=False, cause="refused", status=400)
    overflow = failed("", "error", retryable=False, cause="context_overflow")
    cut = failed('{"question": "W', "length", retryable=False, cause="cut_by_context")
    capped = failed('{"question": "W', "length", retryable=False, cause="max_tokens")
    busy = failed("", "error", retryable=True, cause="server_error", status=503)
    assert not refused.retryable and not overflow.retryable and not cut.retryable
    assert capped.retryable and busy.retryable
    unparseable = pipeline.parse_generation(unit, Completion("g1:0", "prose"), SETTINGS)
    assert unparseable.failure == parsing.UNPARSEABLE and unparseable.retryable


def test_backend_errors_and_truncation_are_reported_not_raised():
    unit = pipeline.Unit(group(), 0)
    failed = pipeline.parse_generation(
        unit,
        Completion("g1:0", "", error=CompletionError("CUDA OOM", retryable=False)),
        SETTINGS,
    )
    assert (failed.failure, failed.detail) == (parsing.BACKEND_ERROR, "CUDA OOM")
    cut = pipeline.parse_generation(
        unit,
        Completion("g1:0", json.dumps(GOOD_ITEM), finish_reason="length"),
        SETTINGS,
    )
    assert parsing.FLAG_TRUNCATED in cut.item.flags


def test_verification_requests_carry_the_verifier_schema_and_score():
    item = {**GOOD_ITEM}
    request = pipeline.verification_request(group(), item, SETTINGS, "r1")
    assert request.json_schema == prompts.schema("verifier", "v1")
    assert "Stem Self-contained" in request.messages[-1].text
    verdicts = pipeline.verify(FakeVerifier(), [("r1", group(), item)], SETTINGS)
    assert verdicts["r1"].score.kept
    gate = pipeline.verify(
        FakeVerifier(mode="fail_gate"), [("r1", group(), item)], SETTINGS
    )
    assert not gate["r1"].score.essentials_passed


def test_a_missing_completion_is_an_error_not_a_crash():
    class Silent(FakeVerifier):
        def generate(self, requests):
            return []

    verdicts = pipeline.verify(Silent(), [("r1", group(), GOOD_ITEM)], SETTINGS)
    assert verdicts["r1"].score.error == "backend_error"


def test_a_retry_samples_warmer_with_its_own_seed():
    first = pipeline.generation_request(pipeline.Unit(group(), 0), SETTINGS)
    retry = pipeline.generation_request(pipeline.Unit(group(), 0, attempt=2), SETTINGS)
    assert first.sampling.temperature == 0.0
    assert retry.sampling.temperature == SETTINGS.retry_temperature
    assert retry.sampling.seed != first.sampling.seed
    warm = pipeline.Settings(sampling=SamplingParams(temperature=1.0))
    again = pipeline.generation_request(pipeline.Unit(group(), 0, attempt=3), warm)
    assert again.sampling.temperature == 1.0


def test_backend_flagged_replies_still_get_a_specific_reason():
    unit = pipeline.Unit(group(), 0)
    off_schema = CompletionError("output does not match the schema", retryable=False)
    cut = pipeline.parse_generation(
        unit,
        Completion(
            "g1:0", '{"question": "Wh', finish_reason="length", error=off_schema
        ),
        SETTINGS,
    )
    assert cut.failure == parsing.TRUNCATED and cut.raw == '{"question": "Wh'
    extra = json.dumps({**GOOD_ITEM, "why": "x"})
    named = pipeline.parse_generation(
        unit, Completion("g1:0", extra, error=off_schema), SETTINGS
    )
    assert named.failure == parsing.EXTRA_FIELDS
    fenced = "```json\n" + json.dumps(GOOD_ITEM) + "\n```"
    repaired = pipeline.parse_generation(
        unit, Completion("g1:0", fenced, error=off_schema), SETTINGS
    )
    assert repaired.item is not None


def test_a_truncated_verdict_is_stored_as_truncated():
    verdict = pipeline.score_verdict(
        Completion(
            "r1",
            '{"rubric": [',
            finish_reason="length",
            error=CompletionError("max_tokens", retryable=False),
        ),
        SETTINGS,
    )
    assert verdict.score.error == "truncated" and not verdict.score.kept


def test_a_verification_prompt_is_bounded_by_its_generations(demo_model_dir):
    """With a real tokenizer, chat template and image tokens (the tiny local
    model): the verifier's prompt never exceeds the bound built from the size
    of the generation prompt that held the same images."""
    from synthesis.backends import get_backend
    from synthesis.backends.hf_transformers import _open_image
    from tests.fixtures.demo_model import png_bytes

    backend = get_backend("hf_transformers", model_path=str(demo_model_dir))
    runtime = backend._load_runtime()

    def count(request):
        side = backend.max_image_long_side
        images = [_open_image(d, side) for m in request.messages for d in m.images]
        return backend._count(runtime, request, images)

    figures = group(images=(png_bytes(), png_bytes(color=(9, 9, 9))))
    generated = count(pipeline.generation_request(pipeline.Unit(figures, 0), SETTINGS))
    request = pipeline.verification_request(
        figures, GOOD_ITEM, SETTINGS, "r1", generation_prompt_tokens=generated
    )
    assert count(request) <= request.prompt_tokens_at_most
    text = sum(len(m.text.encode()) for m in request.messages)
    assert request.prompt_tokens_at_most == (
        generated + text + 3 * pipeline.TEMPLATE_TOKENS
    )
    # Without the generation's size there is no bound.
    unbounded = pipeline.verification_request(figures, GOOD_ITEM, SETTINGS, "r1")
    assert unbounded.prompt_tokens_at_most is None
