from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from medsyn_app.roles import is_admin, is_reviewer

pytestmark = pytest.mark.django_db


def test_demo_users_are_created_once_and_can_log_in(client, capsys):
    call_command("create_demo_users")
    call_command("create_demo_users")
    out = capsys.readouterr().out
    assert "admin / medsyn-admin" in out
    assert "reviewer / medsyn-review" in out
    users = get_user_model().objects.filter(username__in=["admin", "reviewer"])
    assert users.count() == 2
    admin = users.get(username="admin")
    reviewer = users.get(username="reviewer")
    assert is_admin(admin) and is_reviewer(admin)
    assert is_reviewer(reviewer) and not is_admin(reviewer)
    assert admin.groups.count() == 1 and reviewer.groups.count() == 1
    assert client.login(username="reviewer", password="medsyn-review")
    assert client.login(username="admin", password="medsyn-admin")


def test_role_groups_exist_after_migrate():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"admin", "reviewer"}
