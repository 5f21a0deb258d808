"""Running chunks in-process: results, failures, idempotency, leases."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from synthesis import chunks, services, tasks
from synthesis.backends.base import BackendError, BackendUnavailable
from synthesis.models import (
    BatchStatus,
    Chunk,
    ChunkStatus,
    Figure,
    GenerationFailure,
    Item,
    ItemStatus,
    Verification,
)
from tests.fixtures.builders import make_figure, make_figures
from tests.fixtures.fake_backends import BAD_OUTPUTS, fake_config

pytestmark = pytest.mark.django_db(transaction=True)


def launch(n=5, **config):
    return services.launch_batch(
        created_by=None, name="t", config=fake_config(**config), enqueue=None
    )


def run_all(batch):
    for chunk_id in batch.chunks.values_list("pk", flat=True):
        tasks.process_chunk(chunk_id)
    batch.refresh_from_db()
    return batch


def test_a_batch_on_the_fake_backend_makes_verified_kept_items():
    figures = make_figures(5)
    batch = run_all(launch(items_per_group=2))
    assert batch.status == BatchStatus.COMPLETED
    assert (batch.items_generated, batch.items_verified, batch.items_kept) == (
        10,
        10,
        10,
    )
    assert Verification.objects.filter(item__batch=batch).count() == 10
    item = Item.objects.filter(batch=batch).first()
    assert item.status == ItemStatus.KEPT
    assert (item.modality, item.anatomy) == ("CT", "Lung")
    assert item.generator_model == "fake-generator"
    assert list(item.figures.all()) in ([f] for f in figures)
    verdict = item.verifications.get()
    assert verdict.verifier_model == "fake-verifier" and verdict.rubric_version == "v1"
    assert len(verdict.criteria) == 17 and verdict.normalized_score == 1.0
    # The fake always answers "A"; the finished batch spreads keys evenly.
    assert Counter(Item.objects.values_list("answer", flat=True)) == dict.fromkeys(
        "ABCDE", 2
    )
    for moved in Item.objects.all():
        assert moved.options[moved.answer] == "Consolidation"


def test_config_is_snapshotted_in_full():
    make_figures(3)
    batch = launch(items_per_group=2)
    for key in (
        "generator",
        "verifier",
        "generator_prompt",
        "verifier_prompt",
        "rubric_version",
        "sampling",
        "items_per_group",
        "generation_retries",
        "keep_rule",
        "chunk_size",
        "image_long_side",
        "figure_filter",
    ):
        assert key in batch.config, key
    assert batch.config["sampling"]["seed"] == 42
    assert batch.chunks.count() == 2 and batch.figure_groups_total == 3


@pytest.mark.parametrize("mode", [*BAD_OUTPUTS, "mixed"])
def test_bad_generator_output_is_recorded_and_never_becomes_an_item(mode):
    make_figures(3)
    batch = run_all(launch(generator_mode=mode, generation_retries=2))
    assert Item.objects.filter(batch=batch).count() == 0
    failures = GenerationFailure.objects.filter(batch=batch)
    assert failures.count() == 3 * 3  # every group, every one of its 3 tries
    assert sorted(set(failures.values_list("attempt", flat=True))) == [1, 2, 3]
    for failure in failures:
        assert failure.raw_output in BAD_OUTPUTS.values()
        assert failure.reason
    if mode != "mixed":
        expected = {
            "prose": "unparseable",
            "invalid_json": "unparseable",
            "extra_fields": "extra_fields",
            "wrong_option_count": "wrong_option_count",
        }[mode]
        assert set(failures.values_list("reason", flat=True)) == {expected}
    assert batch.generation_failures == 9 and batch.status == BatchStatus.COMPLETED


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("garbage", "unparseable"),
        ("insufficient", "insufficient_evidence"),
        ("fail_gate", ""),
    ],
)
def test_a_bad_verdict_is_stored_and_the_item_is_dropped(mode, error):
    make_figures(2)
    batch = run_all(launch(verifier_mode=mode))
    verdicts = Verification.objects.filter(item__batch=batch)
    assert verdicts.count() == 2
    assert set(verdicts.values_list("error", "kept", "essentials_passed")) == {
        (error, False, False)
    }
    assert set(Item.objects.values_list("status", flat=True)) == {ItemStatus.DROPPED}
    assert batch.items_kept == 0


def test_running_a_chunk_twice_leaves_one_result_set():
    make_figures(2)
    batch = launch()
    chunk = batch.chunks.get()
    assert chunks.run(chunk_id=chunk.pk) == "done"
    assert chunks.run(chunk_id=chunk.pk) == "skipped"
    tasks.process_chunk(chunk.pk)
    assert Item.objects.count() == 2 and Verification.objects.count() == 2
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts) == (ChunkStatus.DONE, 1)


def test_running_a_chunk_twice_concurrently_leaves_one_result_set():
    make_figures(4)
    batch = launch(slow=True, chunk_size=4)
    chunk_id = batch.chunks.get().pk
    outcomes, errors = [], []

    def worker():
        try:
            outcomes.append(chunks.run(chunk_id=chunk_id))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == ["done", "skipped"]
    assert Item.objects.count() == 4 and Verification.objects.count() == 4


def test_only_the_latest_claim_may_write():
    make_figures(2)
    batch = launch()
    chunk = batch.chunks.get()
    stale = chunks.claim(chunk_id=chunk.pk)
    Chunk.objects.filter(pk=chunk.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh = chunks.claim(chunk_id=chunk.pk)
    assert fresh is not None and fresh.token != stale.token
    assert chunks._run_claimed(stale) == "superseded"
    assert Item.objects.count() == 0
    assert chunks._run_claimed(fresh) == "done"
    assert Item.objects.count() == 2


def test_backend_unavailable_releases_the_chunk_and_is_raised_for_retry():
    make_figures(2)
    batch = launch(generator_mode="unavailable")
    chunk = batch.chunks.get()
    with pytest.raises(BackendUnavailable):
        chunks.run(chunk_id=chunk.pk)
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts) == (ChunkStatus.PENDING, 0)
    assert "fake server is down" in chunk.last_error
    assert tasks.process_chunk.autoretry_for == (BackendUnavailable,)


def test_sweep_requeues_an_expired_lease_and_fails_after_k_tries(settings):
    make_figures(2)
    batch = launch(max_chunk_attempts=2, lease_seconds=60)
    chunk = batch.chunks.get()
    past = timezone.now() - timedelta(seconds=1)
    for attempt in (1, 2):
        assert chunks.claim(chunk_id=chunk.pk) is not None  # then the worker "dies"
        Chunk.objects.filter(pk=chunk.pk).update(lease_expires_at=past)
        assert services.sweep_expired_leases(enqueue=tasks.send_chunks) == 1
        chunk.refresh_from_db()
        assert chunk.attempts == attempt
    assert chunk.status == ChunkStatus.FAILED
    assert "giving up" in chunk.last_error
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert chunks.run(chunk_id=chunk.pk) == "skipped"


def test_a_live_lease_is_left_alone():
    make_figures(1)
    batch = launch()
    chunk = batch.chunks.get()
    chunks.claim(chunk_id=chunk.pk)
    assert services.sweep_expired_leases(enqueue=tasks.send_chunks) == 0
    assert chunks.run(chunk_id=chunk.pk) == "skipped"


def test_cancel_stops_new_chunks_and_resume_finishes_them():
    make_figures(4)
    batch = launch(chunk_size=1)
    first, *rest = batch.chunks.values_list("pk", flat=True)
    tasks.process_chunk(first)
    services.cancel_batch(batch_id=batch.pk)
    tasks.process_chunk(rest[0])
    assert Item.objects.count() == 1
    batch = services.resume_batch(batch_id=batch.pk, enqueue=tasks.send_chunks)
    assert batch.status == BatchStatus.QUEUED
    batch = run_all(batch)
    assert batch.status == BatchStatus.COMPLETED and Item.objects.count() == 4
    with pytest.raises(services.BatchConfigError, match="nothing left"):
        services.resume_batch(batch_id=batch.pk, enqueue=tasks.send_chunks)


def test_selection_by_modality_document_and_sample():
    make_figures(3)
    make_figure(color=(9, 9, 9), modality="MR")
    batch = services.launch_batch(
        created_by=None,
        name="mr",
        figure_filter={"modality": "MR"},
        config=fake_config(),
        enqueue=None,
    )
    assert batch.figure_groups_total == 1
    sampled = services.launch_batch(
        created_by=None,
        name="s",
        figure_filter={"sample": 2},
        config=fake_config(),
        enqueue=None,
    )
    assert sampled.figure_groups_total == 2
    with pytest.raises(services.BatchConfigError, match="no figures match"):
        services.launch_batch(
            created_by=None,
            name="x",
            figure_filter={"document": "nope"},
            config=fake_config(),
            enqueue=None,
        )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"items_per_group": 0}, "items_per_group"),
        ({"rubric_version": "v9"}, "rubric version"),
        ({"generator_prompt": "v9"}, "version 'v9'"),
        ({"keep_rule": {"min_score": 2}}, "min_score"),
        ({"generator": {"endpoint": "nonsense"}}, "unknown generator endpoint"),
    ],
)
def test_bad_config_is_refused_and_nothing_is_written(override, message):
    make_figures(1)
    with pytest.raises(services.BatchConfigError, match=message):
        launch(**override)
    assert not Chunk.objects.exists()


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("blank_stem", "empty_question"), ("repeated_options", "duplicate_options")],
)
def test_schema_valid_garbage_is_a_recorded_failure(mode, reason):
    make_figures(1)
    batch = run_all(launch(generator_mode=mode, generation_retries=0))
    assert Item.objects.count() == 0
    assert list(GenerationFailure.objects.values_list("reason", flat=True)) == [reason]
    assert "\x00" not in GenerationFailure.objects.get().raw_output
    assert batch.status == BatchStatus.COMPLETED


def test_nul_characters_never_reach_the_database():
    make_figures(1)
    batch = run_all(launch(generator_mode="nul", verifier_mode="schema_valid_garbage"))
    item = Item.objects.get(batch=batch)
    assert item.question == "qqqq qq qqqq?"
    assert item.options["A"] == "AA" and "\x00" not in item.raw_output
    verdict = item.verifications.get()
    assert verdict.error == "missing_criteria" and not verdict.kept
    assert item.status == ItemStatus.DROPPED


def test_rebalancing_bumps_the_version_of_moved_items_only():
    make_figures(5)
    run_all(launch())
    versions = dict(Item.objects.values_list("answer", "version"))
    assert versions == {"A": 1, "B": 2, "C": 2, "D": 2, "E": 2}


def test_sql_statements_per_chunk_do_not_grow_with_chunk_size():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (2, 8):
        figures = make_figures(size)
        batch = services.launch_batch(
            created_by=None,
            name=f"q{size}",
            figure_filter={"figure_ids": [f.pk for f in figures]},
            config=fake_config(chunk_size=size),
            enqueue=None,
        )
        with CaptureQueriesContext(connection) as captured:
            chunks.run(chunk_id=batch.chunks.get().pk)
        assert Item.objects.filter(batch=batch).count() == size
        counts.append(len(captured))
        # The next round's builder makes the same images again.
        Item.objects.filter(batch=batch).delete()
        Figure.objects.filter(pk__in=[f.pk for f in figures]).delete()
    assert counts[0] == counts[1]


def test_chunk_task_is_configured_for_redelivery_and_the_gpu_queue():
    task = tasks.process_chunk
    assert (task.acks_late, task.reject_on_worker_lost, task.ignore_result) == (
        True,
        True,
        True,
    )
    route = task.app.amqp.router.route({}, task.name)
    assert route["queue"].name == "gpu"
    assert task.autoretry_for == (BackendUnavailable,)
    assert task.retry_backoff and task.max_retries
    assert task.soft_time_limit < task.time_limit


def test_a_permanent_backend_error_fails_the_chunk_at_once_and_says_why(admin_client):
    make_figures(2)
    batch = launch(generator={"endpoint": "broken"})
    chunk = batch.chunks.get()
    with pytest.raises(BackendError):
        chunks.run(chunk_id=chunk.pk)
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.FAILED and chunk.attempts == 1
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    page = admin_client.get(f"/synthesis/batches/{batch.pk}/").content.decode()
    assert "model not found at /nowhere" in page and 'id="resume-batch"' in page


def test_openai_compat_roles_record_their_server_but_not_the_key(settings, monkeypatch):
    monkeypatch.setenv("MEDSYN_TEST_KEY", "sk-secret")
    remote = {
        "runtime": "openai_compat",
        "model": "served",
        "key_env": "MEDSYN_TEST_KEY",
        "context_length": 16384,
    }
    settings.MEDSYN_ENDPOINTS = {
        **settings.MEDSYN_ENDPOINTS,
        "gen": {**remote, "base_url": "http://shared:8000/v1", "roles": ["generator"]},
        "ver": {**remote, "base_url": "http://verifier:8002/v1", "roles": ["verifier"]},
    }
    make_figures(1)
    batch = launch(generator={"endpoint": "gen"}, verifier={"endpoint": "ver"})
    assert batch.config["generator"] == {
        "endpoint": "gen",
        "runtime": "openai_compat",
        "model": "served",
        "base_url": "http://shared:8000/v1",
        "context_length": 16384,
    }
    assert batch.config["verifier"]["base_url"] == "http://verifier:8002/v1"
    assert "sk-secret" not in str(batch.config)


def test_two_claims_racing_on_postgresql_admit_exactly_one(postgres):
    """The second UPDATE waits for the first to commit, then re-checks its
    conditions against the new row; it must then find the chunk taken."""
    import time

    from django.db import transaction

    make_figures(1)
    chunk_id = launch().chunks.get().pk
    claims, first_holds = {}, threading.Event()

    def first():
        with transaction.atomic():
            claims["first"] = chunks.claim(chunk_id=chunk_id)
            first_holds.set()
            time.sleep(0.5)  # the second claim blocks on this row meanwhile
        connection.close()

    def second():
        first_holds.wait()
        claims["second"] = chunks.claim(chunk_id=chunk_id)
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert claims["first"] is not None
    assert claims["second"] is None
    assert Chunk.objects.get(pk=chunk_id).attempts == 1
