"""The sign-in backend reads role groups with the user, fresh on every request."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from medsyn_app.auth_backend import RoleBackend
from medsyn_app.roles import ADMIN_GROUP, REVIEWER_GROUP, is_admin, is_reviewer

pytestmark = pytest.mark.django_db


def test_get_user_reads_the_role_groups_in_the_same_query(
    reviewer_user, django_assert_num_queries
):
    with django_assert_num_queries(1):
        user = RoleBackend().get_user(reviewer_user.pk)
        assert is_reviewer(user)
        assert not is_admin(user)
    assert user._medsyn_groups == {REVIEWER_GROUP}


def test_admin_and_outsider_roles(admin_user, outsider_user):
    assert is_admin(RoleBackend().get_user(admin_user.pk))
    outsider = RoleBackend().get_user(outsider_user.pk)
    assert not is_reviewer(outsider)
    assert outsider._medsyn_groups == set()


def test_inactive_or_missing_users_are_not_signed_in(reviewer_user):
    reviewer_user.is_active = False
    reviewer_user.save(update_fields=["is_active"])
    assert RoleBackend().get_user(reviewer_user.pk) is None
    assert RoleBackend().get_user(reviewer_user.pk + 1000) is None


def test_a_revoked_role_takes_effect_on_the_next_request(
    reviewer_client, reviewer_user
):
    page = reverse("review:next")
    assert reviewer_client.get(page).status_code == 200
    reviewer_user.groups.remove(Group.objects.get(name=REVIEWER_GROUP))
    assert reviewer_client.get(page).status_code == 403


def test_the_client_signs_in_through_the_role_backend(reviewer_client):
    session = reviewer_client.session
    assert session["_auth_user_backend"] == "medsyn_app.auth_backend.RoleBackend"
    assert (
        ADMIN_GROUP
        not in RoleBackend().get_user(session["_auth_user_id"])._medsyn_groups
    )
