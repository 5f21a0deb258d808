"""The one small interface every model runtime implements.

A backend takes a list of requests (images, chat messages, an optional JSON
schema for structured output, sampling parameters) and returns one completion
per request, in order. A failure of one request is reported on its completion
(`error`), never raised, so one bad figure does not sink a chunk; a failure of
the whole backend (server down, model missing) raises `BackendError`.

Backends never import Django; pipeline code never imports torch, vllm or httpx.
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


@dataclass(frozen=True)
class CompletionError:
    message: str
    retryable: bool


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
