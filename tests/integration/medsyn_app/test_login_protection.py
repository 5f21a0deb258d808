"""Sign-in protection: lockout after repeated failures, tokens, sessions, reset."""

from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.urls import reverse
from knox.models import AuthToken

from medsyn_app.audit.models import AuditEvent
from tests.fixtures.builders import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, password: str):
    return client.post(reverse("login"), {"username": "bob", "password": password})


def test_the_login_form_locks_out_after_repeated_failures(settings, reviewer_user):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200
    assert _login(client, "wrong").status_code == 429  # the last allowed failure
    locked = _login(client, PASSWORD)
    assert locked.status_code == 429
    assert b"Too many failed log-ins" in locked.content
    assert "_auth_user_id" not in client.session
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count("auth.login_failed") >= settings.AXES_FAILURE_LIMIT
    assert "auth.lockout" in actions


def test_a_successful_login_and_logout_are_recorded(reviewer_user):
    client = Client()
    assert _login(client, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "auth.login" in actions and "auth.logout" in actions
    login = AuditEvent.objects.filter(action="auth.login").latest("id")
    assert login.actor == reviewer_user and login.ip == "127.0.0.1"


def _basic(password: str) -> dict[str, str]:
    raw = base64.b64encode(f"bob:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def test_api_basic_auth_locks_out_too(settings, reviewer_user):
    client = Client()
    url = reverse("review:api_next")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.get(url, **_basic("wrong")).status_code in {401, 403}
    assert client.get(url, **_basic("wrong")).status_code == 429
    refused = client.get(url, **_basic(PASSWORD))
    assert refused.status_code == 429
    assert "locked out" in refused.json()["detail"]
    assert AuditEvent.objects.filter(action="auth.lockout").exists()


def test_tokens_are_shown_once_stored_hashed_and_revocable(
    reviewer_client, reviewer_user
):
    page = reviewer_client.post(reverse("accounts:tokens"), {"owner": reviewer_user.pk})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    token = page.context["created"]["token"]
    stored = AuthToken.objects.get(user=reviewer_user)
    assert token not in {stored.digest, stored.token_key} and stored.digest != token
    again = reviewer_client.get(reverse("accounts:tokens"))
    assert token.encode() not in again.content
    api = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert api.get(reverse("review:api_next"), **headers).status_code in {200, 204}
    reviewer_client.post(reverse("accounts:revoke"), {"token_key": stored.token_key})
    assert api.get(reverse("review:api_next"), **headers).status_code in {401, 403}
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"auth.token_created", "auth.token_revoked"} <= actions


def test_a_reviewer_cannot_make_or_revoke_tokens_for_others(
    reviewer_client, admin_user
):
    page = reviewer_client.post(reverse("accounts:tokens"), {"owner": admin_user.pk})
    assert page.status_code == 400
    assert not AuthToken.objects.filter(user=admin_user).exists()
    instance, _ = AuthToken.objects.create(user=admin_user)
    reviewer_client.post(reverse("accounts:revoke"), {"token_key": instance.token_key})
    assert AuthToken.objects.filter(pk=instance.pk).exists()


def test_admins_make_tokens_for_a_reviewer(admin_client, reviewer_user):
    page = admin_client.post(reverse("accounts:tokens"), {"owner": reviewer_user.pk})
    assert page.status_code == 200
    assert AuthToken.objects.filter(user=reviewer_user).count() == 1


def test_sessions_expire_after_the_idle_timeout(settings, reviewer_user):
    settings.SESSION_COOKIE_AGE = 8 * 3600
    client = Client()
    _login(client, PASSWORD)
    assert client.session.get_expiry_age() == 8 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 8 * 3600


def test_an_active_session_is_refreshed(settings, reviewer_user):
    from medsyn_app import sessions

    client = Client()
    _login(client, PASSWORD)
    session = client.session
    session[sessions.KEY] = 0  # last refreshed long ago
    session.save()
    client.get(reverse("home"))
    assert client.session[sessions.KEY] > 0


def test_password_reset_is_not_offered_without_mail(client, settings):
    settings.MEDSYN_PASSWORD_RESET_BY_EMAIL = False
    response = client.post(reverse("password_reset"), {"email": "bob@example.org"})
    assert response.status_code == 404
    assert b"ask a MedSyn admin" in response.content.lower() or (
        b"Ask a MedSyn admin" in response.content
    )
    assert b"email" not in response.content.lower().split(b"<main")[1][:0]


def test_password_reset_works_where_mail_is_set_up(client, settings, reviewer_user):
    settings.MEDSYN_PASSWORD_RESET_BY_EMAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    reviewer_user.email = "bob@example.org"
    reviewer_user.save(update_fields=["email"])
    response = client.post(reverse("password_reset"), {"email": "bob@example.org"})
    assert response.status_code == 302
    from django.core import mail

    assert len(mail.outbox) == 1
