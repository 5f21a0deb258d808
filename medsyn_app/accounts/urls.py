from __future__ import annotations

from django.urls import path

from medsyn_app.accounts import views

app_name = "accounts"

urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/revoke/", views.revoke, name="revoke"),
]
