"""Auditing what Django itself changes: sign-ins, and roles and permissions.

Role and permission changes are caught at the model layer, so they are
recorded whichever path made them: Django admin, a command, the API or the
shell. These are receivers for framework events, not domain flow; every
MedSyn action is recorded by its own service.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.db.models.signals import m2m_changed, post_save, pre_save

from medsyn_app.audit import services

ACCOUNT_FLAGS = ("is_active", "is_staff", "is_superuser")


def _logged_in(sender: Any, request: Any, user: Any, **_: Any) -> None:
    services.record("auth.login", actor=user, target=user)


def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None:
        services.record("auth.logout", actor=user, target=user)


def _login_failed(
    sender: Any, credentials: dict, request: Any = None, **_: Any
) -> None:
    # Django has already masked the secret; only the name tried is kept.
    services.record(
        "auth.login_failed",
        actor=None,
        after={"username": str(credentials.get("username", ""))[:150]},
    )


def _locked_out(sender: Any, request: Any, username: str, ip_address: str, **_: Any):
    services.record(
        "auth.lockout", actor=None, after={"username": username, "ip": ip_address}
    )


def _remember_flags(sender: Any, instance: Any, update_fields: Any = None, **_: Any):
    if instance.pk is None or (
        update_fields is not None and not set(update_fields) & set(ACCOUNT_FLAGS)
    ):
        instance._audit_flags = None
        return
    old = sender.objects.filter(pk=instance.pk).values(*ACCOUNT_FLAGS).first()
    instance._audit_flags = old


def _account_saved(sender: Any, instance: Any, created: bool, **_: Any) -> None:
    now = {flag: getattr(instance, flag) for flag in ACCOUNT_FLAGS}
    if created:
        services.record(
            "auth.user_created",
            target=instance,
            after={"username": instance.username, **now},
        )
        return
    old = getattr(instance, "_audit_flags", None)
    if old:
        before, after = services.changed(old, now)
        if after:
            services.record(
                "auth.user_changed", target=instance, before=before, after=after
            )


def _group_names(user_ids: Any) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {pk: [] for pk in user_ids}
    through = get_user_model().groups.through.objects.filter(user_id__in=user_ids)
    for user_id, name in through.values_list("user_id", "group__name"):
        names[user_id].append(name)
    return {pk: sorted(found) for pk, found in names.items()}


def _groups_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any = None, **_: Any
) -> None:
    """Record each user's role groups before and after any change to them."""
    if action.startswith("pre_"):
        if reverse:  # group.user_set.add/remove/clear(): the users are pk_set
            users = (
                pk_set
                if pk_set is not None
                else instance.user_set.values_list("pk", flat=True)
            )
        else:
            users = [instance.pk]
        instance._audit_groups = _group_names(list(users))
        return
    before = getattr(instance, "_audit_groups", {})
    after = _group_names(list(before))
    for user_id, names in after.items():
        if names != before[user_id]:
            services.record(
                "auth.roles_changed",
                object_type="auth.user",
                object_id=user_id,
                before={"groups": before[user_id]},
                after={"groups": names},
            )


def _permissions_changed(sender: Any, instance: Any, action: str, **kw: Any) -> None:
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    services.record(
        "auth.permissions_changed",
        target=instance,
        after={
            "change": action.removeprefix("post_"),
            "permission_ids": sorted(kw.get("pk_set") or ()),
        },
    )


def connect() -> None:
    user_model = get_user_model()
    user_logged_in.connect(_logged_in, dispatch_uid="audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit-login-failed")
    pre_save.connect(_remember_flags, sender=user_model, dispatch_uid="audit-user-pre")
    post_save.connect(_account_saved, sender=user_model, dispatch_uid="audit-user-post")
    m2m_changed.connect(
        _groups_changed, sender=user_model.groups.through, dispatch_uid="audit-groups"
    )
    m2m_changed.connect(
        _permissions_changed,
        sender=user_model.user_permissions.through,
        dispatch_uid="audit-user-perms",
    )
    m2m_changed.connect(
        _permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="audit-group-perms",
    )
    try:
        from axes.signals import user_locked_out
    except ImportError:  # pragma: no cover - axes is in requirements
        return
    user_locked_out.connect(_locked_out, dispatch_uid="audit-lockout")
