from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Account pages: API tokens and the password-reset gate (no models)."""

    name = "medsyn_app.accounts"
    label = "accounts"
    verbose_name = "Accounts"
