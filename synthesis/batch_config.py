"""A batch's config: the defaults, what a launcher may choose, and what is kept.

A launcher (browser form, API, command) may choose from a fixed list of
settings: endpoints by name, sampling, prompt and rubric versions, sizes and
the keep rule. Anything else is refused with an error that names the field,
so no request can supply a Python path, URL, key or file path. The config a
batch stores records each role's endpoint with a provenance snapshot (runtime,
model, URL, context length) so the batch says how its items were made; the
worker never builds anything from that snapshot, only from its own registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from medsyn_app import endpoints
from synthesis import prompts, rubric

ROLES = ("generator", "verifier")


class BatchConfigError(ValueError):
    """A launch request that cannot run; the message says which setting and why.

    `field` is the dotted path of the offending value (`config.generator.endpoint`,
    `figure_filter.figure_ids`), or "" when no single field is to blame.
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# What a launcher may set, by type. A nested dict is a table of its own.
_SAMPLING = {"max_tokens": int, "temperature": float, "top_p": float, "seed": int}
CHOOSABLE: dict[str, Any] = {
    # `replicas`: more endpoints serving the same model; each request goes to
    # the one with the fewest requests outstanding.
    "generator": {"endpoint": str, "replicas": list},
    "verifier": {"endpoint": str, "replicas": list},
    "generator_prompt": str,
    "verifier_prompt": str,
    "rubric_version": str,
    "sampling": _SAMPLING,
    "verifier_sampling": _SAMPLING,
    "retry_temperature": float,
    "items_per_group": int,
    "generation_retries": int,
    "keep_rule": {"min_score": float},
    "chunk_size": int,
    "image_long_side": int,
    "lease_seconds": int,
    "max_chunk_attempts": int,
    "queue": str,
}
_NULLABLE = {"config.sampling.seed", "config.verifier_sampling.seed"}
_LIMITS = {
    "items_per_group": (1, 20),
    "generation_retries": (0, 10),
    "chunk_size": (1, 1000),
    "image_long_side": (28, 4096),
    "lease_seconds": (1, 24 * 3600),
    "max_chunk_attempts": (1, 20),
}
# Several items of one figure group are only distinct if sampled: greedy
# decoding gives the same item for every seed.
DISTINCT_SAMPLES_TEMPERATURE = 0.7
_VERSION = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_TYPE_NAMES = {
    int: "a whole number",
    float: "a number",
    str: "a string",
    list: "a list of endpoint names",
}


def default_config() -> dict[str, Any]:
    """The settings a batch runs with unless the launcher says otherwise."""
    return {
        "generator": {"endpoint": settings.MEDSYN_GENERATOR_ENDPOINT},
        "verifier": {"endpoint": settings.MEDSYN_VERIFIER_ENDPOINT},
        "generator_prompt": "v1",
        # v2: the verdict schema fixes the 17 rows in order and their scores.
        "verifier_prompt": "v2",
        "rubric_version": rubric.RUBRIC_V1.version,
        "sampling": {"max_tokens": 1024, "temperature": 0.0, "top_p": 1.0, "seed": 42},
        # 17 rubric rows with reasons need more room than one item.
        "verifier_sampling": {"max_tokens": 3072},
        "retry_temperature": 0.7,
        "items_per_group": 1,
        "generation_retries": 2,
        "keep_rule": {"min_score": 0.967},
        "chunk_size": 16,
        "image_long_side": 384,
        "lease_seconds": 600,
        "max_chunk_attempts": 3,
        "queue": settings.MEDSYN_SYNTHESIS_QUEUE,
    }


def resolve(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The full config for a launch: the launcher's choices checked and laid
    over the defaults, each role's endpoint looked up and recorded."""
    _check_shape(overrides, CHOOSABLE, "config")
    config = _merged(default_config(), overrides)
    _check_values(config)
    _check_distinct_samples(config, overrides)
    for role in ROLES:
        chosen = config[role]
        replicas = chosen.get("replicas") or []
        config[role] = _endpoint(role, chosen["endpoint"]).provenance()
        if replicas:
            field = f"config.{role}.replicas"
            if len(replicas) > 16 or len(set(replicas)) != len(replicas):
                raise BatchConfigError(
                    f"{role} replicas must be up to 16 distinct endpoint names",
                    field=field,
                )
            config[role]["replicas"] = [
                _endpoint(role, name, field=field).provenance() for name in replicas
            ]
    return config


FILTER_KEYS = {"modality": str, "document": str, "sample": int, "limit": int}


def check_filter(figure_filter: Mapping[str, Any]) -> None:
    if unknown := sorted(set(figure_filter) - {*FILTER_KEYS, "figure_ids"}):
        raise BatchConfigError(
            f"unknown figure filter {', '.join(unknown)}",
            field=f"figure_filter.{unknown[0]}",
        )
    for key, kind in FILTER_KEYS.items():
        value = figure_filter.get(key)
        if value is None:
            continue
        if kind is int and (not _is(value, int) or value < 1):
            raise BatchConfigError(
                f"figure filter {key} must be a positive number",
                field=f"figure_filter.{key}",
            )
        if kind is str and not isinstance(value, str):
            raise BatchConfigError(
                f"figure filter {key} must be a string", field=f"figure_filter.{key}"
            )
    ids = figure_filter.get("figure_ids")
    if ids is not None and (
        not isinstance(ids, list) or not all(_is(i, int) and i > 0 for i in ids)
    ):
        raise BatchConfigError(
            "figure filter figure_ids must be a list of figure ids (whole numbers)",
            field="figure_filter.figure_ids",
        )


def _check_shape(value: Any, allowed: Mapping[str, Any], path: str) -> None:
    """Refuse, by name, every key a launcher may not set and every wrong type."""
    if not isinstance(value, Mapping):
        raise BatchConfigError(f"{path} must be an object", field=path)
    for key, item in value.items():
        where = f"{path}.{key}"
        if key not in allowed:
            raise BatchConfigError(_not_choosable(path, key, where), field=where)
        kind = allowed[key]
        if isinstance(kind, dict):
            _check_shape(item, kind, where)
        elif not (_is(item, kind) or (item is None and where in _NULLABLE)):
            raise BatchConfigError(
                f"{where} must be {_TYPE_NAMES[kind]}, not {item!r}", field=where
            )


def _not_choosable(path: str, key: str, where: str) -> str:
    role = path.removeprefix("config.")
    if role in ROLES:
        return (
            f"{where} cannot be set: a batch names its {role} endpoint "
            f"(config.{role}.endpoint) and nothing else; runtimes, URLs, keys "
            "and model options are the operator's endpoint configuration"
        )
    return f"{where} is not a setting a batch can choose"


def _is(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def _merged(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _check_values(config: dict[str, Any]) -> None:
    for key in ("generator_prompt", "verifier_prompt", "rubric_version"):
        if not _VERSION.match(config[key]):
            raise BatchConfigError(
                f"{key} must be a version name such as v1", field=f"config.{key}"
            )
    try:
        rubric.get_rubric(config["rubric_version"])
    except ValueError as exc:
        raise BatchConfigError(str(exc), field="config.rubric_version") from None
    for role in ROLES:
        try:
            prompts.template(role, config[f"{role}_prompt"])
        except ValueError as exc:
            raise BatchConfigError(str(exc), field=f"config.{role}_prompt") from None
    for key, (low, high) in _LIMITS.items():
        if not low <= config[key] <= high:
            raise BatchConfigError(
                f"{key} must be a whole number in {low}..{high}", field=f"config.{key}"
            )
    for table in ("sampling", "verifier_sampling"):
        _check_sampling(config[table], f"config.{table}")
    if not 0.0 <= config["keep_rule"]["min_score"] <= 1.0:
        raise BatchConfigError(
            "keep_rule.min_score must be between 0 and 1",
            field="config.keep_rule.min_score",
        )
    if not 0.0 <= config["retry_temperature"] <= 2.0:
        raise BatchConfigError(
            "retry_temperature must be between 0 and 2",
            field="config.retry_temperature",
        )


def _check_distinct_samples(
    config: dict[str, Any], overrides: Mapping[str, Any]
) -> None:
    """With several items per figure group, sample warm by default and refuse
    greedy decoding, which would make every item of a group the same."""
    if config["items_per_group"] < 2:
        return
    chosen = (overrides.get("sampling") or {}).get("temperature")
    if chosen is None:
        config["sampling"]["temperature"] = DISTINCT_SAMPLES_TEMPERATURE
    elif chosen == 0:
        raise BatchConfigError(
            f"sampling.temperature must be above 0 with items_per_group="
            f"{config['items_per_group']}: at temperature 0 every item of a figure "
            f"group is the same (leave it out for {DISTINCT_SAMPLES_TEMPERATURE})",
            field="config.sampling.temperature",
        )


def _check_sampling(sampling: Mapping[str, Any], path: str) -> None:
    ranges = {"max_tokens": (1, 65536), "temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}
    for key, (low, high) in ranges.items():
        if key in sampling and not low <= sampling[key] <= high:
            raise BatchConfigError(
                f"{path.removeprefix('config.')}.{key} must be in {low}..{high}",
                field=f"{path}.{key}",
            )
    if (seed := sampling.get("seed")) is not None and seed < 0:
        raise BatchConfigError(
            f"{path.removeprefix('config.')}.seed must be 0 or more",
            field=f"{path}.seed",
        )


def _endpoint(role: str, name: str, *, field: str = "") -> endpoints.Endpoint:
    field = field or f"config.{role}.endpoint"
    try:
        endpoint = endpoints.get(name)
    except endpoints.UnknownEndpoint:
        raise BatchConfigError(
            f"unknown {role} endpoint {name!r}; registered {role} endpoints: "
            f"{endpoints.names(role)}",
            field=field,
        ) from None
    if not endpoint.serves(role):
        raise BatchConfigError(
            f"endpoint {name!r} does not serve {role}; {role} endpoints: "
            f"{endpoints.names(role)}",
            field=field,
        )
    return endpoint
