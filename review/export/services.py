"""Create and run exports: every write of the export feature goes through here.

`run_export` writes into a temporary folder beside the destination and renames
it into place only when every file, the card and the manifest are complete, so
a failure never leaves a half-written export behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from medsyn_app import queueing
from medsyn_app.audit import services as audit
from review.export import card, planning, references, reward
from review.export.config import (
    ExportSettings,
    ExportSettingsError,
    parse_settings,
    slugify_name,
)
from review.export.hf_parquet import HfParquetWriter
from review.export.jsonl import JsonlWriter
from review.export.manifest import MANIFEST_NAME, Tally, describe, file_entries
from review.export.rows import iter_rows
from review.export.sft import SftWriter
from review.export.splits import SPLITS
from review.export.verl import VerlWriter
from review.models import Export, ExportStatus

logger = logging.getLogger(__name__)
EXPORTS_DIR = "exports"
PROGRESS_EVERY = 256


class ExportError(ValueError):
    """An export request that cannot run; the message says why."""


def _frozen_test_ids(export_id: int) -> list[str]:
    previous = Export.objects.filter(pk=export_id).first()
    if previous is None or previous.status != ExportStatus.DONE:
        raise ExportError(f"export {export_id} is not a finished export to freeze from")
    test = previous.manifest.get("splits", {}).get("test", {})
    return list(test.get("source_ids", []))


def resolve_settings(
    *, settings: dict[str, Any] | None, name: str, eval_set_uploaded: bool = False
) -> ExportSettings:
    """The settings an export request runs with, checked; raises ExportError.

    The launch and the preview both use it, so a preview describes exactly
    the export that launching would run.
    """
    raw = dict(settings or {})
    raw.setdefault("dataset_name", slugify_name(name))
    if eval_set_uploaded:
        raw["eval_set_path"] = "(upload)"
    # Checked by default against every registered benchmark.
    chosen = raw.get("benchmark_ids")
    if chosen is None:
        raw["benchmark_ids"] = references.registered_ids()
    elif not isinstance(chosen, list | tuple):
        raise ExportError("benchmark_ids must be a list of registered benchmark ids")
    else:
        try:
            raw["benchmark_ids"] = references.check_ids([int(i) for i in chosen])
        except (TypeError, ValueError) as exc:
            raise ExportError(f"benchmark_ids: {exc}") from exc
    try:
        parsed = parse_settings(raw)
    except ExportSettingsError as exc:
        raise ExportError(str(exc)) from exc
    if parsed.freeze_test_from:
        parsed = replace(
            parsed,
            frozen_test_source_ids=tuple(_frozen_test_ids(parsed.freeze_test_from)),
        )
    return parsed


@transaction.atomic
def create_export(
    *,
    created_by: Any,
    name: str,
    settings: dict[str, Any] | None = None,
    eval_set: Any = None,
    enqueue: Callable[[int], object] | None,
) -> Export:
    """Validate the settings, record the Export and queue it once committed.

    An uploaded eval set is stored only once the settings are known to be good.
    Pages and the API pass `tasks.run_export.delay_on_commit`; the command line
    passes None and runs the export in-process.
    """
    if not name.strip():
        raise ExportError("an export needs a name")
    parsed = resolve_settings(
        settings=settings, name=name, eval_set_uploaded=eval_set is not None
    )
    if eval_set is not None:
        parsed = replace(parsed, eval_set_path=store_eval_set(upload=eval_set))
    with transaction.atomic():
        export = Export.objects.create(
            name=name.strip(),
            created_by=created_by,
            settings=parsed.to_dict(),
            seed=parsed.seed,
            formats=list(parsed.formats),
        )
        audit.record(
            "export.create",
            actor=created_by,
            target=export,
            after={"name": export.name, "settings": export.settings},
        )
    if enqueue is not None:
        enqueue(export.pk)
    return export


def store_eval_set(*, upload: Any) -> str:
    """Keep an uploaded benchmark file where the export task can read it."""
    suffix = ".parquet" if upload.name.endswith(".parquet") else ".jsonl"
    folder = Path(django_settings.MEDIA_ROOT) / "eval_sets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return str(path)


def _writers(root: Path, s: ExportSettings) -> list[Any]:
    sizes = {"row_group_size": s.row_group_size, "rows_per_shard": s.rows_per_shard}
    makers = {
        "hf": lambda: HfParquetWriter(root, **sizes),
        "jsonl": lambda: JsonlWriter(root),
        "verl": lambda: VerlWriter(root, **sizes),
        "sft": lambda: SftWriter(root, target=s.sft_target, **sizes),
    }
    return [makers[name]() for name in s.formats]


def _write_rows(
    export: Export, root: Path, prepared: planning.Prepared
) -> tuple[Tally, dict[Path, str]]:
    """Stream every row, split by split in item order, into every format.

    Returns the counts and the checksums the writers took while writing."""
    s = prepared.settings
    by_id = {c.item_id: c for c in prepared.candidates}
    tally = Tally()
    writers = _writers(root, s)
    written = 0
    try:
        for split in SPLITS:
            for row in iter_rows(
                split=split,
                candidates=[by_id[i] for i in prepared.plan.item_ids(split)],
                letters=prepared.letters,
                dataset_name=s.dataset_name,
            ):
                for writer in writers:
                    writer.write(row)
                tally.add(row)
                written += 1
                if written % PROGRESS_EVERY == 0:
                    Export.objects.filter(pk=export.pk).update(rows_written=written)
    except BaseException:
        # Leave no open file or hashing thread behind; the folder is removed.
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.close()
        raise
    checksums: dict[Path, str] = {}
    for writer in writers:
        writer.close()
        stream = getattr(writer, "stream", None)
        checksums |= stream.checksums if stream else {}
    return tally, checksums


def _build(export: Export, root: Path) -> dict[str, Any]:
    prepared = planning.prepare(parse_settings(export.settings))
    Export.objects.filter(pk=export.pk).update(rows_total=len(prepared.candidates))
    tally, checksums = _write_rows(export, root, prepared)
    s = prepared.settings
    manifest = describe(
        name=export.name,
        settings=s,
        chosen=prepared.chosen,
        exported=prepared.candidates,
        letters=prepared.letters,
        plan=prepared.plan,
        counts=tally.as_dict(),
        contamination=prepared.report.as_dict(excluded=s.exclude_contaminated),
        breakdown=planning.breakdown(prepared),
    )
    if "verl" in s.formats:
        # The reward verl is pointed at travels with the data it scores.
        shutil.copyfile(reward.__file__, root / card.REWARD_FILE)
    attribution = card.attribution_rows(dict(tally.items_per_source))
    shards = [p.relative_to(root).as_posix() for p in root.rglob("*.parquet")]
    (root / "README.md").write_text(
        card.build_card(manifest, attribution, shards),
        encoding="utf-8",
        newline="\n",
    )
    manifest["files"] = file_entries(root, checksums)
    manifest["created_at"] = timezone.now().isoformat()
    (root / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def archive_name(export: Export) -> str:
    """The export's name in downloads (the zip and its top folder)."""
    return f"{export.pk}-{slugify_name(export.name)}"


def export_path(export: Export) -> Path:
    """The folder of a finished export.

    An unfinished one has no folder, and MEDIA_ROOT itself must never be
    handed out as one: callers copy or delete what this returns.
    """
    if not export.output_dir:
        raise ExportError(f"export {export.pk} has no files ({export.status})")
    return Path(django_settings.MEDIA_ROOT) / export.output_dir


def run_export(*, export_id: int) -> Export:
    """Write an export's files; safe to call twice (a finished export is kept)."""
    claimed = Export.objects.filter(
        pk=export_id, status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]
    ).update(status=ExportStatus.RUNNING, error="", rows_written=0)
    export = Export.objects.get(pk=export_id)
    if not claimed:
        return export
    parent = Path(django_settings.MEDIA_ROOT) / EXPORTS_DIR
    # A random part, so no one can guess another export's folder name.
    relative = f"{EXPORTS_DIR}/{archive_name(export)}-{secrets.token_hex(16)}"
    final = Path(django_settings.MEDIA_ROOT) / relative
    temp = parent / f".tmp-{export.pk}-{uuid.uuid4().hex}"
    # A worker killed mid-export leaves its temporary folder; clear it first.
    for stale in parent.glob(f".tmp-{export.pk}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    try:
        temp.mkdir(parents=True)
        manifest = _build(export, temp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(temp, final)
    except Exception as exc:
        logger.exception("export %s failed", export_id)
        shutil.rmtree(temp, ignore_errors=True)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        with transaction.atomic():
            Export.objects.filter(pk=export_id).update(
                status=ExportStatus.FAILED, error=error, finished_at=timezone.now()
            )
            audit.record(
                "export.failed", actor=None, target=export, after={"error": error}
            )
        export.refresh_from_db()
        return export
    rows = sum(manifest["counts"]["rows"].values())
    with transaction.atomic():
        Export.objects.filter(pk=export_id).update(
            status=ExportStatus.DONE,
            output_dir=relative,
            manifest=manifest,
            item_count=rows,
            rows_written=F("rows_total"),
            finished_at=timezone.now(),
        )
        audit.record(
            "export.done",
            actor=None,
            target=export,
            after={"rows": rows, "folder": relative},
        )
    export.refresh_from_db()
    return export


def record_download(*, export: Export, path: str) -> None:
    """Who took which file of an export (the whole zip: path "*")."""
    audit.record("export.download", target=export, after={"file": path})


def mark_waiting(*, export_id: int, reason: str) -> None:
    """The queue did not take this export: say so on its row and in the log."""
    with transaction.atomic():
        moved = Export.objects.filter(pk=export_id, status=ExportStatus.PENDING).update(
            status=ExportStatus.WAITING, error=f"Waiting for the task queue: {reason}"
        )
        if moved:
            audit.record(
                "export.waiting",
                actor=None,
                object_type="review.export",
                object_id=export_id,
                after={"reason": reason},
            )


def requeue_waiting(*, send: Callable[[int], object]) -> int:
    """Send waiting exports again, oldest first; stop at the first failure (the
    queue is still down). Returns how many were sent.

    The row goes back to pending before the message is sent, so a worker that
    takes it at once finds it claimable; a failed send puts it back waiting.
    """
    sent = 0
    for export_id in (
        Export.objects.filter(status=ExportStatus.WAITING)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            if not Export.objects.filter(
                pk=export_id, status=ExportStatus.WAITING
            ).update(status=ExportStatus.PENDING, error=""):
                continue
            audit.record(
                "export.requeued",
                actor=None,
                object_type="review.export",
                object_id=export_id,
            )
        if error := queueing.try_send(lambda pk=export_id: send(pk)):
            mark_waiting(export_id=export_id, reason=error)
            break
        sent += 1
    return sent
