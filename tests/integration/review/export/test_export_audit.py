"""Exports leave audit events: who made one, how it ended, who downloaded what."""

from __future__ import annotations

import pytest
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from tests.integration.review.export.conftest import run

pytestmark = pytest.mark.django_db


def test_create_finish_and_each_download_are_recorded(admin_user, admin_client, corpus):
    export = run(admin_user, name="Audited")
    actions = list(
        AuditEvent.objects.filter(object_type="review.export", object_id=export.pk)
        .order_by("id")
        .values_list("action", "actor_username")
    )
    assert actions == [("export.create", "alice"), ("export.done", "")]
    admin_client.get(reverse("exports:file", args=[export.pk, "manifest.json"]))
    admin_client.get(reverse("exports:archive", args=[export.pk]))
    downloads = AuditEvent.objects.filter(action="export.download").order_by("id")
    assert [(e.actor_username, e.after["file"]) for e in downloads] == [
        ("alice", "manifest.json"),
        ("alice", "*"),
    ]


def test_a_refused_download_is_not_recorded(reviewer_client, admin_user, corpus):
    export = run(admin_user, name="Private")
    url = reverse("exports:file", args=[export.pk, "manifest.json"])
    assert reviewer_client.get(url).status_code == 403
    assert not AuditEvent.objects.filter(action="export.download").exists()
