"""An admin settles a dispute in a real browser; htmx swaps the settle panel."""

from __future__ import annotations

import pytest

from review.models import Assignment
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    PASSWORD,
    add_kept_items,
    add_review,
    make_batch,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_admin_settles_a_dispute_from_the_queue(
    page, live_server, login, admin_user, reviewer_user
):
    dave = make_user("dave")
    item = add_kept_items(make_batch(name="E2E"), 1)[0]
    for user in (reviewer_user, dave):
        Assignment.objects.create(item=item, reviewer=user, planned=True)
    add_review(item, reviewer_user, "accept")
    add_review(item, dave, "reject", reason_code="diagnosis_leaked")

    login("alice", PASSWORD)
    page.click("#main-nav a:has-text('Quality')")
    page.wait_for_selector("#consensus-rule")
    page.click("text=Adjudication queue")
    page.click(f"#adjudication-queue a:has-text('Item {item.pk}')")
    page.wait_for_selector("#reviews .review-column >> nth=1")
    assert "Diagnosis leaked in the stem" in page.inner_text("#reviews")

    page.select_option("#id_decision", "reject")
    page.select_option("#id_reason_code", "diagnosis_leaked")
    page.click("#settle-panel button[type=submit]")
    page.wait_for_selector("#settled")
    assert "Rejected by reviewer" in page.inner_text("#settled")
    # The panel was swapped in place: still the same page, no navigation.
    assert page.url.endswith(f"/quality/adjudication/{item.pk}/")
    item.refresh_from_db()
    assert item.status == ItemStatus.REJECTED
