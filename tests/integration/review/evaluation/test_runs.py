"""Evaluation runs: launch, answer slices (twice), cancel, resume, fail, grade."""

from __future__ import annotations

import pytest

from medsyn_app.audit.models import AuditEvent
from review.evaluation import selectors, services, tasks
from review.evaluation.config import EvaluationConfigError
from review.evaluation.models import EvaluationRun, Prediction, RunStatus
from synthesis.backends.base import BackendError, BackendUnavailable
from tests.fixtures.builders import make_evaluation_set

pytestmark = pytest.mark.django_db


class Queue:
    """Collects what a launch or resume would send to Celery."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, list[list[int]], str]] = []

    def __call__(self, run_id, slices, queue) -> None:
        self.sent.append((run_id, [list(s) for s in slices], queue))

    def run_all(self) -> None:
        while self.sent:
            run_id, slices, _ = self.sent.pop(0)
            for item_ids in slices:
                tasks.evaluate_items(run_id, item_ids)


def launch(evaluation_set, endpoint="fake-answerer", queue=None, **config):
    queue = queue if queue is not None else Queue()
    run = services.launch_run(
        created_by=None,
        name=f"{endpoint} on {evaluation_set.name}",
        evaluation_set_id=evaluation_set.pk,
        config={"endpoint": endpoint, "chunk_size": 2, **config},
        enqueue=queue,
    )
    return run, queue


def test_a_run_answers_every_item_once_even_when_slices_run_twice(
    django_capture_on_commit_callbacks,
):
    evaluation_set = make_evaluation_set(answers="ABCAB")
    with django_capture_on_commit_callbacks(execute=True):
        run, queue = launch(evaluation_set)
    (run_id, slices, queue_name) = queue.sent[0]
    assert [len(s) for s in slices] == [2, 2, 1] and queue_name == "gpu"
    for item_ids in slices + slices:  # every slice delivered twice
        tasks.evaluate_items(run_id, item_ids)
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert (run.items_total, run.items_done, run.items_correct) == (5, 5, 2)
    assert Prediction.objects.filter(run=run).count() == 5
    prediction = Prediction.objects.filter(run=run).first()
    assert prediction.raw_output.startswith("<think>")
    assert (prediction.letter, prediction.source) == ("A", "answer_tag")
    assert prediction.format_ok
    events = AuditEvent.objects.filter(
        object_type="evaluation.evaluationrun", object_id=str(run.pk)
    )
    actions = list(events.order_by("id").values_list("action", flat=True))
    assert actions == ["evaluation.launch", "evaluation.start", "evaluation.complete"]


def test_results_carry_wilson_intervals_and_the_mean_over_benchmarks(
    django_capture_on_commit_callbacks,
):
    evaluation_set = make_evaluation_set(
        answers="AAAB", benchmarks=["pmc_vqa", "pmc_vqa", "vqa_rad", "vqa_rad"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        run, queue = launch(evaluation_set)
    queue.run_all()
    results = selectors.results(EvaluationRun.objects.get(pk=run.pk))
    assert results.overall.correct == 3 and results.overall.total == 4
    assert results.overall.low < 0.75 < results.overall.high
    by_benchmark = dict(results.breakdowns["benchmark"])
    assert by_benchmark["PMC-VQA"].percent == 100.0
    assert by_benchmark["VQA-RAD (closed)"].percent == 50.0
    assert results.mean_over_benchmarks == 75.0
    assert dict(results.breakdowns["modality"])["CT"].total == 4
    assert results.strict.correct == 3


def test_the_lenient_regrade_reads_prose_the_strict_rule_does_not(
    django_capture_on_commit_callbacks,
):
    evaluation_set = make_evaluation_set(answers="BB")
    with django_capture_on_commit_callbacks(execute=True):
        run, queue = launch(evaluation_set, endpoint="fake-answerer-prose")
    queue.run_all()
    rows = list(
        Prediction.objects.filter(run=run).values_list(
            "letter", "source", "correct", "strict_correct", "format_ok"
        )
    )
    assert rows == [("B", "answer_phrase", True, False, False)] * 2


def test_the_sft_prompt_asks_for_the_letter(django_capture_on_commit_callbacks):
    evaluation_set = make_evaluation_set(answers="AB")
    with django_capture_on_commit_callbacks(execute=True):
        run, queue = launch(
            evaluation_set, endpoint="fake-answerer-letter", prompt="sft"
        )
    queue.run_all()
    run.refresh_from_db()
    assert run.config["prompt"] == "sft" and run.items_correct == 1


def test_cancel_stops_the_queued_slices_and_resume_finishes_the_rest(
    django_capture_on_commit_callbacks,
):
    evaluation_set = make_evaluation_set(answers="ABCAB")
    with django_capture_on_commit_callbacks(execute=True):
        run, queue = launch(evaluation_set)
    run_id, slices, _ = queue.sent.pop()
    tasks.evaluate_items(run_id, slices[0])
    services.cancel_run(run_id=run.pk)
    assert services.evaluate_items(run_id=run.pk, item_ids=slices[1]) == "skipped"
    run.refresh_from_db()
    assert (run.status, run.items_done) == (RunStatus.CANCELLED, 2)
    assert selectors.progress(run)["can_resume"]
    with django_capture_on_commit_callbacks(execute=True):
        services.resume_run(run_id=run.pk, enqueue=queue)
    assert sum(len(s) for s in queue.sent[0][1]) == 3
    queue.run_all()
    run.refresh_from_db()
    assert (run.status, run.items_done) == (RunStatus.COMPLETED, 5)
    with pytest.raises(services.EvaluationError, match="nothing left"):
        services.resume_run(run_id=run.pk, enqueue=queue)
    assert AuditEvent.objects.filter(action="evaluation.cancel").count() == 1
    assert AuditEvent.objects.filter(action="evaluation.resume").count() == 1


def test_a_running_run_cannot_be_resumed(django_capture_on_commit_callbacks):
    run, queue = launch(make_evaluation_set())
    with pytest.raises(services.EvaluationError, match="already running"):
        services.resume_run(run_id=run.pk, enqueue=queue)


def test_a_broken_endpoint_fails_the_run_with_its_reason(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        run, queue = launch(make_evaluation_set(), endpoint="fake-answerer-broken")
    run_id, slices, _ = queue.sent.pop()
    with pytest.raises(BackendError):
        tasks.evaluate_items(run_id, slices[0])
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "model not found" in run.error
    assert not Prediction.objects.exists()
    assert AuditEvent.objects.filter(action="evaluation.fail").exists()


def test_an_unavailable_endpoint_is_retried_and_writes_nothing(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        run, queue = launch(make_evaluation_set(), endpoint="fake-answerer-down")
    run_id, slices, _ = queue.sent.pop()
    with pytest.raises(BackendUnavailable):
        services.evaluate_items(run_id=run_id, item_ids=slices[0])
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.items_done == 0


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"endpoint": "nope"}, "config.endpoint"),
        ({"endpoint": "fake-generator"}, "config.endpoint"),
        ({"endpoint": "demo", "prompt": "cot"}, "config.prompt"),
        (
            {"endpoint": "demo", "sampling": {"max_tokens": 0}},
            "config.sampling.max_tokens",
        ),
        (
            {"endpoint": "demo", "sampling": {"temperature": "hot"}},
            "config.sampling.temperature",
        ),
        ({"endpoint": "demo", "base_url": "http://x"}, "config.base_url"),
        ({"endpoint": "demo", "chunk_size": 0}, "config.chunk_size"),
    ],
)
def test_a_launch_names_only_registered_evaluation_endpoints(config, field):
    evaluation_set = make_evaluation_set()
    with pytest.raises(EvaluationConfigError) as caught:
        services.launch_run(
            created_by=None,
            name="x",
            evaluation_set_id=evaluation_set.pk,
            config=config,
            enqueue=None,
        )
    assert caught.value.field == field
    assert not EvaluationRun.objects.exists()


def test_the_run_records_its_endpoints_provenance_not_a_key():
    run, _ = launch(make_evaluation_set(), endpoint="demo")
    assert run.config["endpoint"] == {
        "endpoint": "demo",
        "runtime": "hf_transformers",
        "model": "",
        "base_url": "",
        "context_length": None,
    }
