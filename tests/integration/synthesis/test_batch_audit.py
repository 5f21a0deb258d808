"""Launch, cancel and resume of a batch, its queue policy and its overlap plan
are in the audit log, with the admin who did it from the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from synthesis import services
from synthesis.models import Batch, BatchStatus
from tests.fixtures.builders import add_kept_items, make_batch, make_figures
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


def test_policy_and_overlap_changes_from_the_pages_name_the_admin(
    admin_client, admin_user, reviewer_user
):
    batch = make_batch("Policy")
    add_kept_items(batch, 4)
    policy = admin_client.post(
        reverse("review:batch_policy", args=[batch.pk]),
        {"name": "audit", "threshold": 0.9, "sample_rate": 0.25, "seed": 3},
    )
    assert policy.status_code == 302
    event = _event("review.policy")
    assert (event.actor, event.object_id) == (admin_user, str(batch.pk))
    assert event.after["review_policy"]["name"] == "audit"

    overlap = admin_client.post(
        reverse("quality:overlap", args=[batch.pk]),
        {
            "reviewers_per_item": 1,
            "overlap_reviewers": 1,
            "overlap_percent": 0,
            "review_percent": 100,
            "seed": 1,
        },
    )
    assert overlap.status_code in (200, 302)
    for action in ("review.overlap", "review.overlap_planned"):
        event = _event(action)
        assert (event.actor, event.object_id) == (admin_user, str(batch.pk)), action
