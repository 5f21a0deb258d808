"""Demo accounts for the quick start: one admin and one reviewer."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from medsyn_app.roles import ADMIN_GROUP, REVIEWER_GROUP, grant_role


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


DEMO_LOGINS = (
    DemoLogin("admin", "medsyn-admin", ADMIN_GROUP),
    DemoLogin("reviewer", "medsyn-review", REVIEWER_GROUP),
)


@transaction.atomic
def create_demo_users() -> list[DemoLogin]:
    """Create (or reset) the demo accounts; running it twice changes nothing more."""
    user_model = get_user_model()
    for login in DEMO_LOGINS:
        user, _ = user_model.objects.get_or_create(username=login.username)
        user.is_active = True
        user.set_password(login.password)
        user.save(update_fields=["is_active", "password"])
        grant_role(user, login.role)
    return list(DEMO_LOGINS)
