from __future__ import annotations

from django.urls import path

from review.items import api, views

app_name = "items"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("bulk/", views.bulk, name="bulk"),
    path("failures/", views.failures, name="failures"),
    path("<int:pk>/", views.item_detail, name="detail"),
    path("api/", api.ItemListApi.as_view(), name="api-list"),
]
