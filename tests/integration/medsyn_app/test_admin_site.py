"""Django admin: MedSyn admins are not superusers, and the audit trail is read-only.

Reviews, revisions and decisions can be read there but never added, changed or
deleted, by anyone; item content changes only through the revision service.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from review.models import ItemRevision, Review
from synthesis.models import Item
from tests.fixtures.builders import (
    add_review,
    add_revision,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def item():
    return make_reviewable_item(make_batch("Admin batch"))


def superuser_client() -> Client:
    operator = get_user_model().objects.create_superuser(
        "operator", "op@example.org", "op-secret-password-1"
    )
    client = Client()
    client.force_login(operator)
    return client


def test_medsyn_admins_are_not_superusers(admin_user):
    admin_user.refresh_from_db()
    assert admin_user.is_staff and not admin_user.is_superuser


def test_admin_cannot_change_an_items_question_in_django_admin(admin_client, item):
    url = reverse("admin:synthesis_item_change", args=[item.pk])
    assert admin_client.get(url).status_code == 200  # it can be read
    response = admin_client.post(url, {"question": "Rewritten?", "version": 1})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.question != "Rewritten?" and item.version == 1


@pytest.mark.parametrize("who", ["admin", "superuser"])
def test_reviews_and_revisions_are_read_only_for_everyone(request, who, item):
    client = request.getfixturevalue("admin_client") if who == "admin" else None
    client = client or superuser_client()
    reviewer = make_user("rita", role="reviewer")
    review = add_review(item, reviewer, "reject", reason_code="factually_wrong")
    revision = add_revision(
        item, reviewer, before={"question": "a"}, after={"question": "b"}
    )
    change = reverse("admin:review_review_change", args=[review.pk])
    assert client.get(change).status_code == 200
    response = client.post(
        change, {"decision": "accept", "reason_code": "", "comment": "fine after all"}
    )
    assert response.status_code == 403
    review.refresh_from_db()
    assert review.decision == "reject" and review.comment == ""
    delete = reverse("admin:review_review_delete", args=[review.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Review.objects.filter(pk=review.pk).exists()
    assert client.get(reverse("admin:review_review_add")).status_code == 403
    revision_change = reverse("admin:review_itemrevision_change", args=[revision.pk])
    assert client.post(revision_change, {"version": 9}).status_code == 403
    assert ItemRevision.objects.get(pk=revision.pk).version == revision.version
    assert client.get(reverse("admin:synthesis_item_add")).status_code == 403
    delete_item = reverse("admin:synthesis_item_delete", args=[item.pk])
    assert client.post(delete_item, {"post": "yes"}).status_code == 403
    assert Item.objects.filter(pk=item.pk).exists()


def test_admin_cannot_grant_superuser_or_take_over_an_operator(admin_client):
    reviewer = make_user("rita", role="reviewer")
    url = reverse("admin:auth_user_change", args=[reviewer.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="is_superuser"' not in page.content
    assert b'name="user_permissions"' not in page.content
    admin_client.post(
        url,
        {
            "username": "rita",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    reviewer.refresh_from_db()
    assert not reviewer.is_superuser
    operator = get_user_model().objects.create_superuser(
        "operator", "op@example.org", "op-secret-password-1"
    )
    password = reverse("admin:auth_user_password_change", args=[operator.pk])
    assert admin_client.get(password).status_code in {403, 404}
    change = reverse("admin:auth_user_change", args=[operator.pk])
    assert admin_client.get(change).status_code in {302, 403, 404}


def test_operators_keep_full_control_of_accounts_and_metadata(admin_client, item):
    client = superuser_client()
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 200
    document = item.item_figures.first().figure.document
    url = reverse("admin:synthesis_document_change", args=[document.pk])
    assert client.get(url).status_code == 200
    # A MedSyn admin may fix a document's metadata too, but not add or delete one.
    assert admin_client.get(url).status_code == 200
    delete = reverse("admin:synthesis_document_delete", args=[document.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_users_are_deactivated_never_deleted(admin_client):
    from medsyn_app.audit.models import AuditEvent

    reviewer = make_user("rita", role="reviewer")
    client = superuser_client()
    delete = reverse("admin:auth_user_delete", args=[reviewer.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert get_user_model().objects.filter(pk=reviewer.pk).exists()
    reviewer.is_active = False
    reviewer.save()
    event = AuditEvent.objects.filter(action="auth.user_changed").latest("id")
    assert event.after == {"is_active": False}
