"""On a first start (`make run` loads the demo logins and the demo set), the
review card of a demo item already shows a filled rubric table, labelled as a
verdict written by hand."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from medsyn_app import demo_users

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_first_start_review_card_of_a_demo_item_shows_a_filled_rubric(
    page, live_server, login
):
    # What `runstack.prepare_data` does on `make run`.
    demo_users.create_demo_users()
    call_command("load_demo_data", stdout=io.StringIO())

    login("reviewer", "medsyn-review")
    page.goto(f"{live_server.url}/review/")
    page.wait_for_selector("#item-card[data-item-id]")
    panel = page.inner_text("#rubric-panel")
    assert "Not verified yet" not in panel
    assert "Demo verdict written by hand" in panel
    rows = page.locator("#rubric-panel .rubric-table tbody tr")
    assert rows.count() >= 12
    reasons = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(6)]
    assert all(len(reason) > 10 for reason in reasons), reasons
