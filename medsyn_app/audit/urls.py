from __future__ import annotations

from django.urls import path

from medsyn_app.audit import views

app_name = "audit"

urlpatterns = [path("", views.events, name="events")]
