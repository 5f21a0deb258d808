"""`manage.py export`: the short name for `export_dataset` (same options)."""

from __future__ import annotations

from review.export.management.commands.export_dataset import Command as ExportDataset


class Command(ExportDataset):
    help = "Export accepted items as a curated dataset (alias of export_dataset)."
