"""Every export is checked against every registered benchmark, unasked:
by text, by pHash and by meaning (sentence embeddings)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from review.export import services
from review.export.contamination import EvalIndex
from review.models import Export
from tests.fixtures.builders import make_accepted_item, patterned_png
from tests.integration.review.export.conftest import run

pytestmark = pytest.mark.django_db

CHEST = {
    "A": "Pneumothorax",
    "B": "Pleural effusion",
    "C": "Pulmonary nodule",
    "D": "Mass",
    "E": "Atelectasis",
}
STAIN = {"A": "H&E", "B": "PAS", "C": "Trichrome", "D": "Silver", "E": "Congo red"}
EXPORTED = (
    "Which abnormality is visible in the left upper lobe on this chest radiograph?"
)
PARAPHRASE = (
    "On this chest X-ray, what finding can be seen in the upper lobe of the left lung?"
)
COPIED = "What staining technique was used for this histology section?"


@pytest.fixture
def items(admin_user):
    """A paraphrased item, a copied item, an item sharing an image, a clean one."""
    return {
        "paraphrased": make_accepted_item(
            document="PMC700001", image_seed=71, question=EXPORTED, options=CHEST
        ),
        "copied": make_accepted_item(
            document="PMC700002", image_seed=72, question=COPIED, options=STAIN
        ),
        "same_image": make_accepted_item(
            document="PMC700003",
            image_seed=73,
            question="Which bone is fractured on this wrist film?",
        ),
        "clean": make_accepted_item(
            document="PMC700004",
            image_seed=74,
            question="Which nerve supplies the thenar muscles?",
        ),
    }


@pytest.fixture
def benchmark(tmp_path, items):
    """A registered benchmark planting each kind of overlap."""
    from review.evalsets import services as evalsets

    rows = [
        (PARAPHRASE, CHEST, patterned_png(81)),
        (COPIED, STAIN, patterned_png(82)),
        ("Is there a fracture in this image?", {"A": "yes", "B": "no"}, None),
        ("Which vessel is occluded here?", CHEST, patterned_png(84)),
    ]
    lines = []
    for i, (question, options, image) in enumerate(rows):
        name = f"b{i}.png"
        # Row 2 reuses the exported wrist film's bytes.
        data = image or items["same_image"].figures.get().image.read()
        (tmp_path / name).write_bytes(data)
        lines.append(
            json.dumps(
                {
                    "question": question,
                    "options": options,
                    "answer_label": "A",
                    "images": [name],
                }
            )
        )
    path = tmp_path / "planted.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return evalsets.register_benchmark(
        path=path, benchmark="other", split="test", name="Planted bench"
    )


def _pairs(export) -> set[tuple[int, str, int]]:
    report = export.manifest["contamination"]
    return {(p["item_id"], p["kind"], p["eval_index"]) for p in report["pairs"]}


def test_an_export_is_checked_against_registered_benchmarks_unasked(
    admin_user, items, benchmark
):
    export = run(admin_user)
    assert export.settings["benchmark_ids"] == [benchmark.pk]
    report = export.manifest["contamination"]
    assert report["references"] == [
        {
            "name": "Planted bench",
            "kind": "benchmark",
            "id": benchmark.pk,
            "items": 4,
            "images": 4,
        }
    ]
    pairs = _pairs(export)
    assert (items["copied"].pk, "text", 1) in pairs
    assert (items["same_image"].pk, "image", 2) in pairs
    assert (items["paraphrased"].pk, "meaning", 0) in pairs
    assert not {p for p in pairs if p[0] == items["clean"].pk}
    assert report["items_with_image_within"]["4"] >= 1
    eval_item_ids = {p["eval_item_id"] for p in report["pairs"]}
    assert benchmark.items.get(index=0).pk in eval_item_ids


def test_a_planted_paraphrase_is_found_by_meaning_and_missed_by_minhash(
    admin_user, items, benchmark
):
    index = EvalIndex(ngram=3, jaccard=0.5)
    index.add(PARAPHRASE, CHEST, [])
    assert index.text_matches(EXPORTED, CHEST, ratio=0.9) == []
    export = run(admin_user)
    kinds = {k for i, k, _ in _pairs(export) if i == items["paraphrased"].pk}
    assert kinds == {"meaning"}
    pair = next(
        p
        for p in export.manifest["contamination"]["pairs"]
        if p["item_id"] == items["paraphrased"].pk
    )
    assert pair["score"] >= 0.88 and pair["reference"] == "Planted bench"


def test_the_export_can_drop_what_the_benchmarks_flag(admin_user, items, benchmark):
    export = run(admin_user, exclude_contaminated=True)
    assert export.item_count == 1
    assert export.manifest["contamination"]["excluded"] is True


def test_an_export_may_name_the_benchmarks_it_is_checked_against(
    admin_user, items, benchmark
):
    export = run(admin_user, benchmark_ids=[])
    assert export.manifest["contamination"]["references"] == []
    with pytest.raises(services.ExportError, match="no registered benchmark"):
        run(admin_user, benchmark_ids=[benchmark.pk + 100])
    with pytest.raises(services.ExportError, match="must be a list"):
        run(admin_user, benchmark_ids="1")


def test_the_report_shows_each_pair_side_by_side(admin_client, items, benchmark):
    response = admin_client.post(
        reverse("exports:list"),
        {"name": "Checked", "formats": ["hf"], "seed": 1, "ratios": "0.8,0.1,0.1"},
    )
    assert response.status_code == 302
    export = services.run_export(export_id=Export.objects.get().pk)
    html = admin_client.get(
        reverse("exports:detail", args=[export.pk])
    ).content.decode()
    assert "Planted bench" in html and "registered benchmark" in html
    assert "(1 by text, 1 by image, 2 by meaning)" in html
    table = html[html.index('id="contamination-pairs"') :]
    assert EXPORTED in table and PARAPHRASE in table
    image = benchmark.items.get(index=0).item_images.get().image
    assert reverse("evaluation:image", args=[image.pk]) in table
    figure = items["paraphrased"].figures.get()
    assert reverse("imports:figure-image", args=[figure.pk]) in table
    served = admin_client.get(reverse("evaluation:image", args=[image.pk]))
    assert served.status_code == 200


def test_exclusion_without_an_upload_needs_a_registered_benchmark(admin_client, items):
    response = admin_client.post(
        reverse("exports:list"),
        {
            "name": "Drop",
            "formats": ["hf"],
            "seed": 1,
            "ratios": "0.8,0.1,0.1",
            "exclude_contaminated": "on",
        },
    )
    assert response.status_code == 200
    assert "register a benchmark" in response.content.decode()
