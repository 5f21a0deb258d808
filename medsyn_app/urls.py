from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from medsyn_app import views
from synthesis.ingest import urls as ingest_urls

admin.site.site_header = "MedSyn administration"
admin.site.site_title = "MedSyn"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("imports/", include("synthesis.ingest.urls")),
    path("api/imports/", include((ingest_urls.api_urlpatterns, "imports-api"))),
    path("exports/", include("review.export.urls")),
    path("quality/", include("review.quality.urls")),
    path("synthesis/", include("synthesis.urls")),
    path("review/", include("review.urls")),
]
