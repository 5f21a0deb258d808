"""API tokens: created and revoked by their owner or an admin, recorded.

Only a hash of each token is stored (django-rest-knox); the token itself is
returned once, at creation, and never again.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from knox.models import AuthToken

from medsyn_app.audit import services as audit
from medsyn_app.roles import is_admin


class TokenRefused(PermissionError):
    """The caller may not manage this user's tokens."""


def _check(acting: Any, owner: Any) -> None:
    if acting.pk != owner.pk and not is_admin(acting):
        raise TokenRefused("Only the owner or an admin may manage these tokens.")
    if not owner.is_active:
        raise TokenRefused(f"{owner.get_username()} is deactivated.")


@transaction.atomic
def create_token(*, acting: Any, owner: Any) -> tuple[AuthToken, str]:
    """A new token for `owner`; the returned string is all the caller gets."""
    _check(acting, owner)
    instance, token = AuthToken.objects.create(user=owner)
    audit.record(
        "auth.token_created",
        actor=acting,
        target=owner,
        after={"token": instance.token_key, "expires": instance.expiry},
    )
    return instance, token


@transaction.atomic
def revoke_token(*, acting: Any, token_key: str) -> int:
    """Revoke the tokens that start with `token_key`; returns how many."""
    tokens = AuthToken.objects.select_related("user").filter(token_key=token_key)
    revoked = 0
    for instance in tokens:
        if acting.pk != instance.user_id and not is_admin(acting):
            raise TokenRefused("Only the owner or an admin may revoke this token.")
        audit.record(
            "auth.token_revoked",
            actor=acting,
            target=instance.user,
            before={"token": instance.token_key},
        )
        instance.delete()
        revoked += 1
    return revoked
