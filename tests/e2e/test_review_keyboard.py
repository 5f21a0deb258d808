"""A clinician works through the review queue in real Chromium, keyboard only."""

from __future__ import annotations

import pytest

from review.models import Assignment, Decision, ItemRevision, RejectReason, Review
from synthesis.models import Item, ItemStatus
from tests.e2e.artifacts import screenshot
from tests.fixtures.builders import (
    OPTIONS,
    PASSWORD,
    make_batch,
    make_figure,
    make_item,
    make_reviewable_item,
    make_user,
    make_verification,
)
from tests.fixtures.services import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _card(page, item: Item):
    return page.wait_for_selector(f'#item-card[data-item-id="{item.pk}"]')


def test_a_review_session_with_the_keyboard_only(page, live_server, login):
    make_user("bob", role="reviewer")
    batch = make_batch("Keyboard batch")
    items = [make_reviewable_item(batch) for _ in range(4)]
    login("bob", PASSWORD)
    page.goto(f"{live_server.url}/review/")
    _card(page, items[0])
    page.wait_for_selector(
        '#item-card .prefetch img[src*="/review/figure/"]', state="attached"
    )
    screenshot(page, "review-page")

    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")

    page.wait_for_timeout(300)  # the reviewer looks before deciding
    page.keyboard.press("a")  # accept
    _card(page, items[1])
    page.keyboard.press("r")  # reject, then reason 4 (diagnosis leaked)
    page.wait_for_selector("#reject-panel:not([hidden])")
    page.keyboard.press("4")
    _card(page, items[2])
    page.keyboard.press("e")  # edit, save with Ctrl+Enter
    page.wait_for_selector("#edit-panel:not([hidden])")
    page.keyboard.type("Which abnormality is seen in the right lower lobe?")
    page.keyboard.press("Control+Enter")
    _card(page, items[3])
    assert "1" in page.inner_text("#progress")

    for item in items:
        item.refresh_from_db()
    assert items[0].status == ItemStatus.ACCEPTED
    assert items[1].status == ItemStatus.REJECTED
    assert Review.objects.get(item=items[1]).reason_code == "diagnosis_leaked"
    assert items[2].status == ItemStatus.ACCEPTED
    assert items[2].question == "Which abnormality is seen in the right lower lobe?"
    assert items[2].version == 2
    assert Review.objects.get(item=items[2]).decision == Decision.EDIT_ACCEPT
    assert Review.objects.get(item=items[0]).seconds_spent >= 0.3

    page.keyboard.press("u")  # undo the edit: the item comes back as it was
    _card(page, items[2])
    page.wait_for_selector("#notice")
    items[2].refresh_from_db()
    assert items[2].status == ItemStatus.KEPT
    assert items[2].question != "Which abnormality is seen in the right lower lobe?"
    assert items[2].version == 3
    assert ItemRevision.objects.filter(item=items[2]).count() == 2
    assert Review.objects.get(item=items[2]).undone_at is not None
    assert "v3" in page.inner_text("#item-card .item-meta")

    page.keyboard.press("k")  # previous: the rejected item, read back
    _card(page, items[1])
    assert "Answer not supported" not in page.inner_text("#own-review")
    assert "Diagnosis leaked" in page.inner_text("#own-review")
    screenshot(page, "review-page-previous")


def test_two_reviewers_saving_the_same_item_see_a_conflict(browser, live_server):
    make_user("bob", role="reviewer")
    make_user("alice", role="admin")
    item = make_reviewable_item(make_batch("Conflict batch"))
    pages = []
    for username in ("bob", "alice"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        pages.append(page)
    bob, alice = pages
    bob.goto(f"{live_server.url}/review/")
    _card(bob, item)
    alice.goto(f"{live_server.url}/review/item/{item.pk}/")
    _card(alice, item)

    alice.keyboard.press("e")
    alice.wait_for_selector("#edit-panel:not([hidden])")
    alice.keyboard.type("Alice's stem")
    alice.keyboard.press("Control+Enter")
    alice.wait_for_selector("#queue-empty")

    bob.keyboard.press("e")
    bob.wait_for_selector("#edit-panel:not([hidden])")
    bob.keyboard.type("Bob's stem")
    bob.keyboard.press("Control+Enter")
    conflict = bob.wait_for_selector("#conflict")
    assert "Alice's stem" in conflict.inner_text()
    assert "Bob's stem" in conflict.inner_text()
    screenshot(bob, "review-conflict")
    item.refresh_from_db()
    assert item.question == "Alice's stem"
    assert item.version == 2
    for page in pages:
        page.context.close()


def test_script_in_model_text_renders_as_text(page, live_server, login):
    make_user("bob", role="reviewer")
    payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
    figure = make_figure(color=(9, 9, 9), caption=f"Caption {payload}")
    item = make_item(
        make_batch("XSS batch"),
        figures=[figure],
        question=f"Which finding? {payload}",
        options={**OPTIONS, "C": payload},
    )
    make_verification(item)
    login("bob", PASSWORD)
    page.goto(f"{live_server.url}/review/")
    _card(page, item)
    assert payload in page.inner_text("#question")
    assert payload in page.inner_text("#options")
    assert page.evaluate("window.__xss") is None
    assert page.locator("#item-card img[src='x']").count() == 0


def _ready_ahead(page, item: Item) -> None:
    """The card after `item` has been prefetched: deciding shows it at once."""
    page.wait_for_selector(
        f'#item-card[data-item-id="{item.pk}"] template[data-upcoming]',
        state="attached",
    )


def _reviewing_ahead(page, live_server, login, *, items: int = 2) -> list[Item]:
    """Bob on the review page, the first item shown and the next one prefetched."""
    make_user("bob", role="reviewer")
    batch = make_batch("Ahead batch")
    made = [make_reviewable_item(batch) for _ in range(items)]
    login("bob", PASSWORD)
    page.goto(f"{live_server.url}/review/")
    _card(page, made[0])
    _ready_ahead(page, made[0])
    return made


def test_decisions_are_saved_behind_the_prefetched_card(page, live_server, login):
    items = _reviewing_ahead(page, live_server, login, items=4)
    page.keyboard.press("a")
    # Shown from the prefetched card, before the save could have answered.
    page.wait_for_selector(f'#item-card[data-item-id="{items[1].pk}"][data-ahead]')
    _ready_ahead(page, items[1])
    page.keyboard.press("r")
    page.keyboard.press("2")  # answer not supported by the image
    page.wait_for_selector(f'#item-card[data-item-id="{items[2].pk}"][data-ahead]')
    page.keyboard.press("u")  # waits for the reject to be saved, then undoes it
    _card(page, items[1])
    page.wait_for_selector("#notice")
    page.wait_for_selector("#progress strong:text-is('1')")
    assert Review.objects.get(item=items[0]).decision == Decision.ACCEPT
    rejected = Review.objects.get(item=items[1])
    assert rejected.reason_code == RejectReason.NOT_SUPPORTED_BY_IMAGE
    assert rejected.undone_at is not None
    items[0].refresh_from_db()
    assert items[0].status == ItemStatus.ACCEPTED

    page.keyboard.press("k")  # Previous goes to the item decided behind the card
    _card(page, items[0])


def test_a_stale_decision_behind_the_prefetched_card_shows_the_conflict(
    page, live_server, login
):
    from review import services

    first, second = _reviewing_ahead(page, live_server, login)
    alice = make_user("alice", role="admin")
    services.edit_item(
        item=first.pk,
        author=alice,
        item_version=first.version,
        question="Alice's stem",
        options=dict(OPTIONS),
        answer=first.answer,
    )
    page.keyboard.press("a")
    conflict = page.wait_for_selector(
        f'#item-card[data-item-id="{first.pk}"] #conflict'
    )
    assert "Alice's stem" in conflict.inner_text()
    assert not Review.objects.filter(item=first, reviewer__username="bob").exists()
    assert Assignment.objects.filter(item=second, reviewer__username="bob").exists()


def test_a_decision_that_cannot_be_saved_puts_the_item_back(page, live_server, login):
    first, second = _reviewing_ahead(page, live_server, login)
    decide = f"**/review/item/{first.pk}/decide/"
    page.route(decide, lambda route: route.abort("connectionrefused"))
    page.keyboard.press("a")
    notice = page.wait_for_selector(f'#item-card[data-item-id="{first.pk}"] #notice')
    assert "was not saved" in notice.inner_text()
    assert not Review.objects.filter(item=first).exists()

    page.unroute(decide)
    page.keyboard.press("a")  # decide again: now it is saved
    _card(page, second)
    page.wait_for_selector("#progress strong:text-is('1')")
    assert Review.objects.get(item=first).decision == Decision.ACCEPT


def test_leaving_while_a_decision_is_being_saved_asks_first(page, live_server, login):
    first, second = _reviewing_ahead(page, live_server, login)
    held = []
    page.route(f"**/review/item/{first.pk}/decide/", lambda route: held.append(route))
    page.keyboard.press("a")
    page.wait_for_selector(f'#item-card[data-item-id="{second.pk}"][data-ahead]')
    page.wait_for_timeout(100)
    assert held, "the save should be on its way"
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]
    assert not page.is_closed()  # the reviewer chose to stay
    held[0].continue_()
    page.wait_for_selector("#progress strong:text-is('1')")
    assert Review.objects.get(item=first).decision == Decision.ACCEPT


def test_going_back_and_deciding_again_replaces_the_decision(page, live_server, login):
    """A, K, then R 1: the reviewer's accept is replaced, not disputed by themself."""
    items = _reviewing_ahead(page, live_server, login, items=3)
    page.keyboard.press("a")
    page.wait_for_selector(f'#item-card[data-item-id="{items[1].pk}"]')
    page.keyboard.press("k")
    _card(page, items[0])
    page.wait_for_selector("#own-review")
    _ready_ahead(page, items[0])
    page.keyboard.press("r")
    page.wait_for_selector("#reject-panel:not([hidden])")
    page.keyboard.press("1")
    page.wait_for_selector(f'#item-card[data-item-id="{items[1].pk}"]')
    page.wait_for_selector("#progress strong:text-is('1')")
    # The reject is saved behind the next card; the progress already read 1
    # after the accept, so wait for the save itself.
    wait_for(
        lambda: Item.objects.get(pk=items[0].pk).status == ItemStatus.REJECTED,
        timeout=10,
        message="the reject that replaces the accept was never saved",
    )
    items[0].refresh_from_db()
    assert items[0].status == ItemStatus.REJECTED
    current = Review.objects.current().filter(item=items[0])
    assert [r.decision for r in current] == [Decision.REJECT]
    assert Review.objects.filter(item=items[0]).count() == 2
