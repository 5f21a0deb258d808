from __future__ import annotations

from django.urls import path

from review.export import api, views

app_name = "exports"

urlpatterns = [
    path("", views.export_list, name="list"),
    path("preview/", views.export_preview, name="preview"),
    path("<int:pk>/", views.export_detail, name="detail"),
    path("<int:pk>/archive.zip", views.export_archive, name="archive"),
    path("<int:pk>/files/<path:path>", views.export_file, name="file"),
    path("api/", api.ExportListApi.as_view(), name="api-list"),
    path("api/preview/", api.ExportPreviewApi.as_view(), name="api-preview"),
    path("api/<int:pk>/", api.ExportDetailApi.as_view(), name="api-detail"),
]
