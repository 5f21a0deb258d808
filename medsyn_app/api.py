"""What every MedSyn API shares: a bounded JSON parser and the error contract.

The parser refuses bodies over `MEDSYN_API_MAX_JSON_BYTES` (413) and JSON
nested deeper than `MEDSYN_API_MAX_JSON_DEPTH` (400) before decoding, so no
request can exhaust memory or the interpreter's recursion limit. The error
serializers and `ERRORS` describe the 4xx bodies in the published schema.
"""

from __future__ import annotations

import io
import re
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# Brackets outside JSON strings; strings are matched whole so their brackets
# (and escaped quotes) never count.
_TOKENS = re.compile(rb'"(?:\\.|[^"\\])*"|[\[\]{}]')


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this API accepts."
    default_code = "payload_too_large"


def json_depth(raw: bytes) -> int:
    """How deeply the JSON document nests arrays and objects."""
    depth = deepest = 0
    for token in _TOKENS.finditer(raw):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context=None):
        limit = settings.MEDSYN_API_MAX_JSON_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is over {limit} bytes.")
        deepest = json_depth(raw)
        if deepest > settings.MEDSYN_API_MAX_JSON_DEPTH:
            raise ParseError(
                f"JSON nested {deepest} levels deep; at most "
                f"{settings.MEDSYN_API_MAX_JSON_DEPTH} are accepted."
            )
        return super().parse(io.BytesIO(raw), media_type, parser_context)


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField()


class FieldErrorsOutput(serializers.Serializer):
    """400 for a body that does not validate: each bad field (by its dotted
    path) with its messages, or `detail` for a problem with no single field."""

    detail = serializers.CharField(required=False)

    class Meta:
        ref_name = "FieldErrors"


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    described = {
        400: OpenApiResponse(FieldErrorsOutput, "The input does not validate."),
        403: OpenApiResponse(ErrorOutput, "Not signed in, or not allowed."),
        404: OpenApiResponse(ErrorOutput, "No such object, or not yours to see."),
        409: OpenApiResponse(ErrorOutput, "The object changed since you read it."),
        413: OpenApiResponse(ErrorOutput, "The request body is too large."),
        415: OpenApiResponse(ErrorOutput, "The body is not in a supported format."),
        429: OpenApiResponse(ErrorOutput, "Locked out after failed sign-ins."),
        503: OpenApiResponse(
            ErrorOutput, "The task queue is unreachable; the work is saved as waiting."
        ),
    }
    return {code: described[code] for code in codes}


# Errors any signed-in call may meet.
READ_ERRORS = _errors(403, 429)
WRITE_ERRORS = _errors(400, 403, 413, 415, 429)
ERRORS = _errors


def add_common_errors(result: dict, generator: Any, request: Any, public: bool):
    """Postprocessing hook: document the errors every operation can return
    (authentication, lockout; for bodies: validation, size, media type)."""
    shared = {
        "403": "Not signed in, or not allowed.",
        "429": "Locked out after failed sign-ins.",
    }
    with_body = {
        "400": "The input does not validate.",
        "413": "The request body is too large.",
        "415": "The body is not in a supported format.",
    }
    error = {"$ref": "#/components/schemas/Error"}
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "Error",
        {
            "type": "object",
            "properties": {"detail": {"type": "string"}},
            "required": ["detail"],
        },
    )
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            codes = dict(shared)
            if method in {"post", "put", "patch"}:
                codes.update(with_body)
            for code, text in codes.items():
                responses.setdefault(
                    code,
                    {
                        "description": text,
                        "content": {"application/json": {"schema": error}},
                    },
                )
    return result


class LockoutAwareBasicScheme(OpenApiAuthenticationExtension):
    target_class = "medsyn_app.auth_backend.LockoutAwareBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "basic"}
