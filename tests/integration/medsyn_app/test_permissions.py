"""Every page enforces its role: anonymous, outsider, reviewer and admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

# (url name, who may see it). New views are added here as they land.
PAGES = [
    ("home", {"reviewer", "admin", "outsider"}),
    ("admin:index", {"admin"}),
    ("admin:synthesis_item_changelist", {"admin"}),
    ("admin:review_review_changelist", {"admin"}),
]


@pytest.mark.parametrize(("name", "allowed"), PAGES)
def test_anonymous_users_are_sent_to_login(client, name, allowed):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize(("name", "allowed"), PAGES)
@pytest.mark.parametrize("persona", ["outsider", "reviewer", "admin"])
def test_each_role_sees_only_its_pages(request, name, allowed, persona):
    client = request.getfixturevalue(f"{persona}_client")
    response = client.get(reverse(name))
    if persona in allowed:
        assert response.status_code == 200
    else:
        assert response.status_code in {302, 403}
        if response.status_code == 302:
            assert "login" in response["Location"]


def test_admin_navigation_is_shown_only_to_admins(admin_user, reviewer_user):
    admin_client, reviewer_client = Client(), Client()
    admin_client.force_login(admin_user)
    reviewer_client.force_login(reviewer_user)
    admin_page = admin_client.get(reverse("home")).content.decode()
    reviewer_page = reviewer_client.get(reverse("home")).content.decode()
    assert reverse("admin:index") in admin_page
    assert reverse("admin:index") not in reviewer_page
    assert "source papers" in admin_page
    assert "source papers" not in reviewer_page


def test_login_page_is_styled_and_logs_in(client, reviewer_user):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"medsyn.css" in page.content
    response = client.post(
        reverse("login"), {"username": "bob", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_wrong_password_is_refused_with_a_message(client, reviewer_user):
    response = client.post(reverse("login"), {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_logout_requires_post_and_ends_the_session(reviewer_client):
    response = reviewer_client.post(reverse("logout"))
    assert response.status_code == 302
    assert reviewer_client.get(reverse("home")).status_code == 302


def test_healthz_answers_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_reviewers_see_no_global_status_counts(reviewer_client, admin_user):
    """A reviewer's home page must not reveal another reviewer's verdicts
    (blind review): no disputed or flagged totals, only their own work."""
    from tests.fixtures.builders import add_review, make_batch, make_reviewable_item

    item = make_reviewable_item(make_batch("Blind batch"))
    add_review(item, admin_user, "flag")
    page = reviewer_client.get(reverse("home")).content.decode()
    assert "Flagged" not in page and "Disputed" not in page
    assert "Your review work" in page


def test_my_reviews_counts_each_item_once(reviewer_client, reviewer_user):
    from tests.fixtures.builders import make_batch, make_reviewable_item

    item = make_reviewable_item(make_batch("Twice"))
    from review import services

    services.decide(
        item=item, reviewer=reviewer_user, decision="accept", seconds_spent=1,
        item_version=item.version,
    )  # fmt: skip
    services.decide(
        item=item, reviewer=reviewer_user, decision="reject",
        reason_code="factually_wrong", seconds_spent=1, item_version=item.version,
    )  # fmt: skip
    page = reviewer_client.get(reverse("home")).content.decode()
    assert "recorded 1 review decision." in page
