"""The registered benchmarks an export is checked against, and the check by
meaning.

Every export is checked against the benchmarks its settings name (by default
every registered one): by text and image hashes like an uploaded eval file
(`contamination.py`), and by meaning: the cosine between the sentence
embedding of each exported question with its options and that of every
benchmark item. Benchmark vectors were stored when the benchmark was
registered; exported items are embedded on first sight and cached.
"""

from __future__ import annotations

from review.evalsets import embeddings, selectors
from review.evalsets.models import EvaluationSet
from review.export import contamination, semantic
from review.export.config import ExportSettings


class UnknownBenchmark(ValueError):
    """A benchmark id that names no registered benchmark."""


def registered_ids() -> list[int]:
    return list(selectors.registered_benchmarks().values_list("pk", flat=True))


def check_ids(ids: list[int]) -> list[int]:
    """The ids, if each names a registered benchmark."""
    known = set(registered_ids())
    unknown = sorted(set(ids) - known)
    if unknown:
        raise UnknownBenchmark(
            f"no registered benchmark with id {', '.join(map(str, unknown))}"
        )
    return sorted(set(ids))


def benchmark_references(
    s: ExportSettings,
) -> list[tuple[contamination.Reference, list[str]]]:
    """One indexed reference per benchmark, with its items' embedding keys."""
    found = []
    sets = EvaluationSet.objects.filter(pk__in=s.benchmark_ids).order_by("pk")
    for evaluation_set in sets:
        index = contamination.EvalIndex(
            ngram=s.text_ngram, jaccard=s.text_jaccard, name=evaluation_set.name
        )
        rows = selectors.reference_items(evaluation_set.pk)
        for row in rows:
            index.add_hashed(
                row.question,
                row.options,
                [(sha, int(p, 16) if p else None) for sha, p in row.images],
            )
        reference = contamination.Reference(
            name=evaluation_set.name,
            kind="benchmark",
            index=index,
            set_id=evaluation_set.pk,
            item_ids=[row.item_id for row in rows],
        )
        found.append((reference, [row.text_sha256 for row in rows]))
    return found


def flag_meaning(
    report: contamination.ContaminationReport,
    *,
    candidates: list,
    references: list[tuple[contamination.Reference, list[str]]],
    threshold: float,
) -> None:
    """Flag exported items whose question and options mean what a benchmark
    item's do (cosine ≥ threshold)."""
    if not references or not candidates:
        return
    queries = embeddings.embed_cached(
        [embeddings.embedding_text(c.question, c.options) for c in candidates]
    )
    for reference, keys in references:
        vectors = embeddings.stored_matrix(keys)
        for row, eval_index, score in semantic.similar_pairs(
            queries, vectors, threshold=threshold
        ):
            report.flag(
                candidates[row].item_id,
                eval_index,
                "meaning",
                round(score, 4),
                reference=reference,
            )
