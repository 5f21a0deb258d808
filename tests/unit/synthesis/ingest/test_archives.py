"""Archive members are checked before a byte of them is read."""

from __future__ import annotations

import io
import tarfile

import pytest

from synthesis.ingest.sources import archives
from synthesis.ingest.sources.records import ImportLimits, Reason, Skipped
from tests.fixtures.sources import add_member

LIMITS = ImportLimits(max_member_bytes=1000)


def member(name: str, *, kind: bytes = tarfile.REGTYPE, size: int = 10, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, link
    return info


@pytest.mark.parametrize(
    ("info", "reason"),
    [
        (member("../evil.png"), Reason.UNSAFE_PATH),
        (member("pkg/../../evil.png"), Reason.UNSAFE_PATH),
        (member("/etc/evil.png"), Reason.UNSAFE_PATH),
        (member("C:/evil.png"), Reason.UNSAFE_PATH),
        (member("a.png", kind=tarfile.SYMTYPE, link="/etc/passwd"), Reason.LINK_MEMBER),
        (member("a.png", kind=tarfile.LNKTYPE, link="b.png"), Reason.LINK_MEMBER),
        (member("dev", kind=tarfile.CHRTYPE), Reason.SPECIAL_MEMBER),
        (member("fifo", kind=tarfile.FIFOTYPE), Reason.SPECIAL_MEMBER),
        (member("big.png", size=1001), Reason.MEMBER_TOO_LARGE),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "drive", "symlink", "hardlink",
         "device", "fifo", "oversized"],
)  # fmt: skip
def test_unsafe_members_are_named_with_their_reason(info, reason):
    assert archives.member_problem(info, limits=LIMITS) == reason


def test_a_plain_member_is_safe():
    assert archives.member_problem(member("pkg/fig1.png"), limits=LIMITS) is None


def test_streaming_reads_safe_members_and_skips_the_rest():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_member(archive, "ok.png", b"data")
        add_member(archive, "../bad.png", b"data")
        add_member(archive, "big.png", b"x" * 2000)
        add_member(archive, "ok2.json", b"{}")
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r|") as archive:
        entries = list(archives.iter_members(archive, limits=LIMITS, source="t.tar"))
    kinds = [e.reason if isinstance(e, Skipped) else (e.name, e.data) for e in entries]
    assert kinds == [
        ("ok.png", b"data"),
        Reason.UNSAFE_PATH,
        Reason.MEMBER_TOO_LARGE,
        ("ok2.json", b"{}"),
    ]


def test_the_total_size_limit_stops_reading():
    limits = ImportLimits(max_member_bytes=1000, max_total_bytes=15)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for index in range(3):
            add_member(archive, f"m{index}", b"0123456789")
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode="r|") as archive:
        entries = list(archives.iter_members(archive, limits=limits, source="t.tar"))
    assert isinstance(entries[0], archives.Member)
    assert entries[1].reason == Reason.ARCHIVE_TOO_LARGE
    assert len(entries) == 2
