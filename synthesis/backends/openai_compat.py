"""Any OpenAI-compatible chat endpoint: `vllm serve` first, hosted APIs too.

Requests run concurrently (bounded) over one pooled httpx client. Transient
failures (429, 5xx, connection errors, timeouts) are retried with exponential
backoff, honouring Retry-After; other 4xx are final. Structured output is asked
for as `response_format: {"type": "json_schema", ...}` and every answer is
validated anyway, because servers can ignore a schema and still answer 200.

The client gets exactly what its endpoint says: no URL or key from the
environment, so a key goes only to the URL it was configured with.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from synthesis.backends.base import (
    BackendError,
    BackendUnavailable,
    Completion,
    CompletionError,
    GenerationRequest,
)
from synthesis.backends.openai_messages import to_openai_messages
from synthesis.backends.structured_output import check_output, check_schema

_SNIPPET = 300
# Statuses that mean the configuration is wrong: if every request gets one,
# the whole backend fails rather than each item separately.
_FATAL_STATUSES = {401, 403, 404}


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
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.max_concurrency = max(1, max_concurrency)
        self.timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_image_long_side = max_image_long_side
        self.schema_name = schema_name
        self.extra_body = extra_body or {}
        # Clients of one keep-alive connection each, lent one per request: a
        # shared pool scans all its connections for every request, which at
        # dozens in flight costs more CPU than the request itself.
        self._idle: list[httpx.Client] = []
        self._ssl: Any = None  # one TLS context (CA bundle loaded once) for all
        self._clients: list[httpx.Client] = []
        self._client_lock = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        if not requests:
            return []
        if len(requests) == 1:
            outcomes = [self._run(requests[0])]  # no pool for one request
        else:
            workers = min(self.max_concurrency, len(requests))
            with ThreadPoolExecutor(workers, thread_name_prefix="openai-compat") as p:
                outcomes = list(p.map(self._run, requests))
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

    def close(self) -> None:
        with self._client_lock:
            clients, self._clients, self._idle = self._clients, [], []
        for client in clients:
            client.close()

    # -- one request -------------------------------------------------------------

    def _run(self, request: GenerationRequest) -> _Outcome:
        started = time.perf_counter()
        try:
            payload = self._payload(request)
        except (ValueError, OSError) as exc:
            return _Outcome(_failed(request, str(exc), retryable=False))
        if isinstance(payload, CompletionError):
            return _Outcome(_failed(request, payload.message, retryable=False))
        client = self._borrow()
        try:
            return self._send(request, payload, client, started)
        finally:
            self._give_back(client)

    def _send(
        self,
        request: GenerationRequest,
        payload: dict[str, Any],
        client: httpx.Client,
        started: float,
    ) -> _Outcome:
        problem = ""
        unreachable = True
        status = None
        retry_after: float | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._backoff(attempt, retry_after))
            retry_after = None
            try:
                response = client.post(self.url, json=payload)
            except httpx.TimeoutException as exc:
                unreachable = unreachable and isinstance(exc, httpx.ConnectTimeout)
                problem = f"timed out ({type(exc).__name__})"
                continue
            except httpx.TransportError as exc:
                unreachable = unreachable and isinstance(exc, httpx.ConnectError)
                problem = f"connection failed: {exc}"
                continue
            unreachable = False
            status = response.status_code
            if status == 429 or status >= 500:
                problem = f"HTTP {status}: {response.text[:_SNIPPET]}"
                retry_after = _retry_after(response)
                continue
            if status >= 400:
                message = f"HTTP {status}: {response.text[:_SNIPPET]}"
                return _Outcome(
                    _failed(request, message, retryable=False), status=status
                )
            return _Outcome(self._parse(request, response, started), status=status)
        message = f"gave up after {self.max_retries + 1} attempts: {problem}"
        completion = _failed(request, message, retryable=True, started=started)
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
        self, request: GenerationRequest, response: httpx.Response, started: float
    ) -> Completion:
        latency = time.perf_counter() - started
        try:
            body = response.json()
            choice = body["choices"][0]
            text = choice["message"]["content"] or ""
            finish = choice.get("finish_reason") or "stop"
            usage = body.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            # A garbled 200 is most likely a proxy or server hiccup: retry later.
            message = f"malformed response body ({exc!r}): {response.text[:_SNIPPET]!r}"
            return _failed(request, message, retryable=True, started=started)
        error = check_output(
            text,
            request.json_schema,
            finish_reason=finish,
            max_tokens=request.sampling.max_tokens,
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

    def _borrow(self) -> httpx.Client:
        with self._client_lock:
            if self._idle:
                return self._idle.pop()
        headers = {}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        with self._client_lock:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
        client = httpx.Client(
            timeout=self.timeout,
            headers=headers,
            verify=self._ssl,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        with self._client_lock:
            self._clients.append(client)
        return client

    def _give_back(self, client: httpx.Client) -> None:
        with self._client_lock:
            if client in self._clients:  # not closed meanwhile
                self._idle.append(client)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), if any."""
    value = response.headers.get("retry-after")
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


def _failed(
    request: GenerationRequest,
    message: str,
    *,
    retryable: bool,
    started: float | None = None,
) -> Completion:
    return Completion(
        request_id=request.request_id,
        text="",
        latency_s=time.perf_counter() - started if started is not None else 0.0,
        finish_reason="error",
        error=CompletionError(message, retryable=retryable),
    )
