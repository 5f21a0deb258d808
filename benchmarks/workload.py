"""The workload both backend benchmarks run: MCQ requests, one image each.

Also the real model sizes a benchmark can build with random weights (nothing is
downloaded: the tokenizer is the demo model's, the vocabulary padded to 152064).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from synthesis.backends.base import (  # noqa: E402
    ChatMessage,
    GenerationRequest,
    SamplingParams,
)

MCQ_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 10, "maxLength": 120},
        "options": {
            "type": "object",
            "properties": {
                k: {"type": "string", "minLength": 1, "maxLength": 40} for k in "ABCDE"
            },
            "required": list("ABCDE"),
            "additionalProperties": False,
        },
        "answer": {"enum": list("ABCDE")},
        "explanation": {"type": "string", "maxLength": 120},
    },
    "required": ["question", "options", "answer", "explanation"],
    "additionalProperties": False,
}

# Qwen2.5-VL text and vision dimensions (config.json of the released models).
SIZES: dict[str, dict[str, int]] = {
    "3b": {
        "hidden_size": 2048,
        "num_layers": 36,
        "num_heads": 16,
        "num_kv_heads": 2,
        "intermediate_size": 11008,
        "vision_depth": 32,
        "vision_hidden": 1280,
        "vision_heads": 16,
        "vision_intermediate": 3420,
    },
    "7b": {
        "hidden_size": 3584,
        "num_layers": 28,
        "num_heads": 28,
        "num_kv_heads": 4,
        "intermediate_size": 18944,
        "vision_depth": 32,
        "vision_hidden": 1280,
        "vision_heads": 16,
        "vision_intermediate": 3420,
    },
}
REAL_VOCAB = 152064
REAL_MAX_PIXELS = 1280 * 28 * 28


def figure_png(index: int, side: int) -> bytes:
    """A synthetic figure: different per request so nothing is cached by accident."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (side, side), (index * 37 % 256, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (side // 4, side // 4, side // 2 + index % 50, side // 2), fill="white"
    )
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def make_requests(
    count: int, *, image_side: int, max_tokens: int, schema: bool
) -> list[GenerationRequest]:
    return [
        GenerationRequest(
            messages=(
                ChatMessage("system", "You write medical exam questions as JSON."),
                ChatMessage(
                    "user",
                    "Caption: Chest radiograph showing right lower lobe opacity. "
                    "Write one five-option multiple-choice question about the figure.",
                    (figure_png(i, image_side),),
                ),
            ),
            json_schema=MCQ_SCHEMA if schema else None,
            sampling=SamplingParams(max_tokens=max_tokens, temperature=1.0, seed=i),
            request_id=f"bench-{i}",
        )
        for i in range(count)
    ]


def real_size_config(size: str, tokenizer: Any) -> dict[str, Any]:
    from synthesis.backends.demo_model import demo_config

    return demo_config(vocab_size=REAL_VOCAB, tokenizer=tokenizer, **SIZES[size])


def summarize(completions: list, elapsed: float) -> dict[str, float]:
    done = [c for c in completions if c.ok]
    valid = 0
    for c in done:
        try:
            json.loads(c.text)
            valid += 1
        except ValueError:
            pass
    return {
        "requests": len(completions),
        "ok": len(done),
        "valid_json": valid,
        "errors": len(completions) - len(done),
        "seconds": elapsed,
        "req_per_s": len(completions) / elapsed,
        "out_tok_per_s": sum(c.completion_tokens for c in completions) / elapsed,
        "mean_prompt_tok": sum(c.prompt_tokens for c in completions)
        / max(1, len(completions)),
        "mean_out_tok": sum(c.completion_tokens for c in completions)
        / max(1, len(completions)),
    }


def print_table(title: str, rows: list[tuple[int, dict[str, float]]]) -> None:
    print(f"\n{title}")
    print(
        f"{'batch':>5} {'reqs':>5} {'ok':>4} {'json':>5} {'secs':>8} {'req/s':>8} "
        f"{'out tok/s':>10} {'prompt tok':>10} {'out tok':>8}"
    )
    for batch, r in rows:
        print(
            f"{batch:>5} {r['requests']:>5} {r['ok']:>4} {r['valid_json']:>5} "
            f"{r['seconds']:>8.2f} {r['req_per_s']:>8.2f} {r['out_tok_per_s']:>10.1f} "
            f"{r['mean_prompt_tok']:>10.0f} {r['mean_out_tok']:>8.0f}"
        )
    sys.stdout.flush()


def batch_plan(batches: list[int], requests: int) -> list[tuple[int, int]]:
    """Requests per batch size: `requests` for the largest, scaled down for smaller."""
    largest = max(batches)
    return [(b, max(b, requests * b // largest)) for b in sorted(batches)]


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(payload, indent=2))
