"""Requests and the MCQ-shaped schema the backend tests send."""

from __future__ import annotations

from typing import Any

from synthesis.backends.base import ChatMessage, GenerationRequest, SamplingParams
from tests.fixtures.demo_model import png_bytes

MCQ_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 1, "maxLength": 60},
        "options": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 20},
            "minItems": 4,
            "maxItems": 4,
        },
        "answer": {"enum": ["A", "B", "C", "D"]},
    },
    "required": ["question", "options", "answer"],
    "additionalProperties": False,
}
INVALID_SCHEMA: dict[str, Any] = {"type": "not-a-type"}


def mcq_request(
    request_id: str,
    *,
    image: bytes | None = None,
    schema: dict[str, Any] | None = MCQ_SCHEMA,
    max_tokens: int = 300,
    temperature: float = 0.0,
    seed: int | None = 7,
    text: str = "Write one multiple-choice question about this figure.",
) -> GenerationRequest:
    images = (image if image is not None else png_bytes(),)
    return GenerationRequest(
        messages=(
            ChatMessage("system", "You write exam questions as JSON."),
            ChatMessage("user", text, images),
        ),
        json_schema=schema,
        sampling=SamplingParams(
            max_tokens=max_tokens, temperature=temperature, seed=seed
        ),
        request_id=request_id,
    )
