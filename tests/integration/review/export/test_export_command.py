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
