"""The whole pipeline on the real demo model, through a real Celery worker.

The demo model has random weights, so its questions are meaningless; what this
proves is the real path: the worker loads the model from disk, every request
is JSON-schema constrained, the output is parsed and checked, the verifier's
answer is scored, and every figure group ends up accounted for.
"""

from __future__ import annotations

import pytest

from synthesis import services, tasks
from synthesis.backends import demo_model
from synthesis.models import (
    Batch,
    BatchStatus,
    Chunk,
    ChunkStatus,
    GenerationFailure,
    Item,
    Verification,
)
from tests.fixtures.builders import make_figures
from tests.fixtures.services import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_batch_on_the_demo_model_completes_on_a_real_worker(
    admin_user, demo_model_dir
):
    figures = make_figures(2)
    env = {"MEDSYN_DEMO_MODEL_DIR": str(demo_model_dir)}
    with celery_worker(extra_env=env) as (_, queue):
        batch = services.launch_batch(
            created_by=admin_user,
            name="demo model",
            config={
                "generator": {"endpoint": "demo"},
                "verifier": {"endpoint": "demo"},
                "queue": queue,
                "chunk_size": 2,
                "generation_retries": 0,
                "sampling": {"max_tokens": 768},
            },
            enqueue=tasks.send_chunks,
        )
        wait_for(
            lambda: (
                Batch.objects.get(pk=batch.pk).status
                in {BatchStatus.COMPLETED, BatchStatus.FAILED}
            ),
            timeout=240,
            interval=0.5,
            message="the demo-model batch never finished",
        )
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    assert set(Chunk.objects.filter(batch=batch).values_list("status", flat=True)) == {
        ChunkStatus.DONE
    }
    assert batch.config["generator"]["runtime"] == "hf_transformers"

    # Every group is accounted for: an item or a recorded failure with raw text.
    items = list(Item.objects.filter(batch=batch))
    failures = list(GenerationFailure.objects.filter(batch=batch))
    done_groups = {i.group_key for i in items} | {f.group_key for f in failures}
    assert done_groups == {f.group_key for f in figures}
    assert all(f.raw_output and f.reason for f in failures)
    for item in items:
        assert item.generator_model == demo_model.MODEL_NAME
        assert item.answer in "ABCDE" and len(item.options) == 5
        verification = Verification.objects.get(item=item)
        assert verification.verifier_model == demo_model.MODEL_NAME
        # Random weights: the verdict is an error or a low score, never a keep.
        assert not verification.kept
