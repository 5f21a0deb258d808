"""Every format loads the way training code reads it, with the database's values."""

from __future__ import annotations

import io
import json

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from synthesis.models import Item
from tests.integration.review.export.conftest import export_root, run

ALL_FORMATS = ["hf", "jsonl", "verl", "sft"]
RATIOS = [0.5, 0.25, 0.25]


@pytest.fixture
def exported(admin_user, corpus):
    export = run(admin_user, formats=ALL_FORMATS, ratios=RATIOS, seed=3)
    assert export.status == "done", export.error
    return export


def _data_files(export, folder: str) -> dict[str, str]:
    rows = export.manifest["counts"]["rows"]
    root = export_root(export) / folder
    return {s: str(root / f"{s}-*.parquet") for s, n in rows.items() if n}


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def test_hf_parquet_loads_with_datasets_and_matches_the_database(exported, tmp_path):
    loaded = datasets.load_dataset(
        "parquet", data_files=_data_files(exported, "data"), cache_dir=str(tmp_path)
    )
    assert set(loaded) == {"train", "validation", "test"}
    seen = 0
    for rows in loaded.values():
        assert isinstance(rows.features["images"], datasets.List)
        assert isinstance(rows.features["images"].feature, datasets.Image)
        for row in rows:
            item = Item.objects.get(pk=row["dataset_index"])
            figures = [link.figure for link in item.item_figures.all()]
            assert row["question"] == item.question
            assert json.loads(row["options"]) == item.options
            assert row["answer_label"] == item.answer
            assert row["answer"] == item.options[item.answer]
            assert row["dataset_name"] == "curated"
            assert row["source_ids"] == [figures[0].document.source_id]
            assert row["licenses"] == [figures[0].document.license]
            assert row["modality"] == item.modality
            assert row["image_sha256"] == [f.sha256 for f in figures]
            assert row["verifier_score"] == pytest.approx(
                item.verifications.get().normalized_score
            )
            assert row["item_version"] == item.version
            assert len(row["images"]) == len(figures)
            for image, figure in zip(row["images"], figures, strict=True):
                assert isinstance(image, Image.Image)
                assert np.array_equal(
                    np.asarray(image.convert("RGB")), _pixels(figure.image.read())
                )
            seen += 1
    assert seen == Item.objects.filter(status="accepted").count()


def test_image_bytes_are_not_dictionary_encoded(exported):
    # Two items share one image; a dictionary would silently store it once.
    for path in (export_root(exported) / "data").glob("*.parquet"):
        meta = pq.ParquetFile(path).metadata
        names = [meta.schema.column(i).path for i in range(meta.num_columns)]
        column = names.index("images.list.element.bytes")
        for group in range(meta.num_row_groups):
            encodings = meta.row_group(group).column(column).encodings
            assert not any("DICTIONARY" in e for e in encodings), encodings
    rows = pq.read_table(export_root(exported) / "data").to_pylist()
    shared = [r for r in rows if r["source_ids"][0] in {"PMC100000", "PMC100001"}]
    assert len(shared) == 2
    assert shared[0]["images"][0]["bytes"] == shared[1]["images"][0]["bytes"]


def test_verl_rows_have_one_placeholder_per_image_and_the_answer_text(exported):
    rows = pq.read_table(export_root(exported) / "verl").to_pylist()
    assert len(rows) == exported.item_count
    for row in rows:
        item = Item.objects.get(pk=row["extra_info"]["dataset_index"])
        (message,) = row["prompt"]
        assert message["role"] == "user"
        assert message["content"].count("<image>") == len(row["images"]) == 1
        assert f"Question: {item.question}" in message["content"]
        assert f"{item.answer}. {item.options[item.answer]}" in message["content"]
        assert row["ability"] == "medical_mcqa"
        assert row["reward_model"] == {
            "style": "rule",
            "ground_truth": item.options[item.answer],
        }
        assert row["extra_info"]["answer_label"] == item.answer


def test_sft_rows_are_trl_chat_with_decoded_images(exported, tmp_path):
    loaded = datasets.load_dataset(
        "parquet", data_files=_data_files(exported, "sft"), cache_dir=str(tmp_path)
    )
    row = loaded["train"][0]
    item = Item.objects.get(pk=row["dataset_index"])
    user, assistant = row["messages"]
    assert [part["type"] for part in user["content"]] == ["image", "text"]
    assert item.question in user["content"][1]["text"]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0]["text"] == (
        f"{item.answer}. {item.options[item.answer]}"
    )
    assert isinstance(row["images"][0], Image.Image)


def test_jsonl_lines_point_at_stored_images(exported):
    root = export_root(exported) / "jsonl"
    total = 0
    for split in ("train", "validation", "test"):
        for line in (root / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            item = Item.objects.get(pk=row["dataset_index"])
            assert row["options"] == item.options
            (relative,) = row["images"]
            data = (root / relative).read_bytes()
            assert relative.endswith(f"{row['image_sha256'][0]}.png")
            assert data == item.item_figures.get().figure.image.read()
            total += 1
    assert total == exported.item_count
