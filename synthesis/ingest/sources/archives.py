"""Reading tar archives without trusting them.

Archives are never extracted: members are read into memory one at a time,
after checks on their name, type and size. A member that fails a check is
reported with a specific reason and the rest of the archive is still read.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from synthesis.ingest.sources.records import ImportLimits, Reason, Skipped


@dataclass(frozen=True)
class Member:
    """A regular file of an archive that passed the safety checks."""

    name: str
    data: bytes


def member_problem(member: tarfile.TarInfo, *, limits: ImportLimits) -> str | None:
    """The reason a member must not be read, or None when it is safe."""
    name = member.name.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
        return Reason.UNSAFE_PATH
    if member.issym() or member.islnk():
        return Reason.LINK_MEMBER
    if not member.isfile():
        return Reason.SPECIAL_MEMBER
    if member.size > limits.max_member_bytes:
        return Reason.MEMBER_TOO_LARGE
    return None


def iter_members(
    archive: tarfile.TarFile,
    *,
    limits: ImportLimits,
    source: str,
    wanted: Callable[[str], bool] | None = None,
) -> Iterator[Member | Skipped]:
    """Yield safe regular files (with their bytes) and skips, in archive order.

    Works on streaming archives (mode "r|*"): each member is read before the
    next header, so memory holds one member at a time. Safe members that
    `wanted` turns down (a package's PDF, say) are passed over unread.
    """
    total = 0
    count = 0
    try:
        while (member := archive.next()) is not None:
            # TarFile keeps every header it has read; a shard of millions
            # would grow without bound, so keep none.
            archive.members.clear()
            if member.isdir():
                continue
            key = f"{source}::{member.name}"
            problem = member_problem(member, limits=limits)
            unwanted = wanted is not None and not wanted(member.name)
            if unwanted and problem in {None, Reason.MEMBER_TOO_LARGE}:
                continue
            if problem:
                yield Skipped(problem, key, _describe(member))
                continue
            count += 1
            total += member.size
            if total > limits.max_total_bytes or count > limits.max_members:
                yield Skipped(Reason.ARCHIVE_TOO_LARGE, key, "archive limit reached")
                return
            handle = archive.extractfile(member)
            if handle is None:
                yield Skipped(Reason.SPECIAL_MEMBER, key, _describe(member))
                continue
            yield Member(posixpath.normpath(member.name), handle.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield Skipped(Reason.ARCHIVE_UNREADABLE, source, str(exc)[:200])


def _describe(member: tarfile.TarInfo) -> str:
    if member.issym() or member.islnk():
        return f"link to {member.linkname!r}"
    if member.isfile():
        return f"{member.size} bytes"
    return f"tar type {member.type!r}"


def open_archive(path: str, *, streaming: bool) -> tarfile.TarFile:
    """Open a tar (optionally compressed); streaming mode never seeks."""
    return tarfile.open(path, mode="r|*" if streaming else "r:*")  # noqa: SIM115
