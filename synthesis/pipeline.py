"""Generate, parse, verify, score: pure functions over a backend.

Nothing here touches the database or imports a model runtime (torch, vllm,
urllib3); `services` feeds it plain data and writes what comes back. That keeps
every step testable with a fake backend and reusable from tasks, the CLI and
benchmarks alike.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image
from rapidfuzz import fuzz

from synthesis import parsing, prompts, rubric
from synthesis.backends.base import (
    CAUSE_CUT_BY_CONTEXT,
    ChatMessage,
    Completion,
    CompletionError,
    GenerationRequest,
    SamplingParams,
)

# Items of one figure group this alike (rapidfuzz ratio, 0-100, on the question
# and the sorted options) are one item said twice: later ones are dropped.
NEAR_DUPLICATE = "near_duplicate"
NEAR_DUPLICATE_RATIO = 95.0

GENERATOR_SYSTEM = "You are an expert medical-education item writer."
VERIFIER_SYSTEM = "You are a strict biomedical multiple-choice question verifier."
# Tokens a chat template may add per message (role markers, separators) and
# once at the end (the assistant's turn): generous, so a bound built with it
# only ever overestimates.
TEMPLATE_TOKENS = 64


@dataclass(frozen=True)
class FigureText:
    caption: str
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A figure group as the model sees it: images (already sized) and text."""

    key: str
    figures: tuple[FigureText, ...]
    images: tuple[bytes, ...] = ()

    @property
    def caption(self) -> str:
        return self.figures[0].caption if self.figures else ""


@dataclass(frozen=True)
class Unit:
    """One requested item: which group, which sample of it."""

    group: Group
    sample_index: int
    attempt: int = 1

    @property
    def request_id(self) -> str:
        return f"{self.group.key}:{self.sample_index}"


@dataclass(frozen=True)
class Generated:
    unit: Unit
    raw: str
    item: parsing.ParsedItem | None = None
    failure: str = ""
    detail: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    # The backend's error for a failed request (status, server message, cause).
    error: CompletionError | None = None

    @property
    def retryable(self) -> bool:
        """Whether another attempt can help: a resample can fix a bad answer,
        nothing fixes a request the server refuses or a context that is full."""
        if self.error is None:
            return True
        if self.failure == parsing.TRUNCATED:
            # A resample may be shorter than max_tokens; the context stays full.
            return self.error.cause != CAUSE_CUT_BY_CONTEXT
        if self.failure == parsing.BACKEND_ERROR:
            return self.error.retryable
        return True


@dataclass(frozen=True)
class Verdict:
    score: rubric.Score
    raw: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    error: CompletionError | None = None  # the backend's, for a failed request


@dataclass(frozen=True)
class Settings:
    """The part of a batch config the pure steps need."""

    generator_prompt: str = "v1"
    verifier_prompt: str = "v1"
    rubric_version: str = "v1"
    sampling: SamplingParams = field(default_factory=SamplingParams)
    verifier_sampling: SamplingParams = field(default_factory=SamplingParams)
    keep_rule: rubric.KeepRule = field(default_factory=rubric.KeepRule)
    # Greedy decoding repeats itself; a retry samples at least this warm.
    retry_temperature: float = 0.7

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        sampling = SamplingParams(**config.get("sampling", {}))
        verifier_sampling = SamplingParams(
            **{**config.get("sampling", {}), **config.get("verifier_sampling", {})}
        )
        return cls(
            generator_prompt=config.get("generator_prompt", "v1"),
            verifier_prompt=config.get("verifier_prompt", "v1"),
            rubric_version=config.get("rubric_version", "v1"),
            sampling=sampling,
            verifier_sampling=verifier_sampling,
            keep_rule=rubric.KeepRule.from_config(config.get("keep_rule")),
            retry_temperature=float(config.get("retry_temperature", 0.7)),
        )


def resize_for_model(data: bytes, *, long_side: int) -> bytes:
    """The image as the model gets it: long side at most `long_side`, RGB.

    The method feeds models ≤ 384-px images; the original file stays untouched
    for reviewers. An RGB PNG or JPEG already small enough goes as it is;
    anything else becomes a PNG. This runs for every figure of every chunk,
    so it is kept cheap: a JPEG is decoded at the reduced size (`draft`), and
    the PNG is compressed at level 1 (a 1200x900 figure: 54 -> 18 ms).
    """
    with Image.open(io.BytesIO(data)) as image:
        small = max(image.size) <= long_side
        if small and image.mode == "RGB" and image.format in ("PNG", "JPEG"):
            return data
        if not small:
            image.draft("RGB", (long_side, long_side))  # JPEG: decode smaller
        image = image.convert("RGB")
        if not small:
            image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue()


def generation_request(unit: Unit, settings: Settings) -> GenerationRequest:
    group = unit.group
    text = prompts.render_generator(
        settings.generator_prompt,
        captions=[f.caption for f in group.figures],
        contexts=[f.mentions for f in group.figures],
    )
    sampling = settings.sampling
    if sampling.seed is not None:
        # Each sample and each retry gets its own, reproducible seed.
        seed = sampling.seed + unit.sample_index + 1000 * (unit.attempt - 1)
        sampling = replace(sampling, seed=seed)
    if unit.attempt > 1 and sampling.temperature < settings.retry_temperature:
        sampling = replace(sampling, temperature=settings.retry_temperature)
    return GenerationRequest(
        messages=(
            ChatMessage(role="system", text=GENERATOR_SYSTEM),
            ChatMessage(role="user", text=text, images=group.images),
        ),
        json_schema=prompts.schema("generator", settings.generator_prompt),
        sampling=sampling,
        request_id=unit.request_id,
    )


def _unusable(completion: Completion) -> bool:
    """An error with no complete reply to read: cut short, failed, or empty."""
    return completion.error is not None and (
        completion.finish_reason in {"length", "error"} or not completion.text
    )


def parse_generation(
    unit: Unit, completion: Completion, settings: Settings
) -> Generated:
    """A completion becomes an item or a failure with its reason; never raises."""
    usage = {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "latency_s": completion.latency_s,
    }
    if _unusable(completion):
        truncated = completion.finish_reason == "length"
        return Generated(
            unit,
            completion.text or "",
            failure=parsing.TRUNCATED if truncated else parsing.BACKEND_ERROR,
            detail=completion.error.message[:500],
            error=completion.error,
            **usage,
        )
    # A complete reply the backend found off-schema still goes through the
    # parser, which repairs what it can and otherwise names the exact fault.
    try:
        item = parsing.parse_item(
            completion.text,
            validator=prompts.validator("generator", settings.generator_prompt),
            caption=unit.group.caption,
            truncated=completion.finish_reason == "length",
        )
    except parsing.Rejected as exc:
        return Generated(
            unit, completion.text, failure=exc.code, detail=exc.detail, **usage
        )
    return Generated(unit, completion.text, item=item, **usage)


def generate(
    backend: Any, units: Sequence[Unit], settings: Settings
) -> list[Generated]:
    """One backend call for all units; `BackendError` from the backend propagates."""
    if not units:
        return []
    completions = backend.generate([generation_request(u, settings) for u in units])
    by_id = {c.request_id: c for c in completions}
    return [
        parse_generation(
            unit, by_id.get(unit.request_id) or missing(unit.request_id), settings
        )
        for unit in units
    ]


def _sample_text(item: parsing.ParsedItem) -> str:
    options = sorted(" ".join(str(v).split()).casefold() for v in item.options.values())
    return " ".join(item.question.split()).casefold() + " | " + " | ".join(options)


def near_duplicate(
    g: Generated, earlier: Sequence[Generated], *, ratio: float = NEAR_DUPLICATE_RATIO
) -> Generated | None:
    """`g` dropped, when nearly identical to one of `earlier` (made before it,
    same figure group); None when it is distinct. The streaming pipeline asks
    as each item arrives, so the sample that came first is the one kept."""
    if g.item is None:
        return None
    text = _sample_text(g.item)
    match = max(
        (
            (fuzz.ratio(text, _sample_text(e.item)), e.unit.sample_index)
            for e in earlier
            if e.item is not None
        ),
        default=None,
    )
    if match is None or match[0] < ratio:
        return None
    detail = (
        f"{match[0]:.0f}% alike (question and options) to sample {match[1]} "
        "of this figure group"
    )
    return replace(g, item=None, failure=NEAR_DUPLICATE, detail=detail)


def drop_near_duplicates(
    made: Sequence[Generated], *, ratio: float = NEAR_DUPLICATE_RATIO
) -> tuple[list[Generated], list[Generated]]:
    """(kept, dropped): an item nearly identical to an earlier sample of its
    figure group is dropped with the reason and how alike it was."""
    kept: list[Generated] = []
    dropped: list[Generated] = []
    seen: dict[str, list[tuple[int, str]]] = {}
    for g in sorted(made, key=lambda g: (g.unit.group.key, g.unit.sample_index)):
        if g.item is None:
            kept.append(g)
            continue
        text = _sample_text(g.item)
        earlier = seen.setdefault(g.unit.group.key, [])
        match = max(
            ((fuzz.ratio(text, other), index) for index, other in earlier),
            default=None,
        )
        if match is not None and match[0] >= ratio:
            detail = (
                f"{match[0]:.0f}% alike (question and options) to sample {match[1]} "
                "of this figure group"
            )
            dropped.append(replace(g, item=None, failure=NEAR_DUPLICATE, detail=detail))
            continue
        earlier.append((g.unit.sample_index, text))
        kept.append(g)
    return kept, dropped


def missing(request_id: str) -> Completion:
    return Completion(
        request_id=request_id,
        text="",
        finish_reason="error",
        error=CompletionError("the backend returned no completion", retryable=False),
    )


def verification_request(
    group: Group,
    item: Mapping[str, Any],
    settings: Settings,
    request_id: str,
    *,
    generation_prompt_tokens: int = 0,
) -> GenerationRequest:
    """The verifier's request for `item`. `generation_prompt_tokens` is the
    size the server reported for the item's generation prompt, when the same
    model (same tokenizer, same image tokens) verifies: that prompt held the
    same images, and no text token is shorter than a UTF-8 byte, so it plus
    this prompt's text bytes and template tokens bounds this prompt's size."""
    text = prompts.render_verifier(
        settings.verifier_prompt,
        item=item,
        caption=group.caption,
        contexts=[f.mentions for f in group.figures],
        criteria=rubric.get_rubric(settings.rubric_version).prompt_lines(),
    )
    messages = (
        ChatMessage(role="system", text=VERIFIER_SYSTEM),
        ChatMessage(role="user", text=text, images=group.images),
    )
    bound = None
    if generation_prompt_tokens > 0:
        bound = generation_prompt_tokens + TEMPLATE_TOKENS * (len(messages) + 1)
        bound += sum(len(m.text.encode()) for m in messages)
    return GenerationRequest(
        messages=messages,
        json_schema=prompts.schema("verifier", settings.verifier_prompt),
        sampling=settings.verifier_sampling,
        request_id=request_id,
        prompt_tokens_at_most=bound,
    )


def score_verdict(completion: Completion, settings: Settings) -> Verdict:
    """Score a verifier reply; an error or garbage is stored as such, not kept."""
    usage = {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "latency_s": completion.latency_s,
    }
    if _unusable(completion):
        error = (
            rubric.ERROR_TRUNCATED
            if completion.finish_reason == "length"
            else rubric.ERROR_BACKEND
        )
        result = rubric.score(settings.rubric_version, None, error=error)
        return Verdict(result, completion.text or "", error=completion.error, **usage)
    rows, error = parsing.parse_verdict(completion.text)
    result = rubric.score(
        settings.rubric_version, rows, error=error, keep_rule=settings.keep_rule
    )
    return Verdict(result, completion.text, **usage)


def verify(
    backend: Any,
    pairs: Sequence[tuple[str, Group, Mapping[str, Any]]],
    settings: Settings,
) -> dict[str, Verdict]:
    """Verify (request id, group, item) triples in one backend call."""
    if not pairs:
        return {}
    requests = [verification_request(g, item, settings, rid) for rid, g, item in pairs]
    completions = {c.request_id: c for c in backend.generate(requests)}
    return {
        rid: score_verdict(completions.get(rid) or missing(rid), settings)
        for rid, _, _ in pairs
    }
