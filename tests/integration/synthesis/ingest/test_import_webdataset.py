"""Importing Biomedica-style webdataset shards, streamed."""

from __future__ import annotations

import json

import pytest

from synthesis.ingest import importing
from synthesis.ingest.sources.records import Reason
from synthesis.models import Document, Figure
from tests.fixtures.sources import image_bytes, wds_sample, write_tar

pytestmark = pytest.mark.django_db


def shard(tmp_path, *samples: dict, name: str = "shard-000.tar"):
    members = {k: v for sample in samples for k, v in sample.items()}
    return write_tar(tmp_path / name, members, mode="w")


def run(path, **options):
    return importing.import_path(path=path, options=importing.ImportOptions(**options))


def test_shard_imports_captions_mentions_labels_and_license(tmp_path):
    path = shard(tmp_path, wds_sample("a/s1", seed=1), wds_sample("a/s2", seed=2))
    report = run(path)
    assert (report.documents_created, report.figures_created) == (1, 2)
    document = Document.objects.get()
    assert (document.source_id, document.pmcid) == ("PMC777", "PMC777")
    assert document.title == "Brains on film"
    assert document.license_family == "cc-by"
    figure = Figure.objects.get(caption="MRI of the brain 1.")
    assert figure.mentions == ["The MRI (Fig. 1) was normal."]
    assert (figure.modality, figure.anatomy) == ("MR", "Brain")
    assert figure.source_labels["secondary"] == ["magnetic resonance", "brain"]
    assert figure.source_key == "shard-000.tar::a/s1"


def test_context_given_as_a_list_of_dicts_is_deduplicated(tmp_path):
    context = [{"img1": ["Seen here.", "Seen here."]}, {"img1": ["Again."]}]
    run(shard(tmp_path, wds_sample("s1", seed=1, image_context=context)))
    assert Figure.objects.get().mentions == ["Seen here.", "Again."]


def test_no_caption_found_counts_as_missing(tmp_path):
    sample = wds_sample(
        "s1", seed=1, image_set=[{"image_id": "img1", "caption": "No caption found"}]
    )
    report = run(shard(tmp_path, sample))
    assert report.skipped[Reason.CAPTION_MISSING] == 1
    assert not Figure.objects.exists()


def test_modality_filter_keeps_only_the_chosen_modalities(tmp_path):
    xray = wds_sample("s2", seed=2, image_secondary_label=["x-ray radiography"])
    report = run(
        shard(tmp_path, wds_sample("s1", seed=1), xray), modalities=frozenset({"MR"})
    )
    assert report.skipped[Reason.MODALITY_NOT_SELECTED] == 1
    assert list(Figure.objects.values_list("modality", flat=True)) == ["MR"]


def test_minimum_image_size_drops_small_images(tmp_path):
    report = run(shard(tmp_path, wds_sample("s1", seed=1)), min_image_side=100)
    assert report.skipped[Reason.IMAGE_TOO_SMALL] == 1


def test_broken_metadata_is_skipped_with_its_reason(tmp_path):
    broken = {"s1.jpg": image_bytes(fmt="JPEG"), "s1.json": b"{not json"}
    report = run(shard(tmp_path, broken, wds_sample("s2", seed=2)))
    assert report.skipped[Reason.METADATA_INVALID] == 1
    assert report.figures_created == 1


def test_sample_without_an_image_is_skipped(tmp_path):
    lonely = {"s1.json": json.dumps({"caption": "x"}).encode()}
    report = run(shard(tmp_path, lonely))
    assert report.skipped[Reason.IMAGE_MISSING] == 1


def test_seven_images_sharing_a_caption_are_dropped_as_a_group(tmp_path):
    caption = [{"image_id": "same", "caption": "One caption for all panels."}]
    samples = [
        wds_sample(f"s{i}", seed=i, image_id="same", image_set=caption)
        for i in range(7)
    ]
    report = run(shard(tmp_path, *samples))
    assert report.skipped[Reason.GROUP_TOO_LARGE] == 7
    assert not Figure.objects.exists()


def test_reimporting_a_shard_creates_nothing(tmp_path):
    path = shard(tmp_path, wds_sample("s1", seed=1), wds_sample("s2", seed=2))
    run(path)
    again = run(path)
    assert again.figures_created == 0
    assert again.skipped[Reason.DUPLICATE_IMAGE] == 2
    assert Figure.objects.count() == 2
