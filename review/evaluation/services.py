"""Every write of evaluation: launch, answer a slice of items, cancel, resume.

A run is cut into slices of item ids, each a Celery task on the model queue
(`tasks.evaluate_items`). A slice skips items already predicted and writes its
predictions in one transaction with a unique (run, item) constraint, so a
redelivered or repeated slice duplicates nothing; a cancelled run's slices
stop before asking the model. Services never import tasks: callers pass the
enqueue function (`tasks.send_slices`). Every status change is audited in the
transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from medsyn_app.audit import services as audit
from review.evalsets.models import EvaluationItem, EvaluationSet
from review.evaluation import config as run_config
from review.evaluation import export_sets, grading, runner
from review.evaluation.config import EvaluationConfigError
from review.evaluation.models import EvaluationRun, Prediction, RunStatus
from synthesis.backends.base import BackendError, BackendUnavailable

ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)

# Sends (run id, slices of item ids, queue); `tasks.send_slices`.
SliceSender = Callable[[int, Sequence[Sequence[int]], str], None]


class EvaluationError(ValueError):
    """A request about a run that cannot be done; `field` names the input."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _slices(item_ids: list[int], size: int) -> list[list[int]]:
    return [item_ids[i : i + size] for i in range(0, len(item_ids), size)]


def _enqueue_on_commit(
    enqueue: SliceSender, run: EvaluationRun, item_ids: list[int]
) -> None:
    slices = _slices(item_ids, run.config["chunk_size"])
    queue = run.config["queue"]
    transaction.on_commit(lambda: enqueue(run.pk, slices, queue))


def launch_run(
    *,
    created_by: Any,
    name: str,
    config: dict[str, Any],
    enqueue: SliceSender | None,
    evaluation_set_id: int | None = None,
    export_id: int | None = None,
    split: str = "test",
) -> EvaluationRun:
    """Record a run over every item of an evaluation set (a registered one, or
    an export's split, snapshotted on first use) and queue it once committed.
    With `enqueue=None` nothing is queued (the command then runs it here)."""
    if not name.strip():
        raise EvaluationError("a run needs a name", field="name")
    resolved = run_config.resolve(config)
    if (evaluation_set_id is None) == (export_id is None):
        raise EvaluationError(
            "name an evaluation set or an export's split, not both",
            field="evaluation_set",
        )
    if export_id is not None:
        try:
            evaluation_set_id = export_sets.split_set(
                export_id=export_id, split=split, created_by=created_by
            ).pk
        except export_sets.ExportSplitError as exc:
            raise EvaluationError(str(exc), field="export") from exc
    evaluation_set = EvaluationSet.objects.filter(pk=evaluation_set_id).first()
    if evaluation_set is None:
        raise EvaluationError(
            f"no evaluation set {evaluation_set_id}", field="evaluation_set"
        )
    item_ids = list(evaluation_set.items.order_by("index").values_list("pk", flat=True))
    if not item_ids:
        raise EvaluationError("the evaluation set is empty", field="evaluation_set")
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            name=name.strip(),
            evaluation_set=evaluation_set,
            endpoint=resolved["endpoint"]["endpoint"],
            config=resolved,
            items_total=len(item_ids),
            created_by=created_by if getattr(created_by, "pk", None) else None,
        )
        audit.record(
            "evaluation.launch",
            target=run,
            after={
                "name": run.name,
                "evaluation_set": evaluation_set.pk,
                "endpoint": run.endpoint,
                "prompt": resolved["prompt"],
                "sampling": resolved["sampling"],
                "items": len(item_ids),
            },
        )
        if enqueue is not None:
            _enqueue_on_commit(enqueue, run, item_ids)
    return run


def pending_item_ids(run: EvaluationRun) -> list[int]:
    """The set's items this run has no prediction for, in set order."""
    return list(
        run.evaluation_set.items.exclude(predictions__run=run)
        .order_by("index")
        .values_list("pk", flat=True)
    )


def _set_status(
    run_id: int, *, to: str, action: str, by_worker: bool, **fields: Any
) -> bool:
    """Move an active run to `to` and audit it, in one transaction. A worker
    records no actor; otherwise the request's user is the actor."""
    with transaction.atomic():
        changed = EvaluationRun.objects.filter(pk=run_id, status__in=ACTIVE).update(
            status=to, **fields
        )
        if changed:
            run = EvaluationRun.objects.get(pk=run_id)
            after = {"status": to, **{k: str(v) for k, v in fields.items()}}
            if by_worker:
                audit.record(action, actor=None, target=run, after=after)
            else:
                audit.record(action, target=run, after=after)
    return bool(changed)


def _start(run: EvaluationRun) -> None:
    with transaction.atomic():
        started = EvaluationRun.objects.filter(
            pk=run.pk, status=RunStatus.QUEUED
        ).update(status=RunStatus.RUNNING, started_at=timezone.now())
        if started:
            audit.record(
                "evaluation.start", actor=None, target=run, after={"status": "running"}
            )


def refresh_counters(*, run_id: int) -> None:
    """The run's counters, recounted from its predictions (the ledger)."""
    counts = Prediction.objects.filter(run_id=run_id).aggregate(
        done=Count("id"),
        correct=Count("id", filter=Q(correct=True)),
        failed=Count("id", filter=~Q(error="")),
    )
    EvaluationRun.objects.filter(pk=run_id).update(
        items_done=counts["done"],
        items_correct=counts["correct"],
        items_failed=counts["failed"],
    )


def finish_if_done(*, run_id: int) -> bool:
    run = EvaluationRun.objects.get(pk=run_id)
    if run.items_done < run.items_total:
        return False
    return _set_status(
        run_id,
        to=RunStatus.COMPLETED,
        action="evaluation.complete",
        by_worker=True,
        finished_at=timezone.now(),
    )


def _images(item: EvaluationItem) -> list[bytes]:
    data = []
    for link in item.item_images.all():
        with link.image.image.open("rb") as handle:
            data.append(handle.read())
    return data


def _predict(run: EvaluationRun, items: list[EvaluationItem]) -> list[Prediction]:
    backend = runner.backend_for(run.endpoint)
    config = run.config
    requests = [
        runner.request(
            request_id=str(item.pk),
            question=item.question,
            options=item.options,
            images=_images(item),
            prompt=config["prompt"],
            sampling=config["sampling"],
            long_side=config["image_long_side"],
        )
        for item in items
    ]
    completions = {c.request_id: c for c in backend.generate(requests)}
    predictions = []
    for item in items:
        completion = completions.get(str(item.pk))
        text = completion.text if completion else ""
        graded = grading.grade(text, item.options, item.answer)
        error = ""
        if completion is None:
            error = "the backend returned no completion"
        elif completion.error is not None:
            error = completion.error.message
        predictions.append(
            Prediction(
                run=run,
                item=item,
                raw_output=text,
                letter=graded.letter,
                source=graded.source,
                correct=graded.correct,
                strict_correct=graded.strict_correct,
                format_ok=graded.format_ok,
                error=error[:300],
                finish_reason=completion.finish_reason if completion else "error",
                prompt_tokens=completion.prompt_tokens if completion else 0,
                completion_tokens=completion.completion_tokens if completion else 0,
                latency_s=completion.latency_s if completion else 0.0,
            )
        )
    return predictions


def evaluate_items(*, run_id: int, item_ids: Sequence[int]) -> str:
    """Answer one slice of a run; returns what happened, for logs and tests."""
    run = EvaluationRun.objects.filter(pk=run_id).first()
    if run is None or run.status not in ACTIVE:
        return "skipped"  # cancelled, finished or deleted: the message is stale
    _start(run)
    done = set(
        Prediction.objects.filter(run=run, item_id__in=item_ids).values_list(
            "item_id", flat=True
        )
    )
    wanted = [i for i in item_ids if i not in done]
    if wanted:
        items = {
            i.pk: i
            for i in EvaluationItem.objects.filter(
                pk__in=wanted, evaluation_set_id=run.evaluation_set_id
            ).prefetch_related("item_images__image")
        }
        try:
            predictions = _predict(run, [items[i] for i in wanted if i in items])
        except BackendUnavailable:
            raise  # transient: the task retries with backoff
        except BackendError as exc:
            _set_status(
                run_id,
                to=RunStatus.FAILED,
                action="evaluation.fail",
                by_worker=True,
                error=f"backend error: {exc}"[:2000],
                finished_at=timezone.now(),
            )
            raise
        with transaction.atomic():
            Prediction.objects.bulk_create(predictions, ignore_conflicts=True)
            refresh_counters(run_id=run_id)
    finish_if_done(run_id=run_id)
    return "done"


def cancel_run(*, run_id: int) -> EvaluationRun:
    """Stop asking: queued slices are skipped; one already at the model is kept."""
    if not EvaluationRun.objects.filter(pk=run_id).exists():
        raise EvaluationError(f"no evaluation run {run_id}")
    _set_status(
        run_id,
        to=RunStatus.CANCELLED,
        action="evaluation.cancel",
        by_worker=False,
        finished_at=timezone.now(),
    )
    return EvaluationRun.objects.get(pk=run_id)


@transaction.atomic
def resume_run(*, run_id: int, enqueue: SliceSender) -> EvaluationRun:
    """Queue again the items without a prediction (after a cancel or failure)."""
    run = EvaluationRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None:
        raise EvaluationError(f"no evaluation run {run_id}")
    if run.status in ACTIVE:
        raise EvaluationError("this run is already running")
    pending = pending_item_ids(run)
    if not pending:
        raise EvaluationError("nothing left to run in this run")
    before = run.status
    run.status = RunStatus.QUEUED
    run.finished_at = None
    run.error = ""
    run.save(update_fields=["status", "finished_at", "error"])
    audit.record(
        "evaluation.resume",
        target=run,
        before={"status": before},
        after={"status": run.status, "pending": len(pending)},
    )
    _enqueue_on_commit(enqueue, run, pending)
    return run


__all__ = [
    "EvaluationConfigError",
    "EvaluationError",
    "cancel_run",
    "evaluate_items",
    "launch_run",
    "resume_run",
]
