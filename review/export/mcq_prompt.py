"""The text of a multiple-choice prompt, shared by the RL and SFT formats.

Laid out as MedVLSynther's trainer formats (§2.N): one `<image>` placeholder
per image, an instruction, the question, then one `X. text` line per option.
"""

from __future__ import annotations

RL_INSTRUCTION = (
    "You will solve a problem/request. You should provide your thoughts within "
    "<think> </think> tags before providing the answer.\nWrite your final answer "
    "within <answer> </answer> tags."
)
SFT_INSTRUCTION = "Answer with the option's letter from the given choices directly."


def options_block(options: dict[str, str]) -> str:
    return "\n\n".join(f"{letter}. {text}" for letter, text in options.items())


def question_text(question: str, options: dict[str, str], *, instruction: str) -> str:
    return (
        f"{instruction}\n\nQuestion: {question}\n\nOptions:\n\n{options_block(options)}"
    )


def with_placeholders(text: str, image_count: int) -> str:
    return "<image>" * image_count + text
