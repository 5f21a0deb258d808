from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from medsyn_app.roles import is_admin, is_reviewer

pytestmark = pytest.mark.django_db


def can_log_in(username: str, password: str) -> bool:
    """The login form's check (django-axes needs the request, as the form has)."""
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password) is not None


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
    assert can_log_in("reviewer", "medsyn-review")
    assert can_log_in("admin", "medsyn-admin")


def test_role_groups_exist_after_migrate():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"admin", "reviewer"}


def test_a_changed_password_is_never_reset(client, capsys):
    call_command("create_demo_users")
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("a-better-secret-of-mine")
    admin.save(update_fields=["password"])
    capsys.readouterr()
    call_command("create_demo_users")
    out = capsys.readouterr().out
    assert "medsyn-admin" not in out
    assert "admin (password changed)" in out
    assert not can_log_in("admin", "medsyn-admin")
    assert can_log_in("admin", "a-better-secret-of-mine")


def test_demo_admins_are_not_superusers():
    call_command("create_demo_users")
    admin = get_user_model().objects.get(username="admin")
    assert not admin.is_superuser
    assert admin.is_staff and is_admin(admin)


def test_runstack_creates_no_demo_logins_and_no_demo_data_in_production(settings):
    from medsyn_app.management.commands.runstack import Command
    from synthesis.models import Document

    settings.PRODUCTION = True
    assert Command().prepare_data() == []
    assert not get_user_model().objects.exists()
    assert not Document.objects.exists()


def test_runstack_keeps_a_changed_admin_password_in_development(client):
    from medsyn_app.management.commands.runstack import Command

    call_command("create_demo_users")
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("a-better-secret-of-mine")
    admin.save(update_fields=["password"])
    lines = Command().prepare_data()
    assert any("password changed" in line for line in lines)
    assert not any("medsyn-admin" in line for line in lines)
    assert can_log_in("admin", "a-better-secret-of-mine")
