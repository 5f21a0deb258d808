from __future__ import annotations

from django.urls import path

from review.evaluation import api, views

app_name = "evaluation"

urlpatterns = [
    path("", views.home, name="home"),
    path("launch/", views.launch, name="launch"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="cancel"),
    path("runs/<int:pk>/resume/", views.run_resume, name="resume"),
    path("compare/", views.compare, name="compare"),
    path("images/<int:pk>/", views.image, name="image"),
    path("api/runs/", api.RunListApi.as_view(), name="api-runs"),
    path("api/runs/<int:pk>/", api.RunDetailApi.as_view(), name="api-run"),
    path("api/compare/", api.CompareApi.as_view(), name="api-compare"),
]
