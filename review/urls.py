from __future__ import annotations

from django.urls import path

from review import api, views

app_name = "review"

urlpatterns = [
    path("", views.next_item, name="next"),
    path("upcoming/", views.upcoming, name="upcoming"),
    path("undo/", views.undo, name="undo"),
    path("item/<int:pk>/", views.item_detail, name="item"),
    path("item/<int:pk>/decide/", views.decide, name="decide"),
    path("item/<int:pk>/edit/", views.edit, name="edit"),
    path("figure/<int:pk>/image/", views.figure_image, name="figure_image"),
    path("batch/<int:pk>/policy/", views.batch_policy, name="batch_policy"),
    path("api/next/", api.next_item, name="api_next"),
    path("api/items/<int:pk>/", api.item_detail, name="api_item"),
    path("api/items/<int:pk>/decisions/", api.decide, name="api_decide"),
    path("api/items/<int:pk>/revisions/", api.revisions, name="api_revisions"),
]
