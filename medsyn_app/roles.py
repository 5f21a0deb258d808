"""The two roles of MedSyn and the guards that enforce them.

`admin` launches batches, exports and manages users; `reviewer` reviews only.
A Django superuser (an operator, made with `createsuperuser`) counts as an
admin, and an admin may also review. Every view goes through one of these
guards, so a role check is never left to a template.

MedSyn admins are not superusers: in Django admin they hold exactly the model
permissions in `ADMIN_PERMISSIONS` (read the records, fix document and figure
metadata, manage reviewer accounts), synced onto the group after every migrate.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

ADMIN_GROUP = "admin"
REVIEWER_GROUP = "reviewer"
ROLE_GROUPS = (ADMIN_GROUP, REVIEWER_GROUP)


# What the admin group may do in Django admin ("app_label.codename"). Reviews,
# revisions, items and verifications are read-only there for everyone.
ADMIN_PERMISSIONS = (
    *(
        f"synthesis.view_{model}"
        for model in (
            "document", "figure", "batch", "item", "itemfigure", "verification",
            "importjob", "chunk", "generationfailure",
        )
    ),
    "synthesis.change_document",
    "synthesis.change_figure",
    *(
        f"review.view_{model}"
        for model in ("review", "itemrevision", "assignment", "export")
    ),
    "review.view_reviewerprofile",
    "review.add_reviewerprofile",
    "review.change_reviewerprofile",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
)  # fmt: skip


def grant_role(user: Any, role: str) -> None:
    """Put a user in a role. Admins get Django admin (staff), never superuser."""
    from django.contrib.auth.models import Group

    if role not in ROLE_GROUPS:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLE_GROUPS}")
    if role == ADMIN_GROUP and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.__dict__.pop("_medsyn_groups", None)


def sync_role_permissions(**_: Any) -> None:
    """Give the admin group exactly `ADMIN_PERMISSIONS` (run after migrate).

    Permissions are created first, so a fresh database gets them in one run.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    wanted = Q(pk__in=[])
    for name in ADMIN_PERMISSIONS:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    group.permissions.set(Permission.objects.filter(wanted))
    Group.objects.get_or_create(name=REVIEWER_GROUP)


def _group_names(user: Any) -> set[str]:
    # Cached on the user object: the nav and the guard both ask on every page.
    if not hasattr(user, "_medsyn_groups"):
        user._medsyn_groups = set(user.groups.values_list("name", flat=True))
    return user._medsyn_groups


def is_admin(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or ADMIN_GROUP in _group_names(user)


def is_reviewer(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return is_admin(user) or REVIEWER_GROUP in _group_names(user)


def _role_required(check: Callable[[Any], bool]) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied(
                    "Your account does not have the role for this page."
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = _role_required(is_admin)
reviewer_required = _role_required(is_reviewer)


class IsMedsynAdmin(BasePermission):
    message = "Only MedSyn admins may do this."

    def has_permission(self, request: HttpRequest, view: Any) -> bool:
        return is_admin(request.user)


class IsReviewer(BasePermission):
    message = "Only MedSyn reviewers may do this."

    def has_permission(self, request: HttpRequest, view: Any) -> bool:
        return is_reviewer(request.user)


def role_context(request: HttpRequest) -> dict[str, bool]:
    """Template context: which navigation the signed-in user gets."""
    user = getattr(request, "user", None)
    if user is None:
        return {"user_is_admin": False, "user_is_reviewer": False}
    return {"user_is_admin": is_admin(user), "user_is_reviewer": is_reviewer(user)}
