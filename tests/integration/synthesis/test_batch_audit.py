"""Launch, cancel and resume of a batch are in the audit log, with who did it;
queue-policy and overlap changes are covered in tests/integration/review."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from synthesis import services
from synthesis.models import Batch, BatchStatus
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_backends import fake_config

pytestmark = pytest.mark.django_db


def _event(action: str) -> AuditEvent:
    return AuditEvent.objects.get(action=action)


def test_a_launch_records_who_and_what(admin_client, admin_user):
    make_figures(3)
    response = admin_client.post(
        reverse("synthesis:api_batches"),
        {"name": "Audited", "config": fake_config()},
        content_type="application/json",
    )
    assert response.status_code == 201
    event = _event("batch.launch")
    assert (event.actor, event.actor_username) == (admin_user, "alice")
    assert event.object_type == "synthesis.batch"
    assert event.object_id == str(response.json()["id"])
    assert event.after["figure_groups"] == 3
    assert event.after["verifier"] == "fake-verifier"


def test_cancel_and_resume_from_the_page_record_the_admin(admin_client, admin_user):
    make_figures(3)
    batch = services.launch_batch(
        created_by=None, name="Run", config=fake_config(), enqueue=None
    )
    admin_client.post(reverse("synthesis:batch_cancel", args=[batch.pk]))
    cancel = _event("batch.cancel")
    assert cancel.actor == admin_user
    assert (cancel.before, cancel.after) == (
        {"status": "queued"},
        {"status": "cancelled"},
    )
    admin_client.post(reverse("synthesis:batch_resume", args=[batch.pk]))
    resume = _event("batch.resume")
    assert resume.actor == admin_user and resume.object_id == str(batch.pk)
    assert resume.after == {"status": "queued", "chunks": 2}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.QUEUED


def test_a_cancel_that_changes_nothing_records_nothing(admin_user):
    make_figures(1)
    batch = services.launch_batch(
        created_by=None, name="Run", config=fake_config(), enqueue=None
    )
    services.cancel_batch(batch_id=batch.pk)
    services.cancel_batch(batch_id=batch.pk)
    assert AuditEvent.objects.filter(action="batch.cancel").count() == 1


def test_a_waiting_batch_can_be_cancelled(admin_user):
    make_figures(1)
    batch = services.launch_batch(
        created_by=None, name="Run", config=fake_config(), enqueue=None
    )
    assert services.mark_waiting(batch_id=batch.pk, reason="broker down")
    assert services.cancel_batch(batch_id=batch.pk).status == BatchStatus.CANCELLED
    assert _event("batch.waiting").after == {"reason": "broker down"}
