"""Reads for the account pages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from knox.models import AuthToken

from medsyn_app.roles import is_admin


def tokens_for(acting: Any) -> QuerySet[AuthToken]:
    """The tokens a user may see: their own; an admin sees everyone's."""
    tokens = AuthToken.objects.select_related("user").order_by("-created")
    return tokens if is_admin(acting) else tokens.filter(user=acting)


def token_owners(acting: Any) -> QuerySet:
    """Whom the user may make tokens for: themself; an admin, any active account."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return users if is_admin(acting) else users.filter(pk=acting.pk)
