"""The task queue goes down: launches answer 503 (API) or a banner (pages), the
saved rows wait, and once the broker is back the sweep sends them and a real
worker finishes them. The test runs a Redis of its own, never the shared one."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from medsyn_app.celery import app as celery_app
from review.export import tasks as export_tasks
from review.models import Export, ExportStatus
from synthesis import services as synthesis_services
from synthesis import tasks as synthesis_tasks
from synthesis.ingest import tasks as ingest_tasks
from synthesis.models import (
    Batch,
    BatchStatus,
    ImportJob,
    ImportJobStatus,
    Rerun,
    RerunStatus,
    Verification,
)
from tests.fixtures.builders import make_accepted_item, make_figures
from tests.fixtures.fake_backends import fake_config
from tests.fixtures.services import celery_worker, wait_for
from tests.fixtures.sources import jats_files, write_tar

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def broker_at(private_redis):
    """Point this process's Celery app at the private Redis, then back."""
    original = celery_app.conf.broker_write_url, celery_app.conf.broker_read_url

    def use(write: str | None, read: str | None) -> None:
        # The write/read URLs win over broker_url, which Celery takes from the
        # CELERY_BROKER_URL environment variable before any setting.
        celery_app.conf.broker_write_url = write
        celery_app.conf.broker_read_url = read
        # Drop pooled connections to the old broker (what Celery does after fork).
        celery_app._after_fork()

    use(private_redis.url, private_redis.url)
    yield private_redis
    use(*original)


def test_launches_wait_while_the_broker_is_down_and_run_once_it_is_back(
    broker_at, admin_client, tmp_path
):
    private_redis = broker_at
    for paper in range(3):
        make_accepted_item(document=f"PMC{paper:06d}", image_seed=paper)
    private_redis.start()
    private_redis.stop()

    api = admin_client.post(
        reverse("exports:api-list"),
        {"name": "During the outage", "settings": {}},
        content_type="application/json",
    )
    assert api.status_code == 503
    assert "task queue is unreachable" in api.json()["detail"]
    export = Export.objects.get(pk=api.json()["id"])
    assert export.status == ExportStatus.WAITING

    page = admin_client.post(
        reverse("exports:list"),
        {
            "name": "From the page",
            "formats": ["hf"],
            "seed": 42,
            "ratios": "0.8,0.1,0.1",
        },
        follow=True,
    )
    assert b"task queue is unreachable" in page.content
    assert b"starts by itself once the queue answers" in page.content

    archive = write_tar(tmp_path / "PMC1.tar.gz", jats_files()).read_bytes()
    upload = admin_client.post(
        reverse("imports-api:list"),
        {"file": SimpleUploadedFile("PMC1.tar.gz", archive)},
    )
    assert upload.status_code == 503
    job = ImportJob.objects.get(pk=upload.json()["id"])
    assert job.status == ImportJobStatus.WAITING
    assert AuditEvent.objects.filter(action="export.waiting").count() == 2
    # The sweep finds the broker still down: it tries the oldest, which goes
    # back to waiting, and stops there.
    export_tasks.requeue_waiting_exports()
    assert Export.objects.filter(status=ExportStatus.WAITING).count() == 2
    assert AuditEvent.objects.filter(action="export.waiting").count() == 3

    private_redis.start()
    with celery_worker(
        queues="default", extra_env={"CELERY_BROKER_URL": private_redis.url}
    ):
        export_tasks.requeue_waiting_exports()  # what celery beat runs
        ingest_tasks.requeue_waiting_imports()
        wait_for(
            lambda: set(Export.objects.values_list("status", flat=True)) == {"done"},
            timeout=90,
            message="the waiting exports never finished",
        )
        wait_for(
            lambda: ImportJob.objects.get(pk=job.pk).is_finished,
            timeout=60,
            message="the waiting import never finished",
        )
    assert ImportJob.objects.get(pk=job.pk).status == ImportJobStatus.SUCCEEDED
    # One attempt while down, then each export once.
    assert AuditEvent.objects.filter(action="export.requeued").count() == 3


def test_batches_wait_while_the_broker_is_down_and_complete_once_it_is_back(
    broker_at, admin_client
):
    private_redis = broker_at
    make_figures(4)
    finished = synthesis_services.launch_batch(
        created_by=None, name="Finished", config=fake_config(), enqueue=None
    )
    for chunk_id in finished.chunks.values_list("pk", flat=True):
        synthesis_tasks.process_chunk(chunk_id)
    cancelled = synthesis_services.launch_batch(
        created_by=None, name="Cancelled", config=fake_config(), enqueue=None
    )
    synthesis_services.cancel_batch(batch_id=cancelled.pk)
    private_redis.start()
    private_redis.stop()

    api = admin_client.post(
        reverse("synthesis:api_batches"),
        {"name": "During the outage", "config": fake_config()},
        content_type="application/json",
    )
    assert api.status_code == 503
    assert "task queue is unreachable" in api.json()["detail"]
    batch = Batch.objects.get(pk=api.json()["id"])
    assert batch.status == BatchStatus.WAITING
    assert "Waiting for the task queue" in batch.status_reason

    form = {
        "name": "From the page", "generator_endpoint": "fake-generator",
        "verifier_endpoint": "fake-verifier", "temperature": "0", "top_p": "1",
        "max_tokens": "512", "seed": "1", "items_per_group": "1",
        "min_score": "0.9", "chunk_size": "2",
    }  # fmt: skip
    page = admin_client.post(reverse("synthesis:batch_launch"), form, follow=True)
    assert b"task queue is unreachable" in page.content
    assert b"Waiting for the task queue" in page.content  # the batch's own reason
    assert (
        b'hx-trigger="every 10s"' in page.content
    )  # it keeps refreshing, more slowly, until sent
    assert Batch.objects.get(name="From the page").status == BatchStatus.WAITING

    resumed = admin_client.post(
        reverse("synthesis:batch_resume", args=[cancelled.pk]), follow=True
    )
    assert b"task queue is unreachable" in resumed.content
    assert Batch.objects.get(pk=cancelled.pk).status == BatchStatus.WAITING

    chosen = list(finished.items.values_list("pk", flat=True)[:2])
    rerun = admin_client.post(
        reverse("synthesis:api_batch_reruns", args=[finished.pk]),
        {"what": "chosen_items", "item_ids": chosen},
        content_type="application/json",
    )
    assert rerun.status_code == 503
    assert Rerun.objects.get(pk=rerun.json()["id"]).status == RerunStatus.WAITING

    # Still down: the sweep sends nothing and everything waits again.
    synthesis_tasks.requeue_waiting_batches()
    waiting = Batch.objects.exclude(pk=finished.pk)
    assert set(waiting.values_list("status", flat=True)) == {"waiting"}
    assert Rerun.objects.get().status == RerunStatus.WAITING
    assert AuditEvent.objects.filter(action="batch.waiting").count() == 4
    assert AuditEvent.objects.filter(action="rerun.waiting").count() == 2

    private_redis.start()
    with celery_worker(
        queues="gpu", extra_env={"CELERY_BROKER_URL": private_redis.url}
    ):
        synthesis_tasks.requeue_waiting_batches()  # what celery beat runs
        wait_for(
            lambda: (
                set(Batch.objects.values_list("status", flat=True)) == {"completed"}
                and Rerun.objects.get().is_finished
            ),
            timeout=90,
            message="the waiting batches and re-run never completed",
        )
    for done in Batch.objects.all():
        assert done.items_generated == 4 and done.items_kept == 4
        assert done.status_reason == ""
    assert Rerun.objects.get().items_verified == 2
    for pk in chosen:
        assert Verification.objects.filter(item_id=pk).count() == 2
    assert AuditEvent.objects.filter(action="batch.requeued").count() == 4
    assert AuditEvent.objects.filter(action="rerun.requeued").count() == 2
