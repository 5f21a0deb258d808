"""Importing existing VQA datasets (MedSynVQA layout) into an imported batch."""

from __future__ import annotations

import base64
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthesis.ingest import importing
from synthesis.ingest.sources.records import Reason
from synthesis.models import Batch, BatchKind, Figure, Item, ItemStatus
from tests.fixtures.sources import image_bytes, jats_files, vqa_row, write_tar

pytestmark = pytest.mark.django_db


def parquet(tmp_path, rows):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def jsonl(tmp_path, rows):
    path = tmp_path / "train.jsonl"
    encoded = []
    for row in rows:
        images = [
            {"bytes": base64.b64encode(i["bytes"]).decode()} for i in row["images"]
        ]
        encoded.append(json.dumps({**row, "images": images}))
    path.write_text("\n".join(encoded))
    return path


def run(path):
    return importing.import_path(path=path, options=importing.ImportOptions())


@pytest.mark.parametrize("writer", [parquet, jsonl])
def test_rows_become_items_in_an_imported_batch(tmp_path, writer):
    rows = [vqa_row(image_bytes(seed=i), index=i) for i in range(3)]
    report = run(writer(tmp_path, rows))
    assert (report.items_created, report.figures_created) == (3, 3)
    batch = Batch.objects.get()
    assert (batch.kind, batch.name) == (BatchKind.IMPORTED, "Imported: test-vqa")
    item = Item.objects.get(figures__source_key__endswith=":0:image0")
    assert item.options["C"] == "X-ray"
    assert (item.answer, item.status) == ("C", ItemStatus.KEPT)
    assert item.figures.get().caption == ""


def test_options_given_as_a_dict_are_accepted(tmp_path):
    row = vqa_row(image_bytes(seed=1), options={"A": "CT", "B": "MRI", "C": "X-ray"})
    run(jsonl(tmp_path, [row]))
    assert Item.objects.get().options == {"A": "CT", "B": "MRI", "C": "X-ray"}


def test_reimport_creates_no_duplicate_items(tmp_path):
    path = parquet(tmp_path, [vqa_row(image_bytes(seed=1))])
    run(path)
    again = run(path)
    assert again.items_created == 0
    assert again.skipped[Reason.DUPLICATE_ITEM] == 1
    assert (Item.objects.count(), Figure.objects.count()) == (1, 1)


def test_items_link_to_figures_already_imported_with_captions(tmp_path):
    files = jats_files()
    run(write_tar(tmp_path / "a.tar.gz", files))
    row = vqa_row(files["PMC123456/F1.png"])
    report = run(parquet(tmp_path, [row]))
    assert report.figures_created == 0
    figure = Item.objects.get().figures.get()
    assert figure.label == "Figure 1"
    assert figure.mentions


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"options": "{not json"}, "not valid JSON"),
        ({"options": json.dumps({"A": "x", "Z": "y"})}, "option keys"),
        ({"answer_label": "E", "options": json.dumps({"A": "x", "B": "y"})}, "E"),
        ({"question": " "}, "question is empty"),
        ({"images": []}, "no images"),
    ],
    ids=["options-json", "option-keys", "answer", "question", "images"],
)
def test_invalid_rows_are_skipped_with_a_clear_reason(tmp_path, change, needle):
    rows = [vqa_row(image_bytes(seed=1)), dict(vqa_row(image_bytes(seed=2)), **change)]
    report = run(
        jsonl(tmp_path, rows) if change.get("images") == [] else parquet(tmp_path, rows)
    )
    assert report.skipped[Reason.ITEM_INVALID] == 1
    assert needle in report.examples[Reason.ITEM_INVALID][0]["detail"]
    assert Item.objects.count() == 1


def test_row_with_a_corrupt_image_creates_no_item(tmp_path):
    report = run(parquet(tmp_path, [vqa_row(image_bytes(80, 80, seed=3)[:70])]))
    assert report.skipped[Reason.IMAGE_CORRUPT] == 1
    assert report.skipped[Reason.ITEM_INVALID] == 1
    assert not Item.objects.exists()


@pytest.mark.parametrize("form", ["string", "struct"])
def test_images_given_as_paths_beside_the_file_are_read(tmp_path, form):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(image_bytes(seed=5))
    row = vqa_row(b"", index=0)
    row["images"] = (
        ["images/a.png"]
        if form == "string"
        else [{"bytes": None, "path": "images/a.png"}]
    )
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(row) + "\n")
    report = run(path)
    assert report.items_created == 1
    assert Figure.objects.get().sha256


def test_an_image_path_leaving_the_folder_is_refused(tmp_path):
    (tmp_path / "secret.png").write_bytes(image_bytes(seed=6))
    inner = tmp_path / "set"
    inner.mkdir()
    row = {**vqa_row(b"", index=0), "images": ["../secret.png"]}
    (inner / "set.jsonl").write_text(json.dumps(row) + "\n")
    report = run(inner / "set.jsonl")
    assert report.items_created == 0
    assert report.skipped[Reason.ITEM_INVALID] == 1
    assert "leaves the dataset's folder" in str(report.examples)
