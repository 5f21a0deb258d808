"""Re-running part of a finished batch: verify items again, or generate again.

An admin picks what to run again: the items whose verification failed, chosen
items, or the generations that failed, optionally with another verifier
endpoint (by registry name) or rubric version. A re-run only adds rows: each
item gets one more `Verification` (the newest is the current verdict, older
ones stay as history) and each failed slot one more try. The item's status
follows the newest verdict unless a reviewer has already decided it.

The launch is one transaction (the `Rerun` row and its audit event); the work
runs in a Celery task that calls `run`. Writes are per slice and skip what
this re-run already wrote, so a redelivered task adds nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from medsyn_app import endpoints, queueing
from medsyn_app.audit import services as audit
from synthesis import chunks, parsing, pipeline, rubric, services, tagging
from synthesis.backends.base import BackendError, BackendUnavailable
from synthesis.failures import failure_fields, verification_fields
from synthesis.models import (
    Batch,
    BatchStatus,
    Figure,
    GenerationFailure,
    Item,
    ItemFigure,
    ItemStatus,
    Rerun,
    RerunKind,
    RerunStatus,
    Verification,
)

FAILED_VERIFICATIONS = "failed_verifications"
CHOSEN_ITEMS = "chosen_items"
FAILED_GENERATIONS = "failed_generations"
WHAT = {
    FAILED_VERIFICATIONS: "Verify again the items whose verification failed",
    CHOSEN_ITEMS: "Verify again the chosen items",
    FAILED_GENERATIONS: "Generate again the generations that failed",
}
# Statuses only the verifier sets; any other status is a reviewer's decision.
VERIFIER_STATUSES = (ItemStatus.GENERATED, ItemStatus.KEPT, ItemStatus.DROPPED)
# A batch still making rows would race a re-run of them.
BUSY = (BatchStatus.QUEUED, BatchStatus.RUNNING, BatchStatus.WAITING)
# Requests per backend call: the unit of progress and of a redelivered task.
SLICE = 16

# Sends a re-run id to a queue (`synthesis.tasks.send_rerun`).
RerunSender = Callable[[int, str], None]


class RerunError(Exception):
    """A re-run that cannot be launched; `field` names the input at fault and
    `conflict` says the batch's state (not the input) is the reason."""

    def __init__(self, message: str, *, field: str = "", conflict: bool = False):
        super().__init__(message)
        self.field = field
        self.conflict = conflict


def failed_verification_items(*, batch_id: int) -> list[int]:
    """Items whose newest verification is an error, or that have none."""
    newer = Verification.objects.filter(item=OuterRef("item"), pk__gt=OuterRef("pk"))
    failed = Verification.objects.filter(item__batch_id=batch_id).exclude(error="")
    failed_ids = failed.filter(~Exists(newer)).values("item_id")
    unverified = Item.objects.filter(batch_id=batch_id, verifications__isnull=True)
    return sorted(
        {
            *Item.objects.filter(pk__in=failed_ids).values_list("pk", flat=True),
            *unverified.values_list("pk", flat=True),
        }
    )


def failed_generation_slots(*, batch_id: int) -> list[list[Any]]:
    """(group key, sample index) pairs that failed and never became an item."""
    made = set(
        Item.objects.filter(batch_id=batch_id).values_list("group_key", "sample_index")
    )
    slots = (
        GenerationFailure.objects.filter(batch_id=batch_id)
        .values_list("group_key", "sample_index")
        .distinct()
        .order_by("group_key", "sample_index")
    )
    return [[key, index] for key, index in slots if (key, index) not in made]


def launch(
    *,
    batch_id: int,
    created_by: Any,
    what: str,
    item_ids: Sequence[int] = (),
    verifier_endpoint: str = "",
    rubric_version: str = "",
    enqueue: RerunSender | None,
) -> Rerun:
    """Check the choice, save the re-run with what it will use, record who
    launched it, and send it once committed (waiting if the queue is down)."""
    if what not in WHAT:
        raise RerunError(
            f"unknown re-run {what!r}; one of {sorted(WHAT)}", field="what"
        )
    batch = Batch.objects.get(pk=batch_id)
    if batch.status in BUSY:
        raise RerunError(
            f"batch {batch.pk} is {batch.get_status_display().lower()}; wait for "
            "it to finish, or cancel it, before re-running part of it",
            conflict=True,
        )
    config = {
        "verifier": _verifier(batch, verifier_endpoint),
        "rubric_version": _rubric_version(batch, rubric_version),
    }
    targets: dict[str, Any] = {"item_ids": [], "slots": []}
    if what == FAILED_GENERATIONS:
        targets["slots"] = failed_generation_slots(batch_id=batch.pk)
        if not targets["slots"]:
            raise RerunError("this batch has no failed generations left to re-run")
    elif what == FAILED_VERIFICATIONS:
        targets["item_ids"] = failed_verification_items(batch_id=batch.pk)
        if not targets["item_ids"]:
            raise RerunError("no item of this batch has a failed verification")
    else:
        targets["item_ids"] = _chosen(batch, item_ids)
    with transaction.atomic():
        rerun = Rerun.objects.create(
            batch=batch,
            kind=RerunKind.GENERATION
            if what == FAILED_GENERATIONS
            else RerunKind.VERIFICATION,
            selection="chosen" if what == CHOSEN_ITEMS else "failed",
            config=config,
            created_by=created_by if getattr(created_by, "pk", None) else None,
            targets=len(targets["item_ids"]) + len(targets["slots"]),
            **targets,
        )
        audit.record(
            "batch.rerun",
            actor=created_by,
            target=batch,
            after={
                "rerun": rerun.pk,
                "what": what,
                "targets": rerun.targets,
                "verifier": config["verifier"]["endpoint"],
                "rubric_version": config["rubric_version"],
                **({"item_ids": targets["item_ids"]} if what == CHOSEN_ITEMS else {}),
            },
        )
        if enqueue is not None:
            queue = batch.config.get("queue", "gpu")
            queueing.send_on_commit(
                lambda: enqueue(rerun.pk, queue),
                what=f"Re-run {rerun.pk} of batch {batch.pk}",
                object_id=rerun.pk,
                mark_waiting=lambda reason: mark_waiting(
                    rerun_id=rerun.pk, reason=reason
                ),
            )
    return rerun


def _verifier(batch: Batch, name: str) -> dict[str, Any]:
    """The verifier endpoint's provenance: the one named, else the batch's."""
    if not name:
        return dict(batch.config.get("verifier") or {})
    try:
        endpoint = endpoints.get(name)
    except endpoints.UnknownEndpoint:
        endpoint = None
    if endpoint is None or not endpoint.serves("verifier"):
        raise RerunError(
            f"{name!r} is not a registered verifier endpoint; verifier endpoints: "
            f"{endpoints.names('verifier')}",
            field="verifier_endpoint",
        )
    return endpoint.provenance()


def _rubric_version(batch: Batch, version: str) -> str:
    version = version or batch.config.get("rubric_version", "v1")
    try:
        rubric.get_rubric(version)
    except ValueError as exc:
        raise RerunError(str(exc), field="rubric_version") from None
    return version


def _chosen(batch: Batch, item_ids: Sequence[int]) -> list[int]:
    wanted = sorted(set(item_ids))
    if not wanted:
        raise RerunError("choose at least one item", field="item_ids")
    found = set(
        Item.objects.filter(batch=batch, pk__in=wanted).values_list("pk", flat=True)
    )
    if missing := [pk for pk in wanted if pk not in found]:
        raise RerunError(
            f"not items of batch {batch.pk}: {missing[:20]}", field="item_ids"
        )
    return wanted


def mark_waiting(*, rerun_id: int, reason: str) -> None:
    """The queue did not take this re-run: say so on its row and in the log."""
    with transaction.atomic():
        if Rerun.objects.filter(pk=rerun_id, status=RerunStatus.QUEUED).update(
            status=RerunStatus.WAITING,
            status_reason=f"Waiting for the task queue: {reason}"[:2000],
        ):
            audit.record(
                "rerun.waiting",
                actor=None,
                object_type="synthesis.rerun",
                object_id=rerun_id,
                after={"reason": reason},
            )


def requeue_waiting(*, enqueue: RerunSender) -> int:
    """Send waiting re-runs again, oldest first; stop at the first failure."""
    sent = 0
    for rerun in Rerun.objects.filter(status=RerunStatus.WAITING).select_related(
        "batch"
    ):
        with transaction.atomic():
            if not Rerun.objects.filter(pk=rerun.pk, status=RerunStatus.WAITING).update(
                status=RerunStatus.QUEUED, status_reason=""
            ):
                continue
            audit.record(
                "rerun.requeued",
                actor=None,
                object_type="synthesis.rerun",
                object_id=rerun.pk,
            )
        queue = rerun.batch.config.get("queue", "gpu")
        if error := queueing.try_send(lambda r=rerun.pk, q=queue: enqueue(r, q)):
            mark_waiting(rerun_id=rerun.pk, reason=error)
            break
        sent += 1
    return sent


def run(*, rerun_id: int) -> str:
    """Do the re-run's work; a redelivery skips what it already wrote."""
    now = timezone.now()
    if not Rerun.objects.filter(
        pk=rerun_id, status__in=[RerunStatus.QUEUED, RerunStatus.RUNNING]
    ).update(status=RerunStatus.RUNNING, started_at=Coalesce("started_at", Value(now))):
        return "skipped"
    rerun = Rerun.objects.select_related("batch").get(pk=rerun_id)
    try:
        if rerun.kind == RerunKind.GENERATION:
            _generate_again(rerun)
        else:
            _verify_again(rerun)
    except BackendUnavailable as exc:
        # Transient: back to queued; the task retries with backoff.
        Rerun.objects.filter(pk=rerun_id).update(
            status=RerunStatus.QUEUED, status_reason=str(exc)[:2000]
        )
        raise
    except BackendError as exc:
        _finish(rerun, error=f"backend error: {exc}")
        return "failed"
    _finish(rerun)
    return "done"


def give_up(*, rerun_id: int, error: str) -> None:
    """Fail a re-run whose model server stayed down through every retry."""
    _finish(Rerun.objects.get(pk=rerun_id), error=error)


def _finish(rerun: Rerun, *, error: str = "") -> None:
    services.refresh_batch_counters(batch_id=rerun.batch_id)
    with transaction.atomic():
        Rerun.objects.filter(pk=rerun.pk).update(
            status=RerunStatus.FAILED if error else RerunStatus.DONE,
            status_reason=error[:2000],
            finished_at=timezone.now(),
        )
        rerun.refresh_from_db()
        audit.record(
            "rerun.failed" if error else "rerun.done",
            actor=None,
            target=rerun,
            after={
                "batch": rerun.batch_id,
                "verified": rerun.items_verified,
                "kept": rerun.items_kept,
                "verifier_errors": rerun.verifier_errors,
                "generated": rerun.items_generated,
                "generation_failures": rerun.generation_failures,
                **({"error": error[:300]} if error else {}),
            },
        )


def _config(rerun: Rerun) -> dict[str, Any]:
    """The batch's config with this re-run's verifier and rubric laid over it."""
    return {**rerun.batch.config, **rerun.config}


def _slices(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), SLICE):
        yield values[start : start + SLICE]


def _group(key: str, figures: Sequence[Figure], long_side: int) -> pipeline.Group:
    images = []
    for figure in figures:
        with figure.image.open("rb") as handle:
            images.append(pipeline.resize_for_model(handle.read(), long_side=long_side))
    return pipeline.Group(
        key,
        tuple(pipeline.FigureText(f.caption, tuple(f.mentions or ())) for f in figures),
        tuple(images),
    )


def _verify_again(rerun: Rerun) -> None:
    config = _config(rerun)
    settings = pipeline.Settings.from_config(config)
    verifier = chunks.backend_for("verifier", config["verifier"])
    todo = list(
        Item.objects.filter(pk__in=rerun.item_ids)
        .exclude(verifications__rerun=rerun)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for item_ids in _slices(todo):
        items = list(Item.objects.filter(pk__in=item_ids).order_by("pk"))
        figures: dict[int, list[Figure]] = {}
        for link in ItemFigure.objects.filter(item_id__in=item_ids).select_related(
            "figure"
        ):
            figures.setdefault(link.item_id, []).append(link.figure)
        pairs = [
            (
                str(item.pk),
                _group(
                    item.group_key, figures.get(item.pk, []), config["image_long_side"]
                ),
                {
                    "question": item.question,
                    "options": item.options,
                    "answer": item.answer,
                },
            )
            for item in items
        ]
        verdicts = pipeline.verify(verifier, pairs, settings)
        _write_verdicts(
            rerun,
            {item.pk: verdicts[str(item.pk)] for item in items},
            verifier_model=getattr(verifier, "model_name", ""),
            rubric_version=settings.rubric_version,
        )


@transaction.atomic
def _write_verdicts(
    rerun: Rerun,
    verdicts: dict[int, pipeline.Verdict],
    *,
    verifier_model: str,
    rubric_version: str,
) -> None:
    """Add one verification per item (skipping any this re-run already wrote)
    and move undecided items to the newest verdict."""
    Rerun.objects.select_for_update().get(pk=rerun.pk)  # one writer per re-run
    done = set(
        Verification.objects.filter(rerun=rerun, item_id__in=verdicts).values_list(
            "item_id", flat=True
        )
    )
    fresh = {pk: v for pk, v in verdicts.items() if pk not in done}
    Verification.objects.bulk_create(
        _verification(pk, verdict, rerun, verifier_model, rubric_version)
        for pk, verdict in fresh.items()
    )
    _follow_verdicts(fresh)
    kept = sum(v.score.kept for v in fresh.values())
    Rerun.objects.filter(pk=rerun.pk).update(
        items_verified=F("items_verified") + len(fresh),
        items_kept=F("items_kept") + kept,
        verifier_errors=F("verifier_errors")
        + sum(bool(v.score.error) for v in fresh.values()),
    )


def _verification(
    item_id: int,
    verdict: pipeline.Verdict,
    rerun: Rerun,
    verifier_model: str,
    rubric_version: str,
) -> Verification:
    return Verification(
        item_id=item_id,
        rerun=rerun,
        verifier_model=verifier_model,
        rubric_version=rubric_version,
        **verification_fields(verdict),
    )


def _follow_verdicts(verdicts: dict[int, pipeline.Verdict]) -> None:
    """Kept or dropped by the newest verdict, unless a reviewer has decided:
    then the status is the reviewer's and stays (the verdict is still stored).

    A decision counts while it is current (neither undone nor superseded);
    `reviews` is the review app's relation to Item, named here as a lookup so
    synthesis does not import review.
    """
    decided = Item.objects.filter(
        pk__in=verdicts,
        reviews__isnull=False,
        reviews__undone_at__isnull=True,
        reviews__superseded_at__isnull=True,
    ).values("pk")
    for kept in (True, False):
        ids = [pk for pk, v in verdicts.items() if v.score.kept is kept]
        Item.objects.filter(pk__in=ids, status__in=VERIFIER_STATUSES).exclude(
            pk__in=decided
        ).update(
            status=ItemStatus.KEPT if kept else ItemStatus.DROPPED,
            updated_at=timezone.now(),
        )


def _generate_again(rerun: Rerun) -> None:
    config = _config(rerun)
    settings = pipeline.Settings.from_config(config)
    batch = rerun.batch
    # A slot is tried once per re-run: made meanwhile, or already failed here.
    made = {
        *Item.objects.filter(batch=batch).values_list("group_key", "sample_index"),
        *rerun.generation_failure_rows.values_list("group_key", "sample_index"),
    }
    slots = [(key, index) for key, index in rerun.slots if (key, index) not in made]
    if not slots:
        return
    keys = {key for key, _ in slots}
    figure_ids = [
        fid for ids in batch.chunks.values_list("figure_ids", flat=True) for fid in ids
    ]
    by_key: dict[str, list[Figure]] = {}
    for figure in Figure.objects.filter(pk__in=figure_ids, group_key__in=keys).order_by(
        "group_key", "id"
    ):
        by_key.setdefault(figure.group_key, []).append(figure)
    tries = {
        (row["group_key"], row["sample_index"]): row["last"]
        for row in GenerationFailure.objects.filter(batch=batch, group_key__in=keys)
        .values("group_key", "sample_index")
        .annotate(last=Max("attempt"))
    }
    generator = chunks.backend_for("generator", config["generator"])
    verifier = chunks.backend_for("verifier", config["verifier"])
    groups: dict[str, pipeline.Group] = {}
    for part in _slices([s for s in slots if s[0] in by_key]):
        units = []
        for key, index in part:
            if key not in groups:
                groups[key] = _group(key, by_key[key], config["image_long_side"])
            units.append(
                pipeline.Unit(
                    groups[key], index, attempt=tries.get((key, index), 0) + 1
                )
            )
        results = pipeline.generate(generator, units, settings)
        verdicts = pipeline.verify(
            verifier,
            [
                (g.unit.request_id, g.unit.group, vars(g.item))
                for g in results
                if g.item
            ],
            settings,
        )
        _write_generated(
            rerun,
            results,
            verdicts,
            by_key,
            generator_model=getattr(generator, "model_name", ""),
            verifier_model=getattr(verifier, "model_name", ""),
            rubric_version=settings.rubric_version,
        )


@transaction.atomic
def _write_generated(
    rerun: Rerun,
    results: list[pipeline.Generated],
    verdicts: dict[str, pipeline.Verdict],
    figures: dict[str, list[Figure]],
    *,
    generator_model: str,
    verifier_model: str,
    rubric_version: str,
) -> None:
    """New items with their verdicts, and new failure rows, for slots that
    still have no item (a redelivered task finds them made and skips them)."""
    Rerun.objects.select_for_update().get(pk=rerun.pk)
    batch_id = rerun.batch_id
    keys = {g.unit.group.key for g in results}
    made = {
        *Item.objects.filter(batch_id=batch_id, group_key__in=keys).values_list(
            "group_key", "sample_index"
        ),
        *rerun.generation_failure_rows.values_list("group_key", "sample_index"),
    }
    fresh = [g for g in results if (g.unit.group.key, g.unit.sample_index) not in made]
    created = []
    for g in (g for g in fresh if g.item is not None):
        verdict = verdicts[g.unit.request_id]
        group_figures = figures[g.unit.group.key]
        item = Item.objects.create(
            batch_id=batch_id,
            group_key=g.unit.group.key,
            sample_index=g.unit.sample_index,
            question=g.item.question,
            options=g.item.options,
            answer=g.item.answer,
            status=ItemStatus.KEPT if verdict.score.kept else ItemStatus.DROPPED,
            flags=list(g.item.flags),
            generator_model=generator_model,
            raw_output=parsing.storable(g.raw),
            **tagging.tags(
                modalities=[f.modality for f in group_figures],
                anatomies=[f.anatomy for f in group_figures],
                question=g.item.question,
            ),
        )
        ItemFigure.objects.bulk_create(
            ItemFigure(item=item, figure=figure, position=i)
            for i, figure in enumerate(group_figures)
        )
        created.append((item, verdict))
    Verification.objects.bulk_create(
        _verification(item.pk, verdict, rerun, verifier_model, rubric_version)
        for item, verdict in created
    )
    failures = [g for g in fresh if g.item is None]
    GenerationFailure.objects.bulk_create(
        GenerationFailure(
            batch_id=batch_id,
            rerun=rerun,
            group_key=g.unit.group.key,
            sample_index=g.unit.sample_index,
            attempt=g.unit.attempt,
            reason=g.failure,
            detail=parsing.storable(g.detail),
            raw_output=parsing.storable(g.raw),
            **failure_fields(g),
        )
        for g in failures
    )
    Rerun.objects.filter(pk=rerun.pk).update(
        items_generated=F("items_generated") + len(created),
        generation_failures=F("generation_failures") + len(failures),
        items_verified=F("items_verified") + len(created),
        items_kept=F("items_kept") + sum(v.score.kept for _, v in created),
        verifier_errors=F("verifier_errors")
        + sum(bool(v.score.error) for _, v in created),
    )
