"""The making side of MedSyn: source papers, their figures, batches, items, verdicts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from medsyn_app.fields import ModelOutputField

ANSWER_LETTERS = ("A", "B", "C", "D", "E")


class SourceKind(models.TextChoices):
    JATS = "jats", "PMC Open Access (JATS)"
    WEBDATASET = "webdataset", "Webdataset shard"
    FOLDER = "folder", "Folder or manifest"
    VQA = "vqa", "Existing VQA dataset"
    DICOM = "dicom", "DICOM"


class LicenseFamily(models.TextChoices):
    CC0 = "cc0", "CC0 / public domain"
    CC_BY = "cc-by", "CC BY (attribution)"
    CC_BY_SA = "cc-by-sa", "CC BY-SA"
    CC_BY_NC = "cc-by-nc", "CC BY-NC (non-commercial)"
    CC_BY_ND = "cc-by-nd", "CC BY-ND (no derivatives)"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class Document(models.Model):
    """A source paper (or other source) that figures come from.

    `source_id` is the stable identity used for de-duplication and for export
    splits: the PMCID when there is one, else the source's own accession id.
    """

    source_id = models.CharField(max_length=200, unique=True)
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    pmcid = models.CharField("PMCID", max_length=20, blank=True, db_index=True)
    doi = models.CharField("DOI", max_length=255, blank=True)
    title = models.TextField(blank=True)
    journal = models.CharField(max_length=500, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    license = models.CharField(max_length=200, blank=True)
    license_url = models.URLField(max_length=500, blank=True)
    license_family = models.CharField(
        max_length=20, choices=LicenseFamily.choices, default=LicenseFamily.UNKNOWN
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source_id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source_id=""), name="document_source_id_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1800, year__lte=2200),
                name="document_year_plausible",
            ),
        ]

    def __str__(self) -> str:
        return self.pmcid or self.source_id

    @property
    def link(self) -> str:
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.pmcid:
            return f"https://pmc.ncbi.nlm.nih.gov/articles/{self.pmcid}/"
        return ""


def figure_upload_to(figure: Figure, filename: str) -> str:
    # Content-addressed: the same bytes always land at the same path.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"figures/{figure.sha256[:2]}/{figure.sha256}.{ext}"


class Figure(models.Model):
    """One image with the text that explains it: caption and citing sentences.

    Images of one paper that share an identical caption form a figure group
    (`group_key`); the generator sees a whole group at once.
    """

    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="figures"
    )
    # Dimensions are stored explicitly by the importer (it has decoded the image).
    image = models.ImageField(upload_to=figure_upload_to, max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, unique=True)
    # A 64-bit dHash: split grouping compares it, so it never changes meaning.
    phash = models.CharField("perceptual hash", max_length=16, db_index=True)
    # imagehash's 64-bit DCT pHash, the method's hash for contamination checks;
    # computed at import (and backfilled), blank only if the file was unreadable.
    dct_phash = models.CharField("pHash (DCT)", max_length=16, blank=True)
    caption = models.TextField()
    mentions = models.JSONField(default=list, blank=True)
    label = models.CharField(max_length=100, blank=True)
    subfigure = models.CharField(max_length=20, blank=True)
    group_key = models.CharField(max_length=64, db_index=True)
    source_key = models.CharField(max_length=500, blank=True)
    modality = models.CharField(max_length=50, blank=True, db_index=True)
    anatomy = models.CharField(max_length=50, blank=True, db_index=True)
    source_labels = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document_id", "group_key", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(width__gte=1) & Q(height__gte=1), name="figure_has_size"
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="figure_sha256_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document} {self.label or self.source_key or self.pk}"


class BatchKind(models.TextChoices):
    SYNTHESIZED = "synthesized", "Synthesized"
    IMPORTED = "imported", "Imported"


class BatchStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    QUEUED = "queued", "Queued"
    # Saved, but the broker refused the task: the sweep enqueues it later.
    WAITING = "waiting", "Waiting for the task queue"
    RUNNING = "running", "Running"
    # Stopped by MedSyn because requests fail with a configuration error.
    PAUSED = "paused", "Paused: configuration error"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class Batch(models.Model):
    """One synthesis run; `config` is the full snapshot it ran with.

    The counters are a cache of what the rows say, refreshed by
    `services.refresh_batch_counters`; the rows stay the ledger.
    """

    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=20, choices=BatchKind.choices, default=BatchKind.SYNTHESIZED
    )
    status = models.CharField(
        max_length=20,
        choices=BatchStatus.choices,
        default=BatchStatus.DRAFT,
        db_index=True,
    )
    config = models.JSONField(default=dict, blank=True)
    # Why the batch waits or paused, in words an admin can act on.
    status_reason = models.TextField(blank=True)
    # What each role's server said it serves (context, token counting), by
    # role, as first seen by a worker: a mismatch with the registry shows here.
    server_info = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="batches",
    )
    figure_groups_total = models.PositiveIntegerField(default=0)
    items_generated = models.PositiveIntegerField(default=0)
    generation_failures = models.PositiveIntegerField(default=0)
    items_verified = models.PositiveIntegerField(default=0)
    items_kept = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        constraints = [
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True)
                | Q(started_at__isnull=False, finished_at__gte=models.F("started_at")),
                name="batch_finishes_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class ItemStatus(models.TextChoices):
    GENERATED = "generated", "Generated, awaiting verification"
    KEPT = "kept", "Kept by verifier"
    DROPPED = "dropped", "Dropped by verifier"
    ACCEPTED = "accepted", "Accepted by reviewer"
    REJECTED = "rejected", "Rejected by reviewer"
    FLAGGED = "flagged", "Flagged for discussion"
    DISPUTED = "disputed", "Reviewers disagree"


class Item(models.Model):
    """A five-option multiple-choice question about one figure group.

    `version` increases with every edit; a save that names an older version is
    refused, so concurrent reviewers never overwrite each other.
    """

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    figures = models.ManyToManyField(Figure, through="ItemFigure", related_name="items")
    group_key = models.CharField(max_length=64)
    sample_index = models.PositiveSmallIntegerField(default=0)
    question = models.TextField()
    options = models.JSONField()
    answer = models.CharField(max_length=1)
    status = models.CharField(
        max_length=20,
        choices=ItemStatus.choices,
        default=ItemStatus.GENERATED,
        db_index=True,
    )
    version = models.PositiveIntegerField(default=1)
    modality = models.CharField(max_length=50, blank=True, db_index=True)
    anatomy = models.CharField(max_length=50, blank=True, db_index=True)
    question_type = models.CharField(max_length=60, blank=True, db_index=True)
    flags = models.JSONField(default=list, blank=True)
    generator_model = models.CharField(max_length=200, blank=True)
    raw_output = ModelOutputField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["batch_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answer__in=ANSWER_LETTERS), name="item_answer_is_a_letter"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="item_version_positive"
            ),
            models.CheckConstraint(
                condition=~Q(question=""), name="item_question_not_empty"
            ),
            models.UniqueConstraint(
                fields=["batch", "group_key", "sample_index"],
                name="item_unique_per_sample",
            ),
        ]

    def __str__(self) -> str:
        return f"Item {self.pk}: {self.question[:60]}"

    @property
    def answer_text(self) -> str:
        return self.options.get(self.answer, "")


class ItemFigure(models.Model):
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="item_figures"
    )
    figure = models.ForeignKey(
        Figure, on_delete=models.PROTECT, related_name="item_links"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["item_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "position"], name="itemfigure_unique_position"
            ),
            models.UniqueConstraint(
                fields=["item", "figure"], name="itemfigure_unique_figure"
            ),
        ]

    def __str__(self) -> str:
        return f"Item {self.item_id} image {self.position + 1}"


class Verification(models.Model):
    """The verifier's verdict on an item under one rubric version.

    `criteria` holds one row per rubric criterion (title, category, weight,
    score, reason) so the review page can show each one. A verifier error is
    stored with `error` set and counts as not passed.

    An item may have several: a re-run adds one and never overwrites. The
    newest (highest id) is the current verdict; older ones stay as history.
    `rerun` names the re-run that wrote it (empty for the batch's own run).
    """

    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, related_name="verifications"
    )
    verifier_model = models.CharField(max_length=200)
    rubric_version = models.CharField(max_length=50)
    criteria = models.JSONField(default=list, blank=True)
    essentials_passed = models.BooleanField(default=False)
    normalized_score = models.FloatField(null=True, blank=True)
    kept = models.BooleanField(default=False)
    error = models.CharField(max_length=100, blank=True)
    # A failed request: what went wrong, in the backend's words and the server's.
    error_detail = models.TextField(blank=True)
    cause = models.CharField(max_length=40, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    server_message = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    raw_output = ModelOutputField(blank=True)
    rerun = models.ForeignKey(
        "Rerun",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="verifications",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item_id", "-created_at"]
        constraints = [
            # The batch's own run verifies an item once per verifier; each
            # re-run once more (so a redelivered task never adds a second).
            models.UniqueConstraint(
                fields=["item", "verifier_model", "rubric_version"],
                condition=Q(rerun__isnull=True),
                name="verification_unique_per_verifier",
            ),
            models.UniqueConstraint(
                fields=["item", "rerun"],
                condition=Q(rerun__isnull=False),
                name="verification_unique_per_rerun",
            ),
            models.CheckConstraint(
                condition=Q(normalized_score__isnull=True)
                | Q(normalized_score__gte=0.0, normalized_score__lte=1.0),
                name="verification_score_in_unit_range",
            ),
            models.CheckConstraint(
                condition=Q(kept=False) | Q(essentials_passed=True, error=""),
                name="verification_kept_needs_pass",
            ),
        ]
        # The review queue walks scores outwards from the keep threshold.
        indexes = [
            models.Index(fields=["normalized_score"], name="verification_score_idx")
        ]

    def __str__(self) -> str:
        return f"Verification of item {self.item_id} by {self.verifier_model}"


class RerunKind(models.TextChoices):
    VERIFICATION = "verification", "Verify again"
    GENERATION = "generation", "Generate again"


class RerunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    # Saved, but the broker refused the task: the sweep enqueues it later.
    WAITING = "waiting", "Waiting for the task queue"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Rerun(models.Model):
    """An admin's second try at part of a finished batch.

    Verification re-runs verify `item_ids` again (optionally with another
    verifier endpoint or rubric version, snapshotted in `config`); generation
    re-runs generate the `slots` (group key, sample index) that failed. Either
    adds rows and never overwrites: the batch's own rows stay as history.
    """

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="reruns")
    kind = models.CharField(max_length=20, choices=RerunKind.choices)
    # How the targets were chosen, for people: "failed" or "chosen".
    selection = models.CharField(max_length=20)
    item_ids = models.JSONField(default=list, blank=True)
    slots = models.JSONField(default=list, blank=True)
    # The verifier endpoint's provenance and rubric version this re-run used.
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20,
        choices=RerunStatus.choices,
        default=RerunStatus.QUEUED,
        db_index=True,
    )
    status_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reruns",
    )
    targets = models.PositiveIntegerField(default=0)
    items_generated = models.PositiveIntegerField(default=0)
    generation_failures = models.PositiveIntegerField(default=0)
    items_verified = models.PositiveIntegerField(default=0)
    items_kept = models.PositiveIntegerField(default=0)
    verifier_errors = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for batch {self.batch_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {RerunStatus.DONE, RerunStatus.FAILED}


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    # Saved, but the task queue did not take it; a sweep sends it again.
    WAITING = "waiting", "Waiting for the task queue"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """One uploaded source being imported by a worker.

    `source_path` is relative to MEDIA_ROOT (the upload is stored there under a
    generated name). `report` holds the import report: counts of what was
    created and of every skip reason, with the first few examples of each.
    """

    source_path = models.CharField(max_length=500)
    original_name = models.CharField(max_length=255, blank=True)
    source_format = models.CharField(
        max_length=20, choices=SourceKind.choices, blank=True
    )
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=20,
        choices=ImportJobStatus.choices,
        default=ImportJobStatus.QUEUED,
        db_index=True,
    )
    records_seen = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="import_jobs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.original_name or self.source_path}"

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportJobStatus.SUCCEEDED, ImportJobStatus.FAILED}

    @property
    def skip_rows(self) -> list[tuple[str, int, list[dict[str, str]]]]:
        """(reason, count, first examples) for each skip reason in the report."""
        examples = self.report.get("examples", {})
        return [
            (reason, count, examples.get(reason, []))
            for reason, count in self.report.get("skipped", {}).items()
        ]


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    LEASED = "leased", "Leased by a worker"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Chunk(models.Model):
    """A slice of a batch's figure groups: the unit of work and of recovery.

    The database is the ledger. A worker claims a chunk by a conditional
    update that sets a lease; if the worker dies, the lease expires and the
    sweep hands the chunk out again. `lease_token` names the current claim, so
    only the latest claimant may write results.
    """

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    group_keys = models.JSONField(default=list)
    figure_ids = models.JSONField(default=list)
    status = models.CharField(
        max_length=10,
        choices=ChunkStatus.choices,
        default=ChunkStatus.PENDING,
        db_index=True,
    )
    lease_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    model_seconds = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["batch_id", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "index"], name="chunk_unique_index"
            ),
            models.CheckConstraint(
                condition=~Q(status="leased") | Q(lease_expires_at__isnull=False),
                name="chunk_lease_has_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"Chunk {self.index} of batch {self.batch_id} ({self.status})"


class GenerationFailure(models.Model):
    """Generator output that could not become an item: why, and what it said."""

    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, related_name="generation_failure_rows"
    )
    # The re-run whose try this was (empty for the batch's own tries).
    rerun = models.ForeignKey(
        Rerun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="generation_failure_rows",
    )
    group_key = models.CharField(max_length=64)
    sample_index = models.PositiveSmallIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    reason = models.CharField(max_length=40, db_index=True)
    detail = models.TextField(blank=True)
    # For a failed request: why (backends.base CAUSE_*), the HTTP status, what
    # the server said (truncated) and the prompt's size in tokens.
    cause = models.CharField(max_length=40, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    server_message = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    raw_output = ModelOutputField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch_id", "group_key", "sample_index", "attempt"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "group_key", "sample_index", "attempt"],
                name="generationfailure_unique_attempt",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} for {self.group_key}#{self.sample_index}"
