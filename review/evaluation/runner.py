"""Asking the model: the prompt for an item, and the backend for an endpoint.

The prompt is the export's own text (`review.export.mcq_prompt`): the RL
instruction, which asks for `<think>…</think><answer>…</answer>`, or the SFT
one, which asks for the letter; the images go with the user message, shrunk
to the run's long side as in synthesis. The backend comes from this worker's
endpoint registry by name, built once per process (models load once).
"""

from __future__ import annotations

import socket

from medsyn_app import endpoints
from review.evaluation.config import ROLE
from review.export.mcq_prompt import RL_INSTRUCTION, SFT_INSTRUCTION, question_text
from synthesis import backends
from synthesis.backends.base import (
    Backend,
    BackendError,
    ChatMessage,
    GenerationRequest,
    SamplingParams,
)
from synthesis.pipeline import resize_for_model

INSTRUCTIONS = {"rl": RL_INSTRUCTION, "sft": SFT_INSTRUCTION}

_BACKENDS: dict[str, tuple[endpoints.Endpoint, Backend]] = {}


def backend_for(name: str) -> Backend:
    """The backend of endpoint `name` in THIS process's registry."""
    try:
        endpoint = endpoints.get(name)
    except endpoints.UnknownEndpoint:
        raise BackendError(
            f"endpoint {name!r} is not registered on this worker "
            f"({socket.gethostname()}); add it to the worker's endpoint registry",
            retryable=False,
        ) from None
    if not endpoint.serves(ROLE):
        raise BackendError(
            f"endpoint {name!r} does not serve evaluation on this worker",
            retryable=False,
        )
    cached = _BACKENDS.get(name)
    if cached is None or cached[0] != endpoint:
        if cached is not None and hasattr(cached[1], "close"):
            cached[1].close()
        try:
            cached = (endpoint, backends.from_endpoint(endpoint))
        except endpoints.EndpointError as exc:
            raise BackendError(str(exc), retryable=False) from None
        _BACKENDS[name] = cached
    return cached[1]


def request(
    *,
    request_id: str,
    question: str,
    options: dict[str, str],
    images: list[bytes],
    prompt: str,
    sampling: dict,
    long_side: int,
) -> GenerationRequest:
    text = question_text(question, options, instruction=INSTRUCTIONS[prompt])
    return GenerationRequest(
        messages=(
            ChatMessage(
                role="user",
                text=text,
                images=tuple(resize_for_model(d, long_side=long_side) for d in images),
            ),
        ),
        sampling=SamplingParams(
            max_tokens=sampling["max_tokens"],
            temperature=sampling["temperature"],
            top_p=sampling["top_p"],
            seed=sampling.get("seed"),
        ),
        request_id=request_id,
    )
