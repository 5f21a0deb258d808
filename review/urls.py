from __future__ import annotations

from django.urls import path

from review import views

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
]
