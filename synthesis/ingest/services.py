"""Import jobs: an uploaded source, stored under MEDIA_ROOT, imported by a worker.

The upload is saved under a generated name (the user's file name is kept only
as a label), so nothing is ever written outside the media folder. Progress is
written to the `ImportJob` row at most every second; the page polls the row.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from medsyn_app import queueing
from medsyn_app.audit import services as audit
from synthesis import services as synthesis_services
from synthesis.ingest import importing
from synthesis.models import ImportJob, ImportJobStatus

logger = logging.getLogger(__name__)
UPLOAD_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".parquet", ".jsonl")


class UploadRefused(ValueError):
    pass


def upload_suffix(name: str) -> str:
    """The allowed suffix of an upload's name; UploadRefused otherwise."""
    lowered = name.lower()
    for suffix in UPLOAD_SUFFIXES:
        if lowered.endswith(suffix):
            return suffix
    raise UploadRefused(
        f"{name!r}: upload a .tar.gz/.tgz (JATS), .tar (webdataset), "
        ".parquet or .jsonl (VQA) file"
    )


def start_import(
    *,
    upload: UploadedFile,
    source_format: str = "",
    options: dict[str, Any] | None = None,
    user: Any = None,
    enqueue: Callable[[int], object] | None,
) -> ImportJob:
    """Store the upload and hand the job to `enqueue` once the row is committed
    (the callers pass `tasks.run_import_job.delay_on_commit`)."""
    suffix = upload_suffix(upload.name or "")
    stored = default_storage.save(f"uploads/{uuid.uuid4().hex}{suffix}", upload)
    with transaction.atomic():
        job = ImportJob.objects.create(
            source_path=stored,
            original_name=(upload.name or "")[:255],
            source_format=source_format,
            options=options or {},
            created_by=user if user is not None and user.is_authenticated else None,
        )
        audit.record(
            "import.start",
            actor=job.created_by,
            target=job,
            after={
                "file": job.original_name,
                "format": job.source_format,
                "options": job.options,
            },
        )
        if enqueue is not None:
            enqueue(job.pk)
    return job


def run_import(*, job_id: int) -> ImportJob:
    """Run a queued job; a job already claimed or finished is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.QUEUED).update(
        status=ImportJobStatus.RUNNING, started_at=timezone.now()
    )
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    last_write = 0.0

    def progress(seen: int) -> None:
        nonlocal last_write
        if time.monotonic() - last_write >= 1.0:
            last_write = time.monotonic()
            ImportJob.objects.filter(pk=job_id).update(records_seen=seen)

    try:
        report = importing.import_path(
            path=Path(default_storage.path(job.source_path)),
            source_format=job.source_format or None,
            options=importing.ImportOptions.from_dict(job.options),
            on_progress=progress,
        )
    except Exception as exc:
        # Bad members are skipped inside the import; what reaches here ends the
        # job (unreadable path, time limit, lost database), and the row says so.
        logger.exception("import job %s failed", job_id)
        job.status, job.error = ImportJobStatus.FAILED, str(exc)[:2000]
    else:
        job.status, job.report = ImportJobStatus.SUCCEEDED, report.as_dict()
        job.records_seen = report.records_seen
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save(
            update_fields=["status", "error", "report", "records_seen", "finished_at"]
        )
        for batch_id in (job.report or {}).get("batch_ids", []):
            synthesis_services.record_import(batch_id=batch_id, import_job_id=job.pk)
        audit.record(
            f"import.{job.status}",
            actor=None,
            target=job,
            after={"records": job.records_seen, **_summary(job)},
        )
    return job


def _summary(job: ImportJob) -> dict:
    """What the import made, as the audit log keeps it."""
    if job.error:
        return {"error": job.error[:300]}
    report = job.report or {}
    keys = ("documents_created", "figures_created", "items_created", "skipped_total")
    return {key: report[key] for key in keys if key in report}


def mark_waiting(*, job_id: int, reason: str) -> None:
    """The queue did not take this job: say so on its row and in the log."""
    with transaction.atomic():
        moved = ImportJob.objects.filter(
            pk=job_id, status=ImportJobStatus.QUEUED
        ).update(
            status=ImportJobStatus.WAITING,
            error=f"Waiting for the task queue: {reason}",
        )
        if moved:
            audit.record(
                "import.waiting",
                actor=None,
                object_type="synthesis.importjob",
                object_id=job_id,
                after={"reason": reason},
            )


def requeue_waiting(*, send: Callable[[int], object]) -> int:
    """Send waiting jobs again, oldest first; stop at the first failure.

    The row is made claimable before the message goes, and put back waiting
    if the send fails, so a fast worker never finds it unclaimable.
    """
    sent = 0
    waiting = ImportJob.objects.filter(status=ImportJobStatus.WAITING).order_by("pk")
    for job_id in waiting.values_list("pk", flat=True):
        with transaction.atomic():
            if not ImportJob.objects.filter(
                pk=job_id, status=ImportJobStatus.WAITING
            ).update(status=ImportJobStatus.QUEUED, error=""):
                continue
            audit.record(
                "import.requeued",
                actor=None,
                object_type="synthesis.importjob",
                object_id=job_id,
            )
        if error := queueing.try_send(lambda pk=job_id: send(pk)):
            mark_waiting(job_id=job_id, reason=error)
            break
        sent += 1
    return sent
