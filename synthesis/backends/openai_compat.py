"""Any OpenAI-compatible chat endpoint: `vllm serve` first, hosted APIs too.

Requests run concurrently (bounded) over one urllib3 connection pool (about
half httpx's CPU per request, which at hundreds of requests a second is most
of a worker's orchestration time). Transient
failures (429, 5xx, connection errors, timeouts) are retried with exponential
backoff, honouring Retry-After; other 4xx are final. Structured output is asked
for as `response_format: {"type": "json_schema", ...}` and every answer is
validated anyway, because servers can ignore a schema and still answer 200.

The client gets exactly what its endpoint says: no URL or key from the
environment, so a key goes only to the URL it was configured with.

Before its first request it reads what the server serves (`/v1/models`; vLLM
reports `max_model_len`) and, when the server counts tokens (vLLM's
`/tokenize`), counts each prompt, so `max_tokens` fits the room left and a
request that cannot fit is never sent (see `context.py`). What it learnt is
kept per endpoint per process for `SERVER_INFO_TTL_S`, so a server restarted
with a larger context is noticed without restarting workers.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import orjson
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
)

from synthesis.backends.base import (
    CAUSE_CONTEXT_OVERFLOW,
    CAUSE_CUT_BY_CONTEXT,
    CAUSE_MALFORMED,
    CAUSE_RATE_LIMITED,
    CAUSE_SERVER_ERROR,
    CAUSE_UNREACHABLE,
    BackendError,
    BackendUnavailable,
    Completion,
    CompletionError,
    GenerationRequest,
)
from synthesis.backends.context import (
    DEFAULT_MIN_OUTPUT_TOKENS,
    ServerInfo,
    fit_max_tokens,
    refusal,
    server_message,
)
from synthesis.backends.openai_messages import to_openai_messages
from synthesis.backends.structured_output import check_output, check_schema

_SNIPPET = 300
# Statuses that mean the configuration is wrong: if every request gets one,
# the whole backend fails rather than each item separately.
_FATAL_STATUSES = {401, 403, 404}
SERVER_INFO_TTL_S = 60.0
# A count is asked again at once if its connection broke: a kept-alive one the
# server had closed meanwhile (uvicorn closes idle ones after 5 s) would
# otherwise leave the prompt uncounted. Not a failed connect: a server that
# is down would only make a count wait twice.
_STALE_ONCE = urllib3.Retry(
    total=1, connect=0, read=1, redirect=0, status=0, other=0, allowed_methods=None
)
# What each endpoint serves, per process: (base_url, model, registry context).
_SERVER_INFO: dict[tuple[str, str, int | None], tuple[float, ServerInfo]] = {}
_SERVER_INFO_LOCK = threading.Lock()
# One reader per endpoint: a chunk's first preparations all ask at once.
_SERVER_INFO_READING: dict[tuple[str, str, int | None], threading.Lock] = {}


@dataclass(frozen=True)
class _Outcome:
    completion: Completion
    unreachable: bool = False  # every attempt failed to connect
    status: int | None = None  # the final HTTP status, if any


class OpenAICompatBackend:
    # Each request can go on its own: the streaming pipeline sends them one by
    # one, each holding one of the endpoint's shared slots.
    concurrent = True

    def __init__(
        self,
        *,
        model: str = "",
        base_url: str = "",
        api_key: str = "",
        max_concurrency: int = 8,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 300.0,
        max_retries: int = 4,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 60.0,
        max_image_long_side: int | None = None,
        schema_name: str = "medsyn_output",
        extra_body: dict[str, Any] | None = None,
        context_length: int | None = None,
        count_tokens: bool = True,
        min_output_tokens: int = DEFAULT_MIN_OUTPUT_TOKENS,
    ) -> None:
        if not base_url:
            raise BackendError(
                "openai_compat needs base_url, e.g. http://127.0.0.1:8001/v1",
                retryable=False,
            )
        if not model:
            raise BackendError(
                "openai_compat needs model: the served model name", retryable=False
            )
        self.model_name = model
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + "/chat/completions"
        try:
            parsed = urllib3.util.parse_url(self.base_url)
        except urllib3.exceptions.LocationParseError as exc:
            raise BackendError(
                f"bad base_url {base_url!r}: {exc}", retryable=False
            ) from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise BackendError(
                f"base_url must be an http(s) URL, got {base_url!r}", retryable=False
            )
        base_path = (parsed.path or "").rstrip("/")
        self._chat_path = base_path + "/chat/completions"
        self._models_path = base_path + "/models"
        # vLLM serves /tokenize at the root, beside /v1.
        self._tokenize_path = base_path.removesuffix("/v1") + "/tokenize"
        self.context_length = context_length
        self.count_tokens = count_tokens
        self.min_output_tokens = min_output_tokens
        self.max_concurrency = max(1, max_concurrency)
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_image_long_side = max_image_long_side
        self.schema_name = schema_name
        self.extra_body = extra_body or {}
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        # One keep-alive connection per request in flight: chat requests up
        # to the concurrency, and as many prompts being counted meanwhile.
        # urllib3 raises errors as they are (retries=False): retrying is ours.
        self._pool = urllib3.connection_from_url(
            self.base_url,
            maxsize=2 * self.max_concurrency + 2,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        if not requests:
            return []
        self.server_info()  # once, before the requests fan out
        if len(requests) == 1:
            outcomes = [self._run(requests[0])]  # no pool for one request
        else:
            workers = min(self.max_concurrency, len(requests))
            with ThreadPoolExecutor(workers, thread_name_prefix="openai-compat") as p:
                outcomes = list(p.map(self._run, requests))
        return self._completions(outcomes)

    def prepare(self, request: GenerationRequest) -> Prepared:
        """Build the request's payload and fit it to the server, without
        sending it: the streaming pipeline counts a prompt's tokens before it
        takes one of the endpoint's slots, so a slot is held only while the
        server works."""
        try:
            payload = self._payload(request)
        except (ValueError, OSError) as exc:
            error = CompletionError(str(exc), retryable=False)
            return Prepared(request, failed=_failed(request, error=error))
        if isinstance(payload, CompletionError):
            return Prepared(request, failed=_failed(request, error=payload))
        info = self.server_info()
        context = info.context_length
        requested = request.sampling.max_tokens
        prompt_tokens = None
        bounded = False
        if context and info.counts_tokens:
            # A caller's bound that leaves room for the whole output makes
            # counting change nothing: one HTTP call fewer (of four per item).
            bound = request.prompt_tokens_at_most
            bounded = bound is not None and bound + requested <= context
            if not bounded:
                prompt_tokens = self._count(payload)
        fitted = fit_max_tokens(
            requested=requested,
            prompt_tokens=prompt_tokens,
            context_length=context,
            min_output_tokens=self.min_output_tokens,
        )
        if isinstance(fitted, CompletionError):
            failed = _failed(request, error=fitted, prompt_tokens=prompt_tokens)
            return Prepared(request, failed=failed)
        payload["max_tokens"] = fitted
        return Prepared(
            request, payload, _Sent(requested, fitted, prompt_tokens, context, bounded)
        )

    def send(self, prepared: Prepared) -> list[Completion]:
        """Send a prepared request (as `generate` would, for one request)."""
        if prepared.failed is not None:
            return [prepared.failed]
        return self._completions([self._post(prepared)])

    def _completions(self, outcomes: list[_Outcome]) -> list[Completion]:
        """The completions, unless every request says the endpoint is wrong."""
        if all(o.unreachable for o in outcomes):
            raise BackendUnavailable(
                f"{self.url} unreachable: {outcomes[0].completion.error.message}"
            )
        statuses = {o.status for o in outcomes}
        if len(statuses) == 1 and statuses <= _FATAL_STATUSES:
            raise BackendError(
                f"{self.url} refused every request: "
                f"{outcomes[0].completion.error.message} "
                "(check the endpoint's model, base_url and API key)",
                retryable=False,
            )
        return [o.completion for o in outcomes]

    def server_info(self) -> ServerInfo:
        """What the server serves, read on first use and cached per process."""
        key = (self.base_url, self.model_name, self.context_length)
        with _SERVER_INFO_LOCK:
            cached = _SERVER_INFO.get(key)
            reading = _SERVER_INFO_READING.setdefault(key, threading.Lock())
        if cached is not None and time.monotonic() - cached[0] < SERVER_INFO_TTL_S:
            return cached[1]
        with reading:
            with _SERVER_INFO_LOCK:
                cached = _SERVER_INFO.get(key)
            now = time.monotonic()
            if cached is not None and now - cached[0] < SERVER_INFO_TTL_S:
                return cached[1]  # read by another thread meanwhile
            info, reached = self._read_server_info()
            if reached:  # a server not up yet is asked again on the next request
                with _SERVER_INFO_LOCK:
                    _SERVER_INFO[key] = (now, info)
            return info

    def _read_server_info(self) -> tuple[ServerInfo, bool]:
        max_model_len = None
        problem = ""
        reached = True
        try:
            response = self._pool.request(
                "GET", self._models_path, headers=self._headers
            )
            if response.status >= 400:
                problem = f"GET /models: HTTP {response.status}"
            else:
                cards = orjson.loads(response.data).get("data") or []
                card = next(
                    (c for c in cards if c.get("id") == self.model_name),
                    cards[0] if len(cards) == 1 else {},
                )
                value = card.get("max_model_len")
                max_model_len = int(value) if value else None
        except (NewConnectionError, ConnectTimeoutError) as exc:
            problem = f"GET /models failed: {exc}"[:_SNIPPET]
            reached = False
        except (HTTPError, ValueError, AttributeError, TypeError) as exc:
            problem = f"GET /models failed: {exc}"[:_SNIPPET]
        counts = False
        if self.count_tokens and (max_model_len or self.context_length):
            counts = (
                self._tokenize({"model": self.model_name, "prompt": "x"}) is not None
            )
        info = ServerInfo(
            model=self.model_name,
            max_model_len=max_model_len,
            registry_context=self.context_length,
            counts_tokens=counts,
            problem=problem,
        )
        return info, reached

    def _count(self, payload: dict[str, Any]) -> int | None:
        return self._tokenize(
            {
                "model": self.model_name,
                "messages": payload["messages"],
                "add_generation_prompt": True,
            }
        )

    def _tokenize(self, body: dict[str, Any]) -> int | None:
        """The server's token count for a prompt, or None if it will not say."""
        try:
            response = self._request(self._tokenize_path, body, retries=_STALE_ONCE)
            if response.status >= 400:
                return None
            return int(orjson.loads(response.data)["count"])
        except (HTTPError, ValueError, KeyError, TypeError):
            return None

    def _request(
        self, path: str, body: dict[str, Any], retries: Any = False
    ) -> _Response:
        # orjson: a payload with an inlined image encodes in ~2 µs, not ~45.
        answer = self._pool.request(
            "POST",
            path,
            body=orjson.dumps(body),
            headers=self._headers,
            retries=retries,
        )
        return _Response(answer.status, answer.data, answer.headers.get("retry-after"))

    def close(self) -> None:
        self._pool.close()

    # -- one request -------------------------------------------------------------

    def _run(self, request: GenerationRequest) -> _Outcome:
        prepared = self.prepare(request)
        if prepared.failed is not None:
            return _Outcome(prepared.failed)
        return self._post(prepared)

    def _post(self, prepared: Prepared) -> _Outcome:
        """Send a prepared request, retrying what a retry can fix."""
        request, payload, sent = prepared.request, prepared.payload, prepared.sent
        assert payload is not None and sent is not None  # noqa: S101 - prepared
        outcome = self._attempts(request, payload, sent, time.perf_counter())
        error = outcome.completion.error
        if error is None or not sent.bounded:
            return outcome
        # Not counted, on the caller's bound. A refusal for the context says
        # the bound did not hold for this server's chat template: count and
        # send as without one. Any other failure still records its prompt size.
        if error.cause == CAUSE_CONTEXT_OVERFLOW:
            return self._run(replace(request, prompt_tokens_at_most=None))
        if error.cause == CAUSE_UNREACHABLE or error.prompt_tokens is not None:
            return outcome
        counted = self._count(payload)
        if counted is None:
            return outcome
        completion = replace(
            outcome.completion,
            prompt_tokens=outcome.completion.prompt_tokens or counted,
            error=replace(error, prompt_tokens=counted),
        )
        return replace(outcome, completion=completion)

    def _attempts(
        self,
        request: GenerationRequest,
        payload: dict[str, Any],
        sent: _Sent,
        started: float,
    ) -> _Outcome:
        prompt_tokens, context, requested = (
            sent.prompt_tokens,
            sent.context,
            sent.requested,
        )
        problem = ""
        cause = CAUSE_UNREACHABLE
        unreachable = True
        status = None
        retry_after: float | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._backoff(attempt, retry_after))
            retry_after = None
            try:
                response = self._request(self._chat_path, payload)
            except NewConnectionError as exc:  # before its base class below
                problem = f"connection failed: {exc}"
                cause = CAUSE_UNREACHABLE
                continue
            except urllib3.exceptions.TimeoutError as exc:
                unreachable = unreachable and isinstance(exc, ConnectTimeoutError)
                problem = f"timed out ({type(exc).__name__})"
                cause = CAUSE_UNREACHABLE
                continue
            except HTTPError as exc:
                unreachable = False  # connected, then the connection broke
                problem = f"connection failed: {exc}"
                cause = CAUSE_UNREACHABLE
                continue
            unreachable = False
            status = response.status
            if status in (408, 429) or status >= 500:
                problem = f"HTTP {status}: {server_message(response.text)}"
                cause = CAUSE_RATE_LIMITED if status == 429 else CAUSE_SERVER_ERROR
                retry_after = _retry_after(response.retry_after)
                continue
            if status >= 400:
                error = refusal(status, response.text)
                if error.prompt_tokens is None:
                    error = replace(error, prompt_tokens=prompt_tokens)
                if error.context_length is None:
                    error = replace(error, context_length=context)
                if error.max_tokens is None:
                    error = replace(error, max_tokens=requested)
                completion = _failed(
                    request, error=error, prompt_tokens=prompt_tokens, started=started
                )
                return _Outcome(completion, status=status)
            return _Outcome(
                self._parse(request, response, started, sent), status=status
            )
        error = CompletionError(
            f"gave up after {self.max_retries + 1} attempts: {problem}",
            retryable=True,
            cause=cause,
            status=status,
            server_message=problem[:_SNIPPET],
            prompt_tokens=prompt_tokens,
        )
        completion = _failed(
            request, error=error, prompt_tokens=prompt_tokens, started=started
        )
        return _Outcome(completion, unreachable=unreachable, status=status)

    def _payload(self, request: GenerationRequest) -> dict[str, Any] | CompletionError:
        sampling = request.sampling
        payload: dict[str, Any] = {
            "model": self.model_name,
            "messages": to_openai_messages(
                request.messages, max_image_long_side=self.max_image_long_side
            ),
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
        }
        if sampling.seed is not None:
            payload["seed"] = sampling.seed
        if request.json_schema is not None:
            error = check_schema(request.json_schema)
            if error is not None:
                return error
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": self.schema_name,
                    "schema": request.json_schema,
                    "strict": True,
                },
            }
        return {**payload, **self.extra_body}

    def _parse(
        self,
        request: GenerationRequest,
        response: _Response,
        started: float,
        sent: _Sent,
    ) -> Completion:
        latency = time.perf_counter() - started
        try:
            body = orjson.loads(response.data)
            choice = body["choices"][0]
            text = choice["message"]["content"] or ""
            finish = choice.get("finish_reason") or "stop"
            usage = body.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            # A garbled 200 is most likely a proxy or server hiccup: retry later.
            message = f"malformed response body ({exc!r}): {response.text[:_SNIPPET]!r}"
            error = CompletionError(
                message, retryable=True, cause=CAUSE_MALFORMED, status=200
            )
            return _failed(request, error=error, started=started)
        error = check_output(
            text,
            request.json_schema,
            finish_reason=finish,
            max_tokens=sent.fitted,
        )
        if (
            error is not None
            and finish == "length"
            and sent.cut_by_context(prompt_tokens, completion_tokens)
        ):
            used = (prompt_tokens or sent.prompt_tokens or 0) + completion_tokens
            error = CompletionError(
                f"output cut by the end of the context ({sent.context:,} tokens; "
                f"prompt {prompt_tokens or sent.prompt_tokens or 0:,} + output "
                f"{completion_tokens:,} = {used:,}) before the JSON was complete "
                f"(max_tokens={sent.requested:,} asked, {sent.fitted:,} fitted): "
                f"{text[:200]!r}",
                retryable=False,
                cause=CAUSE_CUT_BY_CONTEXT,
                prompt_tokens=prompt_tokens or sent.prompt_tokens,
                context_length=sent.context,
                max_tokens=sent.requested,
            )
        return Completion(
            request_id=request.request_id,
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency,
            finish_reason=finish,
            error=error,
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max_s)
        delay = self.backoff_base_s * 2 ** (attempt - 1)
        return min(delay, self.backoff_max_s) * random.uniform(0.5, 1.0)  # noqa: S311


class _Response(NamedTuple):
    status: int
    data: bytes
    retry_after: str | None  # the Retry-After header, if any

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), if any."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class _Sent:
    """How one request was fitted to the server's context."""

    requested: int  # the max_tokens the caller asked for
    fitted: int  # the max_tokens sent
    prompt_tokens: int | None  # counted before sending, if the server counts
    context: int | None  # the server's context, if known
    bounded: bool = False  # not counted: the caller's bound proved it fits

    def cut_by_context(self, prompt_tokens: int, completion_tokens: int) -> bool:
        """Whether a "length" stop came from the context, not from max_tokens."""
        if not self.context:
            return False
        prompt = prompt_tokens or self.prompt_tokens or 0
        return self.fitted < self.requested or (
            prompt > 0 and prompt + completion_tokens >= self.context - 1
        )


@dataclass(frozen=True)
class Prepared:
    """A request built and fitted to its server, ready to send; or, when it
    cannot be sent (it does not fit, its image is broken), its failure."""

    request: GenerationRequest
    payload: dict[str, Any] | None = None
    sent: _Sent | None = None
    failed: Completion | None = None


def _failed(
    request: GenerationRequest,
    *,
    error: CompletionError,
    prompt_tokens: int | None = None,
    started: float | None = None,
) -> Completion:
    return Completion(
        request_id=request.request_id,
        text="",
        prompt_tokens=prompt_tokens or 0,
        latency_s=time.perf_counter() - started if started is not None else 0.0,
        finish_reason="error",
        error=error,
    )
