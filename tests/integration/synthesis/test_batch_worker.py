"""A batch runs through a real Celery worker, and survives one being killed."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from synthesis import services, tasks
from synthesis.models import Batch, BatchStatus, Chunk, ChunkStatus, Item, Verification
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_backends import fake_config
from tests.fixtures.services import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def status_of(batch):
    return Batch.objects.values_list("status", flat=True).get(pk=batch.pk)


def test_a_launched_batch_completes_on_a_real_worker(admin_user):
    figures = make_figures(6)
    with celery_worker() as (_, queue):
        batch = services.launch_batch(
            created_by=admin_user,
            name="e2e",
            config=fake_config(queue=queue, chunk_size=2, items_per_group=2),
            enqueue=tasks.send_chunks,
        )
        wait_for(
            lambda: status_of(batch) == BatchStatus.COMPLETED,
            timeout=60,
            message="the worker never completed the batch",
        )
    batch.refresh_from_db()
    assert (batch.items_generated, batch.items_verified, batch.items_kept) == (
        12,
        12,
        12,
    )
    assert set(Chunk.objects.filter(batch=batch).values_list("status", flat=True)) == {
        ChunkStatus.DONE
    }
    keys = Counter(Item.objects.filter(batch=batch).values_list("group_key", flat=True))
    assert keys == {f.group_key: 2 for f in figures}
    assert sorted(Counter(Item.objects.values_list("answer", flat=True)).values()) == [
        2,
        2,
        2,
        3,
        3,
    ]


def test_a_worker_killed_mid_batch_is_recovered_exactly_once():
    figures = make_figures(8)
    config = fake_config(chunk_size=1, slow=True, lease_seconds=3)
    with celery_worker() as (process, queue):
        batch = services.launch_batch(
            created_by=None,
            name="kill",
            config={**config, "queue": queue},
            enqueue=tasks.send_chunks,
        )
        wait_for(
            lambda: (
                batch.chunks.filter(status=ChunkStatus.DONE).count() >= 2
                and batch.chunks.filter(status=ChunkStatus.LEASED).exists()
            ),
            timeout=60,
            message="the worker never got going",
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    killed = set(
        batch.chunks.filter(status=ChunkStatus.LEASED).values_list("pk", flat=True)
    )
    assert killed, "the kill should land while a chunk is leased"

    with celery_worker(queues=queue):
        deadline = time.monotonic() + 90
        while status_of(batch) != BatchStatus.COMPLETED:
            assert time.monotonic() < deadline, "the batch never completed"
            # what celery beat runs every minute
            services.sweep_expired_leases(enqueue=tasks.send_chunks)
            time.sleep(0.5)

    items = Item.objects.filter(batch=batch)
    assert Counter(items.values_list("group_key", flat=True)) == {
        f.group_key: 1 for f in figures
    }
    assert Verification.objects.filter(item__batch=batch).count() == 8
    for chunk in Chunk.objects.filter(pk__in=killed):
        assert (chunk.status, chunk.attempts) == (ChunkStatus.DONE, 2)
    batch.refresh_from_db()
    assert batch.items_generated == 8 and batch.items_kept == 8
