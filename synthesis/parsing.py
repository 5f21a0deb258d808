"""Reading model output: a tolerant JSON extractor, strict validation, and the
deterministic checks an item must pass before a verifier ever sees it.

Model output is untrusted. Anything that fails here becomes a recorded
generation failure with a reason code and the raw text, never an Item.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

LETTERS = ("A", "B", "C", "D", "E")

# Reason codes, stored on GenerationFailure.reason.
EMPTY_OUTPUT = "empty_output"
UNPARSEABLE = "unparseable"
NOT_AN_OBJECT = "not_an_object"
EXTRA_FIELDS = "extra_fields"
MISSING_FIELDS = "missing_fields"
WRONG_OPTION_COUNT = "wrong_option_count"
ANSWER_NOT_LETTER = "answer_not_letter"
SCHEMA_INVALID = "schema_invalid"
EMPTY_QUESTION = "empty_question"
EMPTY_OPTION = "empty_option"
DUPLICATE_OPTIONS = "duplicate_options"
FORBIDDEN_WORD = "forbidden_word"
ALL_NONE_OF_THE_ABOVE = "all_none_of_the_above"
BACKEND_ERROR = "backend_error"
TRUNCATED = "truncated"

# Flags: kept on the item for reviewers, not reasons to drop it.
FLAG_LONGEST_OPTION_IS_ANSWER = "longest_option_is_answer"
FLAG_STEM_REPEATS_CAPTION = "stem_repeats_caption"
FLAG_KEY_IN_STEM = "key_in_stem"
FLAG_TRUNCATED = "truncated"

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*|\s*```\s*$")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_SMART_QUOTES = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"}
)
_FORBIDDEN = re.compile(r"\b(captions?|contexts?)\b", re.IGNORECASE)
_ALL_NONE = re.compile(r"\b(all|none|both|neither) of the (above|options)\b", re.I)


class Rejected(Exception):  # noqa: N818 - a verdict, not a programming error
    """Model output that cannot become an item; `code` says why."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ParsedItem:
    question: str
    options: dict[str, str]
    answer: str
    flags: tuple[str, ...] = field(default=())


def extract_json(text: str) -> Any:
    """Find the JSON value in a model's reply, forgiving the usual wrapping.

    Tries the text as is, then without code fences or a <think> block, then
    the span from the first "{" to the last "}", then with smart quotes
    straightened and trailing commas removed (the method's repairs).
    """
    if not text or not text.strip():
        raise Rejected(EMPTY_OUTPUT)
    try:
        return json.loads(text)
    except ValueError:
        pass
    body = _FENCE.sub("", _THINK.sub("", text).strip())
    start, end = body.find("{"), body.rfind("}")
    if start != -1 and end > start:
        body = body[start : end + 1]
    for candidate in (body, _TRAILING_COMMA.sub(r"\1", body.translate(_SMART_QUOTES))):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise Rejected(UNPARSEABLE, text[:80])


def _structure(data: Any) -> None:
    """Specific reasons first, so failures are countable by cause."""
    if not isinstance(data, dict):
        raise Rejected(NOT_AN_OBJECT, type(data).__name__)
    expected = {"question", "options", "answer"}
    if extra := sorted(set(data) - expected):
        raise Rejected(EXTRA_FIELDS, ", ".join(map(str, extra)))
    if missing := sorted(expected - set(data)):
        raise Rejected(MISSING_FIELDS, ", ".join(missing))
    options = data["options"]
    if not isinstance(options, dict) or sorted(options) != list(LETTERS):
        count = len(options) if isinstance(options, dict | list) else 0
        raise Rejected(WRONG_OPTION_COUNT, f"{count} options")
    if data["answer"] not in LETTERS:
        raise Rejected(ANSWER_NOT_LETTER, str(data["answer"])[:20])


def storable(text: str) -> str:
    """Text a database accepts: PostgreSQL refuses NUL characters in text/JSON."""
    return text.replace("\x00", "\ufffd")


def _clean(text: str) -> str:
    return text.replace("\x00", "").strip()


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def _flags(question: str, options: dict[str, str], answer: str, caption: str):
    flags = []
    lengths = {letter: len(text.strip()) for letter, text in options.items()}
    if all(lengths[answer] > n for letter, n in lengths.items() if letter != answer):
        flags.append(FLAG_LONGEST_OPTION_IS_ANSWER)
    stem_words = _normal(question).split()
    caption_text = " " + " ".join(_normal(caption).split()) + " "
    if any(
        " " + " ".join(stem_words[i : i + 5]) + " " in caption_text
        for i in range(len(stem_words) - 4)
    ):
        flags.append(FLAG_STEM_REPEATS_CAPTION)
    key = _normal(options[answer])
    if len(key) >= 4 and key in _normal(question) and key in _normal(caption):
        flags.append(FLAG_KEY_IN_STEM)
    return flags


def parse_item(
    text: str, *, validator: Any, caption: str = "", truncated: bool = False
) -> ParsedItem:
    """Turn a generator reply into an item, or raise `Rejected` with a reason."""
    data = extract_json(text)
    _structure(data)
    if error := validator.first_error(data):
        raise Rejected(SCHEMA_INVALID, error[1][:200])
    question = _clean(data["question"])
    options = {letter: _clean(data["options"][letter]) for letter in LETTERS}
    if not question:
        raise Rejected(EMPTY_QUESTION)
    if any(not text for text in options.values()):
        raise Rejected(EMPTY_OPTION)
    if len({_normal(text) for text in options.values()}) < len(LETTERS):
        raise Rejected(DUPLICATE_OPTIONS)
    if match := _FORBIDDEN.search(question):
        raise Rejected(FORBIDDEN_WORD, match.group(0))
    if any(_ALL_NONE.search(text) for text in options.values()):
        raise Rejected(ALL_NONE_OF_THE_ABOVE)
    flags = _flags(question, options, data["answer"], caption)
    if truncated:
        flags.append(FLAG_TRUNCATED)
    return ParsedItem(question, options, data["answer"], tuple(flags))


def parse_verdict(text: str) -> tuple[list | None, str]:
    """Read a verifier reply: (rubric rows, error code). Never raises.

    The verifier schema is sent to the backend for constrained decoding, but a
    reply is not rejected for a stray field: scoring reads each row by title and
    treats anything missing or malformed as not passed, which is stricter.
    """
    try:
        data = extract_json(text)
    except Rejected:
        return None, "unparseable"
    if not isinstance(data, dict):
        return None, "unparseable"
    if isinstance(data.get("rubric"), list):
        return [row for row in data["rubric"] if isinstance(row, dict)], ""
    if isinstance(data.get("error"), str):
        return None, storable(data["error"])[:100] or "unparseable"
    return None, "unparseable"
