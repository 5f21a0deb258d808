"""An in-process vLLM engine for GPU workers (`celery worker -Q gpu --pool=solo`).

The engine is created on first use, once per worker process, and reused by
every task that asks for the same configuration: loading a 7B model takes tens
of seconds, a chunk of work should not. vllm is imported only inside functions
here; it lives in its own virtualenv (requirements-gpu.txt) because it pins a
CUDA torch and an older transformers than the CPU stack.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Sequence
from typing import Any

from synthesis.backends.base import (
    CAUSE_CUT_BY_CONTEXT,
    BackendError,
    Completion,
    CompletionError,
    GenerationRequest,
)
from synthesis.backends.context import classify
from synthesis.backends.openai_messages import to_openai_messages
from synthesis.backends.structured_output import check_output, check_schema

INSTALL_HINT = (
    "vllm is not installed in this environment; GPU workers that run vLLM "
    "in-process need their own virtualenv: pip install -r requirements-gpu.txt "
    "(or use openai_compat against `vllm serve`)"
)
_ENGINES: dict[tuple[Any, ...], Any] = {}
_ENGINES_LOCK = threading.Lock()


def vllm_available() -> bool:
    return importlib.util.find_spec("vllm") is not None


class VLLMOfflineBackend:
    def __init__(
        self,
        *,
        model: str = "",
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        max_image_pixels: int = 1280 * 28 * 28,
        max_images_per_prompt: int = 6,
        dtype: str = "auto",
        structured_outputs_backend: str = "guidance",
        enforce_eager: bool = False,
        load_format: str = "auto",
        max_image_long_side: int | None = None,
    ) -> None:
        if not vllm_available():
            raise BackendError(INSTALL_HINT, retryable=False)
        if not model:
            raise BackendError(
                "vllm_offline needs model: a local folder or a model id already "
                "in the worker's cache",
                retryable=False,
            )
        self.model_name = model
        self.max_image_long_side = max_image_long_side
        self.structured_outputs_backend = structured_outputs_backend
        self.engine_config = (
            ("model", model),
            ("tensor_parallel_size", tensor_parallel_size),
            ("gpu_memory_utilization", gpu_memory_utilization),
            ("max_model_len", max_model_len),
            ("dtype", dtype),
            ("enforce_eager", enforce_eager),
            ("load_format", load_format),
            ("limit_mm_per_prompt", (("image", max_images_per_prompt), ("video", 0))),
            ("mm_processor_kwargs", (("max_pixels", max_image_pixels),)),
            ("structured_outputs_backend", structured_outputs_backend),
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        if not requests:
            return []
        llm = self._engine()
        results: list[Completion | None] = [None] * len(requests)
        batch: list[tuple[int, list[dict[str, Any]], Any]] = []
        for index, request in enumerate(requests):
            try:
                conversation = to_openai_messages(
                    request.messages, max_image_long_side=self.max_image_long_side
                )
            except (ValueError, OSError) as exc:
                results[index] = _failed(request, str(exc))
                continue
            if request.json_schema is not None:
                error = check_schema(request.json_schema)
                if error is not None:
                    results[index] = _failed(request, error.message)
                    continue
            batch.append((index, conversation, sampling_params(request)))
        for index, completion in self._run(llm, requests, batch):
            results[index] = completion
        return [c for c in results if c is not None]

    def _run(
        self,
        llm: Any,
        requests: Sequence[GenerationRequest],
        batch: list[tuple[int, list[dict[str, Any]], Any]],
    ) -> list[tuple[int, Completion]]:
        """One batched chat call; if it fails as a whole, find the bad request."""
        if not batch:
            return []
        started = time.perf_counter()
        try:
            outputs = llm.chat(
                [conversation for _, conversation, _ in batch],
                sampling_params=[params for _, _, params in batch],
                use_tqdm=False,
            )
        except (ValueError, TypeError, KeyError) as exc:
            if len(batch) == 1:
                index = batch[0][0]
                error = classify(str(exc), prefix="vLLM refused it: ")
                return [(index, _failed(requests[index], error.message, error))]
            return [pair for item in batch for pair in self._run(llm, requests, [item])]
        latency = time.perf_counter() - started
        context = _max_model_len(llm)
        return [
            (index, _completion(requests[index], output, latency, context))
            for (index, _, _), output in zip(batch, outputs, strict=True)
        ]

    def _engine(self) -> Any:
        with _ENGINES_LOCK:
            if self.engine_config not in _ENGINES:
                _ENGINES[self.engine_config] = _create_engine(dict(self.engine_config))
            return _ENGINES[self.engine_config]


def _create_engine(config: dict[str, Any]) -> Any:
    try:
        from vllm import LLM
    except ImportError as exc:
        raise BackendError(f"{INSTALL_HINT} ({exc})", retryable=False) from exc
    backend = config.pop("structured_outputs_backend")
    kwargs = {
        **config,
        "limit_mm_per_prompt": dict(config["limit_mm_per_prompt"]),
        "mm_processor_kwargs": dict(config["mm_processor_kwargs"]),
    }
    if kwargs["max_model_len"] is None:
        del kwargs["max_model_len"]
    structured = {"backend": backend, "disable_any_whitespace": True}
    try:
        return LLM(**kwargs, structured_outputs_config=structured)
    except TypeError:
        # vLLM before the structured_outputs rename.
        return LLM(**kwargs, guided_decoding_backend=backend)


def sampling_params(request: GenerationRequest) -> Any:
    """vLLM SamplingParams for a request, with its JSON schema if it has one."""
    from vllm import SamplingParams

    sampling = request.sampling
    kwargs: dict[str, Any] = {
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "seed": sampling.seed,
    }
    if request.json_schema is None:
        return SamplingParams(**kwargs)
    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:
        from vllm.sampling_params import GuidedDecodingParams

        return SamplingParams(
            **kwargs, guided_decoding=GuidedDecodingParams(json=request.json_schema)
        )
    return SamplingParams(
        **kwargs, structured_outputs=StructuredOutputsParams(json=request.json_schema)
    )


def _max_model_len(llm: Any) -> int | None:
    """The engine's context, where this vLLM version exposes it."""
    for path in (("llm_engine", "model_config"), ("model_config",)):
        value: Any = llm
        for name in path:
            value = getattr(value, name, None)
        length = getattr(value, "max_model_len", None)
        if isinstance(length, int):
            return length
    return None


def _completion(
    request: GenerationRequest, output: Any, latency: float, context: int | None = None
) -> Completion:
    choice = output.outputs[0]
    finish = choice.finish_reason or "stop"
    if finish == "abort":  # the engine dropped it (shutdown, preemption)
        return Completion(
            request_id=request.request_id,
            text=choice.text,
            latency_s=latency,
            finish_reason="error",
            error=CompletionError("aborted by the vLLM engine", retryable=True),
        )
    prompt_tokens = len(output.prompt_token_ids or ())
    completion_tokens = len(choice.token_ids)
    error = check_output(
        choice.text,
        request.json_schema,
        finish_reason=finish,
        max_tokens=request.sampling.max_tokens,
    )
    used = prompt_tokens + completion_tokens
    if error is not None and finish == "length" and context and used >= context:
        error = CompletionError(
            f"output cut by the end of the context ({context:,} tokens; prompt "
            f"{prompt_tokens:,} + output {completion_tokens:,}) before the JSON was "
            f"complete (max_tokens={request.sampling.max_tokens:,} asked): "
            f"{choice.text[:200]!r}",
            retryable=False,
            cause=CAUSE_CUT_BY_CONTEXT,
            prompt_tokens=prompt_tokens,
            context_length=context,
            max_tokens=request.sampling.max_tokens,
        )
    return Completion(
        request_id=request.request_id,
        text=choice.text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_s=latency,
        finish_reason=finish,
        error=error,
    )


def _failed(
    request: GenerationRequest, message: str, error: CompletionError | None = None
) -> Completion:
    return Completion(
        request_id=request.request_id,
        text="",
        prompt_tokens=(error.prompt_tokens or 0) if error else 0,
        finish_reason="error",
        error=error or CompletionError(message, retryable=False),
    )
