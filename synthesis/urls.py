from __future__ import annotations

from django.urls import path

from synthesis import api, views

app_name = "synthesis"

urlpatterns = [
    path("batches/", views.batch_list, name="batch_list"),
    path("batches/new/", views.batch_launch, name="batch_launch"),
    path("batches/new/match/", views.batch_launch_match, name="batch_launch_match"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/cancel/", views.batch_cancel, name="batch_cancel"),
    path("batches/<int:pk>/resume/", views.batch_resume, name="batch_resume"),
    path("batches/<int:pk>/reruns/", views.batch_reruns, name="batch_reruns"),
    path("api/batches/", api.BatchListApi.as_view(), name="api_batches"),
    path("api/batches/<int:pk>/", api.BatchDetailApi.as_view(), name="api_batch"),
    path(
        "api/batches/<int:pk>/reruns/",
        api.BatchRerunsApi.as_view(),
        name="api_batch_reruns",
    ),
]
