"""Check a completion's text against the JSON schema it was asked to follow.

Every backend runs this on every structured completion, constrained or not:
servers can silently ignore a schema (recent vLLM drops unknown guided keys and
answers HTTP 200), and a constrained run still stops short at `max_tokens`.
A failed check is not retryable with the same request, so it says so.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from synthesis.backends.base import (
    CAUSE_MAX_TOKENS,
    CAUSE_OFF_SCHEMA,
    CAUSE_SCHEMA_REFUSED,
    CompletionError,
)

_SNIPPET = 200


def check_schema(schema: dict[str, Any]) -> CompletionError | None:
    """A schema that is not valid JSON Schema fails its request up front."""
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        return CompletionError(
            f"invalid JSON schema: {exc.message}",
            retryable=False,
            cause=CAUSE_SCHEMA_REFUSED,
        )
    return None


def check_output(
    text: str, schema: dict[str, Any] | None, *, finish_reason: str, max_tokens: int
) -> CompletionError | None:
    """None when the text is usable; otherwise why not (never retryable)."""
    if schema is None:
        return None
    if finish_reason == "length":
        return CompletionError(
            f"output stopped at max_tokens={max_tokens} before the JSON was complete: "
            f"{text[:_SNIPPET]!r}",
            retryable=False,
            cause=CAUSE_MAX_TOKENS,
            max_tokens=max_tokens,
        )
    try:
        value = json.loads(text)
    except ValueError as exc:
        return CompletionError(
            f"output is not valid JSON ({exc}): {text[:_SNIPPET]!r}",
            retryable=False,
            cause=CAUSE_OFF_SCHEMA,
        )
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(value), key=str)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        return CompletionError(
            f"output does not match the schema at {where}: {errors[0].message}",
            retryable=False,
            cause=CAUSE_OFF_SCHEMA,
        )
    return None
