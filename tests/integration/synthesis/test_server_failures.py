"""Batches against OpenAI-compatible servers that refuse requests (issue 16, item 2).

The servers are the local fake vLLM (real HTTP); the batch, chunks, failure
rows, audit trail and batch page are the real ones.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from synthesis import chunks, services
from synthesis.models import (
    Batch,
    BatchStatus,
    ChunkStatus,
    GenerationFailure,
    Item,
    Verification,
)
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_openai_server import (
    FakeOpenAIServer,
    Reply,
    chat_body,
    error_body,
    is_verifier,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def servers(settings):
    """A generator server with room to spare and a verifier server whose
    context is too small for a verifier prompt (about 1,200 tokens here)."""
    with (
        FakeOpenAIServer(model="gen", max_model_len=8192) as generator,
        FakeOpenAIServer(model="ver", max_model_len=1024) as verifier,
    ):
        settings.MEDSYN_ENDPOINTS = {
            **settings.MEDSYN_ENDPOINTS,
            "gen-server": {
                "runtime": "openai_compat",
                "base_url": generator.base_url,
                "model": "gen",
                "roles": ["generator"],
            },
            "small-verifier": {
                "runtime": "openai_compat",
                "base_url": verifier.base_url,
                "model": "ver",
                "context_length": 4096,  # the registry is wrong; the server wins
                "roles": ["verifier"],
            },
            "big-verifier": {
                "runtime": "openai_compat",
                "base_url": generator.base_url,
                "model": "gen",
                "roles": ["verifier"],
            },
        }
        yield generator, verifier


def launch(verifier: str = "small-verifier", **config) -> Batch:
    return services.launch_batch(
        created_by=None,
        name="t",
        config={
            "generator": {"endpoint": "gen-server"},
            "verifier": {"endpoint": verifier},
            "chunk_size": 4,
            **config,
        },
        enqueue=None,
    )


def test_a_verifier_context_too_small_pauses_the_batch_with_cause_and_fix(
    servers, admin_client
):
    generator, verifier = servers
    make_figures(8)
    batch = launch()
    first, second = batch.chunks.order_by("index")

    assert chunks.run(chunk_id=first.pk) == "paused"

    batch.refresh_from_db()
    assert batch.status == BatchStatus.PAUSED
    reason = batch.status_reason
    assert "verifier server's context is 1,024 tokens" in reason
    assert "--max-model-len" in reason
    assert verifier.requests == []  # refused before sending: nothing reached it
    assert generator.request_count == 4  # only the first chunk's requests
    # Nothing of the chunk was written; it waits for the resume.
    first.refresh_from_db()
    assert first.status == ChunkStatus.PENDING and first.attempts == 0
    assert not Item.objects.exists()
    # The rest of the batch is not handed out while paused.
    assert chunks.run(chunk_id=second.pk) == "skipped"
    # The pause is in the audit trail, by MedSyn itself.
    event = AuditEvent.objects.get(action="batch.pause")
    assert event.actor is None and event.object_id == str(batch.pk)
    assert event.after["reason"] == reason
    # What the server said it serves, with the registry's mismatch.
    info = batch.server_info["verifier"]
    assert info["context_length"] == 1024 and "context_length=4,096" in info["mismatch"]

    page = admin_client.get(reverse("synthesis:batch_detail", args=[batch.pk]))
    html = page.content.decode()
    assert "verifier server&#x27;s context is 1,024 tokens" in html
    assert 'id="batch-status-reason"' in html and 'id="resume-batch"' in html
    assert "context_length=4,096" in html


def test_an_admin_resumes_a_paused_batch_and_it_runs(servers, admin_client):
    make_figures(2)
    batch = launch()
    (chunk,) = batch.chunks.all()
    assert chunks.run(chunk_id=chunk.pk) == "paused"
    # The operator points the batch's verifier at a server with room.
    Batch.objects.filter(pk=batch.pk).update(
        config={**batch.config, "verifier": {"endpoint": "big-verifier"}}
    )

    admin_client.post(reverse("synthesis:batch_resume", args=[batch.pk]))

    batch.refresh_from_db()
    assert batch.status == BatchStatus.QUEUED and batch.status_reason == ""
    resumed = AuditEvent.objects.get(action="batch.resume")
    assert resumed.actor.username == "alice"
    assert resumed.before["status"] == BatchStatus.PAUSED
    assert chunks.run(chunk_id=chunk.pk) == "done"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and batch.items_kept == 2


def test_a_400_is_not_retried_by_the_pipeline_and_its_message_is_stored(
    servers, admin_client
):
    generator, _ = servers
    make_figures(2)
    batch = launch(verifier="big-verifier", chunk_size=2)
    generator.fail(400, "top_p must be in (0, 1], got 7.0.")

    assert chunks.run(chunk_id=batch.chunks.get().pk) == "done"

    failure = GenerationFailure.objects.get()  # one row: attempt 1, no retry
    assert failure.attempt == 1 and failure.reason == "backend_error"
    assert failure.http_status == 400 and failure.cause == "refused"
    assert failure.server_message == "top_p must be in (0, 1], got 7.0."
    assert failure.prompt_tokens and failure.prompt_tokens > 256
    # Two generation requests: the refused one was not sent again.
    assert len([r for r in generator.requests if not is_verifier(r)]) == 2
    assert Item.objects.count() == 1
    page = admin_client.get(reverse("synthesis:batch_detail", args=[batch.pk]))
    html = page.content.decode()
    assert 'id="failure-groups"' in html
    assert "server refuses the request" in html
    assert "top_p must be in (0, 1], got 7.0." in html


def test_a_verifier_refusal_after_successes_is_stored_not_paused(servers):
    generator, _ = servers
    make_figures(2)
    batch = launch(verifier="big-verifier", chunk_size=1)
    first, second = batch.chunks.order_by("index")
    assert chunks.run(chunk_id=first.pk) == "done"
    # Generation succeeds, then the verifier (same server) says no.
    refused = Reply(status=400, body=error_body("guided_json is not supported"))
    generator.intercept = lambda payload: refused if is_verifier(payload) else None
    assert chunks.run(chunk_id=second.pk) == "done"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    failed = Verification.objects.exclude(error="").get()
    assert failed.http_status == 400 and failed.cause == "schema_refused"
    assert failed.server_message == "guided_json is not supported"
    assert "HTTP 400" in failed.error_detail


# -- item 4: distinct samples -----------------------------------------------------


def test_several_items_per_group_are_sampled_warm_and_differ(servers):
    generator, _ = servers
    make_figures(2)
    batch = launch(verifier="big-verifier", items_per_group=3, chunk_size=2)
    assert batch.config["sampling"]["temperature"] == 0.7

    assert chunks.run(chunk_id=batch.chunks.get().pk) == "done"

    generations = [r for r in generator.requests if not is_verifier(r)]
    assert {r["temperature"] for r in generations} == {0.7}
    assert len({r["seed"] for r in generations}) == 3  # one seed per sample
    assert Item.objects.count() == 6
    for key in Item.objects.values_list("group_key", flat=True).distinct():
        questions = Item.objects.filter(group_key=key).values_list(
            "question", flat=True
        )
        assert len(set(questions)) == 3
    assert not GenerationFailure.objects.exists()


def test_identical_samples_of_a_group_are_dropped_with_a_reason(servers):
    generator, _ = servers
    make_figures(1)
    batch = launch(verifier="big-verifier", items_per_group=3, chunk_size=1)
    same = {
        "question": "Which finding is shown in the left lower zone of this image?",
        "options": {
            "A": "consolidation",
            "B": "effusion",
            "C": "pneumothorax",
            "D": "nodule",
            "E": "edema",
        },
        "answer": "A",
    }
    # The server says the same thing every time (a cached or greedy backend).
    generator.intercept = lambda payload: (
        None
        if is_verifier(payload)
        else Reply(body=chat_body(json.dumps(same), prompt_tokens=400))
    )

    assert chunks.run(chunk_id=batch.chunks.get().pk) == "done"

    # The samples stream: the one answered first is kept, the others dropped.
    (item,) = Item.objects.all()
    dropped = GenerationFailure.objects.order_by("sample_index")
    assert sorted([item.sample_index, *(f.sample_index for f in dropped)]) == [0, 1, 2]
    assert {f.reason for f in dropped} == {"near_duplicate"}
    kept = f"100% alike (question and options) to sample {item.sample_index}"
    assert all(kept in f.detail for f in dropped)
    # Dropped, not retried: three generation requests in all.
    assert len([r for r in generator.requests if not is_verifier(r)]) == 3


def test_the_api_shows_failure_groups_and_what_each_server_serves(
    servers, admin_client
):
    generator, _ = servers
    make_figures(2)
    batch = launch(verifier="big-verifier", chunk_size=2)
    generator.fail(400, "top_p must be in (0, 1], got 7.0.")
    chunks.run(chunk_id=batch.chunks.get().pk)

    body = admin_client.get(reverse("synthesis:api_batch", args=[batch.pk])).json()

    (group,) = body["failure_groups"]
    assert group["stage"] == "generation" and group["http_status"] == 400
    assert group["cause"] == "refused" and group["count"] == 1
    assert group["example"] == "top_p must be in (0, 1], got 7.0."
    assert body["server_info"]["generator"]["max_model_len"] == 8192
