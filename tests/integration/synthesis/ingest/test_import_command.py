"""`manage.py import_sources`: detects the format, imports, prints the report."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from synthesis.models import Figure
from tests.fixtures.sources import jats_files, wds_sample, write_tar

pytestmark = pytest.mark.django_db


def call(*args) -> str:
    out = io.StringIO()
    call_command("import_sources", *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_detects_a_jats_package_and_prints_the_report(tmp_path):
    files = jats_files()
    files["PMC123456/notes.png"] = b"not an image"
    path = write_tar(tmp_path / "PMC123456.tar.gz", files)
    output = call(path)
    assert "figures created 5" in output
    assert Figure.objects.count() == 5
    again = call(path)
    assert "duplicate_image: 5" in again
    assert Figure.objects.count() == 5


def test_detects_a_webdataset_shard(tmp_path):
    path = write_tar(tmp_path / "s.tar", wds_sample("s1", seed=1), mode="w")
    report = json.loads(call(path, "--json"))
    assert report["figures_created"] == 1
    assert Figure.objects.get().modality == "MR"


def test_explicit_format_and_modality_filter(tmp_path):
    path = write_tar(tmp_path / "s.tar", wds_sample("s1", seed=1), mode="w")
    report = json.loads(
        call(path, "--format", "webdataset", "--modality", "CT", "--json")
    )
    assert report["skipped"] == {"modality_not_selected": 1}
    assert report["examples"]["modality_not_selected"][0]["detail"] == "MR"


def test_unknown_format_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(CommandError, match="cannot tell the format"):
        call(path)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call(tmp_path / "nope.tar")


def test_detects_an_unpacked_package_one_folder_down(tmp_path):
    for name, data in jats_files().items():
        target = tmp_path / "unpacked" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    report = json.loads(call(tmp_path / "unpacked", "--json"))
    assert report["figures_created"] == 5
