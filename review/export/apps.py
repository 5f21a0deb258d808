from __future__ import annotations

from django.apps import AppConfig


class ExportConfig(AppConfig):
    """Curated dataset exports (the Export model lives in review)."""

    name = "review.export"
    label = "export"
    verbose_name = "Export"
