"""Evaluation sets, their items and images, and cached text embeddings.

A set is a registered benchmark (read from its released files, embedded once
when registered) or a snapshot of an export's test or validation split. Items
are stored with the letters and options the model will see, so a run and its
predictions stay comparable however the source changes later.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from review.models import Export

ANSWER_LETTERS = tuple("ABCDEFGHIJ")


class SetKind(models.TextChoices):
    BENCHMARK = "benchmark", "Registered benchmark"
    EXPORT_SPLIT = "export_split", "Export split"


class Benchmark(models.TextChoices):
    """The six benchmarks the method reports (§6.3), and any other in the
    MedSynVQA layout."""

    PMC_VQA = "pmc_vqa", "PMC-VQA"
    MMMU_MED = "mmmu_med", "MMMU (medical)"
    MEDXPERTQA_MM = "medxpertqa_mm", "MedXpertQA-MM"
    PATHVQA = "pathvqa", "PathVQA (closed)"
    SLAKE = "slake", "SLAKE (closed)"
    VQA_RAD = "vqa_rad", "VQA-RAD (closed)"
    OTHER = "other", "Other (MedSynVQA layout)"


def image_upload_to(image: EvaluationImage, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "png"
    return f"evalsets/{image.sha256[:2]}/{image.sha256}.{ext}"


class EvaluationSet(models.Model):
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=SetKind.choices)
    # A benchmark set's benchmark; a mixed file (MedVLThinker-Eval) names each
    # item's own benchmark on the item.
    benchmark = models.CharField(max_length=20, choices=Benchmark.choices, blank=True)
    split = models.CharField(max_length=40)
    license = models.CharField(max_length=200, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    export = models.ForeignKey(
        Export,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evaluation_sets",
    )
    item_count = models.PositiveIntegerField(default=0)
    image_count = models.PositiveIntegerField(default=0)
    # The sentence-embedding model its items were embedded with ("" = none).
    embedding_model = models.CharField(max_length=200, blank=True)
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evaluation_sets",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["export", "split"],
                condition=Q(export__isnull=False),
                name="evaluationset_one_per_export_split",
            ),
            models.CheckConstraint(
                condition=Q(kind="benchmark", export__isnull=True)
                | Q(kind="export_split", export__isnull=False),
                name="evaluationset_kind_matches_source",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EvaluationImage(models.Model):
    """One image, stored once by content, with the hashes contamination uses."""

    sha256 = models.CharField(max_length=64, unique=True)
    image = models.FileField(upload_to=image_upload_to, max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    dct_phash = models.CharField("pHash (DCT)", max_length=16, blank=True)

    def __str__(self) -> str:
        return self.sha256[:12]


class EvaluationItem(models.Model):
    evaluation_set = models.ForeignKey(
        EvaluationSet, on_delete=models.CASCADE, related_name="items"
    )
    index = models.PositiveIntegerField()
    benchmark = models.CharField(max_length=40, blank=True)
    question = models.TextField()
    options = models.JSONField()
    answer = models.CharField(max_length=1)
    modality = models.CharField(max_length=50, blank=True)
    anatomy = models.CharField(max_length=50, blank=True)
    question_type = models.CharField(max_length=60, blank=True)
    source_key = models.CharField(max_length=300, blank=True)
    # The exported item's id (export splits): the export's dataset_index.
    source_item_id = models.BigIntegerField(null=True, blank=True)
    # sha256 of the embedded text: the key of its cached embedding.
    text_sha256 = models.CharField(max_length=64, db_index=True)
    images = models.ManyToManyField(
        EvaluationImage, through="EvaluationItemImage", related_name="items"
    )

    class Meta:
        ordering = ["evaluation_set_id", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation_set", "index"], name="evaluationitem_unique_index"
            ),
            models.CheckConstraint(
                condition=Q(answer__in=ANSWER_LETTERS),
                name="evaluationitem_answer_is_a_letter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_set_id}#{self.index}"


class EvaluationItemImage(models.Model):
    item = models.ForeignKey(
        EvaluationItem, on_delete=models.CASCADE, related_name="item_images"
    )
    image = models.ForeignKey(
        EvaluationImage, on_delete=models.PROTECT, related_name="item_links"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["item_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "position"], name="evaluationitemimage_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} image {self.position + 1}"


class TextEmbedding(models.Model):
    """A sentence embedding cached by the sha256 of the text and the model:
    embedded once, whatever set or export the text turns up in again."""

    model = models.CharField(max_length=200)
    text_sha256 = models.CharField(max_length=64)
    # float32, little-endian, L2-normalised.
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "text_sha256"], name="textembedding_unique_text"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model}:{self.text_sha256[:12]}"
