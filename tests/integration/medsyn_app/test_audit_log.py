"""The audit log: append-only, hash-chained, verified, filtered and exported."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from medsyn_app.audit import selectors, services
from medsyn_app.audit.models import AuditEvent
from medsyn_app.roles import grant_role
from tests.fixtures.builders import make_user

pytestmark = pytest.mark.django_db


def test_events_chain_and_the_chain_verifies(admin_user):
    services.record("test.first", actor=admin_user, after={"n": 1})
    services.record("test.second", actor=None, before={"a": "x"}, after={"a": "y"})
    events = list(AuditEvent.objects.order_by("id"))
    assert events[-1].prev_hash == events[-2].hash
    checked, broken = selectors.verify()
    assert broken is None and checked == AuditEvent.objects.count()
    call_command("audit", "verify")


def _tamper(sql: str, params: list) -> None:
    """Change rows behind the app's back, as a database superuser could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the append-only trigger stays out
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def test_verify_names_the_first_tampered_event(admin_user):
    for n in range(4):
        services.record("test.step", actor=admin_user, after={"n": n})
    target = AuditEvent.objects.filter(action="test.step").order_by("id")[1]
    _tamper(
        "UPDATE audit_auditevent SET after = %s WHERE id = %s",
        ['{"n": 99}', target.pk],
    )
    _, broken = selectors.verify()
    assert broken is not None and broken.event_id == target.pk
    assert "changed" in broken.reason
    with pytest.raises(CommandError, match=f"event {target.pk}"):
        call_command("audit", "verify")


def test_verify_notices_a_removed_event(admin_user):
    for n in range(3):
        services.record("test.step", actor=admin_user, after={"n": n})
    middle = AuditEvent.objects.filter(action="test.step").order_by("id")[1]
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [middle.pk])
    _, broken = selectors.verify()
    assert broken is not None and broken.event_id > middle.pk
    assert "removed" in broken.reason


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL's"
)
def test_postgresql_refuses_update_and_delete(admin_user):
    event = services.record("test.locked", actor=admin_user)
    for sql in (
        "UPDATE audit_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.locked"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"
)
def test_concurrent_writers_never_fork_the_chain():
    user = make_user("writer", role="reviewer")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(10):
                with transaction.atomic():
                    services.record(
                        "test.concurrent", actor=user, after={"n": n, "k": k}
                    )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 60
    hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(hashes) == len(set(hashes)), "two events share a predecessor: a fork"
    assert selectors.verify()[1] is None


def test_role_changes_from_the_shell_are_recorded():
    user = make_user("ruth", role=None)
    grant_role(user, "reviewer")
    event = AuditEvent.objects.filter(action="auth.roles_changed").latest("id")
    assert event.object_id == str(user.pk)
    assert event.before == {"groups": []} and event.after == {"groups": ["reviewer"]}
    user.groups.remove(Group.objects.get(name="reviewer"))
    event = AuditEvent.objects.filter(action="auth.roles_changed").latest("id")
    assert event.after == {"groups": []}


def test_role_changes_in_django_admin_name_the_admin(admin_client, admin_user):
    user = make_user("ruth", role="reviewer")
    url = reverse("admin:auth_user_change", args=[user.pk])
    admin_group = Group.objects.get(name="admin")
    response = admin_client.post(
        url,
        {
            "username": "ruth",
            "is_active": "on",
            "groups": [admin_group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(action="auth.roles_changed").latest("id")
    assert event.actor == admin_user and event.actor_username == "alice"
    assert event.after == {"groups": ["admin"]}
    assert event.ip == "127.0.0.1"


def test_account_flag_changes_are_recorded():
    user = make_user("ruth", role="reviewer")
    user.is_active = False
    user.save()
    event = AuditEvent.objects.filter(action="auth.user_changed").latest("id")
    assert event.before == {"is_active": True} and event.after == {"is_active": False}


def test_the_page_filters_and_exports_csv(admin_client, admin_user, reviewer_user):
    services.record("review.decide", actor=reviewer_user, object_type="synthesis.item",
                    object_id=7, after={"comment": "=HYPERLINK(1)"})  # fmt: skip
    services.record("batch.cancel", actor=admin_user)
    page = admin_client.get(reverse("audit:events"), {"actor": "bob"})
    assert page.status_code == 200
    assert b"review.decide" in page.content and b"batch.cancel" not in page.content
    export = admin_client.get(
        reverse("audit:events"), {"action": "review", "format": "csv"}
    )
    rows = list(
        csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    )
    assert [row["action"] for row in rows] == ["review.decide"]
    assert rows[0]["object_id"] == "7" and rows[0]["actor_username"] == "bob"
    assert rows[0]["after"].startswith("{")  # JSON, not a formula
    assert '"=HYPERLINK(1)"' in rows[0]["after"]


def test_reviewers_cannot_read_the_audit_log(reviewer_client):
    assert reviewer_client.get(reverse("audit:events")).status_code == 403
