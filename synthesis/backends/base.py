"""The one small interface every model runtime implements.

A backend takes a list of requests (images, chat messages, an optional JSON
schema for structured output, sampling parameters) and returns one completion
per request, in order. A failure of one request is reported on its completion
(`error`), never raised, so one bad figure does not sink a chunk; a failure of
the whole backend (server down, model missing) raises `BackendError`.

Backends never import Django; pipeline code never imports torch, vllm or urllib3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class BackendError(Exception):
    """The backend as a whole failed. `retryable` says whether trying later can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class BackendUnavailable(BackendError):
    """Transient (connection refused, 429, 5xx, timeout): retry with backoff."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = 42


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    text: str
    # Images attached to this message, in order, as encoded bytes (PNG/JPEG).
    images: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[ChatMessage, ...]
    json_schema: dict[str, Any] | None = None
    sampling: SamplingParams = field(default_factory=SamplingParams)
    # Opaque id the caller uses to match a completion to its work unit.
    request_id: str = ""
    # An upper bound on the prompt's size in tokens that the caller knows
    # without the server (see `pipeline.verification_request`): a backend
    # that counts prompts may skip counting when it proves the output fits.
    prompt_tokens_at_most: int | None = None


# Why a request failed, for grouping failures and for deciding what to retry.
CAUSE_CONTEXT_OVERFLOW = "context_overflow"  # prompt + output cannot fit the context
CAUSE_CUT_BY_CONTEXT = "cut_by_context"  # output ran into the end of the context
CAUSE_MAX_TOKENS = "max_tokens"  # output stopped at the asked max_tokens
CAUSE_SCHEMA_REFUSED = "schema_refused"  # the schema is invalid or not accepted
CAUSE_REFUSED = "refused"  # any other 4xx: the request itself is wrong
CAUSE_RATE_LIMITED = "rate_limited"  # 429 on every attempt
CAUSE_SERVER_ERROR = "server_error"  # 5xx on every attempt
CAUSE_UNREACHABLE = "unreachable"  # no connection, or timed out
CAUSE_MALFORMED = "malformed_response"  # a 200 whose body is not a completion
CAUSE_OFF_SCHEMA = "off_schema"  # a complete answer that breaks its schema
# Causes no retry can fix: the same request fails the same way until an
# operator changes the server or the batch's settings.
CONFIGURATION_CAUSES = frozenset(
    {CAUSE_CONTEXT_OVERFLOW, CAUSE_CUT_BY_CONTEXT, CAUSE_SCHEMA_REFUSED, CAUSE_REFUSED}
)


@dataclass(frozen=True)
class CompletionError:
    message: str
    retryable: bool
    cause: str = ""
    status: int | None = None  # the HTTP status of the final answer, if any
    server_message: str = ""  # what the server said, truncated
    prompt_tokens: int | None = None  # the prompt's size, when counted
    context_length: int | None = None  # the server's context, when known
    max_tokens: int | None = None  # the output room the request asked for


@dataclass(frozen=True)
class Completion:
    request_id: str
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    # Why generation ended: "stop", "length" (max_tokens hit) or "error" (no
    # usable generation). A structured output that is cut short or breaks its
    # schema keeps its real reason and raw text, and carries a non-retryable error.
    finish_reason: str = "stop"  # "stop" | "length" | "error"
    error: CompletionError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class Backend(Protocol):
    """A model runtime. `model_name` is what gets recorded on items and verdicts."""

    model_name: str

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]: ...
