from __future__ import annotations

from django.urls import path

from synthesis import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.upload, name="upload"),
    path("<int:pk>/", import_views.job, name="job"),
    path("figures/<int:pk>/image", import_views.figure_image, name="figure-image"),
]
