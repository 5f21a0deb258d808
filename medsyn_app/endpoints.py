"""The model endpoints this installation may use: operator configuration only.

An endpoint is a named model server or runtime: which runtime talks to it, its
URL, the served model, where its API key comes from (the name of an
environment variable or a secret file, never the key), its context length,
concurrency and the roles it may serve. The registry is read from settings
(`MEDSYN_ENDPOINTS_FILE`, a TOML or JSON file, or `MEDSYN_ENDPOINTS`, inline
JSON) and nothing a browser or API client sends can add to it or change it:
batches name endpoints, and the worker looks the name up in its own registry.

The document is a table of endpoints by name::

    [generator-7b]
    runtime = "openai_compat"
    base_url = "http://gpu-1:8001/v1"
    model = "generator"
    key_env = "MEDSYN_GENERATOR_KEY"
    context_length = 16384
    concurrency = 16
    roles = ["generator"]

A runtime is one of `RUNTIMES`, or a dotted "package.module:Class" (site
clients, test doubles): allowed here because only the operator writes this.
With no registry configured there is one endpoint, `demo` (the tiny
random-weight model). This module sits at the bottom of the app: it knows
settings and the standard library, nothing of synthesis.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

RUNTIMES = ("openai_compat", "vllm_offline", "hf_transformers")
ROLES = ("generator", "verifier", "evaluation")

# Settings naming each role's default endpoint (evaluation has none yet).
DEFAULT_SETTINGS = {
    "generator": "MEDSYN_GENERATOR_ENDPOINT",
    "verifier": "MEDSYN_VERIFIER_ENDPOINT",
}

DEMO_NAME = "demo"
DEMO = {
    "runtime": "hf_transformers",
    "model": "",
    "roles": list(ROLES),
    "label": "demo: tiny model with random weights, demo only (items are placeholders)",
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELDS = {
    "runtime", "base_url", "model", "key_env", "key_file", "context_length",
    "concurrency", "roles", "options", "label",
}  # fmt: skip
# Runtime keywords the endpoint's own fields set; an option may not override them.
_RESERVED_OPTIONS = {
    "model", "model_path", "base_url", "api_key", "max_concurrency", "max_model_len",
}  # fmt: skip
_SETTINGS = {"MEDSYN_ENDPOINTS", "MEDSYN_ENDPOINTS_FILE", *DEFAULT_SETTINGS.values()}


class EndpointError(Exception):
    """An endpoint cannot be used as asked (unknown, or its key is unavailable)."""


class UnknownEndpoint(EndpointError):
    """No endpoint of that name is registered in this process."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    runtime: str
    model: str = ""
    base_url: str = ""
    key_env: str = ""
    key_file: str = ""
    context_length: int | None = None
    concurrency: int = 8
    roles: frozenset[str] = frozenset(ROLES)
    options: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    label: str = ""

    def serves(self, role: str) -> bool:
        return role in self.roles

    def api_key(self) -> str:
        """The key, read now from this endpoint's own source; "" when it has none.

        Read at call time and never stored, so it stays out of the database
        and out of every batch's config.
        """
        if self.key_env:
            key = os.environ.get(self.key_env, "").strip()
            if not key:
                raise EndpointError(
                    f"endpoint {self.name!r}: its key variable {self.key_env} "
                    "is not set in this process"
                )
            return key
        if self.key_file:
            try:
                key = Path(self.key_file).read_text().strip()
            except OSError as exc:
                raise EndpointError(
                    f"endpoint {self.name!r}: cannot read its key file "
                    f"{self.key_file}: {exc.strerror or exc}"
                ) from None
            if not key:
                raise EndpointError(
                    f"endpoint {self.name!r}: its key file {self.key_file} is empty"
                )
            return key
        return ""

    def provenance(self) -> dict[str, Any]:
        """What a batch records about the endpoint it ran on (never the key)."""
        return {
            "endpoint": self.name,
            "runtime": self.runtime,
            "model": self.model,
            "base_url": self.base_url,
            "context_length": self.context_length,
        }


@functools.cache
def registry() -> dict[str, Endpoint]:
    """Every registered endpoint by name, parsed and checked once per process."""
    tables = _load_tables(
        inline=getattr(settings, "MEDSYN_ENDPOINTS", None),
        path=getattr(settings, "MEDSYN_ENDPOINTS_FILE", ""),
    )
    endpoints = {name: parse(name, table) for name, table in tables.items()}
    for role, setting in DEFAULT_SETTINGS.items():
        name = getattr(settings, setting, DEMO_NAME)
        endpoint = endpoints.get(name)
        if endpoint is None or not endpoint.serves(role):
            raise ImproperlyConfigured(
                f"{setting}={name!r} must name a registered endpoint serving "
                f"{role}; those are: {_names(endpoints.values(), role)}"
            )
    return endpoints


def get(name: str) -> Endpoint:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownEndpoint(f"no endpoint named {name!r} is registered") from None


def for_role(role: str) -> list[Endpoint]:
    """The endpoints that may serve `role`, by name (several are replicas)."""
    return sorted(
        (e for e in registry().values() if e.serves(role)), key=lambda e: e.name
    )


def default_for(role: str) -> Endpoint:
    """The endpoint a batch uses for `role` unless it names another."""
    return get(getattr(settings, DEFAULT_SETTINGS[role], DEMO_NAME))


def names(role: str) -> str:
    """The endpoint names serving `role`, for messages."""
    return _names(registry().values(), role)


def parse(name: str, table: Any) -> Endpoint:
    """One endpoint from its table; a mistake names the endpoint and the field."""

    def fail(message: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"model endpoint {name!r}: {message}")

    if not isinstance(name, str) or not _NAME.match(name):
        raise fail(
            "a name is 1-64 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    if not isinstance(table, Mapping):
        raise fail("must be a table of settings")
    if "api_key" in table or "key" in table:
        raise fail(
            "never put a key in the registry; keep it in an environment variable "
            "or a secret file and name that with key_env or key_file"
        )
    if unknown := sorted(set(table) - _FIELDS):
        raise fail(f"unknown setting {', '.join(unknown)}")
    runtime = _text(table, "runtime", fail)
    if runtime not in RUNTIMES and not _DOTTED.match(runtime):
        raise fail(
            f"runtime must be one of {', '.join(RUNTIMES)} or a dotted "
            f"'package.module:Class', not {runtime!r}"
        )
    base_url = _text(table, "base_url", fail, default="")
    model = _text(table, "model", fail, default="")
    key_env = _text(table, "key_env", fail, default="")
    key_file = _text(table, "key_file", fail, default="")
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise fail(f"base_url must be an http(s) URL, not {base_url!r}")
        if parts.username or parts.password:
            raise fail("base_url may not carry credentials; use key_env or key_file")
    if runtime in {"hf_transformers", "vllm_offline"} and base_url:
        raise fail(f"a {runtime} endpoint runs in the worker and takes no base_url")
    if runtime == "openai_compat" and not (base_url and model):
        raise fail("openai_compat needs base_url and model (the served model name)")
    if runtime == "vllm_offline" and not model:
        raise fail("vllm_offline needs model (a local folder or a cached model id)")
    if key_env and key_file:
        raise fail("name one key source: key_env or key_file, not both")
    if (key_env or key_file) and not base_url:
        raise fail("a key needs a base_url to go to")
    if key_env and not _ENV_VAR.match(key_env):
        raise fail(f"key_env must be an environment variable name, not {key_env!r}")
    if key_file and not Path(key_file).is_absolute():
        raise fail(f"key_file must be an absolute path, not {key_file!r}")
    roles = table.get("roles")
    if (
        not isinstance(roles, list | tuple)
        or not roles
        or not all(isinstance(r, str) for r in roles)
    ):
        raise fail(f"roles must be a non-empty list drawn from {', '.join(ROLES)}")
    if unknown_roles := sorted(set(roles) - set(ROLES)):
        raise fail(f"unknown role {', '.join(unknown_roles)}; use {', '.join(ROLES)}")
    options = table.get("options", {})
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise fail("options must be a table of runtime settings")
    if reserved := sorted(set(options) & _RESERVED_OPTIONS):
        raise fail(
            f"options may not set {', '.join(reserved)}; use the endpoint's own "
            "model, base_url, key_env/key_file, concurrency and context_length"
        )
    label = _text(table, "label", fail, default="")
    return Endpoint(
        name=name,
        runtime=runtime,
        model=model,
        base_url=base_url,
        key_env=key_env,
        key_file=key_file,
        context_length=_count(table, "context_length", fail, default=None),
        concurrency=_count(table, "concurrency", fail, default=8),
        roles=frozenset(roles),
        options=MappingProxyType(dict(options)),
        label=label or (f"{name} ({model})" if model else name),
    )


def _load_tables(*, inline: Any, path: str | Path) -> dict[str, Any]:
    if inline and path:
        raise ImproperlyConfigured(
            "set MEDSYN_ENDPOINTS_FILE or MEDSYN_ENDPOINTS, not both"
        )
    if path:
        document = _read_file(Path(path))
        source = f"MEDSYN_ENDPOINTS_FILE ({path})"
    elif isinstance(inline, str) and inline.strip():
        try:
            document = json.loads(inline)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"MEDSYN_ENDPOINTS is not valid JSON: {exc}"
            ) from None
        source = "MEDSYN_ENDPOINTS"
    elif isinstance(inline, Mapping) and inline:
        document, source = inline, "MEDSYN_ENDPOINTS"
    else:
        return {DEMO_NAME: DEMO}
    if not isinstance(document, Mapping) or not document:
        raise ImproperlyConfigured(
            f"{source} must be a non-empty table of endpoints by name"
        )
    return dict(document)


def _read_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"MEDSYN_ENDPOINTS_FILE: cannot read {path}: {exc.strerror or exc}"
        ) from None
    try:
        if path.suffix == ".toml":
            return tomllib.loads(raw.decode())
        if path.suffix == ".json":
            return json.loads(raw)
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise ImproperlyConfigured(f"MEDSYN_ENDPOINTS_FILE {path}: {exc}") from None
    raise ImproperlyConfigured(
        f"MEDSYN_ENDPOINTS_FILE must end in .toml or .json, not {path.name!r}"
    )


Fail = Callable[[str], ImproperlyConfigured]


def _text(
    table: Mapping[str, Any], key: str, fail: Fail, default: str | None = None
) -> str:
    value = table.get(key, default)
    if value is None:
        raise fail(f"{key} is required")
    if not isinstance(value, str):
        raise fail(f"{key} must be a string")
    return value.strip()


def _count(
    table: Mapping[str, Any], key: str, fail: Fail, default: int | None
) -> int | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(f"{key} must be a positive whole number")
    return value


def _names(endpoints: Iterable[Endpoint], role: str) -> str:
    return ", ".join(sorted(e.name for e in endpoints if e.serves(role))) or "none"


@receiver(setting_changed)
def _forget_registry(*, setting: str, **kwargs: Any) -> None:
    """Tests that override the registry settings get a registry built from them."""
    if setting in _SETTINGS:
        registry.cache_clear()
