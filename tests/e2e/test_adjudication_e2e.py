"""Adjudication in a real browser: an admin settles a dispute with the evidence
on screen, and a reviewer's flag comment reaches the admin's queue."""

from __future__ import annotations

import pytest

from review.models import Assignment, Decision, Review
from synthesis.models import ItemStatus
from tests.e2e.artifacts import screenshot
from tests.fixtures.builders import (
    PASSWORD,
    add_review,
    make_batch,
    make_reviewable_item,
    make_user,
)
from tests.fixtures.services import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _admin_page(browser, live_server):
    """A second tab for the admin, failing the test on a CSP violation too."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            violations.append(m.text) if "Content Security Policy" in m.text else None
        ),
    )
    page.csp_violations = violations
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def test_admin_settles_a_dispute_from_the_queue(
    page, live_server, login, admin_user, reviewer_user
):
    dave = make_user("dave")
    item = make_reviewable_item(make_batch(name="E2E"))
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
    # The evidence: the figure (loaded), its caption and the verifier's rubric.
    figure = page.locator("#adjudication-card img").first
    figure.wait_for()
    for _ in range(50):
        if figure.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(100)
    assert figure.evaluate("img => img.naturalWidth") > 0
    assert "right lower lobe consolidation" in page.inner_text("#adjudication-card")
    assert page.locator("#rubric-panel .rubric-table tbody tr").count() >= 7
    assert page.inner_text("#status-badge") == "Reviewers disagree"
    screenshot(page, "adjudication-card")

    page.select_option("#id_decision", "reject")
    page.select_option("#id_reason_code", "diagnosis_leaked")
    page.click("#settle-panel button[type=submit]")
    page.wait_for_selector("#settled")
    assert "Rejected by admin alice" in page.inner_text("#settled")
    assert "by reviewer" not in page.inner_text("#settled")
    # The badge was swapped too (out of band): it no longer says they disagree.
    assert page.inner_text("#status-badge") == "Rejected by admin alice (adjudication)"
    # The panel was swapped in place: still the same page, no navigation.
    assert page.url.endswith(f"/quality/adjudication/{item.pk}/")
    item.refresh_from_db()
    assert item.status == ItemStatus.REJECTED


def test_a_reviewer_flags_with_a_comment_and_the_admin_sees_it(
    browser, page, live_server, login, admin_user
):
    make_user("bob", role="reviewer")
    item = make_reviewable_item(make_batch(name="Flag batch"))
    login("bob", PASSWORD)
    page.goto(f"{live_server.url}/review/")
    page.wait_for_selector(f'#item-card[data-item-id="{item.pk}"]')
    page.keyboard.press("f")
    page.wait_for_selector("#flag-comment:focus")
    page.keyboard.type("Is the arrow on the right lobe?")
    page.keyboard.press("Control+Enter")
    wait_for(
        lambda: Review.objects.filter(item=item, decision=Decision.FLAG).exists(),
        timeout=10,
        message="the flag was not saved",
    )
    review = Review.objects.get(item=item)
    assert review.comment == "Is the arrow on the right lobe?"

    admin = _admin_page(browser, live_server)
    try:
        admin.goto(f"{live_server.url}/quality/adjudication/")
        row = admin.inner_text(f"#adjudication-queue tr:has-text('Item {item.pk}')")
        assert "bob" in row and "Is the arrow on the right lobe?" in row
        assert not admin.csp_violations, admin.csp_violations
    finally:
        admin.context.close()
