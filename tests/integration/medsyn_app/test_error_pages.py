"""Every page links a favicon that is served, and error pages wear the app's style."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

ICON = re.compile(r'<link rel="icon" href="([^"]+)"')


def _icon_href(html: str) -> str:
    found = ICON.search(html)
    assert found, "the page links no favicon"
    return found.group(1)


@pytest.mark.parametrize("path", ["/accounts/login/", "/no-such-page/"])
def test_pages_link_a_favicon_that_is_served(client: Client, path: str):
    response = client.get(path, follow=True)
    href = _icon_href(response.content.decode())
    icon = client.get(href)
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)


def test_not_found_page_is_the_apps_own(admin_client):
    response = admin_client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="topbar"' in html and 'id="main-nav"' in html
    assert "There is nothing at this address." in html
    _icon_href(html)


def test_forbidden_page_is_the_apps_own(reviewer_client):
    response = reviewer_client.get("/quality/dashboard/")
    html = response.content.decode()
    assert response.status_code == 403
    assert 'class="topbar"' in html and "Not allowed" in html
    _icon_href(html)


def test_server_error_page_links_the_favicon():
    from django.template.loader import render_to_string

    _icon_href(render_to_string("500.html"))


def test_the_classic_favicon_address_leads_to_the_icon(client: Client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][1] == 301
    assert b"<svg" in b"".join(response.streaming_content)
