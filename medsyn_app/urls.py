from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from medsyn_app import views
from medsyn_app.accounts import views as accounts_views
from synthesis.ingest import urls as ingest_urls

admin.site.site_header = "MedSyn administration"
admin.site.site_title = "MedSyn"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Before Django's auth URLs: reset is offered only where mail is set up.
    path(
        "accounts/password_reset/",
        accounts_views.password_reset,
        name="password_reset",
    ),
    path("accounts/", include("medsyn_app.accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("audit/", include("medsyn_app.audit.urls")),
    path("admin/", admin.site.urls),
    path("imports/", include("synthesis.ingest.urls")),
    path("api/imports/", include((ingest_urls.api_urlpatterns, "imports-api"))),
    path("exports/", include("review.export.urls")),
    path("quality/", include("review.quality.urls")),
    path("evaluation/", include("review.evaluation.urls")),
    path("synthesis/", include("synthesis.urls")),
    path("review/", include("review.urls")),
]
