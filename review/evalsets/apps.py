from __future__ import annotations

from django.apps import AppConfig


class EvalsetsConfig(AppConfig):
    """Evaluation sets: registered benchmarks and snapshots of export splits.

    Below export (every export is checked against the registered benchmarks)
    and below evaluation (which runs models on these sets)."""

    name = "review.evalsets"
    label = "evalsets"
    verbose_name = "Evaluation sets"
