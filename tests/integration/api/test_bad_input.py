"""Bad input is a 4xx with a message, never a 500 (the cases found on main)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from review.models import Assignment, Export
from synthesis.models import Batch
from tests.fixtures.builders import make_batch, make_figures, make_reviewable_item

pytestmark = pytest.mark.django_db


def _post(client, url: str, body) -> object:
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, raw, content_type="application/json")


def test_deeply_nested_json_is_refused_before_it_is_parsed(
    reviewer_client, reviewer_user
):
    item = make_reviewable_item(make_batch("Deep"))
    Assignment.objects.create(item=item, reviewer=reviewer_user)
    deep = '{"decision": ' + "[" * 5000 + "]" * 5000 + "}"
    response = _post(
        reviewer_client, reverse("review:api_decide", args=[item.pk]), deep
    )
    assert response.status_code == 400
    assert "nested 5001 levels" in response.json()["detail"]


def test_an_oversized_body_is_refused(settings, admin_client):
    settings.MEDSYN_API_MAX_JSON_BYTES = 1000
    response = _post(
        admin_client, reverse("exports:api-list"), {"name": "x" * 2000, "settings": {}}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("config", {"keep_rule": "x"}),
        ("config", {"generator": "x"}),
        ("figure_filter", {"figure_ids": "abc"}),
        ("figure_filter", {"figure_ids": ["abc"]}),
    ],
)
def test_bad_batch_settings_answer_400(admin_client, field, value):
    make_figures(1)
    response = _post(
        admin_client,
        reverse("synthesis:api_batches"),
        {"name": "x", "figure_filter": {"limit": 1}, **{field: value}},
    )
    assert response.status_code == 400, response.content
    assert not Batch.objects.exists()


@pytest.mark.parametrize(
    "settings_",
    [
        {"freeze_test_from": "abc"},
        {"freeze_test_from": {}},
        {"freeze_test_from": [1]},
        {"seed": 10**30},
        {"seed": -1},
        {"ratios": "abc"},
    ],
)
def test_bad_export_settings_answer_400(admin_client, settings_):
    response = _post(
        admin_client, reverse("exports:api-list"), {"name": "x", "settings": settings_}
    )
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert not Export.objects.exists()


def test_an_unknown_api_route_answers_json(reviewer_client):
    response = reviewer_client.get("/review/api/items/not-a-number/")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is nothing at this address."}


@pytest.mark.parametrize(
    "url",
    [
        "/review/api/items/99999999999999999999999/",
        "/review/item/99999999999999999999999/",
        "/exports/api/99999999999999999999999/",
        "/synthesis/api/batches/99999999999999999999999/",
        "/quality/api/99999999999999999999999/",
    ],
)
def test_an_id_too_large_for_the_database_is_a_404(admin_client, url):
    assert admin_client.get(url).status_code == 404
