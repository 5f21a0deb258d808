from __future__ import annotations

import pytest

from tests.fixtures.builders import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_reviewer_logs_in_and_out_in_a_real_browser(
    page, live_server, login, reviewer_user
):
    login("bob", PASSWORD)
    page.wait_for_selector("h1:has-text('Overview')")
    assert "bob · reviewer" in page.inner_text(".account")
    assert page.locator("#main-nav a:has-text('Admin')").count() == 0
    # htmx comes from the django-htmx package, not a CDN, and is live.
    assert page.evaluate("typeof htmx.ajax") == "function"
    assert "/static/django_htmx/" in page.inner_html("head")
    page.click("button:has-text('Log out')")
    page.wait_for_selector("h1:has-text('Log in to MedSyn')")


def test_admin_sees_admin_navigation(page, live_server, login, admin_user):
    login("alice", PASSWORD)
    page.wait_for_selector("#main-nav a:has-text('Admin')")
    page.click("#main-nav a:has-text('Admin')")
    page.wait_for_selector("text=MedSyn administration")


def test_wrong_password_shows_an_error(page, live_server, login, reviewer_user):
    login("bob", "wrong-password")
    error = page.wait_for_selector("[role=alert]")
    assert "correct username and password" in error.inner_text()
