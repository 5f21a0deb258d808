"""Importing a folder of images with a CSV or JSONL manifest."""

from __future__ import annotations

import csv
import json

import pytest

from synthesis.ingest import importing
from synthesis.ingest.sources.records import Reason
from synthesis.models import Document, Figure
from tests.fixtures.sources import image_bytes

pytestmark = pytest.mark.django_db

ROWS = [
    {
        "image": "images/knee.png",
        "caption": "Sagittal MRI of the knee with a meniscal tear.",
        "mentions": json.dumps(["The tear (Fig. 1) was repaired."]),
        "modality": "MRI",
        "anatomy": "knee",
        "source_id": "PMC42",
        "title": "Knees",
        "license": "CC BY-NC 4.0",
    },
    {
        "image": "images/hand.png",
        "caption": "Radiograph of the hand.",
        "mentions": "First. | Second.",
        "modality": "radiograph",
        "anatomy": "hand",
        "source_id": "PMC43",
        "license": "",
    },
]


def folder(tmp_path, rows, *, manifest: str = "manifest.csv"):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    for seed, row in enumerate(rows):
        name = row["image"]
        if name.startswith("images/"):
            (root / name).write_bytes(image_bytes(seed=seed + 1))
    if manifest.endswith(".csv"):
        with (root / manifest).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        (root / manifest).write_text("\n".join(json.dumps(r) for r in rows))
    return root


def run(path):
    return importing.import_path(path=path, options=importing.ImportOptions())


@pytest.mark.parametrize("manifest", ["manifest.csv", "manifest.jsonl"])
def test_manifest_rows_become_figures_with_labels_and_license(tmp_path, manifest):
    report = run(folder(tmp_path, ROWS, manifest=manifest))
    assert report.figures_created == 2
    knee = Figure.objects.get(anatomy="Knee")
    assert (knee.modality, knee.mentions) == ("MR", ["The tear (Fig. 1) was repaired."])
    assert Figure.objects.get(anatomy="Hand").mentions == ["First.", "Second."]
    assert Document.objects.get(source_id="PMC42").license_family == "cc-by-nc"
    assert Document.objects.get(source_id="PMC43").license_family == "unknown"


def test_manifest_path_leaving_the_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(image_bytes(seed=9))
    rows = [dict(ROWS[0], image="../secret.png"), dict(ROWS[0], image=str(secret))]
    report = run(folder(tmp_path, rows))
    assert report.skipped[Reason.UNSAFE_PATH] == 2
    assert not Figure.objects.exists()


def test_manifest_path_through_a_symlink_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.png").write_bytes(image_bytes(seed=4))
    root = folder(tmp_path, [dict(ROWS[0], image="link/x.png")])
    (root / "link").symlink_to(outside)
    report = run(root)
    assert report.skipped[Reason.LINK_MEMBER] == 1


def test_manifest_row_with_an_empty_caption_is_skipped(tmp_path):
    report = run(folder(tmp_path, [dict(ROWS[0], caption="")]))
    assert report.skipped[Reason.CAPTION_MISSING] == 1
    assert not Document.objects.exists()
