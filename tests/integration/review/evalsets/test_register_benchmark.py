"""Registering the six benchmarks from hand-made files in their own layouts."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from medsyn_app.audit.models import AuditEvent
from review.evalsets import embeddings, services
from review.evalsets.models import EvaluationItem, EvaluationSet, TextEmbedding
from tests.fixtures import benchmarks
from tests.fixtures.builders import patterned_png

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("benchmark", sorted(benchmarks.LAYOUTS))
def test_each_layout_registers_with_its_licence_and_split(tmp_path, benchmark):
    write, expected = benchmarks.LAYOUTS[benchmark]
    registered = services.register_benchmark(
        path=write(tmp_path),
        benchmark=benchmark,
        split="test",
        license="CC BY 4.0",
    )
    assert registered.item_count == expected
    assert (registered.split, registered.license) == ("test", "CC BY 4.0")
    items = list(registered.items.all())
    assert len(items) == expected
    for item in items:
        assert item.answer in item.options
        assert item.benchmark == benchmark
        assert item.item_images.count() >= 1
    assert registered.image_count == expected
    # Embedded once, at registration, under the text's content hash.
    keys = {i.text_sha256 for i in items}
    stored = TextEmbedding.objects.filter(model=embeddings.MODEL_NAME)
    assert set(stored.values_list("text_sha256", flat=True)) >= keys
    assert AuditEvent.objects.filter(action="evalsets.create").count() == 1


def test_closed_questions_become_two_option_items_and_open_ones_are_counted(
    tmp_path,
):
    registered = services.register_benchmark(
        path=benchmarks.slake(tmp_path), benchmark="slake", split="test"
    )
    answers = list(registered.items.values_list("options", "answer"))
    assert answers == [({"A": "yes", "B": "no"}, "A"), ({"A": "yes", "B": "no"}, "B")]
    assert registered.report["skipped"] == {"open_question": 1, "other_language": 1}


def test_multiple_choice_keeps_its_options_and_letters(tmp_path):
    registered = services.register_benchmark(
        path=benchmarks.pmc_vqa(tmp_path), benchmark="pmc_vqa", split="test"
    )
    first = registered.items.get(index=0)
    assert first.options == {
        "A": "Abscess",
        "B": "Haematoma",
        "C": "Cyst",
        "D": "Tumour",
    }
    assert [i.answer for i in registered.items.all()] == ["A", "B", "C", "D"]


def test_a_mixed_file_in_the_medsynvqa_layout_keeps_each_rows_benchmark(tmp_path):
    rows = []
    for i, name in enumerate(["pmc_vqa", "vqa_rad"]):
        rows.append(
            {
                "images": [{"bytes": None, "path": f"img{i}.png"}],
                "question": f"Question {i}?",
                "options": json.dumps({"A": "yes", "B": "no"}),
                "answer_label": "B",
                "dataset_name": name,
            }
        )
        (tmp_path / f"img{i}.png").write_bytes(patterned_png(900 + i))
    path = tmp_path / "medvlthinker_eval.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    registered = services.register_benchmark(path=path, benchmark="other", split="test")
    assert list(registered.items.values_list("benchmark", flat=True)) == [
        "pmc_vqa",
        "vqa_rad",
    ]


def test_registering_the_same_texts_again_embeds_nothing_new(tmp_path):
    services.register_benchmark(
        path=benchmarks.pathvqa(tmp_path), benchmark="pathvqa", split="test"
    )
    before = TextEmbedding.objects.count()
    services.register_benchmark(
        path=benchmarks.pathvqa(tmp_path), benchmark="pathvqa", split="test", name="B"
    )
    assert TextEmbedding.objects.count() == before
    assert EvaluationItem.objects.count() == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"benchmark": "imagenet"}, "benchmark must be one of"),
        ({"path": "missing.jsonl"}, "must be an existing .parquet or .jsonl"),
        ({"split": " "}, "needs its split"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(tmp_path, kwargs, message):
    arguments = {
        "path": benchmarks.pathvqa(tmp_path),
        "benchmark": "pathvqa",
        "split": "test",
    }
    arguments.update(kwargs)
    if "path" in kwargs:
        arguments["path"] = tmp_path / kwargs["path"]
    with pytest.raises(services.EvaluationSetError, match=message):
        services.register_benchmark(**arguments)
    assert not EvaluationSet.objects.exists()


def test_a_file_with_no_usable_row_is_refused(tmp_path):
    path = benchmarks.pathvqa(tmp_path)
    with pytest.raises(services.EvaluationSetError, match="no usable rows"):
        services.register_benchmark(path=path, benchmark="mmmu_med", split="test")


def test_the_command_registers_and_reports(tmp_path, capsys):
    call_command(
        "register_benchmark",
        str(benchmarks.vqa_rad(tmp_path)),
        "--benchmark",
        "vqa_rad",
        "--split",
        "test",
        "--license",
        "CC0",
    )
    assert "3 items" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "register_benchmark",
            str(benchmarks.vqa_rad(tmp_path)),
            "--benchmark",
            "vqa_rad",
            "--split",
            "test",
        )
