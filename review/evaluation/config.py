"""An evaluation run's config: the defaults, what a launcher may choose, checks.

A launcher (page, API, command) names a registered endpoint serving the
`evaluation` role, a prompt (the export's RL prompt, which asks for
`<think>/<answer>`, by default; or its SFT prompt) and sampling; nothing else.
The stored config records the endpoint's provenance snapshot, so a run says
what answered; workers build the backend from their own registry by name.
Defaults follow the method's evaluation (§6.3): greedy, 4096 new tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from medsyn_app import endpoints

ROLE = "evaluation"
PROMPTS = ("rl", "sft")
_SAMPLING_RANGES = {
    "max_tokens": (1, 65536),
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "seed": (0, 2**31 - 1),
}
_SIZES = {"chunk_size": (1, 1000), "image_long_side": (28, 4096)}


class EvaluationConfigError(ValueError):
    """A launch that cannot run; `field` names the offending setting."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def default_config() -> dict[str, Any]:
    return {
        "endpoint": "",
        "prompt": "rl",
        "sampling": {"max_tokens": 4096, "temperature": 0.0, "top_p": 1.0, "seed": 42},
        "chunk_size": 16,
        "image_long_side": 384,
        "queue": settings.MEDSYN_EVALUATION_QUEUE,
    }


def resolve(choices: Mapping[str, Any]) -> dict[str, Any]:
    """The full config: the launcher's choices checked and laid over defaults."""
    if not isinstance(choices, Mapping):
        raise EvaluationConfigError("config must be an object", field="config")
    config = default_config()
    for key, value in choices.items():
        if key not in config:
            raise EvaluationConfigError(
                f"config.{key} is not a setting an evaluation can choose",
                field=f"config.{key}",
            )
        if key == "sampling":
            config["sampling"] = {**config["sampling"], **_sampling(value)}
        else:
            config[key] = value
    if config["prompt"] not in PROMPTS:
        raise EvaluationConfigError(
            f"prompt must be one of {', '.join(PROMPTS)}", field="config.prompt"
        )
    for key, (low, high) in _SIZES.items():
        value = config[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not low <= value <= high
        ):
            raise EvaluationConfigError(
                f"{key} must be a whole number in {low}..{high}", field=f"config.{key}"
            )
    if not isinstance(config["queue"], str) or not config["queue"].strip():
        raise EvaluationConfigError("queue must be a queue name", field="config.queue")
    config["endpoint"] = endpoint(config["endpoint"]).provenance()
    return config


def _sampling(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise EvaluationConfigError(
            "sampling must be an object", field="config.sampling"
        )
    checked = {}
    for key, item in value.items():
        where = f"config.sampling.{key}"
        if key not in _SAMPLING_RANGES:
            raise EvaluationConfigError(
                f"{where} is not a sampling setting", field=where
            )
        low, high = _SAMPLING_RANGES[key]
        whole = key in {"max_tokens", "seed"}
        if item is None and key == "seed":
            checked[key] = None
            continue
        if (
            isinstance(item, bool)
            or not isinstance(item, int if whole else int | float)
            or not low <= item <= high
        ):
            kind = "a whole number" if whole else "a number"
            raise EvaluationConfigError(
                f"{where} must be {kind} in {low}..{high}", field=where
            )
        checked[key] = item
    return checked


def endpoint(name: Any) -> endpoints.Endpoint:
    """The registered endpoint `name`, if it serves evaluation."""
    field = "config.endpoint"
    if not isinstance(name, str) or not name:
        raise EvaluationConfigError(
            f"name an evaluation endpoint: {endpoints.names(ROLE)}", field=field
        )
    try:
        found = endpoints.get(name)
    except endpoints.UnknownEndpoint:
        raise EvaluationConfigError(
            f"unknown endpoint {name!r}; evaluation endpoints: {endpoints.names(ROLE)}",
            field=field,
        ) from None
    if not found.serves(ROLE):
        raise EvaluationConfigError(
            f"endpoint {name!r} does not serve evaluation; evaluation endpoints: "
            f"{endpoints.names(ROLE)}",
            field=field,
        )
    return found
