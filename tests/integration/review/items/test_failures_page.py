"""The failures view: failed generations and verifications by cause, escaped."""

from __future__ import annotations

import pytest
from django.urls import reverse

from synthesis.models import GenerationFailure
from tests.fixtures.builders import make_batch, make_reviewable_item, make_verification

pytestmark = pytest.mark.django_db

RAW = '<script>alert("x")</script> not JSON'


def test_failed_generations_by_cause_with_raw_output_escaped(admin_client):
    batch = make_batch("Failing batch")
    for i in range(3):
        GenerationFailure.objects.create(
            batch=batch, group_key=f"g{i}", reason="invalid_json", raw_output=RAW
        )
    GenerationFailure.objects.create(batch=batch, group_key="p", reason="prose")
    body = admin_client.get(reverse("items:failures")).content.decode()
    assert "invalid_json" in body and "prose" in body
    assert RAW not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; not JSON" in body
    only = admin_client.get(reverse("items:failures"), {"cause": "prose"})
    assert only.content.decode().count('class="failure"') == 1


def test_failed_verifications_are_listed_with_their_output(admin_client):
    item = make_reviewable_item()
    item.verifications.all().delete()
    make_verification(item, score=0.0, error="unparseable", raw_output=RAW)
    page = admin_client.get(reverse("items:failures"), {"kind": "verification"})
    body = page.content.decode()
    assert "unparseable" in body and f"item {item.pk}" in body
    assert RAW not in body


def test_reviewers_may_not_see_failures(reviewer_client):
    assert reviewer_client.get(reverse("items:failures")).status_code == 403
