"""What a model server can take, and fitting each request to it.

A served model has one context: prompt and output share it. vLLM refuses a
request whose `max_tokens` alone, or prompt plus `max_tokens`, exceeds it, with
an HTTP 400 that no retry can fix. So a backend learns the context once (vLLM's
`max_model_len` from `/v1/models`, which wins over the registry's
`context_length`), counts each prompt, lowers `max_tokens` to the room left,
and does not send a request that cannot fit. Pure functions; no HTTP here.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from synthesis.backends.base import (
    CAUSE_CONTEXT_OVERFLOW,
    CAUSE_REFUSED,
    CAUSE_SCHEMA_REFUSED,
    CompletionError,
)

SERVER_MESSAGE_CHARS = 500
# The least output worth sending a request for: below this an item or a
# verdict cannot be complete, so the request fails before it is sent.
DEFAULT_MIN_OUTPUT_TOKENS = 256


@dataclass(frozen=True)
class ServerInfo:
    """What one endpoint serves, read once per process."""

    model: str
    max_model_len: int | None = None  # what the server reports (vLLM)
    registry_context: int | None = None  # what the operator's registry says
    counts_tokens: bool = False  # the server answers /tokenize
    problem: str = ""  # why the server could not be read, if it could not

    @property
    def context_length(self) -> int | None:
        return self.max_model_len or self.registry_context

    @property
    def mismatch(self) -> str:
        """Words for a registry context that differs from the server's, or ""."""
        if (
            self.max_model_len
            and self.registry_context
            and self.max_model_len != self.registry_context
        ):
            return (
                f"the server reports max_model_len={self.max_model_len:,} but the "
                f"endpoint registry says context_length={self.registry_context:,}; "
                "the server's value is used"
            )
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "context_length": self.context_length,
            "mismatch": self.mismatch,
        }


def fit_max_tokens(
    *,
    requested: int,
    prompt_tokens: int | None,
    context_length: int | None,
    min_output_tokens: int = DEFAULT_MIN_OUTPUT_TOKENS,
) -> int | CompletionError:
    """The max_tokens to send, or why the request cannot be sent at all."""
    if not context_length:
        return requested
    if prompt_tokens is None:
        # Uncounted prompt: never ask for more than the whole context.
        return min(requested, max(1, context_length - 1))
    room = context_length - prompt_tokens
    floor = min(requested, min_output_tokens)
    if room < max(floor, 1):
        return CompletionError(
            f"not sent: the prompt is {prompt_tokens:,} tokens and the server's "
            f"context is {context_length:,}, leaving {max(room, 0):,} for the output "
            f"(max_tokens={requested:,} asked, at least {floor:,} needed); this "
            f"request needs about {prompt_tokens + requested:,} tokens of context",
            retryable=False,
            cause=CAUSE_CONTEXT_OVERFLOW,
            prompt_tokens=prompt_tokens,
            context_length=context_length,
            max_tokens=requested,
        )
    return min(requested, room)


_CONTEXT_PATTERNS = (
    # vLLM: "max_tokens=3072 cannot be greater than max_model_len=2048"
    # (newer: "max_model_len=max_total_tokens=2048").
    re.compile(
        r"max_(?:completion_)?tokens=(?P<max_tokens>\d+) cannot be greater than "
        r"max_model_len=(?:max_total_tokens=)?(?P<context>\d+)"
    ),
    # vLLM / OpenAI: "maximum context length is 2048 tokens. However, you
    # requested 5900 tokens (2828 in the messages, 3072 in the completion)".
    re.compile(
        r"maximum context length is (?P<context>\d+) tokens.*?"
        r"(?:(?P<prompt>\d+) in the messages, (?P<max_tokens>\d+) in the completion"
        r"|your request has (?P<prompt2>\d+) input tokens"
        r"|requested (?P<max_tokens2>\d+) output tokens.*?(?P<prompt3>\d+) input tok"
        r"|$)",
        re.DOTALL,
    ),
    # vLLM in-process: "The decoder prompt (length 3000) is longer than the
    # maximum model length of 2048."
    re.compile(
        r"prompt (?:\(length |length of )(?P<prompt>\d+)\)? is longer than the "
        r"maximum model length of (?P<context>\d+)"
    ),
)
_SCHEMA_WORDS = re.compile(
    r"json[_ ]?schema|response_format|guided|grammar|structured output|xgrammar|"
    r"outlines",
    re.IGNORECASE,
)


def server_message(text: str) -> str:
    """The message of an error body (OpenAI or vLLM shape), else the raw text."""
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:SERVER_MESSAGE_CHARS]
    message: Any = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
        elif isinstance(error, str):
            message = error
        message = message or body.get("message") or body.get("detail")
    return str(message or text).strip()[:SERVER_MESSAGE_CHARS]


def refusal(status: int, text: str) -> CompletionError:
    """A final 4xx as a non-retryable error that says what the server said."""
    said = server_message(text)
    return replace(classify(said, prefix=f"HTTP {status}: "), status=status)


def classify(said: str, *, prefix: str = "") -> CompletionError:
    """A runtime's refusal as a non-retryable error: context or schema or other."""
    numbers: dict[str, int | None] = {}
    cause = CAUSE_REFUSED
    for pattern in _CONTEXT_PATTERNS:
        if match := pattern.search(said):
            cause = CAUSE_CONTEXT_OVERFLOW
            found = {k: v for k, v in match.groupdict().items() if v}
            numbers = {
                "context_length": _int(found.get("context")),
                "prompt_tokens": _int(
                    found.get("prompt") or found.get("prompt2") or found.get("prompt3")
                ),
                "max_tokens": _int(found.get("max_tokens") or found.get("max_tokens2")),
            }
            break
    if cause == CAUSE_REFUSED and _SCHEMA_WORDS.search(said):
        cause = CAUSE_SCHEMA_REFUSED
    return CompletionError(
        f"{prefix}{said}",
        retryable=False,
        cause=cause,
        server_message=said,
        **numbers,
    )


def _int(value: str | None) -> int | None:
    return int(value) if value else None
