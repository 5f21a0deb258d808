"""An export's test split as an evaluation set: exactly what was exported."""

from __future__ import annotations

import json

import pytest

from review.evalsets.models import EvaluationSet
from review.evaluation import export_sets, services
from tests.fixtures.builders import make_accepted_item
from tests.integration.review.export.conftest import export_root, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def export(admin_user):
    for paper in range(10):
        make_accepted_item(
            document=f"PMC{paper:06d}", image_seed=paper, answer="ABCDE"[paper % 5]
        )
    return run(
        admin_user, formats=["jsonl"], ratios=[0.5, 0.2, 0.3], rebalance_letters=True
    )


def test_the_test_split_is_read_from_the_exported_files(export):
    evaluation_set = export_sets.split_set(export_id=export.pk, split="test")
    lines = (export_root(export) / "jsonl" / "test.jsonl").read_text().splitlines()
    exported = [json.loads(line) for line in lines]
    items = list(evaluation_set.items.order_by("index"))
    assert len(items) == len(exported) == export.manifest["splits"]["test"]["items"]
    for item, row in zip(items, exported, strict=True):
        assert (item.question, item.options, item.answer) == (
            row["question"],
            row["options"],
            row["answer_label"],
        )
        assert item.source_item_id == row["dataset_index"]
        image = item.item_images.get().image
        assert image.sha256 == row["image_sha256"][0]
        assert image.image.read()  # the figure's stored file, not a copy
    assert (evaluation_set.kind, evaluation_set.export_id) == (
        "export_split",
        export.pk,
    )


def test_the_split_is_made_once_and_reused(export):
    first = export_sets.split_set(export_id=export.pk, split="test")
    again = export_sets.split_set(export_id=export.pk, split="test")
    assert first.pk == again.pk
    assert EvaluationSet.objects.count() == 1


def test_a_run_can_target_an_export_split_directly(export):
    launched = services.launch_run(
        created_by=None,
        name="on the split",
        config={"endpoint": "fake-answerer"},
        enqueue=None,
        export_id=export.pk,
        split="test",
    )
    assert launched.evaluation_set.export_id == export.pk
    assert launched.items_total == export.manifest["splits"]["test"]["items"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "train"}, "split must be one of"),
        ({"export_id": 999}, "not a finished export"),
    ],
)
def test_bad_split_requests_say_why(export, kwargs, message):
    arguments = {"export_id": export.pk, "split": "test", **kwargs}
    with pytest.raises(export_sets.ExportSplitError, match=message):
        export_sets.split_set(**arguments)


def test_an_export_split_run_has_no_mean_over_benchmarks(export):
    from review.evaluation import selectors, tasks

    launched = services.launch_run(
        created_by=None,
        name="on the split",
        config={"endpoint": "fake-answerer"},
        enqueue=None,
        export_id=export.pk,
        split="test",
    )
    tasks.evaluate_items(launched.pk, services.pending_item_ids(launched))
    results = selectors.results(launched)
    assert results.overall.total == launched.items_total
    assert results.mean_over_benchmarks is None
