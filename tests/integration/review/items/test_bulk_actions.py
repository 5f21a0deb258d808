"""Admin bulk actions from the item browser, each recorded per item with its actor."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from review.export.config import ExportSettings
from review.export.selection import EXCLUDED_BY_ADMIN, select
from review.items import services
from review.models import Assignment, ExportExclusion
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    add_review,
    make_accepted_item,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = pytest.mark.django_db


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_send_to_review_returns_settled_items_to_the_verifier_status(
    admin_client, admin_user, reviewer_user
):
    batch = make_batch()
    rejected = make_reviewable_item(batch)
    add_review(rejected, reviewer_user, "reject", reason_code="other")
    waiting = make_reviewable_item(batch)
    response = admin_client.post(
        reverse("items:bulk"),
        {"action": "send_to_review", "items": [rejected.pk, waiting.pk]},
    )
    assert response.status_code == 302
    rejected.refresh_from_db()
    assert rejected.status == ItemStatus.KEPT
    (event,) = _events("items.sent_to_review")
    assert event.actor == admin_user
    assert event.object_id == str(rejected.pk)
    assert event.before == {"status": "rejected"} and event.after == {"status": "kept"}


def test_add_to_audit_sample_plans_reviewers_for_kept_items(admin_user):
    bob, dora = make_user("bob"), make_user("dora")
    batch = make_batch()
    kept = make_reviewable_item(batch)
    dropped = make_reviewable_item(batch, score=0.2)
    result = services.add_to_audit_sample(
        item_ids=[kept.pk, dropped.pk], actor=admin_user
    )
    assert (result.changed, result.skipped) == (1, 1)
    planned = Assignment.objects.filter(item=kept, planned=True)
    assert planned.count() == 1 and planned.get().reviewer in (bob, dora)
    assert not Assignment.objects.filter(item=dropped).exists()
    (event,) = _events("items.added_to_audit_sample")
    assert event.actor == admin_user and event.object_id == str(kept.pk)
    again = services.add_to_audit_sample(item_ids=[kept.pk], actor=admin_user)
    assert again.changed == 0


def test_excluded_items_are_skipped_by_export_and_counted_as_a_cause(
    admin_client, admin_user
):
    one = make_accepted_item(document="PMC1", image_seed=1)
    two = make_accepted_item(document="PMC2", image_seed=2)
    response = admin_client.post(
        reverse("items:bulk"),
        {"action": "exclude_from_export", "items": [one.pk], "reason": "Copyright"},
    )
    assert response.status_code == 302
    exclusion = ExportExclusion.objects.get(item=one)
    assert exclusion.reason == "Copyright" and exclusion.excluded_by == admin_user
    selection = select(settings=ExportSettings())
    assert [c.item_id for c in selection.candidates] == [two.pk]
    assert selection.excluded[EXCLUDED_BY_ADMIN] == 1
    (event,) = _events("items.excluded_from_export")
    assert event.actor == admin_user and event.after == {"excluded": "Copyright"}
    services.include_in_export(item_ids=[one.pk], actor=admin_user)
    assert not ExportExclusion.objects.exists()
    assert _events("items.included_in_export")[0].actor == admin_user
    assert len(select(settings=ExportSettings()).candidates) == 2


def test_exclusion_without_a_reason_changes_nothing(admin_client):
    item = make_accepted_item(document="PMC3", image_seed=3)
    response = admin_client.post(
        reverse("items:bulk"),
        {"action": "exclude_from_export", "items": [item.pk], "reason": " "},
        follow=True,
    )
    assert "Nothing was changed" in response.content.decode()
    assert not ExportExclusion.objects.exists()
    with pytest.raises(services.BulkRefused):
        services.exclude_from_export(item_ids=[item.pk], actor=None, reason="")


def test_a_reviewer_may_not_run_bulk_actions(reviewer_client, reviewer_user):
    item = make_reviewable_item()
    add_review(item, reviewer_user, "reject", reason_code="other")
    response = reviewer_client.post(
        reverse("items:bulk"), {"action": "send_to_review", "items": [item.pk]}
    )
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == ItemStatus.REJECTED


def test_bulk_redirect_stays_on_the_item_browser(admin_client):
    item = make_reviewable_item()
    response = admin_client.post(
        reverse("items:bulk"),
        {
            "action": "send_to_review",
            "items": [item.pk],
            "back": "https://evil.example/",
        },
    )
    assert response["Location"] == reverse("items:list")
    back = reverse("items:list") + "?status=kept"
    response = admin_client.post(
        reverse("items:bulk"),
        {"action": "send_to_review", "items": [item.pk], "back": back},
    )
    assert response["Location"] == back
