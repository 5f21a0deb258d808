"""Screenshots the end-to-end run keeps as CI artifacts (E2E_ARTIFACTS or var/e2e)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    folder = Path(os.environ.get("E2E_ARTIFACTS", settings.BASE_DIR / "var" / "e2e"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
