"""Versioned prompt templates and JSON schemas, loaded from the files beside this.

A template is plain text with `$name` placeholders (string.Template), so the
JSON examples inside it need no escaping. A used version is never edited: a
change is a new file (`generator_v2.txt`) and batches record which they ran.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from synthesis.backends.structured_output import Validator, compile_schema

PROMPTS_DIR = Path(__file__).resolve().parent


@cache
def template(name: str, version: str) -> Template:
    path = PROMPTS_DIR / f"{name}_{version}.txt"
    if not path.is_file():
        raise ValueError(f"no prompt {name!r} version {version!r} ({path.name})")
    return Template(path.read_text(encoding="utf-8"))


@cache
def schema(name: str, version: str) -> dict[str, Any]:
    """One shared object per version (never mutate it): backends check each
    schema object once and keep its validator, keyed by identity."""
    path = PROMPTS_DIR / f"{name}_{version}.schema.json"
    if not path.is_file():
        raise ValueError(f"no schema {name!r} version {version!r} ({path.name})")
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def validator(name: str, version: str) -> Validator:
    """A checked, reusable validator: checking a schema costs ~8 ms, so once."""
    return compile_schema(schema(name, version))


def captions_block(captions: Sequence[str]) -> str:
    """One line per image, `[Image i] caption`, as the method lists them."""
    return "\n".join(
        f"[Image {i}] {' '.join(caption.split())}"
        for i, caption in enumerate(captions, 1)
    )


def contexts_block(contexts: Sequence[Sequence[str]]) -> str:
    """One line per image with its citing sentences joined, or "(empty)"."""
    if not any(any(s.strip() for s in sentences) for sentences in contexts):
        return "No additional context is provided."
    lines = []
    for i, sentences in enumerate(contexts, 1):
        joined = " ".join(" ".join(s.split()) for s in sentences if s.strip())
        lines.append(f"[Image {i}] {joined or '(empty)'}")
    return "\n".join(lines)


def render_generator(
    version: str, *, captions: Sequence[str], contexts: Sequence[Sequence[str]]
) -> str:
    return template("generator", version).substitute(
        captions=captions_block(captions), contexts=contexts_block(contexts)
    )


def render_verifier(
    version: str,
    *,
    item: Mapping[str, Any],
    caption: str,
    contexts: Sequence[Sequence[str]],
    criteria: str,
) -> str:
    """The verifier sees the item as JSON, the first caption and every context."""
    mcq = json.dumps(
        {
            "question": item["question"],
            "options": item["options"],
            "answer": item["answer"],
        },
        ensure_ascii=False,
    )
    return template("verifier", version).substitute(
        mcq=mcq,
        caption=" ".join(caption.split()),
        contexts=contexts_block(contexts),
        criteria=criteria,
    )
