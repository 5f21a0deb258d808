from __future__ import annotations

from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Agreement, calibration and the quality dashboard (models live in review)."""

    name = "review.quality"
    label = "quality"
    verbose_name = "Quality"
