"""The fake OpenAI-compatible server answers like vLLM, so tests can lean on it."""

from __future__ import annotations

import json
import threading
import time

import httpx
import jsonschema

from synthesis import prompts
from synthesis.rubric import RUBRIC_V1, score
from tests.fixtures.fake_openai_server import (
    RUBRIC_ROWS,
    FakeOpenAIServer,
    vllm_context_error,
)


def chat(server, prompt: str, *, schema=None, **extra) -> httpx.Response:
    payload = {
        "model": server.model,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        **extra,
    }
    if schema is not None:
        payload["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": schema, "strict": True},
        }
    return httpx.post(server.base_url + "/chat/completions", json=payload, timeout=10)


def test_rubric_rows_are_the_rubric_at_full_marks():
    assert [t for t, _ in RUBRIC_ROWS] == [c.title for c in RUBRIC_V1.criteria]
    assert [s for _, s in RUBRIC_ROWS] == [
        0 if c.is_pitfall else c.weight for c in RUBRIC_V1.criteria
    ]


def test_models_and_tokenize_report_the_context():
    with FakeOpenAIServer(max_model_len=2048, model="tiny") as server:
        models = httpx.get(server.base_url + "/models").json()
        assert models["data"][0] == {**models["data"][0], "id": "tiny"}
        assert models["data"][0]["max_model_len"] == 2048
        body = {
            "model": "tiny",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:,"}},
                        {"type": "text", "text": "x" * 400},
                    ],
                }
            ],
        }
        counted = httpx.post(server.root_url + "/tokenize", json=body).json()
        assert counted["count"] == 4 + 256 + 100
        assert counted["max_model_len"] == 2048
        assert len(counted["tokens"]) == counted["count"]
        assert server.requests == []  # tokenizing is not a chat request


def test_answers_validate_against_medsyn_schemas_and_score_as_kept():
    gen_schema = prompts.schema("generator", "v1")
    ver_schema = prompts.schema("verifier", "v1")
    with FakeOpenAIServer() as server:
        item = chat(server, "write one", schema=gen_schema, max_tokens=512).json()
        item = json.loads(item["choices"][0]["message"]["content"])
        jsonschema.validate(item, gen_schema)
        verdict = chat(server, "judge it", schema=ver_schema, max_tokens=2048).json()
        assert verdict["choices"][0]["finish_reason"] == "stop"
        rows = json.loads(verdict["choices"][0]["message"]["content"])
        jsonschema.validate(rows, ver_schema)
        assert score("v1", rows["rubric"]).kept
        # Without a schema the prompt tells the roles apart.
        plain = chat(server, "You are a strict verifier").json()
        assert "rubric" in plain["choices"][0]["message"]["content"]


def test_samples_differ_only_when_sampling():
    schema = prompts.schema("generator", "v1")
    with FakeOpenAIServer() as server:

        def text(**sampling):
            body = chat(server, "same prompt", schema=schema, **sampling).json()
            return body["choices"][0]["message"]["content"]

        assert text(temperature=0, seed=1) == text(temperature=0, seed=2)
        assert text(temperature=0.7, seed=1) != text(temperature=0.7, seed=2)


def test_overlong_requests_get_vllms_400():
    with FakeOpenAIServer(max_model_len=2048) as server:
        too_big = chat(server, "x", max_tokens=3072)
        assert too_big.status_code == 400
        assert too_big.json()["error"]["message"].startswith(
            "max_tokens=3072 cannot be greater than max_model_len=2048"
        )
        overflow = chat(server, "x" * 8000, max_tokens=100)
        assert overflow.status_code == 400
        assert "maximum context length is 2048 tokens" in overflow.text
    message = vllm_context_error(prompt_tokens=2000, max_tokens=100, max_model_len=2048)
    assert "you requested 2100 tokens (2000 in the messages, 100 in the" in message


def test_output_cut_by_the_context_ends_with_length():
    with FakeOpenAIServer(max_model_len=2048) as server:
        body = chat(server, "x" * (2040 * 4), schema={"rubric": 1}).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] <= 2048


def test_injected_failures_come_first_with_retry_after():
    with FakeOpenAIServer() as server:
        server.fail(429, "slow down", retry_after=2)
        server.fail(503, "busy")
        first, second, third = (chat(server, "hi") for _ in range(3))
    assert first.status_code == 429 and first.headers["retry-after"] == "2"
    assert first.json()["error"]["message"] == "slow down"
    assert second.status_code == 503
    assert third.status_code == 200
    assert server.request_count == 3


def test_latency_and_concurrency_cap_like_a_gpu_batch():
    with FakeOpenAIServer(latency_s=0.2, max_concurrency=2) as server:
        started = time.perf_counter()
        threads = [threading.Thread(target=chat, args=(server, "hi")) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    assert server.max_serving == 2
    assert server.max_in_flight > 2  # the rest waited
    assert server.answered == 6
    assert elapsed >= 0.6  # three rounds of two
