from __future__ import annotations

from django.apps import AppConfig


class ItemsConfig(AppConfig):
    """The item browser: every item, searchable, with who decided what."""

    name = "review.items"
    label = "items"
    verbose_name = "Item browser"
