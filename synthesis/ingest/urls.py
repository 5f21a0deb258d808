"""Import pages under /imports/ and the import API under /api/imports/."""

from __future__ import annotations

from django.urls import path

from synthesis.ingest import api, views

app_name = "imports"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("<int:pk>/", views.job, name="job"),
    path("figures/<int:pk>/image", views.figure_image, name="figure-image"),
]

# Mounted by the root URLconf as its own namespace, "imports-api".
api_urlpatterns = [
    path("", api.ImportJobListApi.as_view(), name="list"),
    path("<int:pk>/", api.ImportJobDetailApi.as_view(), name="detail"),
]
