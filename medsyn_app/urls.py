from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from medsyn_app import views
from medsyn_app.accounts import views as accounts_views
from synthesis.ingest import urls as ingest_urls

admin.site.site_header = "MedSyn administration"
admin.site.site_title = "MedSyn"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers and bookmark tools ask for /favicon.ico whatever the page links.
    path("favicon.ico", views.favicon, name="favicon"),
    # Before Django's auth URLs: reset is offered only where mail is set up.
    path(
        "accounts/password_reset/",
        accounts_views.password_reset,
        name="password_reset",
    ),
    path("accounts/", include("medsyn_app.accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("audit/", include("medsyn_app.audit.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script.
    # Swagger UI sets inline styles, so this one page may (never scripts).
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
    path("imports/", include("synthesis.ingest.urls")),
    path("api/imports/", include((ingest_urls.api_urlpatterns, "imports-api"))),
    path("exports/", include("review.export.urls")),
    path("quality/", include("review.quality.urls")),
    path("evaluation/", include("review.evaluation.urls")),
    path("synthesis/", include("synthesis.urls")),
    path("review/", include("review.urls")),
    path("items/", include("review.items.urls")),
]

handler400 = "medsyn_app.errors.bad_request"
handler403 = "medsyn_app.errors.permission_denied"
handler404 = "medsyn_app.errors.not_found"
handler500 = "medsyn_app.errors.server_error"
