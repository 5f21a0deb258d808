from __future__ import annotations

from django.urls import reverse

from review.models import Export


def test_api_is_for_admins_only(client, reviewer_client):
    url = reverse("exports:api-list")
    assert client.get(url).status_code in {401, 403}
    assert reviewer_client.get(url).status_code == 403
    assert reviewer_client.post(url, {"name": "x"}, "application/json").status_code == (
        403
    )
    assert not Export.objects.exists()


def test_admin_creates_and_reads_an_export(
    admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("exports:api-list"),
            {
                "name": "API",
                "settings": {"formats": ["verl"], "eval_set_path": "/etc/passwd"},
            },
            content_type="application/json",
        )
    assert response.status_code == 201, response.json()
    assert len(callbacks) == 1
    export = Export.objects.get()
    assert export.settings["eval_set_path"] == ""
    detail = admin_client.get(reverse("exports:api-detail", args=[export.pk])).json()
    assert detail["formats"] == ["verl"] and detail["status"] == "pending"


def test_bad_settings_get_a_clear_400(admin_client):
    response = admin_client.post(
        reverse("exports:api-list"),
        {"name": "API", "settings": {"ratios": [1, 1, 1]}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "add up to 1" in response.json()["detail"]
    assert not Export.objects.exists()
