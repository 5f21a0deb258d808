"""The evaluation pages, API and command: launch, watch, table, compare."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from review.evaluation import services, tasks
from review.evaluation.models import EvaluationRun, RunStatus
from tests.fixtures.builders import make_evaluation_set

pytestmark = pytest.mark.django_db


def finished_run(evaluation_set, endpoint: str) -> EvaluationRun:
    run = services.launch_run(
        created_by=None,
        name=f"{endpoint} run",
        evaluation_set_id=evaluation_set.pk,
        config={"endpoint": endpoint},
        enqueue=None,
    )
    tasks.evaluate_items(run.pk, services.pending_item_ids(run))
    return EvaluationRun.objects.get(pk=run.pk)


def test_launch_page_queues_a_run_on_a_registered_endpoint(
    admin_client, django_capture_on_commit_callbacks
):
    evaluation_set = make_evaluation_set()
    page = admin_client.get(reverse("evaluation:launch"))
    html = page.content.decode()
    assert 'value="fake-answerer"' in html and 'value="fake-generator"' not in html
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("evaluation:launch"),
            {
                "name": "From the page",
                "endpoint": "fake-answerer",
                "evaluation_set": evaluation_set.pk,
                "split": "test",
                "prompt": "rl",
                "max_tokens": 64,
                "temperature": 0,
                "top_p": 1,
                "seed": 1,
            },
        )
    run = EvaluationRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(
        f"/runs/{run.pk}/"
    )
    assert run.config["sampling"]["max_tokens"] == 64
    assert len(callbacks) == 1  # the slices go to Celery once committed


def test_launch_page_shows_why_a_launch_is_refused(admin_client):
    response = admin_client.post(
        reverse("evaluation:launch"),
        {
            "name": "x",
            "endpoint": "fake-answerer",
            "prompt": "rl",
            "max_tokens": 8,
            "temperature": 0,
            "top_p": 1,
            "split": "test",
        },
    )
    assert response.status_code == 200
    assert "Pick an evaluation set or an export" in response.content.decode()
    assert not EvaluationRun.objects.exists()


def test_run_page_shows_results_and_untrusted_output_escaped(admin_client):
    run = finished_run(make_evaluation_set(answers="AAB"), "fake-answerer")
    run.predictions.update(raw_output="<script>alert(1)</script><answer>A</answer>")
    html = admin_client.get(reverse("evaluation:run", args=[run.pk])).content.decode()
    assert "66.67%" in html and "Wilson 95% interval" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    partial = admin_client.get(
        reverse("evaluation:run", args=[run.pk]), headers={"HX-Request": "true"}
    )
    assert 'id="run-progress"' in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_home_table_has_one_row_per_model_and_the_benchmark_mean(admin_client):
    first = make_evaluation_set("Bench one", answers="AAAA")
    second = make_evaluation_set("Bench two", answers="AABB", seed=8000)
    finished_run(first, "fake-answerer")
    finished_run(second, "fake-answerer")
    finished_run(second, "fake-answerer-b")
    html = admin_client.get(reverse("evaluation:home")).content.decode()
    table = html[html.index('id="runs-table"') : html.index('id="run-list"')]
    assert table.count("<tr>") == 3  # header + two endpoints
    assert "75.0" in table  # fake-answerer: mean of 100 and 50


def test_compare_page_pairs_runs_and_lists_changed_items(admin_client):
    evaluation_set = make_evaluation_set(answers="AABBB")
    a = finished_run(evaluation_set, "fake-answerer")
    b = finished_run(evaluation_set, "fake-answerer-b")
    html = admin_client.get(
        reverse("evaluation:compare"), {"first": a.pk, "second": b.pk}
    ).content.decode()
    assert 'id="only-first">2<' in html and 'id="only-second">3<' in html
    assert 'id="p-value">1.0000<' in html
    assert html.count("Question ") >= 5
    other = finished_run(make_evaluation_set("Other", seed=9000), "fake-answerer")
    refused = admin_client.get(
        reverse("evaluation:compare"), {"first": a.pk, "second": other.pk}
    ).content.decode()
    assert "different evaluation sets" in refused


def test_cancel_and_resume_from_the_page(admin_client):
    run = services.launch_run(
        created_by=None,
        name="page",
        evaluation_set_id=make_evaluation_set().pk,
        config={"endpoint": "fake-answerer"},
        enqueue=None,
    )
    admin_client.post(reverse("evaluation:cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    admin_client.post(reverse("evaluation:resume", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED


def test_api_launches_reads_and_compares(admin_client):
    evaluation_set = make_evaluation_set(answers="AB")
    response = admin_client.post(
        reverse("evaluation:api-runs"),
        {
            "name": "api",
            "endpoint": "fake-answerer",
            "evaluation_set": evaluation_set.pk,
            "sampling": {"max_tokens": 32},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    run_id = response.json()["id"]
    tasks.evaluate_items(
        run_id, services.pending_item_ids(EvaluationRun.objects.get(pk=run_id))
    )
    detail = admin_client.get(reverse("evaluation:api-run", args=[run_id])).json()
    assert detail["status"] == "completed"
    assert detail["results"]["accuracy"]["correct"] == 1
    assert detail["results"]["by"]["benchmark"][0]["group"] == "PMC-VQA"
    other = finished_run(evaluation_set, "fake-answerer-b")
    compared = admin_client.get(
        reverse("evaluation:api-compare"), {"first": run_id, "second": other.pk}
    ).json()
    assert (compared["only_first"], compared["only_second"]) == (1, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endpoint": "nope"}, "endpoint"),
        ({"endpoint": "fake-generator"}, "endpoint"),
        (
            {"endpoint": "fake-answerer", "sampling": {"max_tokens": -1}},
            "sampling.max_tokens",
        ),
        ({"endpoint": "fake-answerer", "sampling": {"api_key": "x"}}, "sampling"),
        ({"endpoint": "fake-answerer", "evaluation_set": 999}, "evaluation_set"),
        ({"endpoint": "fake-answerer", "export": 999}, "export"),
    ],
)
def test_api_refuses_bad_input_naming_the_field(admin_client, body, field):
    evaluation_set = make_evaluation_set()
    payload = {"name": "bad", "evaluation_set": evaluation_set.pk, **body}
    if "export" in body:
        payload.pop("evaluation_set")
    response = admin_client.post(
        reverse("evaluation:api-runs"), payload, content_type="application/json"
    )
    assert response.status_code == 400
    errors = response.json()
    for part in field.split("."):
        assert part in errors, (field, response.json())
        errors = errors[part]
    assert not EvaluationRun.objects.exists()


def test_command_runs_in_process_and_prints_the_interval(capsys):
    evaluation_set = make_evaluation_set(answers="AAAB")
    call_command(
        "evaluate",
        "--endpoint",
        "fake-answerer",
        "--set",
        str(evaluation_set.pk),
        "--sync",
    )
    out = capsys.readouterr().out
    assert "Completed: 4 items, accuracy 75.0%" in out and "95% CI" in out
    with pytest.raises(CommandError, match="unknown endpoint"):
        call_command("evaluate", "--endpoint", "x", "--set", str(evaluation_set.pk))
