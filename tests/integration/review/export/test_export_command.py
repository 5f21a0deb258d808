from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from review.models import Export


def test_export_dataset_command_writes_an_export(corpus):
    out = io.StringIO()
    call_command(
        "export_dataset",
        "--name",
        "CLI export",
        "--formats",
        "hf,jsonl,verl,sft",
        "--seed",
        "42",
        "--ratios",
        "0.6,0.2,0.2",
        stdout=out,
    )
    export = Export.objects.get()
    assert export.status == "done"
    assert export.item_count == len(corpus)
    assert f"{export.item_count} items" in out.getvalue()
    assert export.settings["formats"] == ["hf", "jsonl", "verl", "sft"]


def test_export_dataset_command_reports_bad_settings(db):
    with pytest.raises(CommandError, match="formats must be chosen"):
        call_command("export_dataset", "--name", "x", "--formats", "csv")


def test_export_command_copies_the_dataset_to_out(corpus, tmp_path):
    out_dir = tmp_path / "dataset"
    call_command(
        "export", "--format", "parquet", "--out", str(out_dir), stdout=io.StringIO()
    )
    export = Export.objects.get()
    assert export.settings["formats"] == ["hf"]
    manifest = (out_dir / "manifest.json").read_text()
    for entry in export.manifest["files"]:
        assert (out_dir / entry["path"]).is_file(), entry
    assert "sha256" in manifest


def test_export_command_refuses_a_non_empty_out_folder(corpus, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export", "--out", str(tmp_path), stdout=io.StringIO())
    assert not Export.objects.exists()
    assert (tmp_path / "keep.txt").read_text() == "mine"
