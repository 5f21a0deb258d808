"""Logits processors for transformers: banned tokens and JSON-schema decoding.

Schema-constrained decoding uses llguidance.
llguidance is the engine behind vLLM's `guidance` structured-output backend;
on this exact case (random-weight model, MCQ schema) it gave 11/11 valid
outputs where xgrammar gave 0/11 (see the dependency notes). One matcher per
sequence; one bitmask for the whole batch; rows without a schema are left free.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import llguidance
import llguidance.hf
import llguidance.torch as lltorch
import torch
from transformers import LogitsProcessor


class BannedTokensLogitsProcessor(LogitsProcessor):
    """Never emit the tokens in `banned` (a bool mask over the vocabulary).

    One masked_fill per step: transformers' `suppress_tokens` runs `isin` over
    the whole vocabulary each step, which is slow for 150k padded rows.
    """

    def __init__(self, banned: torch.Tensor) -> None:
        self.banned = banned

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor
    ) -> torch.FloatTensor:
        return scores.masked_fill_(self.banned[: scores.shape[-1]], float("-inf"))


def build_tokenizer(hf_tokenizer: Any, *, n_vocab: int) -> llguidance.LLTokenizer:
    """The token table llguidance needs (about a second for a 150k vocabulary)."""
    return llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=n_vocab)


def compile_schema(schema: dict[str, Any]) -> str:
    """Grammar for a schema, compact JSON only (no free whitespace to ramble in)."""
    return llguidance.LLMatcher.grammar_from_json_schema(
        json.dumps(schema), defaults={"whitespace_flexible": False}
    )


def grammar_error(lltok: llguidance.LLTokenizer, grammar: str) -> str | None:
    """Why llguidance cannot use this grammar, or None when it can."""
    return llguidance.LLMatcher.validate_grammar(grammar, lltok) or None


class JSONSchemaLogitsProcessor(LogitsProcessor):
    """Mask each row's logits to the tokens its schema allows next.

    `grammars[i]` is None for an unconstrained row. A row whose matcher has
    stopped (the JSON is complete) is allowed only EOS, and once that is out
    generate() pads the row, so its later tokens are not fed to the matcher.
    """

    def __init__(
        self, lltok: llguidance.LLTokenizer, grammars: Sequence[str | None]
    ) -> None:
        self.matchers = [
            llguidance.LLMatcher(lltok, g) if g is not None else None for g in grammars
        ]
        self.errors: list[str | None] = [
            m.get_error() if m is not None and m.is_error() else None
            for m in self.matchers
        ]
        self.eos_id = lltok.eos_token
        self.bitmask = lltorch.allocate_token_bitmask(len(grammars), lltok.vocab_size)
        self.started = False

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor
    ) -> torch.FloatTensor:
        self.bitmask.fill_(-1)  # all tokens allowed
        last = input_ids[:, -1].tolist() if self.started else []  # one device sync
        for row, matcher in enumerate(self.matchers):
            if matcher is None or self.errors[row] is not None:
                continue
            if self.started and not matcher.is_stopped():
                token = last[row]
                if token == self.eos_id:  # finished; later tokens are padding
                    self.matchers[row] = None
                    continue
                if not matcher.consume_token(token):
                    self.errors[row] = matcher.get_error() or f"token {token} refused"
                    continue
            # A stopped matcher (JSON complete) allows only EOS.
            lltorch.fill_next_token_bitmask(matcher, self.bitmask, row)
        self.started = True
        return apply_bitmask(scores, self.bitmask.to(scores.device, non_blocking=True))


def apply_bitmask(scores: torch.Tensor, bitmask: torch.Tensor) -> torch.Tensor:
    """Set disallowed logits to -inf (bit i of word w allows token 32*w + i).

    llguidance's own helper goes through torch.compile, which costs seconds on
    first use and needs a C compiler on CPU; this plain version does not.
    """
    bits = torch.arange(32, dtype=torch.int32, device=bitmask.device)
    allowed = ((bitmask.unsqueeze(-1) >> bits) & 1).bool().flatten(1)
    vocab = scores.shape[-1]
    if allowed.shape[1] < vocab:  # model rows past the tokenizer never allowed
        pad = allowed.new_zeros(allowed.shape[0], vocab - allowed.shape[1])
        allowed = torch.cat([allowed, pad], dim=1)
    scores.masked_fill_(~allowed[:, :vocab], float("-inf"))
    return scores
