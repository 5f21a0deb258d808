from __future__ import annotations

from django.apps import AppConfig


class MedsynAppConfig(AppConfig):
    name = "medsyn_app"
    verbose_name = "MedSyn"

    def ready(self) -> None:
        from django.apps import apps
        from django.db.models.signals import post_migrate

        # Importing api registers its OpenAPI extension for the auth class.
        from medsyn_app import api, endpoints  # noqa: F401
        from medsyn_app.roles import sync_role_permissions

        # A mistake in the model endpoint registry stops every process at
        # start-up (web, worker, command) rather than at a batch's first chunk.
        endpoints.registry()

        # Setup, not domain flow: the admin group's permissions follow the code.
        # This app has no models, so Django sends it no post_migrate of its own;
        # auth's is sent on every migrate (and test flush), and the sync creates
        # every app's permissions itself, so the order of apps does not matter.
        post_migrate.connect(
            sync_role_permissions,
            sender=apps.get_app_config("auth"),
            dispatch_uid="medsyn-role-permissions",
        )
