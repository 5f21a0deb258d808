"""A batch against a verifier server whose context is too small pauses within
its first requests, and the batch page says why and what to do (issue 16).

Real browser, real Celery worker, real HTTP to two local fake vLLM servers.
"""

from __future__ import annotations

import json

import pytest

from synthesis.models import Batch, BatchStatus
from tests.fixtures.builders import PASSWORD, make_figures
from tests.fixtures.fake_openai_server import FakeOpenAIServer
from tests.fixtures.services import celery_worker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_a_verifier_context_too_small_pauses_the_batch_on_screen(
    page, live_server, login, admin_user, settings
):
    make_figures(6)
    with (
        FakeOpenAIServer(model="gen", max_model_len=8192) as generator,
        FakeOpenAIServer(model="ver", max_model_len=1024) as verifier,
    ):
        extra = {
            "e2e-generator": {
                "runtime": "openai_compat",
                "base_url": generator.base_url,
                "model": "gen",
                "roles": ["generator"],
                "label": "fake vLLM generator",
            },
            "e2e-verifier": {
                "runtime": "openai_compat",
                "base_url": verifier.base_url,
                "model": "ver",
                "roles": ["verifier"],
                "label": "fake vLLM verifier, 1,024-token context",
            },
        }
        settings.MEDSYN_ENDPOINTS = {**settings.MEDSYN_ENDPOINTS, **extra}
        env = {"MEDSYN_TEST_ENDPOINTS": json.dumps(extra)}
        with celery_worker(extra_env=env) as (_, queue):
            settings.MEDSYN_SYNTHESIS_QUEUE = queue
            login("alice", PASSWORD)
            page.goto(f"{live_server.url}/synthesis/batches/new/")
            page.fill("#id_name", "Too small")
            page.select_option("#id_generator_endpoint", "e2e-generator")
            page.select_option("#id_verifier_endpoint", "e2e-verifier")
            page.fill("#id_chunk_size", "2")
            page.click("button:has-text('Launch')")
            page.wait_for_selector("h1:has-text('Too small')")
            # The progress panel polls through htmx until the batch stops.
            page.wait_for_selector("#batch-status:has-text('Paused')", timeout=60_000)
            banner = page.inner_text("#batch-status-reason")
            assert "verifier server's context is 1,024 tokens" in banner
            assert "--max-model-len" in banner
            assert page.locator("#resume-batch").count() == 1
    # Within its first requests: one chunk's generations, no verifier request.
    assert verifier.requests == []
    assert generator.request_count == 2
    batch = Batch.objects.get(name="Too small")
    assert batch.status == BatchStatus.PAUSED and batch.items_generated == 0
