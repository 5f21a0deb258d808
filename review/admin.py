from __future__ import annotations

from django.contrib import admin

from medsyn_app.admin import ReadOnlyAdmin
from review.models import Assignment, Export, ItemRevision, Review, ReviewerProfile


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = [
        "item",
        "reviewer",
        "decision",
        "reason_code",
        "seconds_spent",
        "created_at",
    ]
    list_filter = ["decision", "reason_code", "reviewer"]
    raw_id_fields = ["item"]
    date_hierarchy = "created_at"


@admin.register(ItemRevision)
class ItemRevisionAdmin(ReadOnlyAdmin):
    list_display = ["item", "version", "author", "answer_changed", "created_at"]
    list_filter = ["answer_changed", "author"]
    raw_id_fields = ["item"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["item", "reviewer", "created_at", "claimed_until", "completed_at"]
    list_filter = ["reviewer"]
    raw_id_fields = ["item"]


@admin.register(Export)
class ExportAdmin(ReadOnlyAdmin):
    list_display = ["name", "status", "item_count", "seed", "created_by", "created_at"]
    list_filter = ["status"]


@admin.register(ReviewerProfile)
class ReviewerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "specialties"]
    search_fields = ["user__username"]
