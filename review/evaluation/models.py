"""Evaluation runs and their predictions.

A run asks one endpoint every item of one evaluation set; each answer is a
`Prediction` with the raw output, the letter read from it and both verdicts.
Progress and results are counted from the predictions (the rows are the
ledger); the counters on the run are a cache of them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from review.evalsets.models import EvaluationItem, EvaluationSet


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class EvaluationRun(models.Model):
    name = models.CharField(max_length=200)
    evaluation_set = models.ForeignKey(
        EvaluationSet, on_delete=models.PROTECT, related_name="runs"
    )
    # The endpoint's name; `config["endpoint"]` keeps its provenance snapshot.
    endpoint = models.CharField(max_length=64, db_index=True)
    config = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20,
        choices=RunStatus.choices,
        default=RunStatus.QUEUED,
        db_index=True,
    )
    items_total = models.PositiveIntegerField(default=0)
    items_done = models.PositiveIntegerField(default=0)
    items_correct = models.PositiveIntegerField(default=0)
    items_failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evaluation_runs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(items_done__lte=models.F("items_total")),
                name="evaluationrun_done_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class Prediction(models.Model):
    run = models.ForeignKey(
        EvaluationRun, on_delete=models.CASCADE, related_name="predictions"
    )
    item = models.ForeignKey(
        EvaluationItem, on_delete=models.PROTECT, related_name="predictions"
    )
    raw_output = models.TextField(blank=True)
    # The lenient regrade's letter ("" when nothing maps) and where it was read.
    letter = models.CharField(max_length=1, blank=True)
    source = models.CharField(max_length=20, blank=True)
    correct = models.BooleanField(default=False)
    # The RL reward's verdict, and whether the response was think-then-answer.
    strict_correct = models.BooleanField(default=False)
    format_ok = models.BooleanField(default=False)
    # A request the backend could not answer counts as wrong, with its reason.
    error = models.CharField(max_length=300, blank=True)
    finish_reason = models.CharField(max_length=10, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_s = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "item_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "item"], name="prediction_one_per_item"
            ),
            models.CheckConstraint(
                condition=Q(correct=False) | ~Q(letter=""),
                name="prediction_correct_has_a_letter",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id} item {self.item_id}: {self.letter or '-'}"
