"""What every backend promises, checked on each runtime with the same requests.

hf_transformers runs the demo model; openai_compat talks real HTTP to a local
stub server; vllm_offline runs the demo model where vllm is installed (GPU box).
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from synthesis.backends import get_backend
from synthesis.backends.base import Backend
from synthesis.backends.vllm_offline import vllm_available
from tests.fixtures.fake_openai_server import Reply, chat_body
from tests.unit.synthesis.backends.sample_requests import (
    INVALID_SCHEMA,
    MCQ_SCHEMA,
    mcq_request,
)


def _server_answer(payload: dict) -> Reply:
    """What a schema-honouring server would send, truncated at small max_tokens."""
    content = json.dumps(
        {
            "question": "Which lobe?",
            "options": ["L", "R", "Both", "None"],
            "answer": "B",
        }
    )
    if payload["max_tokens"] < 20:
        return Reply(body=chat_body(content[:10], finish_reason="length"))
    return Reply(body=chat_body(content))


@pytest.fixture(
    params=[
        pytest.param("hf_transformers", marks=pytest.mark.slow),
        "openai_compat",
        pytest.param(
            "vllm_offline",
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif(not vllm_available(), reason="vllm not installed"),
            ],
        ),
    ]
)
def backend(request) -> Backend:
    if request.param == "openai_compat":
        server = request.getfixturevalue("stub_server")
        server.responder = _server_answer
        return get_backend(
            "openai_compat", base_url=server.base_url, model="stub", api_key=""
        )
    model_dir = str(request.getfixturevalue("demo_model_dir"))
    if request.param == "vllm_offline":
        return get_backend(
            "vllm_offline", model=model_dir, dtype="float32", gpu_memory_utilization=0.3
        )
    return get_backend("hf_transformers", model_path=model_dir)


def test_backend_satisfies_the_protocol(backend):
    assert isinstance(backend, Backend)
    assert isinstance(backend.model_name, str) and backend.model_name


def test_no_requests_give_no_completions(backend):
    assert backend.generate([]) == []


def test_structured_requests_give_schema_valid_json_with_counts(backend):
    requests = [mcq_request(f"r{i}", seed=i) for i in range(3)]
    completions = backend.generate(requests)
    assert [c.request_id for c in completions] == ["r0", "r1", "r2"]
    for completion in completions:
        assert completion.ok, completion.error
        jsonschema.validate(json.loads(completion.text), MCQ_SCHEMA)
        assert completion.finish_reason == "stop"
        assert completion.prompt_tokens > 0
        assert completion.completion_tokens > 0
        assert completion.latency_s > 0


def test_a_bad_schema_fails_only_its_request_and_not_retryably(backend):
    requests = [mcq_request("good"), mcq_request("bad", schema=INVALID_SCHEMA)]
    good, bad = backend.generate(requests)
    assert good.ok
    assert (bad.request_id, bad.ok, bad.finish_reason) == ("bad", False, "error")
    assert bad.error.retryable is False
    assert "schema" in bad.error.message


def test_output_cut_by_max_tokens_is_reported_as_length_not_retryable(backend):
    (completion,) = backend.generate([mcq_request("short", max_tokens=5)])
    assert completion.finish_reason == "length"
    assert not completion.ok
    assert completion.error.retryable is False
    assert "max_tokens" in completion.error.message
    assert completion.text  # the partial output is kept, honestly
