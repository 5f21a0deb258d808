"""Demo accounts for the quick start: one admin and one reviewer.

Never in production (`runstack` skips them there, `create_demo_users` refuses),
and never a reset: an account whose password was changed keeps it.
"""

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


@dataclass(frozen=True)
class DemoAccount:
    login: DemoLogin
    password_is_default: bool

    @property
    def line(self) -> str:
        """How the start-up banner shows the account."""
        shown = (
            f"{self.login.username} / {self.login.password}"
            if self.password_is_default
            else f"{self.login.username} (password changed)"
        )
        return f"{self.login.role:<9} {shown}"


DEMO_LOGINS = (
    DemoLogin("admin", "medsyn-admin", ADMIN_GROUP),
    DemoLogin("reviewer", "medsyn-review", REVIEWER_GROUP),
)


@transaction.atomic
def create_demo_users() -> list[DemoAccount]:
    """Create the demo accounts that are missing; running it again changes nothing.

    An existing account keeps its password (and stays disabled if an admin
    disabled it); its role is granted again.
    """
    user_model = get_user_model()
    accounts = []
    for login in DEMO_LOGINS:
        user, created = user_model.objects.get_or_create(username=login.username)
        if created:
            user.set_password(login.password)
            user.save(update_fields=["password"])
        grant_role(user, login.role)
        accounts.append(
            DemoAccount(login, created or user.check_password(login.password))
        )
    return accounts
