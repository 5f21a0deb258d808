"""The streaming pipeline on real Celery workers against a local fake model server.

The server (tests/fixtures/fake_openai_server.py) answers schema-valid items
and verdicts after a fixed latency and counts what it saw; the workers reach it
over HTTP through a registered `openai_compat` endpoint, as they would reach
`vllm serve`. Slots are shared through the test's Redis.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections import Counter

import pytest

from synthesis import services, tasks
from synthesis.models import Batch, BatchStatus, Chunk, ChunkStatus, Item, Verification
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_openai_server import FakeOpenAIServer, is_verifier
from tests.fixtures.services import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def served(settings, redis_url):
    """A fake model server and a function registering it as an endpoint of
    concurrency C, here and in the workers this test starts (their env)."""
    servers = []

    def serve(*, latency: float, concurrency: int) -> tuple[FakeOpenAIServer, dict]:
        server = FakeOpenAIServer(latency_s=latency).start()
        servers.append(server)
        name = f"served-{uuid.uuid4().hex[:8]}"  # fresh slots in Redis
        table = {
            name: {
                "runtime": "openai_compat",
                "base_url": server.base_url,
                "model": server.model,
                "concurrency": concurrency,
                "roles": ["generator", "verifier"],
            }
        }
        settings.MEDSYN_ENDPOINTS = {**settings.MEDSYN_ENDPOINTS, **table}
        env = {"MEDSYN_TEST_ENDPOINTS": json.dumps(table)}
        return server, {"name": name, "env": env}

    yield serve
    for server in servers:
        server.stop()


def launch(endpoint: str, queue: str, **config):
    return services.launch_batch(
        created_by=None,
        name="stream",
        config={
            "generator": {"endpoint": endpoint},
            "verifier": {"endpoint": endpoint},
            "queue": queue,
            **config,
        },
        enqueue=tasks.send_chunks,
    )


def status_of(batch) -> str:
    return Batch.objects.values_list("status", flat=True).get(pk=batch.pk)


def roles_seen(server: FakeOpenAIServer) -> list[str]:
    return ["verifier" if is_verifier(p) else "generator" for p in server.requests]


def test_two_workers_share_the_endpoints_concurrency_and_verify_as_items_come(
    served,
):
    figures = make_figures(24)
    server, endpoint = served(latency=0.15, concurrency=3)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with (
        celery_worker(queues=queue, extra_env=endpoint["env"]),
        celery_worker(queues=queue, extra_env=endpoint["env"]),
    ):
        batch = launch(endpoint["name"], queue, chunk_size=12)
        wait_for(
            lambda: status_of(batch) == BatchStatus.COMPLETED,
            timeout=90,
            message="the two workers never completed the batch",
        )
    # Both chunks ran at once, yet the server never saw more than C requests.
    assert server.max_in_flight == 3
    roles = roles_seen(server)
    assert Counter(roles) == {"generator": 24, "verifier": 24}
    # Streaming: verification starts long before the last generation is sent.
    assert roles.index("verifier") < len(roles) - roles[::-1].index("generator") - 10
    keys = Counter(Item.objects.filter(batch=batch).values_list("group_key", flat=True))
    assert keys == {f.group_key: 1 for f in figures}
    batch.refresh_from_db()
    assert (batch.items_generated, batch.items_verified, batch.items_kept) == (
        24,
        24,
        24,
    )


def test_prompts_are_counted_before_a_slot_is_taken(served):
    """A slot is held only while the server works on the request: the next
    prompt is counted (/tokenize) while the endpoint's one slot is busy."""
    make_figures(6)
    server, endpoint = served(latency=0.2, concurrency=1)
    with celery_worker(extra_env=endpoint["env"]) as (_, queue):
        batch = launch(endpoint["name"], queue, chunk_size=6)
        wait_for(
            lambda: status_of(batch) == BatchStatus.COMPLETED,
            timeout=60,
            message="the batch never completed",
        )
    assert server.max_in_flight == 1
    assert len(server.requests) == 12
    # The probe at first use, then one count per generation: a verification's
    # prompt is bounded by its generation's on the same server, not counted.
    assert len(server.chats_at_tokenize) == 1 + 6
    assert not any(is_verifier(p) for p in server.tokenize_requests)
    assert sum(1 for n in server.chats_at_tokenize if n) >= 3


def test_cancel_mid_chunk_stops_within_one_round_and_resume_finishes(served):
    figures = make_figures(30)
    concurrency = 3
    server, endpoint = served(latency=0.3, concurrency=concurrency)
    with celery_worker(extra_env=endpoint["env"]) as (_, queue):
        batch = launch(endpoint["name"], queue, chunk_size=30)
        wait_for(
            lambda: Item.objects.filter(batch=batch).count() >= 2,
            timeout=60,
            message="no item was written while the chunk ran",
        )
        services.cancel_batch(batch_id=batch.pk)
        sent_at_cancel = server.request_count
        chunk = Chunk.objects.get(batch=batch)
        wait_for(
            lambda: Chunk.objects.get(pk=chunk.pk).status == ChunkStatus.PENDING,
            timeout=10,
            message="the running chunk did not stop after the cancel",
        )
        time.sleep(1)  # anything still sent would arrive now
        sent_after = server.request_count - sent_at_cancel
        # At most one round: the requests whose slots freed up before the
        # worker's next look at the batch status.
        assert sent_after <= concurrency
        assert server.in_flight == 0
        stopped_with = Item.objects.filter(batch=batch).count()
        assert 2 <= stopped_with < 30
        chunk.refresh_from_db()
        assert chunk.attempts == 0 and "stopped mid-chunk" in chunk.last_error
        assert status_of(batch) == BatchStatus.CANCELLED

        generated_before = Counter(roles_seen(server))["generator"]
        services.resume_batch(batch_id=batch.pk, enqueue=tasks.send_chunks)
        wait_for(
            lambda: status_of(batch) == BatchStatus.COMPLETED,
            timeout=60,
            message="the resumed batch never completed",
        )
    keys = Counter(Item.objects.filter(batch=batch).values_list("group_key", flat=True))
    assert keys == {f.group_key: 1 for f in figures}
    # The resumed chunk skipped the stored items: it generated exactly the
    # groups without one (those unverified at the cancel, and those not begun).
    generated = Counter(roles_seen(server))["generator"]
    assert generated - generated_before == 30 - stopped_with


def test_a_sigkilled_worker_still_yields_every_group_exactly_once(served):
    figures = make_figures(16)
    server, endpoint = served(latency=0.3, concurrency=4)
    with celery_worker(extra_env=endpoint["env"]) as (process, queue):
        batch = launch(endpoint["name"], queue, chunk_size=8, lease_seconds=3)
        wait_for(
            lambda: (
                Item.objects.filter(batch=batch).count() >= 3
                and batch.chunks.filter(status=ChunkStatus.LEASED).exists()
            ),
            timeout=60,
            message="the worker never got going",
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    written_before = Item.objects.filter(batch=batch).count()
    killed = set(
        batch.chunks.filter(status=ChunkStatus.LEASED).values_list("pk", flat=True)
    )
    assert killed, "the kill should land while a chunk is leased"
    assert written_before < 16, "the kill should land mid-batch"

    with celery_worker(queues=queue, extra_env=endpoint["env"]):
        deadline = time.monotonic() + 90
        while status_of(batch) != BatchStatus.COMPLETED:
            assert time.monotonic() < deadline, "the batch never completed"
            services.sweep_expired_leases(enqueue=tasks.send_chunks)  # celery beat
            time.sleep(0.5)

    keys = Counter(Item.objects.filter(batch=batch).values_list("group_key", flat=True))
    assert keys == {f.group_key: 1 for f in figures}
    assert Verification.objects.filter(item__batch=batch).count() == 16
    for chunk in Chunk.objects.filter(pk__in=killed):
        assert (chunk.status, chunk.attempts) == (ChunkStatus.DONE, 2)
    batch.refresh_from_db()
    assert (batch.items_generated, batch.items_verified, batch.items_kept) == (
        16,
        16,
        16,
    )
    assert server.max_in_flight <= 4
