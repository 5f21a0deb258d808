"""Reading a model's answer to a multiple-choice question (§6.3).

Two verdicts per response, both kept:

- strict: the RL reward's rule (`reward.py`): the whole response must be
  `<think>…</think><answer>…</answer>` and the answer the letter, "letter. text"
  or the text;
- lenient, as the method's regrade: the last `<answer>` block (closed or cut
  off), else the last "answer:" / "answer is …", else the whole response
  (after any `</think>`),
  mapped to an option letter by letter ("B", "(B)", "B."), "letter. text"
  ("B) text" too) or the option text. The first source that maps wins.

Accuracy is reported on the lenient letter, as the paper's numbers are.
Pure: no Django, so the benchmark and the reward tests run it directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from review.export.reward import accepted_answers, normalize, strict_answer

_ANSWER_BLOCK = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL | re.IGNORECASE)
_ANSWER_PHRASE = re.compile(r"answer\s*(?:is|:)\s*:?\s*([^\n]*)", re.IGNORECASE)
_BARE_LETTER = re.compile(r"\(?([a-j])\)?[.):]?")
_LETTER_AND_TEXT = re.compile(r"\(?([a-j])(?:[.):\]]|\s*-)\s+(.+)")
_WRAPPING = " \t\n\"'`*_[]{}"


@dataclass(frozen=True)
class Grade:
    letter: str  # the lenient reading; "" when nothing maps to an option
    source: str  # "answer_tag" | "answer_phrase" | "whole" | ""
    correct: bool  # lenient letter == key
    strict_correct: bool  # the RL reward's verdict
    format_ok: bool  # think-then-answer, as the RL prompt asks


def to_letter(candidate: str, options: dict[str, str]) -> str:
    """The option letter a piece of answer text names, or ""."""
    text = normalize(candidate).strip(_WRAPPING).rstrip(".").strip(_WRAPPING)
    letters = {letter.lower(): letter for letter in options}
    match = _BARE_LETTER.fullmatch(text)
    if match and match.group(1) in letters:
        return letters[match.group(1)]
    match = _LETTER_AND_TEXT.fullmatch(text)
    if match and match.group(1) in letters:
        return letters[match.group(1)]
    for letter, option in options.items():
        if text and text == normalize(option).rstrip("."):
            return letter
    return ""


def _sources(response: str) -> list[tuple[str, str]]:
    found = []
    blocks = _ANSWER_BLOCK.findall(response)
    if blocks:
        found.append(("answer_tag", blocks[-1]))
    phrases = _ANSWER_PHRASE.findall(response)
    if phrases:
        found.append(("answer_phrase", phrases[-1]))
    # The reply itself (the SFT prompt asks for the letter alone), after any
    # reasoning block.
    found.append(("whole", response.rsplit("</think>", 1)[-1]))
    return found


def extract(response: str, options: dict[str, str]) -> tuple[str, str]:
    """(letter, where it was read) under the lenient regrade; ("", "") if none."""
    for source, candidate in _sources(response or ""):
        letter = to_letter(candidate, options)
        if letter:
            return letter, source
    return "", ""


def grade(response: str, options: dict[str, str], key: str) -> Grade:
    letter, source = extract(response, options)
    answer = strict_answer(response or "")
    strict = answer is not None and normalize(answer) in accepted_answers(
        key, options.get(key, "")
    )
    return Grade(
        letter=letter,
        source=source,
        correct=bool(letter) and letter == key,
        strict_correct=strict,
        format_ok=answer is not None,
    )
