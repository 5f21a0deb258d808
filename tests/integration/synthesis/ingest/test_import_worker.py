"""A real Celery worker runs an import job taken from the broker."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from synthesis.ingest import tasks
from synthesis.models import Figure, ImportJob, ImportJobStatus
from tests.fixtures.services import celery_worker, wait_for
from tests.fixtures.sources import jats_files, write_tar

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_worker_imports_an_uploaded_package_and_writes_the_report(tmp_path):
    archive = write_tar(tmp_path / "pkg.tar.gz", jats_files()).read_bytes()
    stored = default_storage.save("uploads/test.tar.gz", ContentFile(archive))
    job = ImportJob.objects.create(source_path=stored, original_name="pkg.tar.gz")

    with celery_worker() as (_, queue):
        tasks.run_import_job.apply_async(args=[job.pk], queue=queue)
        wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).is_finished,
            timeout=60,
            message="the worker never finished the import job",
        )
    job.refresh_from_db()
    assert job.status == ImportJobStatus.SUCCEEDED, job.error
    assert job.report["figures_created"] == 5
    assert job.records_seen == 5
    assert Figure.objects.count() == 5
    assert all(f.image.storage.exists(f.image.name) for f in Figure.objects.all())
