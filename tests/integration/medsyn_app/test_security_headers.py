"""Every response carries the CSP (no inline script, no eval) and the
Permissions-Policy, beside the headers the app already sent."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["login", "home", "review:next"])
def test_pages_carry_the_security_headers(reviewer_client, name):
    response = reviewer_client.get(reverse(name))
    csp = response["Content-Security-Policy"]
    directives = dict(
        (part.split(" ", 1) + [""])[:2] for part in csp.split("; ") if part
    )
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "usb=()"):
        assert feature in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_api_answers_json_only(reviewer_client):
    response = reviewer_client.get(reverse("review:api_next"), HTTP_ACCEPT="text/html")
    assert response.status_code in {200, 204, 406}
    if response.status_code != 406:
        assert response.get("Content-Type", "application/json").startswith(
            "application/json"
        )
