"""Reads of evaluation: progress, results with intervals, the table of runs,
and the paired comparison of two runs on the same set."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from review.evalsets.models import Benchmark, EvaluationSet, SetKind
from review.evaluation.models import EvaluationRun, Prediction, RunStatus
from review.evaluation.statistics import (
    Accuracy,
    mcnemar_exact,
    unweighted_mean,
    wilson,
)

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
BREAKDOWNS = (
    ("benchmark", "Benchmark"),
    ("modality", "Modality"),
    ("anatomy", "Anatomy"),
    ("question_type", "Question type"),
)
MAX_CHANGED = 200
NO_BENCHMARK = "(none)"  # items of an export split
_BENCHMARK_LABELS = dict(Benchmark.choices)


def progress(run: EvaluationRun) -> dict[str, Any]:
    total = run.items_total or 1
    return {
        "run": run,
        "percent": round(100 * run.items_done / total),
        "active": run.status in ACTIVE,
        "can_cancel": run.status in ACTIVE,
        "can_resume": run.status in (RunStatus.CANCELLED, RunStatus.FAILED)
        and run.items_done < run.items_total,
    }


@dataclass
class Results:
    answered: int
    overall: Accuracy | None
    strict: Accuracy | None
    well_formed: Accuracy | None
    unreadable: int
    errors: int
    sources: dict[str, int]
    breakdowns: dict[str, list[tuple[str, Accuracy]]] = field(default_factory=dict)
    # The paper's "Avg.": the unweighted mean of per-benchmark accuracy (%).
    mean_over_benchmarks: float | None = None


def _label(key: str, value: str) -> str:
    if key == "benchmark":
        return _BENCHMARK_LABELS.get(value, value) or NO_BENCHMARK
    return value or "unknown"


def results(run: EvaluationRun) -> Results:
    """Accuracy (lenient regrade) with Wilson 95% intervals, overall and per
    benchmark, modality, anatomy and question type; one query."""
    rows = Prediction.objects.filter(run=run).values_list(
        "correct",
        "strict_correct",
        "format_ok",
        "letter",
        "source",
        "error",
        "item__benchmark",
        "item__modality",
        "item__anatomy",
        "item__question_type",
    )
    n = correct = strict = formed = unreadable = errors = 0
    sources: Counter = Counter()
    groups: dict[str, dict[str, list[int]]] = {
        k: defaultdict(lambda: [0, 0]) for k, _ in BREAKDOWNS
    }
    for row in rows.iterator(chunk_size=5000):
        ok, strict_ok, format_ok, letter, source, error, *facets = row
        n += 1
        correct += ok
        strict += strict_ok
        formed += format_ok
        unreadable += not letter
        errors += bool(error)
        sources[source or "none"] += 1
        for (key, _), value in zip(BREAKDOWNS, facets, strict=True):
            cell = groups[key][_label(key, value)]
            cell[0] += ok
            cell[1] += 1
    breakdowns = {
        key: sorted(
            ((value, wilson(c, t)) for value, (c, t) in groups[key].items()),
            key=lambda pair: pair[0],
        )
        for key, _ in BREAKDOWNS
    }
    # Items of an export split name no benchmark: they have no "Avg." to join.
    per_benchmark = [
        acc.percent
        for name, acc in breakdowns["benchmark"]
        if acc and name != NO_BENCHMARK
    ]
    return Results(
        answered=n,
        overall=wilson(correct, n),
        strict=wilson(strict, n),
        well_formed=wilson(formed, n),
        unreadable=unreadable,
        errors=errors,
        sources=dict(sources.most_common()),
        breakdowns=breakdowns,
        mean_over_benchmarks=unweighted_mean(per_benchmark),
    )


def runs_table() -> dict[str, Any]:
    """Model × evaluation set: the latest completed run's accuracy per cell,
    and per model the unweighted mean over the benchmark sets it ran on."""
    latest: dict[tuple[str, int], EvaluationRun] = {}
    for run in EvaluationRun.objects.filter(status=RunStatus.COMPLETED).order_by(
        "created_at", "id"
    ):
        latest[(run.endpoint, run.evaluation_set_id)] = run
    set_ids = sorted({set_id for _, set_id in latest})
    sets = EvaluationSet.objects.filter(pk__in=set_ids).order_by("kind", "name")
    endpoints = sorted({name for name, _ in latest})
    rows = []
    for name in endpoints:
        cells = []
        benchmark_scores = []
        for evaluation_set in sets:
            run = latest.get((name, evaluation_set.pk))
            accuracy = wilson(run.items_correct, run.items_total) if run else None
            cells.append({"run": run, "accuracy": accuracy})
            if accuracy and evaluation_set.kind == SetKind.BENCHMARK:
                benchmark_scores.append(accuracy.percent)
        mean = unweighted_mean(benchmark_scores)
        rows.append(
            {"endpoint": name, "cells": cells, "mean": round(mean, 2) if mean else mean}
        )
    return {"sets": list(sets), "rows": rows}


class NotComparable(ValueError):
    """Two runs that cannot be paired; the message says why."""


@dataclass
class Comparison:
    first: EvaluationRun
    second: EvaluationRun
    paired: int
    both: int
    only_first: int
    only_second: int
    neither: int
    p_value: float
    changed: list[dict[str, Any]]
    changed_total: int

    @property
    def first_accuracy(self) -> Accuracy | None:
        return wilson(self.both + self.only_first, self.paired)

    @property
    def second_accuracy(self) -> Accuracy | None:
        return wilson(self.both + self.only_second, self.paired)


def compare(first: EvaluationRun, second: EvaluationRun) -> Comparison:
    """McNemar's exact test on the items both runs answered, and the items
    whose verdict changed."""
    if first.evaluation_set_id != second.evaluation_set_id:
        raise NotComparable("the two runs are on different evaluation sets")
    if first.pk == second.pk:
        raise NotComparable("pick two different runs")
    fields = ("item_id", "correct", "letter")
    theirs = {
        item_id: (ok, letter)
        for item_id, ok, letter in Prediction.objects.filter(run=second).values_list(
            *fields
        )
    }
    counts: Counter = Counter()
    changed_ids: list[tuple[int, str, str]] = []
    for item_id, ok, letter in Prediction.objects.filter(run=first).values_list(
        *fields
    ):
        if item_id not in theirs:
            continue
        other_ok, other_letter = theirs[item_id]
        counts[(ok, other_ok)] += 1
        if ok != other_ok:
            changed_ids.append((item_id, letter, other_letter))
    items = {
        i.pk: i
        for i in first.evaluation_set.items.filter(
            pk__in=[c[0] for c in changed_ids[:MAX_CHANGED]]
        )
    }
    changed = [
        {
            "item": items[item_id],
            "first_letter": a,
            "second_letter": b,
            "first_correct": a == items[item_id].answer,
        }
        for item_id, a, b in changed_ids[:MAX_CHANGED]
    ]
    only_first, only_second = counts[(True, False)], counts[(False, True)]
    return Comparison(
        first=first,
        second=second,
        paired=sum(counts.values()),
        both=counts[(True, True)],
        only_first=only_first,
        only_second=only_second,
        neither=counts[(False, False)],
        p_value=mcnemar_exact(only_first, only_second),
        changed=sorted(changed, key=lambda c: c["item"].index),
        changed_total=len(changed_ids),
    )


def overview() -> dict[str, Any]:
    """The evaluation home page: the table of runs, recent runs, the sets."""
    return {
        "table": runs_table(),
        "runs": list(
            EvaluationRun.objects.select_related("evaluation_set").order_by(
                "-created_at", "-id"
            )[:50]
        ),
        "sets": list(EvaluationSet.objects.order_by("kind", "name")),
    }


def predictions(run: EvaluationRun, *, limit: int) -> list[Prediction]:
    """The first predictions in set order, with their items (one query)."""
    return list(
        Prediction.objects.filter(run=run)
        .select_related("item")
        .order_by("item__index")[:limit]
    )
