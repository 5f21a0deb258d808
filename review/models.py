"""The judging and shipping side: reviews, revisions, assignments, exports."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from synthesis.models import Item


class Decision(models.TextChoices):
    ACCEPT = "accept", "Accept"
    EDIT_ACCEPT = "edit_accept", "Edit and accept"
    REJECT = "reject", "Reject"
    SKIP = "skip", "Skip"
    FLAG = "flag", "Flag for discussion"


class RejectReason(models.TextChoices):
    """Rejection reasons, each mapped to the rubric gate it contradicts."""

    FACTUALLY_WRONG = "factually_wrong", "Factually wrong"
    NOT_SUPPORTED_BY_IMAGE = (
        "not_supported_by_image",
        "Answer not supported by the image",
    )
    MULTIPLE_CORRECT = "multiple_correct", "More than one correct option"
    DIAGNOSIS_LEAKED = "diagnosis_leaked", "Diagnosis leaked in the stem"
    NOT_SELF_CONTAINED = "not_self_contained", "Not self-contained"
    WEAK_DISTRACTORS = "weak_distractors", "Weak distractors"
    IMAGE_UNUSABLE = "image_unusable", "Image unusable"
    OTHER = "other", "Other"


def current_q(prefix: str = "") -> Q:
    """Reviews that stand: not undone and not superseded (`prefix` for joins)."""
    return Q(
        **{f"{prefix}undone_at__isnull": True, f"{prefix}superseded_at__isnull": True}
    )


class ReviewQuerySet(models.QuerySet):
    def current(self) -> ReviewQuerySet:
        """The decisions that count: each reviewer's latest on an item, not undone."""
        return self.filter(current_q())


class Review(models.Model):
    """One reviewer's decision on one version of an item.

    Undo does not delete: it stamps `undone_at`, so the audit trail keeps every
    click and timing. Deciding the same item again does not add a vote: it
    stamps the reviewer's earlier decision `superseded_at` and the new one
    `replaces` it, so each reviewer has at most one current decision per item
    (adjudications aside), and undoing the new one brings the earlier back.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(max_length=20, choices=Decision.choices)
    reason_code = models.CharField(
        max_length=30, choices=RejectReason.choices, blank=True
    )
    comment = models.TextField(blank=True)
    seconds_spent = models.FloatField(default=0)
    # An admin's settling decision on a disputed item; it overrides the others.
    is_adjudication = models.BooleanField(default=False)
    item_version = models.PositiveIntegerField(default=1)
    # The item status this decision replaced, so undo can put it back.
    status_before = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaced_by",
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "reviewer"],
                condition=current_q() & Q(is_adjudication=False),
                name="review_one_current_per_reviewer",
            ),
            models.CheckConstraint(
                condition=Q(seconds_spent__gte=0), name="review_seconds_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(decision="reject") | ~Q(reason_code=""),
                name="review_reject_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(decision="reject") | Q(reason_code=""),
                name="review_reason_only_on_reject",
            ),
        ]
        indexes = [
            # The dashboard's freshness check reads the latest undo (few rows).
            models.Index(
                fields=["undone_at"],
                name="review_undone_at_idx",
                condition=Q(undone_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision} item {self.item_id}"


class ItemRevision(models.Model):
    """An edit of an item: who changed what, from which version to which."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="revisions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="item_revisions",
    )
    version = models.PositiveIntegerField()
    before = models.JSONField()
    after = models.JSONField()
    answer_changed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "version"], name="revision_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=2), name="revision_version_after_first"
            ),
        ]

    def __str__(self) -> str:
        return f"Item {self.item_id} v{self.version}"


class EditProposal(models.Model):
    """A planned reviewer's edit while the item's overlap plan is open.

    Blind double review must not let one reviewer's edit change what the others
    see, so the edit is kept here and the item does not move. The adjudicator
    adopts one proposal (or merges them); only then is an ItemRevision written.
    A proposal stands while its `review` (the edit-and-accept) is current.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="proposals")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="edit_proposals",
    )
    review = models.OneToOneField(
        Review, on_delete=models.CASCADE, related_name="proposal"
    )
    base_version = models.PositiveIntegerField()
    question = models.TextField()
    options = models.JSONField()
    answer = models.CharField(max_length=1)
    answer_changed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    adopted_at = models.DateTimeField(null=True, blank=True)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adopted_proposals",
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Proposal by {self.author} for item {self.item_id}"

    @property
    def content(self) -> dict[str, Any]:
        """The proposed item content, shaped like ItemRevision.after."""
        return {
            "question": self.question,
            "options": dict(self.options),
            "answer": self.answer,
        }


class Assignment(models.Model):
    """An item handed to a reviewer, with an expiring claim while they look at it.

    `planned` rows come from the batch's overlap plan: they decide who may review
    the item and how many decisions it needs before it is settled.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    planned = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "reviewer"], name="assignment_unique"
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "completed_at"])]

    def __str__(self) -> str:
        return f"Item {self.item_id} → {self.reviewer}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Saved, but the task queue did not take it; a sweep sends it again.
    WAITING = "waiting", "Waiting for the task queue"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Export(models.Model):
    """A curated dataset written to disk: selection and split settings, manifest."""

    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="exports",
    )
    status = models.CharField(
        max_length=20, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    settings = models.JSONField(default=dict, blank=True)
    seed = models.IntegerField(default=42)
    formats = models.JSONField(default=list, blank=True)
    output_dir = models.CharField(max_length=500, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Specialty(models.TextChoices):
    RADIOLOGY = "radiology", "Radiology"
    PATHOLOGY = "pathology", "Pathology"
    DERMATOLOGY = "dermatology", "Dermatology"
    OPHTHALMOLOGY = "ophthalmology", "Ophthalmology"
    GASTROENTEROLOGY = "gastroenterology", "Gastroenterology"
    GYNECOLOGY = "gynecology", "Gynecology"
    GENERAL = "general", "General medicine"


class ReviewerProfile(models.Model):
    """What a reviewer is qualified to judge, used to match items by modality."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="reviewer_profile",
    )
    specialties = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({', '.join(self.specialties) or 'no specialty'})"


class QualitySnapshot(models.Model):
    """The dashboard figures as last computed, so the page need not recount.

    One row per scope ("all" or "batch:<id>"), replaced on refresh; the page
    says how old it is and offers a refresh.
    """

    scope = models.CharField(max_length=40, unique=True)
    figures = models.JSONField()
    computed_at = models.DateTimeField()
    seconds_to_compute = models.FloatField(default=0)
    # The latest decision, undo, item and verdict the figures include
    # (`snapshots.watermark`): when the database's differs, they are behind.
    watermark = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Quality snapshot {self.scope} at {self.computed_at:%Y-%m-%d %H:%M}"


class ExportExclusion(models.Model):
    """An admin's decision to keep an item out of every export, and why.

    One row per excluded item; deleting it includes the item again. The export
    selection skips these items and counts them as "excluded by an admin".
    """

    item = models.OneToOneField(
        Item, on_delete=models.CASCADE, related_name="export_exclusion"
    )
    reason = models.TextField()
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="export_exclusions",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""), name="exportexclusion_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"Item {self.item_id} excluded from export"
