"""The shipped demo set: generated images, hand-written articles and items.

`build.py` draws the images and writes the files in this folder; they are
committed, so a fresh checkout imports them without running it. Nothing here
is downloaded or copied: the images are Pillow drawings and the text was
written for MedSyn.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
ARTICLES = sorted((DEMO_DIR / "articles").glob("*/"))
ITEMS = DEMO_DIR / "items.jsonl"
