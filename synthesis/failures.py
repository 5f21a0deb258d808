"""Failed model requests: what to store, how to group them, when to pause.

A failure is stored with its HTTP status, the server's message and the prompt
size, so the batch page can say what the server said. When the first requests
of a batch all fail with the same configuration error (a context too small, a
request the server refuses), nothing later will go better: the batch pauses
with a banner that names the cause and the fix, instead of burning through
every figure group and reporting "0 kept".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from synthesis import parsing, pipeline
from synthesis.backends.base import (
    CAUSE_CONTEXT_OVERFLOW,
    CAUSE_CUT_BY_CONTEXT,
    CAUSE_MALFORMED,
    CAUSE_MAX_TOKENS,
    CAUSE_OFF_SCHEMA,
    CAUSE_RATE_LIMITED,
    CAUSE_REFUSED,
    CAUSE_SCHEMA_REFUSED,
    CAUSE_SERVER_ERROR,
    CAUSE_UNREACHABLE,
    CONFIGURATION_CAUSES,
    CompletionError,
)

MESSAGE_CHARS = 500

CAUSE_LABELS = {
    CAUSE_CONTEXT_OVERFLOW: "request does not fit the server's context",
    CAUSE_CUT_BY_CONTEXT: "output cut by the end of the context",
    CAUSE_MAX_TOKENS: "output stopped at max_tokens",
    CAUSE_SCHEMA_REFUSED: "server refuses the JSON schema",
    CAUSE_REFUSED: "server refuses the request",
    CAUSE_RATE_LIMITED: "rate limited on every attempt",
    CAUSE_SERVER_ERROR: "server error on every attempt",
    CAUSE_UNREACHABLE: "server unreachable or timed out",
    CAUSE_MALFORMED: "malformed response",
    CAUSE_OFF_SCHEMA: "output does not match the schema",
}
# Where each role's output room is set in a batch's config.
_MAX_TOKENS_FIELD = {
    "generator": "sampling.max_tokens",
    "verifier": "verifier_sampling.max_tokens",
}


def _request_fields(error: CompletionError | None, prompt_tokens: int) -> dict:
    if error is None:
        return {"prompt_tokens": prompt_tokens or None}
    return {
        "cause": error.cause,
        "http_status": error.status,
        "server_message": parsing.storable(error.server_message[:MESSAGE_CHARS]),
        "prompt_tokens": error.prompt_tokens or prompt_tokens or None,
    }


def failure_fields(generated: pipeline.Generated) -> dict[str, Any]:
    """The request columns of a GenerationFailure row."""
    return _request_fields(generated.error, generated.prompt_tokens)


def verdict_fields(verdict: pipeline.Verdict) -> dict[str, Any]:
    """The request columns of a Verification row (empty for a clean verdict)."""
    if verdict.error is None:
        return {}
    return {
        **_request_fields(verdict.error, verdict.prompt_tokens),
        "error_detail": parsing.storable(verdict.error.message[:MESSAGE_CHARS]),
    }


def verification_fields(verdict: pipeline.Verdict) -> dict[str, Any]:
    """Every column a Verification row takes from a verdict: the score, the raw
    output and, for a failed request, what the server said."""
    score = verdict.score
    return {
        "criteria": score.criteria,
        "essentials_passed": score.essentials_passed,
        "normalized_score": score.normalized,
        "kept": score.kept,
        "error": score.error,
        "raw_output": parsing.storable(verdict.raw),
        **verdict_fields(verdict),
    }


def label(cause: str, reason: str = "") -> str:
    """A failure group's name in words."""
    return CAUSE_LABELS.get(cause) or reason.replace("_", " ") or "unknown"


@dataclass(frozen=True)
class ConfigurationProblem:
    role: str
    cause: str
    reason: str  # the banner: cause and fix, in words an admin can act on


def configuration_problem(
    role: str, errors: Iterable[CompletionError | None]
) -> ConfigurationProblem | None:
    """The problem when every request failed with one configuration error."""
    errors = list(errors)
    if not errors or any(
        e is None or e.cause not in CONFIGURATION_CAUSES for e in errors
    ):
        return None
    signatures = {(e.cause, e.status, e.context_length) for e in errors}
    if len(signatures) != 1:
        return None
    # The largest request shows how much context the role needs.
    worst = max(errors, key=lambda e: (e.prompt_tokens or 0) + (e.max_tokens or 0))
    return ConfigurationProblem(role, worst.cause, banner(role, worst, len(errors)))


def banner(role: str, error: CompletionError, count: int = 1) -> str:
    """Cause and fix for one configuration error, for the paused batch."""
    field = _MAX_TOKENS_FIELD.get(role, "max_tokens")
    context = error.context_length
    prompt = error.prompt_tokens
    asked = error.max_tokens
    said = f" The server said: {error.server_message}" if error.server_message else ""
    head = f"Paused: the first {count} {role} request(s) all failed. "
    if error.cause == CAUSE_CONTEXT_OVERFLOW and context:
        if prompt and prompt >= context:
            return head + (
                f"The {role} server's context is {context:,} tokens and a {role} "
                f"prompt alone is about {prompt:,}; raise the server's "
                f"--max-model-len (to at least {prompt + (asked or 0):,}) or lower "
                f"image_long_side.{said}"
            )
        if prompt and asked:
            return head + (
                f"The {role} server's context is {context:,} tokens and a {role} "
                f"request needs about {prompt + asked:,} ({prompt:,} prompt + "
                f"{asked:,} max_tokens); raise the server's --max-model-len or lower "
                f"the {role}'s max_tokens ({field}).{said}"
            )
        return head + (
            f"The {role} server's context is {context:,} tokens and the {role}'s "
            f"max_tokens is {asked or 'larger'}; raise the server's --max-model-len "
            f"or lower the {role}'s max_tokens ({field}).{said}"
        )
    if error.cause == CAUSE_CUT_BY_CONTEXT and context:
        room = f"{context - prompt:,}" if prompt else "too little"
        return head + (
            f"The {role}'s output ran into the end of the server's context "
            f"({context:,} tokens; the prompt is about {prompt or 0:,}, leaving "
            f"{room} for an answer given up to {asked or 0:,} max_tokens); raise "
            "the server's --max-model-len."
        )
    if error.cause == CAUSE_SCHEMA_REFUSED:
        return head + (
            f"The {role} server does not accept MedSyn's JSON schema "
            f"(HTTP {error.status or '-'}); serve the model with structured output "
            f"enabled (vLLM: --guided-decoding-backend xgrammar or outlines).{said}"
        )
    return head + (
        f"The {role} server refuses every request with HTTP {error.status or '-'}; "
        f"check the {role} endpoint's model name and the batch's sampling settings "
        f"against the server.{said}"
    )
