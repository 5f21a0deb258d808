"""Stored dashboard figures: current within seconds of a decision (the beat task
recounts snapshots whose watermark is behind), recounted on request or age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils.timezone import now as timezone_now

from review.models import QualitySnapshot, Review
from review.quality import snapshots
from tests.fixtures.builders import add_kept_items, add_review, make_batch, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(db):
    batch = make_batch(name="Snap")
    reviewer = make_user("gil")
    for item in add_kept_items(batch, 2):
        add_review(item, reviewer, "accept")
    return batch


def _accepted(client, **params):
    return client.get(reverse("quality:api", args=["all"]), params).json()[
        "status_counts"
    ]["accepted"]


def test_young_snapshot_is_reused_until_a_recount_is_asked(admin_client, batch):
    assert _accepted(admin_client) == 2
    assert QualitySnapshot.objects.filter(scope="all").exists()
    item = add_kept_items(batch, 1)[0]
    add_review(item, make_user("hal"), "accept")

    assert _accepted(admin_client) == 2  # stored figures, still young
    assert _accepted(admin_client, fresh="1") == 3
    assert _accepted(admin_client) == 3


def test_old_snapshot_is_recounted(admin_client, batch, settings):
    settings.MEDSYN_QUALITY_MAX_AGE_S = 0
    assert _accepted(admin_client) == 2
    add_review(add_kept_items(batch, 1)[0], make_user("hal"), "accept")
    assert _accepted(admin_client) == 3


def test_custom_settings_are_always_counted_live(admin_client, batch):
    _accepted(admin_client)
    add_review(add_kept_items(batch, 1)[0], make_user("hal"), "accept")
    assert _accepted(admin_client, target_precision="0.9") == 3


def test_each_batch_has_its_own_snapshot(batch):
    snapshots.refresh(batch=batch)
    snapshots.refresh()
    assert set(QualitySnapshot.objects.values_list("scope", flat=True)) == {
        "all",
        f"batch:{batch.pk}",
    }


def test_page_says_when_figures_were_computed(admin_client, batch):
    page = admin_client.get(reverse("quality:dashboard"))
    assert b'id="computed-at"' in page.content
    assert b"fresh=1" in page.content


def test_reading_a_stored_snapshot_takes_few_queries(
    admin_client, batch, django_assert_max_num_queries
):
    admin_client.get(reverse("quality:dashboard"))
    with django_assert_max_num_queries(6):
        admin_client.get(reverse("quality:dashboard"))


def _api(client, **params):
    return client.get(reverse("quality:api", args=["all"]), params).json()


def test_a_decision_puts_the_snapshot_behind_until_the_beat_task_recounts(
    admin_client, batch
):
    from review.quality import tasks

    assert _api(admin_client)["behind"] is False
    add_review(add_kept_items(batch, 1)[0], make_user("hal"), "accept")
    figures = _api(admin_client)
    assert figures["behind"] is True  # said on the page, not silently stale
    assert figures["status_counts"]["accepted"] == 2

    tasks.refresh_stale_snapshots()  # what beat runs every few seconds
    figures = _api(admin_client)
    assert (figures["behind"], figures["status_counts"]["accepted"]) == (False, 3)
    computed = QualitySnapshot.objects.get(scope="all").computed_at
    tasks.refresh_stale_snapshots()  # nothing new: nothing recounted
    assert QualitySnapshot.objects.get(scope="all").computed_at == computed


def test_an_undo_is_seen_as_a_change(admin_client, batch):
    from django.utils import timezone

    _api(admin_client)
    Review.objects.filter(item__batch=batch).update(undone_at=timezone.now())
    assert snapshots.refresh_stale() == ["all"]


def test_a_snapshot_behind_past_the_grace_is_recounted_on_the_spot(admin_client, batch):
    _api(admin_client)
    add_review(add_kept_items(batch, 1)[0], make_user("hal"), "accept")
    old = timezone_now() - snapshots.STALE_GRACE - timedelta(seconds=1)
    QualitySnapshot.objects.update(computed_at=old)
    figures = _api(admin_client)
    assert (figures["behind"], figures["status_counts"]["accepted"]) == (False, 3)


def test_the_page_says_when_figures_are_behind(admin_client, batch):
    admin_client.get(reverse("quality:dashboard"))
    page = admin_client.get(reverse("quality:dashboard")).content.decode()
    assert "including every decision made until then" in page
    add_review(add_kept_items(batch, 1)[0], make_user("hal"), "accept")
    page = admin_client.get(reverse("quality:dashboard")).content.decode()
    assert 'id="figures-behind"' in page


def test_an_item_sent_back_to_review_is_seen_as_a_change(admin_client, batch):
    from review.items import services as items

    assert _api(admin_client)["status_counts"]["accepted"] == 2
    items.send_to_review(
        item_ids=list(batch.items.values_list("pk", flat=True)),
        actor=make_user("ida", role="admin"),
    )
    assert snapshots.refresh_stale() == ["all"]
    assert _api(admin_client)["status_counts"]["accepted"] == 0
