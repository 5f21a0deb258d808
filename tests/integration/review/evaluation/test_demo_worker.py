"""An evaluation run on the demo endpoint, end to end through a real worker.

The demo model has random weights, so its accuracy means nothing; what this
proves is the bookkeeping on the real path: the same endpoint registry and
Celery runner as batches, every item answered once with its raw output kept,
letters read by the grading rules, counts and intervals from the rows.
"""

from __future__ import annotations

import pytest

from review.evaluation import grading, selectors, services, tasks
from review.evaluation.models import EvaluationRun, Prediction, RunStatus
from tests.fixtures.builders import make_evaluation_set
from tests.fixtures.services import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_demo_endpoint_run_completes_on_a_real_worker(admin_user, demo_model_dir):
    evaluation_set = make_evaluation_set(answers="ABCDE")
    env = {"MEDSYN_DEMO_MODEL_DIR": str(demo_model_dir)}
    with celery_worker(extra_env=env) as (_, queue):
        run = services.launch_run(
            created_by=admin_user,
            name="demo",
            evaluation_set_id=evaluation_set.pk,
            config={
                "endpoint": "demo",
                "queue": queue,
                "chunk_size": 2,
                "sampling": {"max_tokens": 12},
            },
            enqueue=tasks.send_slices,
        )
        wait_for(
            lambda: (
                EvaluationRun.objects.get(pk=run.pk).status
                in {RunStatus.COMPLETED, RunStatus.FAILED}
            ),
            timeout=240,
            interval=0.5,
            message="the demo-model evaluation never finished",
        )
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.config["endpoint"]["runtime"] == "hf_transformers"
    predictions = list(Prediction.objects.filter(run=run).select_related("item"))
    assert len(predictions) == run.items_done == run.items_total == 5
    for p in predictions:
        assert p.error == "" and p.completion_tokens <= 12
        graded = grading.grade(p.raw_output, p.item.options, p.item.answer)
        assert (p.letter, p.correct, p.strict_correct) == (
            graded.letter,
            graded.correct,
            graded.strict_correct,
        )
    results = selectors.results(run)
    correct = sum(p.correct for p in predictions)
    assert results.overall.correct == correct == run.items_correct
    assert results.overall.total == 5
    assert 0.0 <= results.overall.low <= results.overall.value <= results.overall.high
    assert results.unreadable == sum(1 for p in predictions if not p.letter)
