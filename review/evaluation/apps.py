from __future__ import annotations

from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    """Evaluation runs of a model endpoint on an evaluation set, and results."""

    name = "review.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation"
