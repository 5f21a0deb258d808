"""Each kind of bad input is skipped with its own reason; the rest imports."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from synthesis.ingest import importing
from synthesis.ingest.sources.records import DocumentInfo, FigureRecord, Reason
from synthesis.models import Document, Figure
from tests.fixtures.sources import image_bytes, wds_sample, write_tar

pytestmark = pytest.mark.django_db


def shard_with_bad_sample(tmp_path, **bad: bytes | dict):
    """A shard: a good sample, a bad one (members overridden), another good one."""
    members = dict(wds_sample("good1", seed=1))
    sample = wds_sample("bad", seed=50)
    if "json" in bad:
        meta = json.loads(sample["bad.json"])
        meta.update(bad.pop("json"))
        sample["bad.json"] = json.dumps(meta).encode()
    if "jpg" in bad:
        sample["bad.jpg"] = bad.pop("jpg")
    members.update(sample)
    members.update(wds_sample("good2", seed=2))
    return write_tar(tmp_path / "shard.tar", members, mode="w")


def run(path):
    return importing.import_path(path=path, options=importing.ImportOptions())


def assert_skipped(report, reason):
    assert report.skipped == {reason: 1}, report.as_dict()
    assert report.examples[reason][0]["source"] == "shard.tar::bad"
    assert report.figures_created == 2


def huge_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )


def test_corrupt_image_is_skipped(tmp_path):
    data = bytearray(image_bytes(64, 64, seed=7))
    data[70] ^= 0xFF  # inside the image data: the chunk checksum fails
    report = run(shard_with_bad_sample(tmp_path, jpg=bytes(data)))
    assert_skipped(report, Reason.IMAGE_CORRUPT)


def test_truncated_image_is_skipped(tmp_path):
    data = image_bytes(120, 120, seed=7, fmt="PNG")
    report = run(shard_with_bad_sample(tmp_path, jpg=data[: len(data) // 2]))
    assert_skipped(report, Reason.IMAGE_CORRUPT)


def test_decompression_bomb_is_skipped_without_decoding(tmp_path):
    report = run(shard_with_bad_sample(tmp_path, jpg=huge_png()))
    assert_skipped(report, Reason.DECOMPRESSION_BOMB)


def test_non_image_with_an_image_extension_is_skipped(tmp_path):
    report = run(shard_with_bad_sample(tmp_path, jpg=b"<svg onload=alert(1)>"))
    assert_skipped(report, Reason.NOT_AN_IMAGE)


def test_empty_caption_is_skipped(tmp_path):
    empty = {"image_set": [{"image_id": "img50", "caption": "   "}]}
    report = run(shard_with_bad_sample(tmp_path, json=empty))
    assert_skipped(report, Reason.CAPTION_MISSING)


def test_missing_caption_is_skipped(tmp_path):
    report = run(shard_with_bad_sample(tmp_path, json={"image_set": []}))
    assert_skipped(report, Reason.CAPTION_MISSING)


def test_duplicate_figures_in_one_source_are_stored_once(tmp_path):
    copy = image_bytes(seed=1, fmt="JPEG")  # the same bytes as sample good1
    report = run(shard_with_bad_sample(tmp_path, jpg=copy))
    assert_skipped(report, Reason.DUPLICATE_IMAGE)
    assert Figure.objects.count() == 2


def test_png_with_html_appended_is_stored_without_it(tmp_path):
    payload = b"<html><body><script>alert('x')</script></body></html>"
    report = run(shard_with_bad_sample(tmp_path, jpg=image_bytes(seed=50) + payload))
    assert report.figures_created == 3
    figure = Figure.objects.get(source_key="shard.tar::bad")
    stored = figure.image.read()
    assert b"<script>" not in stored
    assert stored.startswith(b"\x89PNG")


def test_failure_half_way_leaves_no_half_created_document(settings):
    """The second figure cannot be saved: the document and first figure go too."""
    document = DocumentInfo(source_id="PMC9", source_kind="folder", title="Nine")
    good = FigureRecord(
        document=document,
        image_bytes=image_bytes(seed=1),
        image_name="a.png",
        caption="First figure.",
        source_key="k1",
    )
    # A label set is not JSON: saving the second figure raises half way.
    bad = FigureRecord(
        document=document,
        image_bytes=image_bytes(seed=2),
        image_name="b.png",
        caption="Second figure.",
        source_key="k2",
        source_labels={"labels": {"CT"}},
    )
    other = FigureRecord(
        document=DocumentInfo(source_id="PMC10", source_kind="folder"),
        image_bytes=image_bytes(seed=3),
        image_name="c.png",
        caption="Another paper.",
        source_key="k3",
    )
    corrupt = FigureRecord(
        document=document,
        image_bytes=image_bytes(120, 120, seed=4)[:400],
        image_name="d.png",
        caption="Broken figure.",
        source_key="k4",
    )
    report = importing.import_records(
        records=[good, corrupt, bad, other], options=importing.ImportOptions()
    )
    assert report.skipped[Reason.DOCUMENT_FAILED] == 1
    assert report.skipped[Reason.IMAGE_CORRUPT] == 1, "checks stand after rollback"
    assert report.examples[Reason.DOCUMENT_FAILED][0]["source"] == "PMC9"
    assert list(Document.objects.values_list("source_id", flat=True)) == ["PMC10"]
    assert Figure.objects.count() == 1
    assert (report.documents_created, report.figures_created) == (1, 1)
    stored = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert len(stored) == 1, "the rolled-back figure's file must be deleted"
