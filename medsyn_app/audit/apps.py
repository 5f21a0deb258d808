from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only record of who did what (every state change, every login)."""

    name = "medsyn_app.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from medsyn_app.audit import receivers

        receivers.connect()
