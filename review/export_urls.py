from __future__ import annotations

from django.urls import path

from review import export_api, export_views

app_name = "exports"

urlpatterns = [
    path("", export_views.export_list, name="list"),
    path("<int:pk>/", export_views.export_detail, name="detail"),
    path("<int:pk>/archive.zip", export_views.export_archive, name="archive"),
    path("<int:pk>/files/<path:path>", export_views.export_file, name="file"),
    path("api/", export_api.ExportListApi.as_view(), name="api-list"),
    path("api/<int:pk>/", export_api.ExportDetailApi.as_view(), name="api-detail"),
]
