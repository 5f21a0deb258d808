"""The OpenAI-compatible client against a local server replaying responses."""

from __future__ import annotations

import base64
import email.utils
import json
import socket
import time

import pytest

from synthesis.backends import get_backend
from synthesis.backends.base import BackendError, BackendUnavailable
from synthesis.backends.openai_compat import OpenAICompatBackend, _retry_after
from tests.fixtures.demo_model import png_bytes
from tests.fixtures.fake_openai_server import Reply, chat_body
from tests.unit.synthesis.backends.sample_requests import MCQ_SCHEMA, mcq_request

VALID = json.dumps(
    {"question": "Which lobe?", "options": ["L", "R", "Both", "None"], "answer": "A"}
)


def client(server, **config) -> OpenAICompatBackend:
    defaults = {"backoff_base_s": 0.01, "max_retries": 2, "api_key": ""}
    return get_backend(
        "openai_compat",
        base_url=server.base_url,
        model="medsyn-gen",
        **{**defaults, **config},
    )


def test_request_carries_image_as_data_url_and_schema_as_response_format(
    stub_server,
):
    stub_server.script = [Reply(body=chat_body(VALID, prompt_tokens=321))]
    image = png_bytes()
    backend = client(stub_server, api_key="sk-test-123")
    (completion,) = backend.generate([mcq_request("r1", image=image, seed=5)])

    assert completion.ok and completion.text == VALID
    assert completion.prompt_tokens == 321 and completion.completion_tokens > 0
    sent = stub_server.requests[0]
    assert sent["model"] == "medsyn-gen" and sent["seed"] == 5
    user = sent["messages"][1]
    image_part, text_part = user["content"]
    prefix = "data:image/png;base64,"
    assert image_part["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(image_part["image_url"]["url"][len(prefix) :]) == image
    assert text_part["type"] == "text"
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "medsyn_output", "schema": MCQ_SCHEMA, "strict": True},
    }
    assert stub_server.headers[0]["Authorization"] == "Bearer sk-test-123"


def test_429_is_retried_after_retry_after(stub_server):
    stub_server.script = [
        Reply(status=429, body="slow down", headers={"Retry-After": "1"}),
        Reply(body=chat_body(VALID)),
    ]
    started = time.perf_counter()
    (completion,) = client(stub_server).generate([mcq_request("r")])
    assert completion.ok
    assert len(stub_server.requests) == 2
    assert time.perf_counter() - started >= 0.9


def test_persistent_500_gives_a_retryable_error_after_all_attempts(stub_server):
    stub_server.script = [Reply(status=500, body="boom")]
    (completion,) = client(stub_server, max_retries=2).generate([mcq_request("r")])
    assert not completion.ok and completion.error.retryable is True
    assert "HTTP 500" in completion.error.message
    assert len(stub_server.requests) == 3


def test_other_4xx_is_final_and_not_retried(stub_server):
    stub_server.script = [
        Reply(status=400, body='{"error": "bad image"}'),
        Reply(body=chat_body(VALID)),
    ]
    bad, good = client(stub_server, max_concurrency=1).generate(
        [mcq_request("bad"), mcq_request("good")]
    )
    assert not bad.ok and bad.error.retryable is False
    assert "bad image" in bad.error.message
    assert good.ok
    assert len(stub_server.requests) == 2


def test_malformed_body_is_a_retryable_error(stub_server):
    stub_server.script = [Reply(body='{"choices": [ {"message": ')]
    (completion,) = client(stub_server).generate([mcq_request("r")])
    assert not completion.ok and completion.error.retryable is True
    assert "malformed response body" in completion.error.message


def test_read_timeout_is_retried_then_reported_retryable(stub_server):
    stub_server.script = [Reply(body=chat_body(VALID), delay_s=1.0)]
    backend = client(stub_server, read_timeout_s=0.2, max_retries=1)
    (completion,) = backend.generate([mcq_request("r")])
    assert not completion.ok and completion.error.retryable is True
    assert "timed out" in completion.error.message
    assert len(stub_server.requests) == 2


def test_schema_violating_content_is_a_final_error_with_the_raw_text(stub_server):
    # A server that silently ignored the schema answers 200 with prose or wrong JSON.
    wrong = json.dumps({"question": "Q?", "options": ["a"], "answer": "Z"})
    stub_server.script = [
        Reply(body=chat_body(wrong)),
        Reply(body=chat_body("Sure! Here is a question: ...")),
    ]
    violating, prose = client(stub_server, max_concurrency=1).generate(
        [mcq_request("a"), mcq_request("b")]
    )
    assert not violating.ok and violating.error.retryable is False
    assert "does not match the schema" in violating.error.message
    assert violating.text == wrong
    assert not prose.ok and "not valid JSON" in prose.error.message
    assert prose.text.startswith("Sure!")


def test_unstructured_requests_are_not_validated(stub_server):
    stub_server.script = [Reply(body=chat_body("plain prose"))]
    (completion,) = client(stub_server).generate([mcq_request("r", schema=None)])
    assert completion.ok and completion.text == "plain prose"
    assert "response_format" not in stub_server.requests[0]


def test_concurrency_is_bounded(stub_server):
    stub_server.script = [Reply(body=chat_body(VALID), delay_s=0.15)]
    backend = client(stub_server, max_concurrency=2)
    completions = backend.generate([mcq_request(f"r{i}") for i in range(6)])
    assert [c.request_id for c in completions] == [f"r{i}" for i in range(6)]
    assert all(c.ok for c in completions)
    assert stub_server.max_in_flight == 2


def test_unreachable_server_raises_backend_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends
    backend = get_backend(
        "openai_compat",
        base_url=f"http://127.0.0.1:{port}/v1",
        model="m",
        max_retries=1,
        backoff_base_s=0.01,
    )
    with pytest.raises(BackendUnavailable) as caught:
        backend.generate([mcq_request("a"), mcq_request("b")])
    assert caught.value.retryable is True


def test_every_request_refused_for_auth_fails_the_backend(stub_server):
    stub_server.script = [Reply(status=401, body='{"error": "bad key"}')]
    with pytest.raises(BackendError) as caught:
        client(stub_server).generate([mcq_request("a"), mcq_request("b")])
    assert caught.value.retryable is False
    assert "API key" in str(caught.value)


def test_missing_base_url_is_a_configuration_error(monkeypatch):
    # No URL from the environment: the client gets what its endpoint says.
    monkeypatch.setenv("MEDSYN_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(BackendError) as caught:
        get_backend("openai_compat", model="m")
    assert caught.value.retryable is False


def test_an_unreadable_image_fails_its_request_without_a_call(stub_server):
    stub_server.script = [Reply(body=chat_body(VALID))]
    bad, good = client(stub_server).generate(
        [mcq_request("bad", image=b"garbage"), mcq_request("good")]
    )
    assert not bad.ok and bad.error.retryable is False
    assert good.ok
    assert len(stub_server.requests) == 1


def test_retry_after_may_be_an_http_date():
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after(soon) <= 31
    assert _retry_after("2") == 2.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
