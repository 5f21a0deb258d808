from __future__ import annotations

from django.contrib import admin

from medsyn_app.admin import MetadataAdmin, ReadOnlyAdmin, ReadOnlyInline
from synthesis.models import (
    Batch,
    Chunk,
    Document,
    Figure,
    GenerationFailure,
    ImportJob,
    Item,
    ItemFigure,
    Verification,
)


@admin.register(Document)
class DocumentAdmin(MetadataAdmin):
    list_display = [
        "source_id",
        "title",
        "journal",
        "year",
        "license_family",
        "source_kind",
    ]
    list_filter = ["source_kind", "license_family", "year"]
    search_fields = ["source_id", "pmcid", "doi", "title"]


@admin.register(Figure)
class FigureAdmin(MetadataAdmin):
    list_display = ["id", "document", "label", "modality", "anatomy", "width", "height"]
    list_filter = ["modality", "anatomy", "document__source_kind"]
    search_fields = ["caption", "label", "sha256", "document__source_id"]
    list_select_related = ["document"]
    raw_id_fields = ["document"]
    # Metadata may be corrected here; the stored image and its hashes may not.
    readonly_fields = ["image", "sha256", "phash", "width", "height", "group_key"]


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "kind",
        "status",
        "figure_groups_total",
        "items_generated",
        "items_kept",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["name"]


class ItemFigureInline(ReadOnlyInline):
    model = ItemFigure


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "batch",
        "status",
        "answer",
        "modality",
        "question_type",
        "version",
    ]
    list_filter = ["status", "modality", "anatomy", "question_type", "batch"]
    search_fields = ["question"]
    list_select_related = ["batch"]
    inlines = [ItemFigureInline]


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdmin):
    list_display = [
        "item",
        "verifier_model",
        "rubric_version",
        "essentials_passed",
        "normalized_score",
        "kept",
        "error",
    ]
    list_filter = ["essentials_passed", "kept", "rubric_version", "verifier_model"]
    raw_id_fields = ["item"]


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "original_name", "source_format", "status", "records_seen"]
    list_filter = ["status", "source_format"]
    readonly_fields = ["report", "error", "started_at", "finished_at"]


@admin.register(Chunk)
class ChunkAdmin(ReadOnlyAdmin):
    list_display = ["batch", "index", "status", "attempts", "lease_expires_at"]
    list_filter = ["status"]
    raw_id_fields = ["batch"]


@admin.register(GenerationFailure)
class GenerationFailureAdmin(ReadOnlyAdmin):
    list_display = ["batch", "group_key", "sample_index", "attempt", "reason"]
    list_filter = ["reason"]
    raw_id_fields = ["batch"]
