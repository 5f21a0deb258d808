from __future__ import annotations

from django.apps import AppConfig


class MedsynAppConfig(AppConfig):
    name = "medsyn_app"
    verbose_name = "MedSyn"
