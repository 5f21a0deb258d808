"""Model runtimes behind one interface (see `base.py`).

`from_endpoint` builds the backend a registered model endpoint describes
(`medsyn_app/endpoints.py`, operator configuration); `get_backend` builds one
of the three built-in runtimes by name, for tests and benchmarks. Each
runtime's module is imported only when asked for, so torch, vllm and urllib3
load only in the processes that use them. A dotted "package.module:Class"
runtime (site-specific clients, test doubles) is honoured only from an
endpoint, because only the operator writes endpoints.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from synthesis.backends.base import Backend, BackendError

RUNTIMES = {
    "hf_transformers": "synthesis.backends.hf_transformers:TransformersBackend",
    "openai_compat": "synthesis.backends.openai_compat:OpenAICompatBackend",
    "vllm_offline": "synthesis.backends.vllm_offline:VLLMOfflineBackend",
}


class EndpointSpec(Protocol):
    """What a backend is built from: `medsyn_app.endpoints.Endpoint`, without
    this package importing the app."""

    name: str
    runtime: str
    model: str
    base_url: str
    context_length: int | None
    concurrency: int
    options: Mapping[str, Any]

    def api_key(self) -> str: ...


def get_backend(name: str, **config: Any) -> Backend:
    """One of the built-in runtimes, by name."""
    if name not in RUNTIMES:
        raise BackendError(
            f"unknown runtime {name!r}; use one of {', '.join(sorted(RUNTIMES))}",
            retryable=False,
        )
    return _construct(RUNTIMES[name], config)


def from_endpoint(endpoint: EndpointSpec) -> Backend:
    """The backend an endpoint describes, with the endpoint's own URL and key.

    The key is read here, from the endpoint's own source, and goes only to the
    endpoint's own base_url. A dotted runtime gets the same keywords as
    `openai_compat` (model, base_url, api_key, max_concurrency) plus options.
    """
    config: dict[str, Any] = {**endpoint.options, "model": endpoint.model}
    if endpoint.runtime == "vllm_offline":
        if endpoint.context_length:
            config["max_model_len"] = endpoint.context_length
    elif endpoint.runtime == "hf_transformers":
        if endpoint.context_length:
            config["context_length"] = endpoint.context_length
    else:
        config["base_url"] = endpoint.base_url
        config["api_key"] = endpoint.api_key()
        config["max_concurrency"] = endpoint.concurrency
        if endpoint.runtime == "openai_compat":
            config["context_length"] = endpoint.context_length
    target = RUNTIMES.get(endpoint.runtime, endpoint.runtime)
    return _construct(target, config)


def _construct(target: str, config: dict[str, Any]) -> Backend:
    module_name, _, class_name = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise BackendError(
            f"cannot load runtime {target!r}: {exc}", retryable=False
        ) from exc
    return factory(**config)
