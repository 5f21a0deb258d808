from __future__ import annotations

from django.apps import AppConfig


class MedsynAppConfig(AppConfig):
    name = "medsyn_app"
    verbose_name = "MedSyn"

    def ready(self) -> None:
        from medsyn_app import endpoints

        # A mistake in the model endpoint registry stops every process at
        # start-up (web, worker, command) rather than at a batch's first chunk.
        endpoints.registry()
