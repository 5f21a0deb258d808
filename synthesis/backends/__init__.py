"""Model runtimes behind one interface (see `base.py`).

`get_backend` picks a runtime by name from a batch's config. Each runtime's
module is imported only when asked for, so torch, vllm and httpx load only in
the processes that use them. A dotted path ("package.module:Class") plugs in a
runtime that lives outside this package (site-specific clients, test doubles).
"""

from __future__ import annotations

import importlib
from typing import Any

from synthesis.backends.base import Backend, BackendError

RUNTIMES = {
    "hf_transformers": "synthesis.backends.hf_transformers:TransformersBackend",
    "openai_compat": "synthesis.backends.openai_compat:OpenAICompatBackend",
    "vllm_offline": "synthesis.backends.vllm_offline:VLLMOfflineBackend",
}


def get_backend(name: str, **config: Any) -> Backend:
    target = RUNTIMES.get(name, name)
    module_name, _, class_name = target.partition(":")
    if not class_name:
        raise BackendError(
            f"unknown backend {name!r}; use one of {sorted(RUNTIMES)} "
            "or a dotted path 'package.module:Class'",
            retryable=False,
        )
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(**config)
