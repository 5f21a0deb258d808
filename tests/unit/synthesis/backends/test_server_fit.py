"""The OpenAI-compatible client knows its server: context, prompt size, refusals.

Real HTTP against the local fake vLLM-shaped server.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from synthesis import prompts
from synthesis.backends import get_backend
from synthesis.backends.base import (
    CAUSE_CONTEXT_OVERFLOW,
    CAUSE_CUT_BY_CONTEXT,
    CAUSE_REFUSED,
    CAUSE_SCHEMA_REFUSED,
)
from synthesis.backends.context import fit_max_tokens, refusal
from tests.fixtures.fake_openai_server import FakeOpenAIServer
from tests.unit.synthesis.backends.sample_requests import mcq_request

VERIFIER_SCHEMA = prompts.schema("verifier", "v1")


def client(server, **config):
    defaults = {"backoff_base_s": 0.01, "max_retries": 3, "api_key": ""}
    return get_backend(
        "openai_compat",
        base_url=server.base_url,
        model=server.model,
        **{**defaults, **config},
    )


def test_a_request_longer_than_the_context_is_not_sent():
    with FakeOpenAIServer(max_model_len=2048) as server:
        request = mcq_request("r", text="word " * 2000, max_tokens=1024)
        (completion,) = client(server).generate([request])
    assert server.requests == []  # the server never saw a chat request
    assert len(server.tokenize_requests) == 2  # the probe, then this prompt
    error = completion.error
    assert not completion.ok and error.retryable is False
    assert error.cause == CAUSE_CONTEXT_OVERFLOW
    # as the server counted: the system message, then an image and 10,000 chars
    assert error.prompt_tokens == (4 + 8) + (4 + 256 + 2500)
    assert error.context_length == 2048 and error.max_tokens == 1024
    assert "2,772 tokens" in error.message and "2,048" in error.message
    assert completion.prompt_tokens == 2772


def test_max_tokens_is_fitted_to_the_room_left():
    with FakeOpenAIServer(max_model_len=2048) as server:
        request = mcq_request("r", schema=None, max_tokens=3072)
        (completion,) = client(server).generate([request])
    assert completion.ok, completion.error
    (sent,) = server.requests
    prompt = server.count_tokens(sent)
    assert sent["max_tokens"] == 2048 - prompt


def test_the_servers_context_wins_over_the_registry_and_the_mismatch_is_said():
    with FakeOpenAIServer(max_model_len=2048) as server:
        info = client(server, context_length=8192).server_info()
    assert info.max_model_len == 2048 and info.context_length == 2048
    assert info.counts_tokens
    assert "max_model_len=2,048" in info.mismatch
    assert "context_length=8,192" in info.mismatch
    assert info.as_dict()["mismatch"] == info.mismatch


def test_server_info_is_read_once_per_process():
    with FakeOpenAIServer() as server:
        backend = client(server)
        backend.generate([mcq_request("a", schema=None)])
        backend.generate([mcq_request("b", schema=None)])
        client(server).generate([mcq_request("c", schema=None)])
    assert server.paths.count("GET /v1/models") == 1


def test_without_a_token_count_vllms_own_refusal_is_read_and_not_retried():
    with FakeOpenAIServer(max_model_len=2048, serve_tokenize=False) as server:
        request = mcq_request("r", text="word " * 2000, max_tokens=1024)
        (completion,) = client(server).generate([request])
    assert len(server.requests) == 1  # sent once, never again
    assert server.requests[0]["max_tokens"] == 1024
    error = completion.error
    assert error.status == 400 and error.retryable is False
    assert error.cause == CAUSE_CONTEXT_OVERFLOW
    assert "maximum context length is 2048 tokens" in error.server_message
    assert error.context_length == 2048


def test_a_400_is_not_retried_and_says_what_the_server_said():
    with FakeOpenAIServer() as server:
        server.fail(400, "top_p must be in (0, 1], got 7.0.", times=5)
        (completion,) = client(server).generate([mcq_request("r", schema=None)])
    assert server.request_count == 1
    error = completion.error
    assert error.status == 400 and error.cause == CAUSE_REFUSED
    assert error.server_message == "top_p must be in (0, 1], got 7.0."
    assert error.prompt_tokens and error.prompt_tokens > 256


def test_429_and_503_are_retried_after_retry_after():
    with FakeOpenAIServer() as server:
        server.fail(429, "slow down", retry_after=1)
        server.fail(503, "loading", retry_after=1)
        started = time.perf_counter()
        (completion,) = client(server).generate([mcq_request("r", schema=None)])
        elapsed = time.perf_counter() - started
    assert completion.ok, completion.error
    assert server.request_count == 3
    assert elapsed >= 1.9  # two waits of one second, not the 10 ms backoff


def test_output_cut_by_the_end_of_the_context_is_reported_as_such():
    with FakeOpenAIServer(max_model_len=2048, chars_per_token=1) as server:
        request = mcq_request(
            "r", schema=VERIFIER_SCHEMA, text="w" * 1300, max_tokens=3072
        )
        (completion,) = client(server).generate([request])
    assert completion.finish_reason == "length"
    error = completion.error
    assert error.cause == CAUSE_CUT_BY_CONTEXT and not error.retryable
    assert "cut by the end of the context (2,048 tokens" in error.message
    assert "max_tokens=3,072 asked" in error.message


def test_fit_and_refusal_helpers():
    assert fit_max_tokens(requested=512, prompt_tokens=100, context_length=None) == 512
    assert fit_max_tokens(requested=512, prompt_tokens=None, context_length=300) == 299
    assert fit_max_tokens(requested=512, prompt_tokens=100, context_length=400) == 300
    refused = fit_max_tokens(requested=3072, prompt_tokens=2828, context_length=2048)
    assert "needs about 5,900 tokens" in refused.message
    schema = refusal(400, '{"object":"error","message":"Invalid json_schema: x"}')
    assert schema.cause == CAUSE_SCHEMA_REFUSED and schema.status == 400
    capped = refusal(
        400,
        '{"error":{"message":"max_tokens=3072 cannot be greater than '
        'max_model_len=2048. Please request fewer output tokens."}}',
    )
    assert capped.cause == CAUSE_CONTEXT_OVERFLOW
    assert (capped.max_tokens, capped.context_length) == (3072, 2048)


# -- the local runtime counts with its own processor ------------------------------


def test_hf_transformers_counts_locally_and_refuses_what_cannot_fit(demo_model_dir):
    small = get_backend(
        "hf_transformers", model_path=str(demo_model_dir), context_length=300
    )
    (refused_here,) = small.generate([mcq_request("r", text="word " * 400)])
    error = refused_here.error
    assert error.cause == CAUSE_CONTEXT_OVERFLOW and not error.retryable
    assert error.context_length == 300 and error.prompt_tokens > 300
    assert refused_here.prompt_tokens == error.prompt_tokens


def test_hf_transformers_fits_max_tokens_and_says_when_the_context_cut(demo_model_dir):
    roomy = get_backend(
        "hf_transformers", model_path=str(demo_model_dir), context_length=100_000
    )
    (probe,) = roomy.generate([mcq_request("p", schema=None, max_tokens=1)])
    context = probe.prompt_tokens + 40  # room for 40 tokens of output
    tight = get_backend(
        "hf_transformers",
        model_path=str(demo_model_dir),
        context_length=context,
        min_output_tokens=8,
    )
    # The rubric branch only: 17 rows never fit in 40 tokens.
    rows_only = {"$schema": VERIFIER_SCHEMA["$schema"], **VERIFIER_SCHEMA["anyOf"][0]}
    request = mcq_request("r", schema=rows_only, max_tokens=3072)
    (completion,) = tight.generate([request])
    assert completion.prompt_tokens == probe.prompt_tokens
    assert completion.completion_tokens <= 40
    assert completion.finish_reason == "length"
    assert completion.error.cause == CAUSE_CUT_BY_CONTEXT
    assert "cut by the end of the context" in completion.error.message


def test_vllm_in_process_refusals_and_cuts_are_classified():
    from types import SimpleNamespace

    from synthesis.backends import vllm_offline
    from synthesis.backends.context import classify

    said = (
        "The decoder prompt (length 3000) is longer than the maximum model "
        "length of 2048."
    )
    error = classify(said, prefix="vLLM refused it: ")
    assert error.cause == CAUSE_CONTEXT_OVERFLOW and not error.retryable
    assert (error.prompt_tokens, error.context_length) == (3000, 2048)

    choice = SimpleNamespace(
        text='{"rubric": [', token_ids=[1] * 48, finish_reason="length"
    )
    output = SimpleNamespace(prompt_token_ids=[0] * 2000, outputs=[choice])
    request = mcq_request("r", schema=VERIFIER_SCHEMA, max_tokens=3072)
    cut = vllm_offline._completion(request, output, 0.1, context=2048)
    assert cut.error.cause == CAUSE_CUT_BY_CONTEXT
    assert "cut by the end of the context (2,048 tokens" in cut.error.message
    stopped = vllm_offline._completion(request, output, 0.1, context=8192)
    assert "stopped at max_tokens" in stopped.error.message


def test_the_api_key_goes_with_every_request_to_its_server():
    with FakeOpenAIServer() as server:
        client(server, api_key="sk-abc").generate([mcq_request("r", schema=None)])
    paths = [path for path, _ in server.authorizations]
    assert paths == ["/v1/models", "/tokenize", "/tokenize", "/v1/chat/completions"]
    assert {auth for _, auth in server.authorizations} == {"Bearer sk-abc"}


def _bounded(request, bound):
    return replace(request, prompt_tokens_at_most=bound)


def test_a_bound_that_proves_the_fit_skips_counting():
    with FakeOpenAIServer(max_model_len=2048) as server:
        backend = client(server)
        backend.server_info()  # the probe's /tokenize
        (fits,) = backend.generate([_bounded(mcq_request("a", schema=None), 1748)])
        (tight,) = backend.generate([_bounded(mcq_request("b", schema=None), 1749)])
    assert fits.ok and tight.ok
    # One count: for the request whose bound leaves no room for its output.
    assert len(server.tokenize_requests) == 1 + 1
    first, second = server.requests
    assert first["max_tokens"] == 300  # as asked: the bound proved it fits
    assert second["max_tokens"] == 300


def test_a_bound_the_server_contradicts_falls_back_to_counting():
    # The server's chat template adds far more than a bound allows for.
    with FakeOpenAIServer(max_model_len=2048, tokens_per_message=750) as server:
        request = _bounded(mcq_request("r", schema=None, max_tokens=300), 100)
        (completion,) = client(server).generate([request])
    assert completion.ok, completion.error
    # Refused for the context once, then counted and fitted to the room left.
    first, second = server.requests
    assert first["max_tokens"] == 300
    assert second["max_tokens"] == 2048 - server.count_tokens(second)
    assert len(server.tokenize_requests) == 1 + 1  # the probe, then this prompt


def test_a_bounded_request_that_fails_still_records_its_prompt_size():
    with FakeOpenAIServer() as server:
        server.fail(500, "engine dead", times=4)
        request = _bounded(mcq_request("r", schema=None), 1000)
        (completion,) = client(server).generate([request])
    error = completion.error
    assert not completion.ok and error.status == 500
    assert error.prompt_tokens == server.count_tokens(server.requests[0])
    assert completion.prompt_tokens == error.prompt_tokens


def test_concurrent_first_uses_read_the_server_once():
    with FakeOpenAIServer() as server:
        backend = client(server)
        with ThreadPoolExecutor(16) as pool:
            infos = list(pool.map(lambda _: backend.server_info(), range(16)))
    assert {info.context_length for info in infos} == {8192}
    assert server.paths.count("GET /v1/models") == 1
    assert len(server.tokenize_requests) == 1  # one probe, not one per thread


def test_a_count_whose_connection_broke_is_asked_again_at_once():
    with FakeOpenAIServer(max_model_len=2048) as server:
        backend = client(server)
        backend.server_info()
        server.drop_tokenize = 1
        server.paths.clear()
        server.tokenize_requests.clear()
        started = time.monotonic()
        (completion,) = backend.generate([mcq_request("r", schema=None)])
    assert completion.ok, completion.error
    assert time.monotonic() - started < 1  # no backoff: the count is asked again
    assert server.paths == ["POST /tokenize"] * 2 + ["POST /v1/chat/completions"]
    (counted,) = server.tokenize_requests  # answered the second time
    assert "messages" in counted
