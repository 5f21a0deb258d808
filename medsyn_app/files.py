"""Sending stored files to a browser, always after the caller's permission check.

MEDIA_ROOT is never served by URL (not even with DEBUG): every figure, upload
and export file goes through a view that checks who asks. In production a
front server (nginx) can send the bytes instead of Django: with
`MEDSYN_ACCEL_REDIRECT_PREFIX` set (say `/protected-media/`), the view answers
with an empty body and `X-Accel-Redirect: <prefix><path under MEDIA_ROOT>`,
and nginx serves that `internal` location. See the README's "Deploy" section.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header


def media_path(name: str) -> Path:
    """The absolute path of a stored file, refusing names that leave MEDIA_ROOT."""
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise SuspiciousFileOperation(f"{name!r} is outside MEDIA_ROOT")
    return path


def send(
    name: str,
    *,
    content_type: str | None = None,
    attachment_name: str | None = None,
    cache: str = "private, no-store",
) -> HttpResponse:
    """A response carrying the file stored as `name` (relative to MEDIA_ROOT).

    Call only after checking the user may read it. A missing file is a 404.
    """
    path = media_path(name)
    if not path.is_file():
        raise Http404("The file is missing.")
    prefix = settings.MEDSYN_ACCEL_REDIRECT_PREFIX
    if prefix:
        relative = path.relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(relative)
        if attachment_name:
            response["Content-Disposition"] = content_disposition_header(
                True, attachment_name
            )
    else:
        response = FileResponse(
            path.open("rb"),
            content_type=content_type,
            as_attachment=bool(attachment_name),
            filename=attachment_name or "",
        )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache
    return response
