from __future__ import annotations

from django.urls import path

from review.quality import api, views

app_name = "quality"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/plan-audit/", views.plan_audit, name="plan_audit"),
    path("adjudication/", views.adjudication_queue, name="adjudication_queue"),
    path(
        "adjudication/<int:pk>/",
        views.adjudication_item,
        name="adjudication_item",
    ),
    path("adjudication/<int:pk>/settle/", views.settle, name="settle"),
    path(
        "adjudication/<int:pk>/adopt/<int:proposal_id>/",
        views.adopt,
        name="adopt",
    ),
    path("adjudication/<int:pk>/merge/", views.merge, name="merge"),
    path(
        "batches/<int:batch_id>/overlap/",
        views.overlap_settings,
        name="overlap",
    ),
    path(
        "api/items/<int:pk>/reviews/",
        api.ItemReviewsApi.as_view(),
        name="api_item_reviews",
    ),
    path("api/<str:batch>/", api.QualityFiguresApi.as_view(), name="api"),
]
