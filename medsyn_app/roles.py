"""The two roles of MedSyn and the guards that enforce them.

`admin` launches batches, exports and manages users; `reviewer` reviews only.
A Django superuser counts as an admin, and an admin may also review. Every view
goes through one of these guards, so a role check is never left to a template.
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


def grant_role(user: Any, role: str) -> None:
    """Put a user in a role. Admins manage users, so they get Django's full admin."""
    from django.contrib.auth.models import Group

    if role not in ROLE_GROUPS:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLE_GROUPS}")
    is_admin_role = role == ADMIN_GROUP
    user.is_staff = user.is_staff or is_admin_role
    user.is_superuser = user.is_superuser or is_admin_role
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.__dict__.pop("_medsyn_groups", None)


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
