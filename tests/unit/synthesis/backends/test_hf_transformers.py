"""The transformers runtime on the demo model: images in, schema-valid JSON out."""

from __future__ import annotations

import json

import jsonschema
import pytest

from synthesis.backends import demo_model, get_backend
from synthesis.backends.base import BackendError
from synthesis.backends.hf_transformers import TransformersBackend
from tests.fixtures.demo_model import png_bytes
from tests.unit.synthesis.backends.sample_requests import MCQ_SCHEMA, mcq_request

pytestmark = pytest.mark.slow


@pytest.fixture
def backend(demo_model_dir) -> TransformersBackend:
    return get_backend("hf_transformers", model_path=str(demo_model_dir))


def test_every_sampled_call_gives_schema_valid_json(backend):
    colors = [(i * 30 % 256, 255 - i * 20, 90) for i in range(8)]
    requests = [
        mcq_request(f"r{i}", image=png_bytes(color=c), temperature=1.0, seed=i)
        for i, c in enumerate(colors)
    ]
    completions = backend.generate(requests) + backend.generate(requests[:3])
    assert len(completions) == 11
    for completion in completions:
        assert completion.ok, completion.error
        jsonschema.validate(json.loads(completion.text), MCQ_SCHEMA)
    # Random weights, but different seeds/images still give different items.
    assert len({c.text for c in completions[:8]}) > 1


def test_same_requests_and_seed_give_the_same_text(backend):
    requests = [mcq_request(f"r{i}", temperature=1.0, seed=i) for i in range(4)]
    first = [c.text for c in backend.generate(requests)]
    second = [c.text for c in backend.generate(requests)]
    reseeded = [
        c.text
        for c in backend.generate(
            [mcq_request(f"r{i}", temperature=1.0, seed=100 + i) for i in range(4)]
        )
    ]
    assert first == second
    assert first != reseeded


def test_a_batch_gives_the_same_greedy_text_as_one_by_one(backend):
    requests = [
        mcq_request("a", image=png_bytes((320, 240))),
        mcq_request("b", image=png_bytes((100, 300), color=(0, 0, 255))),
    ]
    batched = [c.text for c in backend.generate(requests)]
    alone = [backend.generate([r])[0].text for r in requests]
    assert batched == alone


def test_unconstrained_requests_run_free_and_stop_at_max_tokens(backend):
    (completion,) = backend.generate([mcq_request("free", schema=None, max_tokens=12)])
    assert completion.ok
    assert completion.completion_tokens <= 12
    assert completion.finish_reason in {"stop", "length"}


def test_images_are_counted_in_prompt_tokens(backend):
    small, large = backend.generate(
        [
            mcq_request("small", image=png_bytes((56, 56))),
            mcq_request("large", image=png_bytes((112, 112))),
        ]
    )
    assert large.prompt_tokens > small.prompt_tokens


def test_an_unreadable_image_fails_only_its_request(backend):
    good, bad = backend.generate(
        [mcq_request("good"), mcq_request("bad", image=b"not an image")]
    )
    assert good.ok
    assert not bad.ok and bad.error.retryable is False
    assert "unreadable image" in bad.error.message


def test_model_is_loaded_once_per_process(backend, demo_model_dir):
    other = TransformersBackend(model_path=demo_model_dir)
    backend.generate([mcq_request("x", max_tokens=5)])
    other.generate([mcq_request("y", max_tokens=5)])
    assert other._runtime is backend._runtime


def test_no_model_path_means_the_demo_model(demo_model_dir, monkeypatch):
    monkeypatch.setenv("MEDSYN_DEMO_MODEL_DIR", str(demo_model_dir))
    backend = TransformersBackend()
    assert backend.is_demo
    assert backend.model_name == demo_model.MODEL_NAME
    assert backend.generate([mcq_request("d")])[0].ok


def test_a_missing_model_fails_the_whole_backend(tmp_path):
    backend = TransformersBackend(model_path=tmp_path / "nowhere")
    with pytest.raises(BackendError) as caught:
        backend.generate([mcq_request("x")])
    assert caught.value.retryable is False
    assert "config.json" in str(caught.value)
