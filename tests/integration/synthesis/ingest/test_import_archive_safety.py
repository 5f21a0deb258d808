"""Hostile archive members are skipped with their reason; nothing leaves MEDIA_ROOT."""

from __future__ import annotations

import io
import tarfile

import pytest

from synthesis.ingest import importing
from synthesis.ingest.sources.records import ImportLimits, Reason
from synthesis.models import Figure
from tests.fixtures.sources import add_member, jats_files, wds_sample

pytestmark = pytest.mark.django_db


def shard_with(tmp_path, extra: tarfile.TarInfo, data: bytes = b"") -> str:
    path = tmp_path / "in" / "shard.tar"
    path.parent.mkdir()
    with tarfile.open(path, "w") as archive:
        for name, payload in wds_sample("s1", seed=1).items():
            add_member(archive, name, payload)
        archive.addfile(extra, io.BytesIO(data) if data else None)
        for name, payload in wds_sample("s2", seed=2).items():
            add_member(archive, name, payload)
    return path


def run(path, limits: ImportLimits | None = None):
    options = importing.ImportOptions(limits=limits or ImportLimits())
    return importing.import_path(path=path, source_format="webdataset", options=options)


def entry(name: str, kind=tarfile.REGTYPE, size: int = 0, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


def files_under(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def assert_only_good_samples_imported(report, reason, tmp_path, settings):
    assert report.skipped[reason] == 1
    assert report.figures_created == 2
    assert Figure.objects.count() == 2
    written = files_under(tmp_path)
    assert not any("evil" in name for name in written)
    media = settings.MEDIA_ROOT.relative_to(tmp_path)
    stray = [n for n in written if not n.startswith((str(media), "in/"))]
    assert stray == []


def test_member_with_dotdot_path_is_skipped(tmp_path, settings):
    data = b"<html>evil</html>"
    report = run(shard_with(tmp_path, entry("../evil.jpg", size=len(data)), data))
    assert_only_good_samples_imported(report, Reason.UNSAFE_PATH, tmp_path, settings)


def test_member_with_absolute_path_is_skipped(tmp_path, settings):
    data = b"<html>evil</html>"
    evil = entry(f"{tmp_path}/evil.jpg", size=len(data))
    report = run(shard_with(tmp_path, evil, data))
    assert_only_good_samples_imported(report, Reason.UNSAFE_PATH, tmp_path, settings)


def test_symlink_member_is_skipped(tmp_path, settings):
    link = entry("evil.jpg", kind=tarfile.SYMTYPE, link="/etc/passwd")
    report = run(shard_with(tmp_path, link))
    assert_only_good_samples_imported(report, Reason.LINK_MEMBER, tmp_path, settings)


def test_hardlink_member_is_skipped(tmp_path, settings):
    link = entry("evil.jpg", kind=tarfile.LNKTYPE, link="s1.jpg")
    report = run(shard_with(tmp_path, link))
    assert_only_good_samples_imported(report, Reason.LINK_MEMBER, tmp_path, settings)


def test_device_member_is_skipped(tmp_path, settings):
    report = run(shard_with(tmp_path, entry("evil.jpg", kind=tarfile.CHRTYPE)))
    assert_only_good_samples_imported(report, Reason.SPECIAL_MEMBER, tmp_path, settings)


def test_oversized_member_is_skipped(tmp_path, settings):
    data = b"x" * 300_000
    path = shard_with(tmp_path, entry("evil.jpg", size=len(data)), data)
    report = run(path, ImportLimits(max_member_bytes=200_000))
    assert_only_good_samples_imported(
        report, Reason.MEMBER_TOO_LARGE, tmp_path, settings
    )


def test_jats_package_with_a_dotdot_member_still_imports_the_article(tmp_path):
    path = tmp_path / "pkg.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in jats_files().items():
            add_member(archive, name, data)
        add_member(archive, "../../evil.nxml", b"<article/>")
    report = importing.import_path(path=path, options=importing.ImportOptions())
    assert report.skipped[Reason.UNSAFE_PATH] == 1
    assert report.figures_created == 5
    assert not (tmp_path.parent / "evil.nxml").exists()
