"""A new admin finds a rejected item by a word of its question, and sees why."""

from __future__ import annotations

import pytest

from tests.e2e.artifacts import screenshot
from tests.fixtures.builders import (
    PASSWORD,
    add_review,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_searches_a_word_and_sees_who_rejected_and_why(page, live_server, login):
    make_user("alice", role="admin")
    bob = make_user("bob", role="reviewer")
    batch = make_batch("Angiography batch")
    for _ in range(3):
        make_reviewable_item(batch)
    target = make_reviewable_item(
        batch, question="Which artery is occluded on this coronary angiogram?"
    )
    add_review(
        target,
        bob,
        "reject",
        reason_code="factually_wrong",
        comment="The occlusion is in the circumflex, not the LAD.",
    )
    login("alice", PASSWORD)
    page.click("#nav-items")
    page.wait_for_selector("#item-table")
    page.fill("#id_q", "angiogram")
    page.click("#search-button")
    rows = page.locator("#item-table tbody tr[data-item]")
    rows.first.wait_for()
    assert rows.count() == 1
    row = rows.first
    assert row.get_attribute("data-item") == str(target.pk)
    assert "Rejected by reviewer" in row.inner_text()
    assert "bob: Reject (Factually wrong)" in row.inner_text()
    screenshot(page, "item-browser")

    row.locator(f'a[href="/items/{target.pk}/"]').click()
    page.wait_for_selector("#decisions")
    decisions = page.inner_text("#decisions")
    assert "bob" in decisions
    assert "Factually wrong" in decisions
    assert "The occlusion is in the circumflex, not the LAD." in decisions
    screenshot(page, "item-detail")


def test_admin_excludes_every_picked_item_from_export(page, live_server, login):
    from medsyn_app.audit.models import AuditEvent
    from review.models import ExportExclusion

    make_user("alice", role="admin")
    batch = make_batch("Exclusion batch")
    items = [make_reviewable_item(batch) for _ in range(3)]
    login("alice", PASSWORD)
    page.goto(f"{live_server.url}/items/?batch={batch.pk}")
    page.check("#pick-all")
    assert page.locator('#item-table input[name="items"]:checked').count() == 3
    page.select_option("#bulk_action", "exclude_from_export")
    page.fill("#bulk_reason", "Licence unclear")
    page.click("#bulk-submit")
    page.wait_for_selector(".message.success")
    assert page.locator("#item-table .badge.bad").count() == 3
    assert ExportExclusion.objects.filter(item__in=items).count() == 3
    events = AuditEvent.objects.filter(action="items.excluded_from_export")
    assert {e.actor_username for e in events} == {"alice"}
    assert events.count() == 3
