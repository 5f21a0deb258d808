"""The batch API: admins launch and read; everyone else is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from synthesis.models import Batch
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_backends import fake_config

pytestmark = pytest.mark.django_db


def test_admin_launches_and_reads_a_batch(
    admin_client, django_capture_on_commit_callbacks
):
    make_figures(3)
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("synthesis:api_batches"),
            {"name": "api", "figure_filter": {"sample": 2}, "config": fake_config()},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1
    body = response.json()
    assert body["figure_groups_total"] == 2 and body["status"] == "queued"
    detail = admin_client.get(reverse("synthesis:api_batch", args=[body["id"]])).json()
    assert detail["chunks"] == {"pending": 1} and detail["percent"] == 0
    listing = admin_client.get(reverse("synthesis:api_batches")).json()
    assert [b["name"] for b in listing] == ["api"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"config": {"items_per_group": 0}}, "items_per_group"),
        ({"figure_filter": {"sample": "2"}}, "sample must be a positive number"),
        ({"figure_filter": {"colour": "red"}}, "unknown figure filter colour"),
    ],
)
def test_bad_launch_is_a_clear_400_and_writes_nothing(admin_client, body, message):
    make_figures(1)
    response = admin_client.post(
        reverse("synthesis:api_batches"),
        {"name": "api", **body},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Batch.objects.exists()


@pytest.mark.parametrize("persona", ["outsider", "reviewer"])
def test_non_admins_are_refused(request, persona):
    client = request.getfixturevalue(f"{persona}_client")
    response = client.post(
        reverse("synthesis:api_batches"), {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert client.get(reverse("synthesis:api_batches")).status_code == 403


def test_anonymous_is_refused(client):
    assert client.get(reverse("synthesis:api_batches")).status_code in {401, 403}
