from __future__ import annotations

from django.urls import path

from review import quality_api, quality_views

app_name = "quality"

urlpatterns = [
    path("dashboard/", quality_views.dashboard, name="dashboard"),
    path("adjudication/", quality_views.adjudication_queue, name="adjudication_queue"),
    path(
        "adjudication/<int:pk>/",
        quality_views.adjudication_item,
        name="adjudication_item",
    ),
    path("adjudication/<int:pk>/settle/", quality_views.settle, name="settle"),
    path(
        "batches/<int:batch_id>/overlap/",
        quality_views.overlap_settings,
        name="overlap",
    ),
    path(
        "api/items/<int:pk>/reviews/",
        quality_api.ItemReviewsApi.as_view(),
        name="api_item_reviews",
    ),
    path("api/<str:batch>/", quality_api.QualityFiguresApi.as_view(), name="api"),
]
