"""The RL reward for MedSyn's verl export, with verl's `compute_score` signature.

Binary, as in the reward MedVLSynther trained with (MedVLThinker's, §6.1):
0 unless the whole response is `<think>…</think>` followed by
`<answer>…</answer>`; then 1 when the answer is the option letter,
"letter. text" or the option text (case and runs of spaces ignored), else 0.
`ground_truth` is the answer text; the letter and options travel in
`extra_info` (`answer_label`, `options` as JSON), as the verl export writes them.

Standalone on purpose: verl loads this file by path, so it imports only the
standard library. An export with the verl format carries a copy as
`reward.py` (`custom_reward_function.path=reward.py`,
`custom_reward_function.name=compute_score`). The evaluation's lenient
grading (`review/evaluation/grading.py`) builds on the parsing here; the strict
rule itself lives only here.
"""

from __future__ import annotations

import json
import re
from typing import Any

THINK_ANSWER = re.compile(
    r"\s*<think>.*?</think>\s*<answer>(.*?)</answer>\s*", re.DOTALL
)
_LETTER = re.compile(r"[A-Ja-j]")


def normalize(text: str) -> str:
    """Lowercase with runs of whitespace collapsed: how answers are compared."""
    return " ".join(str(text).split()).lower()


def strict_answer(response: str) -> str | None:
    """The `<answer>` content when the whole response is think-then-answer."""
    match = THINK_ANSWER.fullmatch(response or "")
    return match.group(1) if match else None


def accepted_answers(letter: str, text: str) -> set[str]:
    """Every form of the right answer the strict rule accepts, normalised."""
    forms = {normalize(text)} if text.strip() else set()
    if letter:
        forms |= {normalize(letter), normalize(f"{letter}. {text}")}
    return forms


def options_of(extra_info: dict[str, Any] | None) -> dict[str, str]:
    value = (extra_info or {}).get("options")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
) -> float:
    """1.0 for a well-formed response whose answer is the key, else 0.0."""
    answer = strict_answer(solution_str)
    if answer is None:
        return 0.0
    letter = str((extra_info or {}).get("answer_label") or "").strip().upper()
    text = str(ground_truth or "")
    if not letter and _LETTER.fullmatch(text.strip()):
        # A ground truth that is itself a letter: its text comes from the options.
        letter = text.strip().upper()
        text = options_of(extra_info).get(letter, "")
    return 1.0 if normalize(answer) in accepted_answers(letter, text) else 0.0
