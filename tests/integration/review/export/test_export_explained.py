"""An export explains itself: before launching (preview) and once written.

The finding: an export of 8 accepted items wrote 3, 5 left out for an unknown
licence (said only in the manifest), validation and test came out empty, and
the page said neither. Live pages also needed a reload to show the result.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from review.export import selectors, services
from review.models import Export, ExportStatus
from tests.fixtures.builders import make_accepted_item, make_document
from tests.integration.review.export.conftest import run

FORM = {"name": "Eight", "formats": ["jsonl"], "seed": 3, "ratios": "0.8,0.1,0.1"}


@pytest.fixture
def eight(db):
    """3 open-licence items from one paper, 5 from papers of unknown licence."""
    paper = make_document("PMC000001")
    items = [make_accepted_item(document=paper, image_seed=k) for k in range(3)]
    for k in range(5):
        unknown = make_document(f"PMC90000{k}", license="", license_family="unknown")
        items.append(make_accepted_item(document=unknown, image_seed=50 + k))
    return items


def test_finished_export_names_the_exclusions_and_the_empty_splits(
    admin_client, admin_user, eight
):
    export = run(admin_user, formats=["jsonl"], seed=3)
    assert export.item_count == 3
    html = admin_client.get(reverse("exports:detail", args=[export.pk])).content
    page = html.decode()
    assert "<strong>3</strong> of 8 accepted items were exported" in page
    assert 'data-cause="license_family"><th scope="row">Licence not allowed' in page
    assert '<td class="num">5</td>' in page.split('data-cause="license_family"')[1]
    assert "The validation and test splits are empty" in page
    assert export.manifest["breakdown"]["excluded"] == {"license_family": 5}
    assert export.manifest["breakdown"]["empty_splits"] == ["validation", "test"]


def test_preview_shows_what_the_export_then_writes(admin_client, admin_user, eight):
    response = admin_client.post(reverse("exports:preview"), FORM)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> of 8 accepted items would be exported" in page
    assert "Licence not allowed" in page and "test splits are empty" in page
    assert not Export.objects.exists()  # a preview launches nothing
    settings = {"formats": ["jsonl"], "seed": 3, "ratios": [0.8, 0.1, 0.1]}
    resolved = services.resolve_settings(settings=settings, name="Eight")
    export = run(admin_user, **settings)
    assert selectors.preview(resolved) == selectors.breakdown_of(export)


def test_preview_names_items_not_accepted_yet(admin_client, eight):
    from tests.fixtures.builders import make_batch, make_reviewable_item

    make_reviewable_item(make_batch("Waiting for review"))
    page = admin_client.post(reverse("exports:preview"), FORM).content.decode()
    assert 'data-status="kept"' in page and "Not reviewed yet" in page


def test_preview_shows_form_errors(admin_client, eight):
    page = admin_client.post(
        reverse("exports:preview"), {**FORM, "ratios": "1,2"}
    ).content.decode()
    assert "Give three numbers" in page


def test_preview_is_for_admins_only(reviewer_client, eight):
    assert reviewer_client.post(reverse("exports:preview"), FORM).status_code == 403


def _poll(client, export):
    return client.get(
        reverse("exports:detail", args=[export.pk]), headers={"HX-Request": "true"}
    ).content.decode()


def test_last_poll_renders_the_whole_result_and_stops_polling(
    admin_client, admin_user, eight
):
    export = run(admin_user, formats=["jsonl"], seed=3)
    fragment = _poll(admin_client, export)
    assert "<html" not in fragment
    for part in ('id="export-splits"', 'id="contamination"', 'id="export-files"'):
        assert part in fragment
    assert "manifest.json" in fragment and "Licence not allowed" in fragment
    assert "hx-trigger" not in fragment
    # The banner of the launch ("queued") is cleared along with it.
    assert '<div id="messages" hx-swap-oob="true"></div>' in fragment


@pytest.mark.parametrize(
    ("status", "every"),
    [(ExportStatus.PENDING, "2s"), (ExportStatus.RUNNING, "2s"), ("waiting", "10s")],
)
def test_unfinished_exports_keep_polling(admin_client, admin_user, status, every):
    export = services.create_export(
        created_by=admin_user, name="Live", settings={}, enqueue=None
    )
    Export.objects.filter(pk=export.pk).update(status=status)
    fragment = _poll(admin_client, export)
    assert f'hx-trigger="every {every}"' in fragment
    assert "hx-swap-oob" not in fragment and 'id="export-files"' not in fragment


def test_failed_export_stops_polling(admin_client, admin_user):
    export = services.create_export(
        created_by=admin_user, name="Broken", settings={}, enqueue=None
    )
    Export.objects.filter(pk=export.pk).update(status="failed", error="disk full")
    fragment = _poll(admin_client, export)
    assert "disk full" in fragment and "hx-trigger" not in fragment


def test_api_preview_gives_the_same_counts(admin_client, eight):
    response = admin_client.post(
        reverse("exports:api-preview"),
        {"name": "Eight", "settings": {"formats": ["jsonl"], "seed": 3}},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["accepted"] == 8 and body["exported"] == 3
    assert body["excluded"] == [
        {
            "cause": "license_family",
            "label": "Licence not allowed (unknown or restricted licence)",
            "items": 5,
        }
    ]
    assert [s["items"] for s in body["splits"]] == [3, 0, 0]
    assert any("validation and test splits are empty" in w for w in body["warnings"])
    assert not Export.objects.exists()


def test_api_preview_refuses_bad_settings(admin_client):
    bad = {"name": "x", "settings": {"ratios": [1, 1, 1]}}
    response = admin_client.post(
        reverse("exports:api-preview"), bad, content_type="application/json"
    )
    assert response.status_code == 400 and "add up to 1" in response.json()["detail"]


def test_api_preview_is_for_admins_only(reviewer_client):
    response = reviewer_client.post(
        reverse("exports:api-preview"), {"name": "x"}, content_type="application/json"
    )
    assert response.status_code == 403


def test_items_an_admin_excluded_are_named_in_preview_and_result(
    admin_client, admin_user, eight
):
    from review.items import services as item_services

    item_services.exclude_from_export(
        item_ids=[eight[0].pk], actor=admin_user, reason="Caption names the patient"
    )
    page = admin_client.post(reverse("exports:preview"), FORM).content.decode()
    assert 'data-cause="excluded_by_admin"><th scope="row">Excluded by an admin' in page
    assert "<strong>2</strong> of 8 accepted items would be exported" in page
    export = run(admin_user, formats=["jsonl"], seed=3)
    assert export.manifest["breakdown"]["excluded"]["excluded_by_admin"] == 1
