"""The dashboard with nothing audited yet (issue 17): it says why, offers one
button that plans an audit sample, never states "0 of 0" figures beside advice
that assumes a sample, and links each batch's queue policy and overlap plan."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from review.queue import ReviewPolicy, policy_for
from tests.fixtures.builders import add_kept_items, add_review, make_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch():
    batch = make_batch(name="Chest")
    add_kept_items(batch, 3)
    return batch


def _dashboard(client, **query) -> str:
    return client.get(
        reverse("quality:dashboard"), {"fresh": "1", **query}
    ).content.decode()


def test_nothing_audited_says_why_and_offers_to_plan_a_sample(admin_client, batch):
    html = _dashboard(admin_client)
    assert 'id="no-audit"' in html and 'id="plan-audit"' in html
    assert "0 of 0 audited" not in html
    assert "Keep auditing" not in html
    assert "Over 0 settled items" not in html and 'id="no-calibration"' in html
    assert 'id="no-throughput"' in html

    response = admin_client.post(reverse("quality:plan_audit"))
    assert response.status_code == 302
    batch.refresh_from_db()
    policy = policy_for(batch.config)
    assert (policy.name, policy.sample_rate) == (ReviewPolicy.AUDIT, 0.1)
    assert AuditEvent.objects.filter(action="review.policy").count() == 1

    html = _dashboard(admin_client)
    assert 'id="plan-audit"' not in html
    assert "An audit sample is planned" in html
    # A second press plans nothing more.
    admin_client.post(reverse("quality:plan_audit"))
    assert AuditEvent.objects.filter(action="review.policy").count() == 1


def test_with_audited_items_the_estimate_is_stated(admin_client, reviewer_user, batch):
    add_review(batch.items.first(), reviewer_user, "accept")
    html = _dashboard(admin_client)
    assert "0 of 1 audited kept items rejected" in html
    assert 'id="no-audit"' not in html and 'id="plan-audit"' not in html


def test_policy_and_overlap_pages_are_linked(admin_client, batch):
    html = _dashboard(admin_client)
    assert reverse("review:batch_policy", args=[batch.pk]) in html
    assert reverse("quality:overlap", args=[batch.pk]) in html
    queue = admin_client.get(reverse("quality:adjudication_queue")).content.decode()
    assert 'id="quality-nav"' in queue and "#review-setup" in queue
