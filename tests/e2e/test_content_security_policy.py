"""Every page of the app, opened in Chromium under the real CSP: no violation.

The pages and their arguments come from the authorization matrix, so a new
page is checked here as soon as it has its matrix entry.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.fixtures.builders import PASSWORD
from tests.integration.medsyn_app.test_authorization_matrix import PAGES
from tests.integration.medsyn_app.test_authorization_matrix import (
    world as world,  # noqa: F401 - the fixture, shared with the matrix
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Downloads and images open no document, so no policy applies to them.
NOT_DOCUMENTS = {
    "exports:archive",
    "exports:file",
    "imports:figure-image",
    "review:figure_image",
    "api-schema",
    "evaluation:image",
}
ADMIN_PAGES = ["admin:index", "admin:review_review_changelist", "admin:auth_user_add"]


def _pages_for(persona_index: int) -> list[str]:
    return sorted(
        name
        for name, entry in PAGES.items()
        if "GET" in entry.methods
        and entry.methods["GET"][persona_index] == 200
        and name not in NOT_DOCUMENTS
        and name != "logout"
    )


def _visit_all(page, live_server, world, names: list[str]) -> list[str]:
    visited = []
    for name in names:
        url = (
            reverse(name, kwargs=PAGES[name].kwargs(world))
            if name in PAGES
            else (reverse(name))
        )
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None and response.status < 400, f"{name}: {url}"
        assert response.headers.get("content-security-policy", "").startswith(
            "font-src"
        ) or "script-src 'self'" in response.headers.get(
            "content-security-policy", ""
        ), f"{name} has no CSP"
        page.wait_for_load_state("networkidle")
        visited.append(name)
    return visited


def test_every_admin_page_loads_without_a_csp_violation(
    page, live_server, login, world
):
    login("alice", PASSWORD)
    page.wait_for_selector("h1:has-text('Overview')")
    names = _pages_for(3)
    assert len(names) > 20
    _visit_all(page, live_server, world, names + ADMIN_PAGES)
    assert page.csp_violations == []


def test_every_reviewer_page_and_the_review_keys_run_without_a_violation(
    page, live_server, login, world
):
    login("bob", PASSWORD)
    page.wait_for_selector("h1:has-text('Overview')")
    _visit_all(page, live_server, world, _pages_for(1))
    page.goto(f"{live_server.url}{reverse('review:item', args=[world.item.pk])}")
    page.keyboard.press("?")
    page.keyboard.press("Escape")
    page.keyboard.press("+")
    page.keyboard.press("0")
    page.wait_for_load_state("networkidle")
    assert page.csp_violations == []
