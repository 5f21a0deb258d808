"""Running one chunk of a batch: claim it, stream it through the model, write.

The model work happens outside any transaction (`streaming`); finished items
are written in small transactions as they come, each only while this run
still holds the chunk's lease. A worker killed halfway leaves the items it
wrote, and the next run of the chunk (a redelivery, or the sweep handing it
out again) skips them and makes only the rest, so every group's items exist
exactly once; a superseded run writes nothing more.
"""

from __future__ import annotations

import socket
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from medsyn_app import endpoints
from medsyn_app.compiled_sql import CompiledSubquery
from synthesis import (
    backends,
    failures,
    parsing,
    pipeline,
    services,
    slots,
    streaming,
    tagging,
)
from synthesis.backends.base import Backend, BackendError, BackendUnavailable
from synthesis.models import (
    Batch,
    BatchStatus,
    Chunk,
    ChunkStatus,
    Figure,
    GenerationFailure,
    Item,
    ItemFigure,
    ItemStatus,
    Verification,
)

# One backend per worker process and endpoint: models load once. The endpoint
# is kept beside it, so a registry that changed (tests, a reload) rebuilds it.
_BACKENDS: dict[str, tuple[endpoints.Endpoint, Backend]] = {}


def backend_for(role: str, role_config: Mapping[str, Any]) -> Backend:
    """The backend for a batch's `role`, built from THIS process's registry by
    endpoint name; the provenance stored beside the name is never used here."""
    name = role_config.get("endpoint")
    if not name:
        raise BackendError(
            f"this batch names no {role} endpoint (launched before model "
            "endpoints existed?); launch it again",
            retryable=False,
        )
    try:
        endpoint = endpoints.get(name)
    except endpoints.UnknownEndpoint:
        raise BackendError(
            f"{role} endpoint {name!r} is not registered on this worker "
            f"({socket.gethostname()}); add it to the worker's endpoint registry",
            retryable=False,
        ) from None
    if not endpoint.serves(role):
        raise BackendError(
            f"endpoint {name!r} does not serve {role} on this worker", retryable=False
        )
    cached = _BACKENDS.get(name)
    if cached is None or cached[0] != endpoint:
        if cached is not None and hasattr(cached[1], "close"):
            cached[1].close()  # the endpoint changed: drop the old connections
        try:
            cached = (endpoint, backends.from_endpoint(endpoint))
        except endpoints.EndpointError as exc:
            raise BackendError(str(exc), retryable=False) from None
        _BACKENDS[name] = cached
    return cached[1]


@dataclass
class Claim:
    chunk: Chunk
    token: str


def claim(*, chunk_id: int) -> Claim | None:
    """Take the chunk if it is free (pending, or its lease ran out) and its batch
    is running; a conditional UPDATE, so two workers never both get it."""
    chunk = Chunk.objects.select_related("batch").filter(pk=chunk_id).first()
    if chunk is None:
        return None  # its batch was deleted after the message was sent
    if chunk.batch.status not in services.ACTIVE:
        return None  # cancelled or finished: the message is stale
    config = chunk.batch.config
    now = timezone.now()
    token = uuid.uuid4().hex
    # Conditions on the chunk's own columns only: PostgreSQL re-checks those
    # against the row a concurrent claim just committed, but a join (a
    # subquery) would be judged on the old snapshot and let both claims in.
    taken = (
        Chunk.objects.filter(pk=chunk_id, attempts__lt=config["max_chunk_attempts"])
        .filter(
            Q(status=ChunkStatus.PENDING)
            | Q(status=ChunkStatus.LEASED, lease_expires_at__lt=now)
        )
        .update(
            status=ChunkStatus.LEASED,
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=config["lease_seconds"]),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if not taken:
        return None
    Batch.objects.filter(pk=chunk.batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING, started_at=now
    )
    return Claim(chunk, token)


def renew(*, claim: Claim) -> bool:
    """Push the lease forward between model calls, so a slow but live chunk is
    not handed to a second worker. False when the claim was lost meanwhile."""
    seconds = claim.chunk.batch.config["lease_seconds"]
    return bool(
        Chunk.objects.filter(
            pk=claim.chunk.pk, status=ChunkStatus.LEASED, lease_token=claim.token
        ).update(lease_expires_at=timezone.now() + timedelta(seconds=seconds))
    )


def release(*, claim: Claim, error: str) -> None:
    """Give the chunk back untouched after a transient backend failure; the
    try does not count against the chunk, since the worker did not crash."""
    Chunk.objects.filter(pk=claim.chunk.pk, lease_token=claim.token).update(
        status=ChunkStatus.PENDING,
        lease_token="",
        lease_expires_at=None,
        attempts=F("attempts") - 1,
        last_error=error[:2000],
        updated_at=timezone.now(),
    )


def _load(
    chunk: Chunk, long_side: int
) -> tuple[dict[str, pipeline.Group], dict[str, list[Figure]]]:
    """The chunk's groups as the model sees them, and their figure rows."""
    figures = Figure.objects.filter(pk__in=chunk.figure_ids).order_by("group_key", "id")
    texts: dict[str, list] = {}
    images: dict[str, list] = {}
    labels: dict[str, list[Figure]] = {}
    for figure in figures:
        with figure.image.open("rb") as handle:
            data = handle.read()
        texts.setdefault(figure.group_key, []).append(
            pipeline.FigureText(figure.caption, tuple(figure.mentions or ()))
        )
        images.setdefault(figure.group_key, []).append(
            pipeline.resize_for_model(data, long_side=long_side)
        )
        labels.setdefault(figure.group_key, []).append(figure)
    groups = {
        key: pipeline.Group(key, tuple(texts[key]), tuple(images[key]))
        for key in chunk.group_keys
        if key in texts
    }
    return groups, labels


def run(*, chunk_id: int) -> str:
    """Process one chunk end to end; returns what happened, for logs and tests."""
    held = claim(chunk_id=chunk_id)
    if held is None:
        return "skipped"
    try:
        outcome = _run_claimed(held)
    except BackendUnavailable as exc:
        release(claim=held, error=str(exc))
        raise
    except BackendError as exc:
        # Not transient (model missing, bad config): trying again cannot help.
        Chunk.objects.filter(pk=chunk_id, lease_token=held.token).update(
            status=ChunkStatus.FAILED,
            lease_token="",
            lease_expires_at=None,
            last_error=f"backend error: {exc}"[:2000],
            updated_at=timezone.now(),
        )
        services.finish_batch_if_done(batch_id=held.chunk.batch_id)
        raise
    except Exception as exc:
        Chunk.objects.filter(pk=chunk_id, lease_token=held.token).update(
            last_error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    services.refresh_batch_counters(batch_id=held.chunk.batch_id)
    services.finish_batch_if_done(batch_id=held.chunk.batch_id)
    return outcome


def lanes_for(config: Mapping[str, Any]) -> dict[str, list[streaming.Lane]]:
    """Each role's endpoints (the named one, then its replicas) as lanes; an
    endpoint serving both roles is one lane, so an in-process model is never
    called from two threads at once."""
    by_name: dict[str, streaming.Lane] = {}
    lanes: dict[str, list[streaming.Lane]] = {}
    for role in (streaming.GENERATOR, streaming.VERIFIER):
        role_config = config[role]
        names = [role_config.get("endpoint")]
        names += [r.get("endpoint") for r in role_config.get("replicas") or ()]
        lanes[role] = []
        for name in dict.fromkeys(names):
            backend = backend_for(role, {"endpoint": name})
            if name not in by_name:
                limit = endpoints.get(name).concurrency
                by_name[name] = streaming.Lane(name, backend, limit)
            lanes[role].append(by_name[name])
    return lanes


# Asked a few times a second by every running chunk (cancel within a round):
# compiled once, ~0.1 ms instead of ~0.4 ms of the ORM's Python per ask.
_RUNNING = CompiledSubquery(
    lambda batch: Batch.objects.filter(pk=batch, status__in=services.ACTIVE).values(
        "pk"
    ),
    "batch",
)


def _batch_running(batch_id: int) -> bool:
    return bool(_RUNNING.rows(batch=batch_id))


def _run_claimed(held: Claim) -> str:
    chunk = held.chunk
    batch = chunk.batch
    config = batch.config
    settings = pipeline.Settings.from_config(config)
    groups, figures_by_group = _load(chunk, config["image_long_side"])
    allowed = config["generation_retries"] + 1

    # A resumed chunk skips what is stored: items, and slots out of tries.
    existing = set(
        Item.objects.filter(batch=batch, group_key__in=chunk.group_keys).values_list(
            "group_key", "sample_index"
        )
    )
    tries = Counter(
        GenerationFailure.objects.filter(
            batch=batch, group_key__in=chunk.group_keys
        ).values_list("group_key", "sample_index")
    )
    pending = [
        pipeline.Unit(group, i, attempt=tries[(group.key, i)] + 1)
        for group in groups.values()
        for i in range(config["items_per_group"])
        if (group.key, i) not in existing and tries[(group.key, i)] < allowed
    ]
    lanes = lanes_for(config)
    for role in (streaming.GENERATOR, streaming.VERIFIER):
        _note_server(batch, role, lanes[role][0].backend)
    runner = streaming.Runner(
        lanes=lanes,
        settings=settings,
        slots=slots.limiter(),
        flush=lambda results: _write(
            held,
            results,
            figures=figures_by_group,
            rubric_version=settings.rubric_version,
        ),
        should_stop=lambda: not _batch_running(batch.pk),
        allowed_tries=allowed,
        tries=tries,
        renew_seconds=max(1.0, config["lease_seconds"] / 3),
        pause_check=lambda role, errors: _paused_for_configuration(held, role, errors),
    )
    outcome = runner.run(pending)
    if outcome == "stopped":
        release(
            claim=held,
            error="stopped mid-chunk because the batch stopped running; "
            "resuming the batch continues it",
        )
        return "stopped"
    if outcome != "done":
        return outcome  # "paused" (the chunk went back) or "superseded"
    now = timezone.now()
    finished = Chunk.objects.filter(
        pk=chunk.pk, status=ChunkStatus.LEASED, lease_token=held.token
    ).update(
        status=ChunkStatus.DONE,
        lease_token="",
        lease_expires_at=None,
        finished_at=now,
        updated_at=now,
    )
    return "done" if finished else "superseded"


def _note_server(batch: Batch, role: str, backend: Backend) -> None:
    """Keep on the batch what the role's server says it serves (if it says)."""
    info = getattr(backend, "server_info", None)
    if callable(info):
        services.record_server_info(batch_id=batch.pk, role=role, info=info().as_dict())


def _paused_for_configuration(held: Claim, role: str, errors: list[Any]) -> bool:
    """Pause the batch when this chunk's first requests all failed with one
    configuration error and the role has never succeeded in this batch; the
    chunk goes back, unwritten, to wait for the resume."""
    problem = failures.configuration_problem(role, errors)
    if problem is None:
        return False
    batch_id = held.chunk.batch_id
    if role == "generator":
        succeeded = Item.objects.filter(batch_id=batch_id).exists()
    else:
        succeeded = Verification.objects.filter(
            item__batch_id=batch_id, error=""
        ).exists()
    if succeeded:
        return False
    services.pause_batch(batch_id=batch_id, reason=problem.reason, cause=problem.cause)
    release(claim=held, error=problem.reason)
    return True


@transaction.atomic
def _write(
    held: Claim,
    results: streaming.Results,
    *,
    figures: dict[str, list[Figure]],
    rubric_version: str,
) -> bool:
    """Write what finished since the last write, only while the lease is ours.

    The guarded UPDATE renews the lease and locks the chunk row until commit,
    so a sweep or a second claimant waits for these rows and then sees them.
    Items are unique per (batch, group, sample): a later run skips them.
    """
    now = timezone.now()
    everything = [
        *(g for g, _, _, _ in results.items),
        *(v for _, v, _, _ in results.items),
        *(g for g, _ in results.failures),
    ]
    ours = Chunk.objects.filter(
        pk=held.chunk.pk, status=ChunkStatus.LEASED, lease_token=held.token
    ).update(
        lease_expires_at=now
        + timedelta(seconds=held.chunk.batch.config["lease_seconds"]),
        prompt_tokens=F("prompt_tokens") + sum(x.prompt_tokens for x in everything),
        completion_tokens=F("completion_tokens")
        + sum(x.completion_tokens for x in everything),
        model_seconds=F("model_seconds") + sum(x.latency_s for x in everything),
    )
    if not ours:
        return False  # someone else holds the chunk now; theirs wins
    if not results:
        return True
    batch_id = held.chunk.batch_id
    items = []
    for g, verdict, generator_model, _ in results.items:
        parsed = g.item
        group_figures = figures[g.unit.group.key]
        items.append(
            Item(
                batch_id=batch_id,
                group_key=g.unit.group.key,
                sample_index=g.unit.sample_index,
                question=parsed.question,
                options=parsed.options,
                answer=parsed.answer,
                status=ItemStatus.KEPT if verdict.score.kept else ItemStatus.DROPPED,
                flags=list(parsed.flags),
                generator_model=generator_model,
                raw_output=parsing.storable(g.raw),
                **tagging.tags(
                    modalities=[f.modality for f in group_figures],
                    anatomies=[f.anatomy for f in group_figures],
                    question=parsed.question,
                ),
            )
        )
    Item.objects.bulk_create(items)
    ItemFigure.objects.bulk_create(
        ItemFigure(item=item, figure=figure, position=i)
        for item in items
        for i, figure in enumerate(figures[item.group_key])
    )
    Verification.objects.bulk_create(
        Verification(
            item=item,
            verifier_model=verifier_model,
            rubric_version=rubric_version,
            **failures.verification_fields(verdict),
        )
        for item, (_, verdict, _, verifier_model) in zip(
            items, results.items, strict=True
        )
    )
    GenerationFailure.objects.bulk_create(
        GenerationFailure(
            batch_id=batch_id,
            group_key=g.unit.group.key,
            sample_index=g.unit.sample_index,
            attempt=attempt,
            reason=g.failure,
            detail=parsing.storable(g.detail),
            raw_output=parsing.storable(g.raw),
            **failures.failure_fields(g),
        )
        for g, attempt in results.failures
    )
    # Counters move with the rows, in the same transaction: exact, and no
    # recount of the whole batch per write.
    kept = sum(1 for _, verdict, _, _ in results.items if verdict.score.kept)
    Batch.objects.filter(pk=batch_id).update(
        items_generated=F("items_generated") + len(items),
        items_verified=F("items_verified") + len(items),
        items_kept=F("items_kept") + kept,
        generation_failures=F("generation_failures") + len(results.failures),
    )
    return True
