"""Blind double review in real Chromium: two planned reviewers, then the admin.

Annette edits the item; Ben never sees her edit or decision on any page he can
open (the card, the item page, the item, revisions and reviews APIs), not even
after skipping; the admin then adopts Annette's edit and the item has one revision.
"""

from __future__ import annotations

import pytest

from review import overlap
from review.models import EditProposal, ItemRevision
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    PASSWORD,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANNETTE_STEM = "Which lobe holds the consolidation seen on this axial CT slice?"


def _signed_in(browser, live_server, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def _card(page, item):
    return page.wait_for_selector(f'#item-card[data-item-id="{item.pk}"]')


def _sees_nothing_of_annette(page, live_server, item) -> None:
    """Every page and API Ben may open about the item, read as he sees it."""
    urls = [
        f"/review/item/{item.pk}/",
        f"/review/api/items/{item.pk}/?format=json",
        f"/review/api/items/{item.pk}/revisions/?format=json",
        f"/quality/api/items/{item.pk}/reviews/?format=json",
    ]
    for url in urls:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        text = page.content()
        assert ANNETTE_STEM not in text, url
        assert "annette" not in text, url
        assert "edit_accept" not in text and "Edit and accept" not in text, url
        assert "History:" not in text, url


def test_blind_double_review_then_the_admin_adopts_an_edit(browser, live_server):
    annette, ben = make_user("annette"), make_user("ben")
    make_user("alice", role="admin")
    batch = make_batch("Blind E2E")
    item = make_reviewable_item(batch)
    original = item.question
    overlap.plan_assignments(
        batch=batch,
        settings=overlap.OverlapSettings(
            reviewers_per_item=2, reviewer_ids=[annette.pk, ben.pk]
        ),
    )

    # Annette edits the stem and accepts: under the plan that is her proposal.
    annette_page = _signed_in(browser, live_server, "annette")
    annette_page.goto(f"{live_server.url}/review/")
    _card(annette_page, item)
    annette_page.keyboard.press("e")
    annette_page.wait_for_selector("#edit-panel:not([hidden])")
    annette_page.keyboard.type(ANNETTE_STEM)
    annette_page.keyboard.press("Control+Enter")
    annette_page.wait_for_selector("#queue-empty")
    annette_page.goto(f"{live_server.url}/review/item/{item.pk}/")
    assert ANNETTE_STEM in annette_page.inner_text("#question")
    assert annette_page.is_visible("#own-proposal")
    item.refresh_from_db()
    assert (item.question, item.version) == (original, 1)

    # Ben sees the item as the verifier left it, before and after a skip.
    ben_page = _signed_in(browser, live_server, "ben")
    ben_page.goto(f"{live_server.url}/review/")
    _card(ben_page, item)
    assert ben_page.inner_text("#question") == original
    assert ben_page.locator("#history").count() == 0
    _sees_nothing_of_annette(ben_page, live_server, item)

    ben_page.goto(f"{live_server.url}/review/item/{item.pk}/")
    _card(ben_page, item)
    ben_page.keyboard.press("s")
    ben_page.wait_for_selector("#queue-empty")
    _sees_nothing_of_annette(ben_page, live_server, item)

    ben_page.goto(f"{live_server.url}/review/")
    ben_page.wait_for_selector("#queue-empty")
    ben_page.keyboard.press("u")  # the skipped item comes back; he decides
    _card(ben_page, item)
    assert ANNETTE_STEM not in ben_page.content()
    ben_page.keyboard.press("a")
    ben_page.wait_for_selector("#queue-empty")
    item.refresh_from_db()
    assert item.status == ItemStatus.DISPUTED

    # The admin sees both decisions side by side and adopts Annette's edit.
    admin_page = _signed_in(browser, live_server, "alice")
    admin_page.goto(f"{live_server.url}/quality/adjudication/")
    admin_page.click(f"#adjudication-queue a:has-text('Item {item.pk}')")
    admin_page.wait_for_selector("#reviews .review-column >> nth=1")
    columns = admin_page.inner_text("#reviews")
    assert "annette" in columns and "ben" in columns and ANNETTE_STEM in columns
    proposal = EditProposal.objects.get(author=annette)
    admin_page.click(f'button[data-adopt="{proposal.pk}"]')
    admin_page.wait_for_selector("#revisions")
    assert "Revisions (1)" in admin_page.inner_text("#revisions")
    assert "Accepted by admin alice" in admin_page.inner_text("h1")
    assert ANNETTE_STEM in admin_page.inner_text("#item-text")

    item.refresh_from_db()
    assert (item.question, item.version, item.status) == (
        ANNETTE_STEM,
        2,
        ItemStatus.ACCEPTED,
    )
    assert ItemRevision.objects.filter(item=item).count() == 1
    for page in (annette_page, ben_page, admin_page):
        page.context.close()
