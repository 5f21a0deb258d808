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
import jsonschema_rs

from synthesis.backends.base import (
    CAUSE_MAX_TOKENS,
    CAUSE_OFF_SCHEMA,
    CAUSE_SCHEMA_REFUSED,
    CompletionError,
)

_SNIPPET = 200


class Validator:
    """A schema compiled once, checking documents fast.

    jsonschema_rs (Rust) checks a verdict in ~3 µs where `jsonschema` takes
    ~0.5 ms, and every completion is checked. A schema it cannot compile (a
    pattern in a regex dialect it lacks, say) falls back to `jsonschema`,
    which has already checked the schema itself.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self._python = jsonschema.validators.validator_for(schema)(schema)
        try:
            self._fast: Any = jsonschema_rs.validator_for(schema)
        except (ValueError, jsonschema_rs.ValidationError):
            self._fast = None

    def first_error(self, value: Any) -> tuple[str, str] | None:
        """(where, message) of the most relevant error, or None if valid."""
        if self._fast is not None and self._fast.is_valid(value):
            return None
        # Invalid documents are rare: explain with jsonschema's messages.
        error = jsonschema.exceptions.best_match(self._python.iter_errors(value))
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return where, error.message


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A validator for a schema that is known to be valid JSON Schema."""
    jsonschema.validators.validator_for(schema).check_schema(schema)
    return Validator(schema)


# Checking a schema costs milliseconds, more than the rest of a request's
# handling: each schema object is checked once, and its validator kept. Keyed
# by identity, holding the schema so the id is never reused while cached.
_CHECKED: dict[int, tuple[dict[str, Any], Any, CompletionError | None]] = {}
_CACHE_SIZE = 64


def _checked(schema: dict[str, Any]) -> tuple[Any, CompletionError | None]:
    entry = _CHECKED.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1], entry[2]
    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        error = CompletionError(
            f"invalid JSON schema: {exc.message}",
            retryable=False,
            cause=CAUSE_SCHEMA_REFUSED,
        )
        validator = None
    else:
        error, validator = None, Validator(schema)
    if len(_CHECKED) >= _CACHE_SIZE:
        _CHECKED.clear()
    _CHECKED[id(schema)] = (schema, validator, error)
    return validator, error


def check_schema(schema: dict[str, Any]) -> CompletionError | None:
    """A schema that is not valid JSON Schema fails its request up front."""
    return _checked(schema)[1]


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
    validator, invalid = _checked(schema)
    if invalid is not None:
        return invalid
    found = validator.first_error(value)
    if found is not None:
        where, message = found
        return CompletionError(
            f"output does not match the schema at {where}: {message}",
            retryable=False,
            cause=CAUSE_OFF_SCHEMA,
        )
    return None
