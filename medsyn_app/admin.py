"""Django admin rules shared by the apps: read-only records, guarded accounts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest

from medsyn_app.roles import ROLE_GROUPS


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that only MedSyn's services write: readable, never edited here.

    This holds for superusers too. Decisions, edits and verdicts are the audit
    trail; a change here would bypass the version check and the history.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MetadataAdmin(admin.ModelAdmin):
    """Imported rows whose metadata (licence, modality, caption) may be corrected,
    but which only an import creates and nothing deletes (items hang off them)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MedsynUserAdmin(UserAdmin):
    """Admins manage reviewer and admin accounts, not operators or permissions.

    A non-superuser sees no superuser account, cannot set `is_superuser` or
    per-user permissions, and may put users only in the role groups; so no
    admin can raise themselves or anyone else above the admin role.
    """

    operator_fields = ("is_superuser", "user_permissions")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Users are deactivated (is_active off), never deleted: the audit log
        # and every decision refer to them.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        users = super().get_queryset(request)
        if request.user.is_superuser:
            return users
        return users.filter(is_superuser=False)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        return [
            (
                name,
                {
                    **options,
                    "fields": [
                        f for f in options["fields"] if f not in self.operator_fields
                    ],
                },
            )
            for name, options in fieldsets
        ]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kw: Any):
        if db_field.name == "groups" and not request.user.is_superuser:
            kw["queryset"] = Group.objects.filter(name__in=ROLE_GROUPS)
        return super().formfield_for_manytomany(db_field, request, **kw)


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), MedsynUserAdmin)
