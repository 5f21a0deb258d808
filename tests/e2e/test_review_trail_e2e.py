"""J and K walk the items in the order they were shown, like browser history
(issue 17): K steps back, J steps forward again, and at the end J moves on."""

from __future__ import annotations

import pytest

from review.models import Assignment, Decision, Review
from synthesis.models import Item
from tests.fixtures.builders import (
    PASSWORD,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _card(page, item: Item):
    return page.wait_for_selector(f'#item-card[data-item-id="{item.pk}"]')


def _prefetched(item: Item):
    """The response to the card's prefetch: the next claim is made."""
    return lambda response: f"/review/upcoming/?after={item.pk}" in response.url


def _reviewing(page, live_server, login, *, items: int) -> list[Item]:
    make_user("bob", role="reviewer")
    batch = make_batch("Trail batch")
    made = [make_reviewable_item(batch) for _ in range(items)]
    login("bob", PASSWORD)
    with page.expect_response(_prefetched(made[0])):
        page.goto(f"{live_server.url}/review/")
    _card(page, made[0])
    return made


def _walk(page, steps: list[tuple[str, Item]]) -> None:
    """Press each key and see the item; the reviewer reads each card for as long
    as its prefetch takes, so J never races the prefetch for the next claim."""
    for key, item in steps:
        with page.expect_response(_prefetched(item)):
            page.keyboard.press(key)
        _card(page, item)


def test_j_and_k_walk_the_items_in_the_order_shown(page, live_server, login):
    a, b, c, d = _reviewing(page, live_server, login, items=4)
    _walk(page, [("j", b), ("j", c), ("k", b), ("k", a), ("j", b), ("j", c)])
    page.wait_for_selector(
        f'#item-card[data-item-id="{c.pk}"] template[data-upcoming]', state="attached"
    )
    page.keyboard.press("a")  # accept C: the next new item, not a skipped one
    _card(page, d)
    page.keyboard.press("k")  # back to C, decided: its decision is shown
    _card(page, c)
    assert "Accept" in page.wait_for_selector("#own-review").inner_text()
    _walk(page, [("k", b), ("k", a), ("j", b), ("j", c), ("j", d)])
    assert Review.objects.get(item=c).decision == Decision.ACCEPT
    assert not Review.objects.filter(item__in=[a, b, d]).exists()


def test_deciding_while_back_in_the_trail_shows_the_next_item(page, live_server, login):
    a, b, c, d = _reviewing(page, live_server, login, items=4)
    _walk(page, [("j", b), ("j", c), ("k", b), ("k", a)])
    page.wait_for_selector(
        f'#item-card[data-item-id="{a.pk}"] template[data-upcoming]', state="attached"
    )
    page.keyboard.press("a")  # accept A: B, skipped but still claimed, comes next
    _card(page, b)
    page.keyboard.press("k")
    _card(page, a)
    page.wait_for_selector("#own-review")
    # The trail now ends at B; J there moves on: C (still claimed), then D.
    _walk(page, [("j", b), ("j", c), ("j", d), ("k", c), ("k", b), ("k", a)])
    assert Review.objects.get(item=a).decision == Decision.ACCEPT


def test_a_new_tab_walks_back_through_earlier_decisions(page, live_server, login):
    """Before the tab's first item K follows the decisions made before it."""
    a, b, c, d = _reviewing(page, live_server, login, items=4)
    for item in (a, b):
        page.wait_for_selector(
            f'#item-card[data-item-id="{item.pk}"] template[data-upcoming]',
            state="attached",
        )
        page.keyboard.press("a")
    _card(page, c)
    page.wait_for_selector("#progress strong:text-is('2')")  # both saved
    tab = page.context.new_page()
    with tab.expect_response(_prefetched(c)):
        tab.goto(f"{live_server.url}/review/")
    _card(tab, c)
    _walk(tab, [("k", b), ("k", a), ("j", b), ("j", c), ("j", d), ("k", c)])


def test_k_passes_over_an_item_no_longer_visible(page, live_server, login):
    a, b, c, _ = _reviewing(page, live_server, login, items=4)
    _walk(page, [("j", b), ("j", c)])
    Assignment.objects.filter(item=b).delete()  # handed back: not Bob's any more
    page.keyboard.press("k")
    _card(page, a)
    page.keyboard.press("j")
    _card(page, c)


def test_help_says_what_j_and_k_do(page, live_server, login):
    _reviewing(page, live_server, login, items=1)
    page.keyboard.press("?")
    text = page.inner_text("#help")
    assert "Previous item shown" in text
    assert "Next item shown, or skip to a new one" in text
