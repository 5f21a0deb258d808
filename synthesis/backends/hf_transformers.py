"""Local transformers runtime: Qwen2-VL / Qwen2.5-VL on CPU or GPU.

The path the tests and the CPU demo use (with the tiny demo model), and a
fallback on a GPU box without vLLM. Model and processor load once per process
and are shared by every backend instance naming the same path and device.
Structured requests decode under a JSON-schema constraint (llguidance), so even
a random-weight model writes schema-valid JSON unless it runs out of tokens.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from synthesis.backends import demo_model
from synthesis.backends.base import (
    CAUSE_CUT_BY_CONTEXT,
    BackendError,
    ChatMessage,
    Completion,
    CompletionError,
    GenerationRequest,
    SamplingParams,
)
from synthesis.backends.context import DEFAULT_MIN_OUTPUT_TOKENS, fit_max_tokens
from synthesis.backends.structured_output import check_output, check_schema

_CACHE: dict[tuple[str, str, str], _Runtime] = {}
_CACHE_LOCK = threading.Lock()


@dataclass
class _Runtime:
    """A loaded model with what decoding needs beside it."""

    model: Any
    processor: Any
    device: str
    banned: Any  # bool tensor over the vocabulary, on the model's device
    eos_id: int
    pad_id: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    lltok: Any = None  # llguidance token table, built on first structured request

    @property
    def context_length(self) -> int | None:
        """The model's own context (its position embeddings), if it says."""
        config = getattr(self.model, "config", None)
        text = getattr(config, "text_config", None) or config
        value = getattr(text, "max_position_embeddings", None)
        return int(value) if isinstance(value, int) and value > 0 else None

    def llguidance_tokenizer(self) -> Any:
        if self.lltok is None:
            from synthesis.backends.logits_processors import build_tokenizer

            n_vocab = self.model.get_output_embeddings().weight.shape[0]
            self.lltok = build_tokenizer(self.processor.tokenizer, n_vocab=n_vocab)
        return self.lltok


@dataclass
class _Prepared:
    index: int
    request: GenerationRequest
    images: list[Any]
    grammar: str | None
    requested: int = 0  # the max_tokens asked for, before fitting to the context


class TransformersBackend:
    """`model_path` (or `model`) empty means the demo model, built if missing."""

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        max_image_long_side: int = 1024,
        max_batch_size: int = 8,
        cpu_threads: int | None = None,
        context_length: int | None = None,
        min_output_tokens: int = DEFAULT_MIN_OUTPUT_TOKENS,
    ) -> None:
        path = model_path or model
        self.is_demo = not path
        self.path = Path(path) if path else demo_model.default_dir()
        self.device = _resolve_device(device)
        self.dtype = dtype
        self.max_image_long_side = max_image_long_side
        self.max_batch_size = max(1, max_batch_size)
        # The endpoint's context_length, else the model's own.
        self.context_length = context_length
        self.min_output_tokens = min_output_tokens
        self.is_demo = self.is_demo or demo_model.is_demo_model(self.path)
        self.model_name = demo_model.MODEL_NAME if self.is_demo else str(path)
        # The demo model is too small to gain from intra-op threads, and on a
        # shared CPU their spin-waits made each step about 100x slower.
        self.cpu_threads = cpu_threads or (1 if self.is_demo else None)
        self._runtime: _Runtime | None = None

    @classmethod
    def from_components(
        cls, *, model: Any, processor: Any, model_name: str, **config: Any
    ) -> TransformersBackend:
        """Wrap a model built in memory (benchmarks with random real-size weights)."""
        backend = cls(model_path=model_name, **config)
        backend._apply_cpu_threads()
        model.to(backend.device).eval()
        backend._runtime = _make_runtime(model, processor, backend.device)
        return backend

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        if not requests:
            return []
        runtime = self._load()
        results: list[Completion | None] = [None] * len(requests)
        groups: dict[tuple[int, float, float], list[_Prepared]] = {}
        for index, request in enumerate(requests):
            prepared = self._prepare(runtime, index, request)
            if isinstance(prepared, Completion):
                results[index] = prepared
            else:
                s = prepared.request.sampling
                key = (s.max_tokens, s.temperature, s.top_p)
                groups.setdefault(key, []).append(prepared)
        with runtime.lock:
            for members in groups.values():
                sampling = members[0].request.sampling
                for start in range(0, len(members), self.max_batch_size):
                    chunk = members[start : start + self.max_batch_size]
                    for item, completion in zip(
                        chunk, self._run_isolated(runtime, sampling, chunk), strict=True
                    ):
                        results[item.index] = completion
        return [c for c in results if c is not None]

    # -- loading ---------------------------------------------------------------

    def _load(self) -> _Runtime:
        if self._runtime is not None:
            return self._runtime
        key = (str(self.path.resolve()), self.device, self.dtype)
        with _CACHE_LOCK:
            if key not in _CACHE:
                _CACHE[key] = self._load_runtime()
            self._runtime = _CACHE[key]
        return self._runtime

    def _load_runtime(self) -> _Runtime:
        if self.is_demo and not demo_model.is_built(self.path):
            demo_model.build_demo_model(path=self.path)
        if not (self.path / "config.json").is_file():
            raise BackendError(
                f"no transformers model at {self.path} (config.json missing); "
                "give a local model folder, or leave the model empty for the demo",
                retryable=False,
            )
        import torch
        from transformers import AutoModelForImageTextToText
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self._apply_cpu_threads()
        dtype = _resolve_dtype(self.dtype, self.device)
        try:
            processor = demo_model.load_processor(self.path)
            model = AutoModelForImageTextToText.from_pretrained(
                str(self.path), dtype=getattr(torch, dtype)
            )
        except (OSError, ValueError, ImportError) as exc:
            raise BackendError(
                f"cannot load model {self.path}: {exc}", retryable=False
            ) from exc
        model.to(self.device).eval()
        return _make_runtime(model, processor, self.device)

    def _apply_cpu_threads(self) -> None:
        if self.device == "cpu" and self.cpu_threads:
            import torch

            torch.set_num_threads(self.cpu_threads)

    # -- one request -------------------------------------------------------------

    def _prepare(
        self, runtime: _Runtime, index: int, request: GenerationRequest
    ) -> _Prepared | Completion:
        """Decode images and compile the schema; a failure here fails one request."""
        try:
            images = [
                _open_image(data, self.max_image_long_side)
                for message in request.messages
                for data in message.images
            ]
        except ValueError as exc:
            return _failed(request, str(exc))
        grammar = None
        if request.json_schema is not None:
            error = check_schema(request.json_schema)
            if error is not None:
                return _failed(request, error.message)
            from synthesis.backends.logits_processors import (
                compile_schema,
                grammar_error,
            )

            grammar = compile_schema(request.json_schema)
            problem = grammar_error(runtime.llguidance_tokenizer(), grammar)
            if problem:
                return _failed(request, f"schema cannot be compiled: {problem}")
        requested = request.sampling.max_tokens
        context = self.context_length or runtime.context_length
        if context:
            prompt_tokens = self._count(runtime, request, images)
            fitted = fit_max_tokens(
                requested=requested,
                prompt_tokens=prompt_tokens,
                context_length=context,
                min_output_tokens=self.min_output_tokens,
            )
            if isinstance(fitted, CompletionError):
                return Completion(
                    request_id=request.request_id,
                    text="",
                    prompt_tokens=prompt_tokens,
                    finish_reason="error",
                    error=fitted,
                )
            if fitted != requested:
                sampling = replace(request.sampling, max_tokens=fitted)
                request = replace(request, sampling=sampling)
        return _Prepared(index, request, images, grammar, requested)

    def _count(
        self, runtime: _Runtime, request: GenerationRequest, images: list
    ) -> int:
        """The prompt's length in tokens, images included, as generate() sees it."""
        processor = runtime.processor
        text = processor.apply_chat_template(
            _chat(request.messages), add_generation_prompt=True, tokenize=False
        )
        inputs = processor(text=[text], images=images or None, return_tensors="pt")
        return int(inputs["input_ids"].shape[1])

    # -- one batch -------------------------------------------------------------

    def _run_isolated(
        self, runtime: _Runtime, sampling: SamplingParams, chunk: list[_Prepared]
    ) -> list[Completion]:
        """Run a chunk; if it fails as a whole, run its requests one by one."""
        try:
            return self._run_chunk(runtime, sampling, chunk)
        except (RuntimeError, ValueError, IndexError) as exc:
            if len(chunk) == 1:
                # Out of memory may pass with a smaller batch or a later retry.
                oom = "out of memory" in str(exc).lower()
                message = f"generation failed: {exc}"
                return [_failed(chunk[0].request, message, retryable=oom)]
        return [
            c for item in chunk for c in self._run_isolated(runtime, sampling, [item])
        ]

    def _run_chunk(
        self, runtime: _Runtime, sampling: SamplingParams, chunk: list[_Prepared]
    ) -> list[Completion]:
        import torch
        from transformers import LogitsProcessorList

        from synthesis.backends.logits_processors import (
            BannedTokensLogitsProcessor,
            JSONSchemaLogitsProcessor,
        )

        started = time.perf_counter()
        processor = runtime.processor
        prompts = [
            processor.apply_chat_template(
                _chat(item.request.messages), add_generation_prompt=True, tokenize=False
            )
            for item in chunk
        ]
        images = [image for item in chunk for image in item.images]
        inputs = processor(
            text=prompts, images=images or None, padding=True, return_tensors="pt"
        ).to(runtime.device)
        grammars = [item.grammar for item in chunk]
        constraint = None
        processors = LogitsProcessorList([BannedTokensLogitsProcessor(runtime.banned)])
        if any(g is not None for g in grammars):
            constraint = JSONSchemaLogitsProcessor(
                runtime.llguidance_tokenizer(), grammars
            )
            processors.append(constraint)
        extra: dict[str, Any] = {"logits_processor": processors}
        if sampling.temperature > 0:
            extra.update(
                do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p
            )
        else:
            extra.update(do_sample=False, temperature=None, top_p=None)
        devices = [torch.device(runtime.device)] if runtime.device != "cpu" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(_chunk_seed(chunk))
            output = runtime.model.generate(
                **inputs,
                max_new_tokens=sampling.max_tokens,
                top_k=None,
                eos_token_id=runtime.eos_id,
                pad_token_id=runtime.pad_id,
                **extra,
            )
        latency = time.perf_counter() - started
        prompt_len = inputs["input_ids"].shape[1]
        prompt_counts = inputs["attention_mask"].sum(dim=1).tolist()
        completions = []
        for row, item in enumerate(chunk):
            tokens = output[row, prompt_len:].tolist()
            if runtime.eos_id in tokens:
                tokens = tokens[: tokens.index(runtime.eos_id) + 1]
                finish = "stop"
            else:
                finish = "length" if len(tokens) >= sampling.max_tokens else "stop"
            text = processor.tokenizer.decode(tokens, skip_special_tokens=True)
            error = None
            if constraint is not None and constraint.errors[row]:
                error = CompletionError(
                    f"constrained decoding failed: {constraint.errors[row]}",
                    retryable=False,
                )
            error = error or check_output(
                text,
                item.request.json_schema,
                finish_reason=finish,
                max_tokens=sampling.max_tokens,
            )
            if (
                error is not None
                and finish == "length"
                and item.requested > len(tokens)
            ):
                # max_tokens was lowered to the room the context left.
                error = CompletionError(
                    f"output cut by the end of the context (prompt "
                    f"{int(prompt_counts[row]):,} + output {len(tokens):,} tokens) "
                    f"before the JSON was complete (max_tokens={item.requested:,} "
                    f"asked): {text[:200]!r}",
                    retryable=False,
                    cause=CAUSE_CUT_BY_CONTEXT,
                    prompt_tokens=int(prompt_counts[row]),
                    max_tokens=item.requested,
                )
            completions.append(
                Completion(
                    request_id=item.request.request_id,
                    text=text,
                    prompt_tokens=int(prompt_counts[row]),
                    completion_tokens=len(tokens),
                    latency_s=latency,
                    finish_reason=finish,
                    error=error,
                )
            )
        return completions


def _chunk_seed(chunk: list[_Prepared]) -> int:
    """One seed for a batched generate() (transformers has no per-row generator).

    Derived from every request's seed, so the same requests in the same order
    always sample the same tokens; greedy requests do not depend on it at all.
    """
    seeds = [item.request.sampling.seed or 0 for item in chunk]
    return zlib.crc32(json.dumps(seeds).encode())


def _make_runtime(model: Any, processor: Any, device: str) -> _Runtime:
    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"
    eos_id = tokenizer.eos_token_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_id
    # Only EOS may end or punctuate an answer; image/video/box markers may not,
    # nor the padding rows of an embedding wider than the tokenizer.
    import torch

    n_vocab = model.get_output_embeddings().weight.shape[0]
    banned = torch.zeros(n_vocab, dtype=torch.bool)
    banned[len(tokenizer) :] = True
    banned[sorted(set(tokenizer.all_special_ids) - {eos_id})] = True
    return _Runtime(model, processor, device, banned.to(device), eos_id, pad_id)


def _chat(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Messages in the processor's chat-template form: image parts, then the text."""
    return [
        {
            "role": m.role,
            "content": [{"type": "image"} for _ in m.images]
            + [{"type": "text", "text": m.text}],
        }
        for m in messages
    ]


def _open_image(data: bytes, max_long_side: int) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"unreadable image ({len(data)} bytes): {exc}") from exc
    image = image.convert("RGB")
    if max(image.size) > max_long_side:
        image.thumbnail((max_long_side, max_long_side))
    return image


def _failed(
    request: GenerationRequest, message: str, *, retryable: bool = False
) -> Completion:
    return Completion(
        request_id=request.request_id,
        text="",
        finish_reason="error",
        error=CompletionError(message, retryable=retryable),
    )


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _resolve_dtype(dtype: str, device: str) -> str:
    if dtype != "auto":
        return dtype
    return "bfloat16" if device.startswith("cuda") else "float32"
