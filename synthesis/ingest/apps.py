from __future__ import annotations

from django.apps import AppConfig


class IngestConfig(AppConfig):
    """Importing figures from papers, shards and folders (models live in synthesis)."""

    name = "synthesis.ingest"
    label = "ingest"
    verbose_name = "Ingest"
