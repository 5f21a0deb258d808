"""Re-runs: verify again (failed or chosen items, another verifier), generate
again; history kept, reviewers' decisions kept, recorded in the audit log."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.db.models import Count
from django.utils import timezone

from medsyn_app import endpoints
from medsyn_app.audit.models import AuditEvent
from synthesis import reruns, tasks
from synthesis.models import (
    Batch,
    BatchStatus,
    GenerationFailure,
    Item,
    ItemStatus,
    Rerun,
    RerunKind,
    RerunStatus,
    Verification,
)
from synthesis.rubric import ERROR_UNPARSEABLE
from tests.fixtures.builders import add_review, make_figures
from tests.fixtures.fake_backends import fake_config

pytestmark = pytest.mark.django_db(transaction=True)


def run_batch(n=3, **config) -> Batch:
    from synthesis import services

    make_figures(n)
    batch = services.launch_batch(
        created_by=None, name="t", config=fake_config(**config), enqueue=None
    )
    for chunk_id in batch.chunks.values_list("pk", flat=True):
        tasks.process_chunk(chunk_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    return batch


def rerun(batch, what, by=None, **choices):
    launched = reruns.launch(
        batch_id=batch.pk, created_by=by, what=what, enqueue=None, **choices
    )
    assert reruns.run(rerun_id=launched.pk) == "done"
    launched.refresh_from_db()
    return launched


def history(item):
    return list(item.verifications.order_by("pk").values_list("error", "kept"))


def test_verifying_again_adds_a_verification_and_keeps_the_old_one(admin_user):
    batch = run_batch(verifier_mode="garbage")
    assert batch.items_kept == 0
    assert set(Item.objects.values_list("status", flat=True)) == {"dropped"}

    done = rerun(
        batch,
        reruns.FAILED_VERIFICATIONS,
        by=admin_user,
        verifier_endpoint="fake-verifier",
    )
    assert (done.status, done.kind, done.targets) == (
        RerunStatus.DONE,
        RerunKind.VERIFICATION,
        3,
    )
    assert (done.items_verified, done.items_kept, done.verifier_errors) == (3, 3, 0)
    assert done.config["verifier"]["endpoint"] == "fake-verifier"
    for item in Item.objects.all():
        # The batch's own failed verdict stays; the re-run's is the newest.
        assert history(item) == [(ERROR_UNPARSEABLE, False), ("", True)]
        assert item.verifications.order_by("-pk").first().rerun == done
        assert item.status == ItemStatus.KEPT
    batch.refresh_from_db()
    assert (batch.items_generated, batch.items_verified, batch.items_kept) == (3, 3, 3)
    event = AuditEvent.objects.get(action="batch.rerun")
    assert event.actor == admin_user and event.object_id == str(batch.pk)
    assert event.after["what"] == "failed_verifications"
    assert event.after["verifier"] == "fake-verifier"
    assert AuditEvent.objects.filter(action="rerun.done").count() == 1


def test_only_failed_verifications_are_selected(admin_user):
    batch = run_batch(n=4)
    first, second, *_ = Item.objects.order_by("pk")
    # Chosen items, with another (broken) verifier: their verdict now fails.
    broken = rerun(
        batch,
        reruns.CHOSEN_ITEMS,
        item_ids=[first.pk, second.pk],
        verifier_endpoint="fake-verifier-garbage",
    )
    assert broken.items_verified == 2 and broken.verifier_errors == 2
    assert reruns.failed_verification_items(batch_id=batch.pk) == [
        first.pk,
        second.pk,
    ]
    assert Item.objects.get(pk=first.pk).status == ItemStatus.DROPPED
    batch.refresh_from_db()
    assert batch.items_kept == 2  # counted by the newest verdicts

    fixed = rerun(batch, reruns.FAILED_VERIFICATIONS)  # the batch's own verifier
    assert fixed.targets == 2 and fixed.items_kept == 2
    counts = dict(Item.objects.values_list("pk").annotate(n=Count("verifications")))
    assert counts[first.pk] == counts[second.pk] == 3
    assert all(n == 1 for pk, n in counts.items() if pk not in {first.pk, second.pk})
    assert reruns.failed_verification_items(batch_id=batch.pk) == []
    assert set(Item.objects.values_list("status", flat=True)) == {"kept"}


def test_a_reviewer_decided_item_keeps_its_status(admin_user, reviewer_user):
    batch = run_batch(n=2, verifier_mode="garbage")
    decided, undecided = Item.objects.order_by("pk")
    add_review(decided, reviewer_user, "accept")
    assert decided.status == ItemStatus.ACCEPTED

    rerun(batch, reruns.FAILED_VERIFICATIONS, verifier_endpoint="fake-verifier")
    decided.refresh_from_db()
    undecided.refresh_from_db()
    assert decided.status == ItemStatus.ACCEPTED
    assert history(decided)[-1] == ("", True)  # the verdict is still recorded
    assert undecided.status == ItemStatus.KEPT


def test_an_undone_decision_no_longer_holds_the_status(admin_user, reviewer_user):
    batch = run_batch(n=1, verifier_mode="garbage")
    item = Item.objects.get()
    review = add_review(item, reviewer_user, "accept")
    # What undo does: stamp the decision and put the verifier's status back.
    type(review).objects.filter(pk=review.pk).update(undone_at=timezone.now())
    Item.objects.filter(pk=item.pk).update(status=ItemStatus.DROPPED)

    rerun(batch, reruns.FAILED_VERIFICATIONS, verifier_endpoint="fake-verifier")
    assert Item.objects.get(pk=item.pk).status == ItemStatus.KEPT


def test_a_redelivered_rerun_adds_nothing_twice(admin_user):
    batch = run_batch(n=2, verifier_mode="garbage")
    launched = reruns.launch(
        batch_id=batch.pk,
        created_by=admin_user,
        what=reruns.FAILED_VERIFICATIONS,
        verifier_endpoint="fake-verifier",
        enqueue=None,
    )
    assert reruns.run(rerun_id=launched.pk) == "done"
    assert reruns.run(rerun_id=launched.pk) == "skipped"
    # A worker lost after writing: the redelivery finds the rows and skips them.
    type(launched).objects.filter(pk=launched.pk).update(status=RerunStatus.RUNNING)
    assert reruns.run(rerun_id=launched.pk) == "done"
    assert Verification.objects.filter(rerun=launched).count() == 2
    launched.refresh_from_db()
    assert launched.items_verified == 2


def test_failed_generations_are_generated_again(admin_user):
    batch = run_batch(n=3, generator_mode="prose", generation_retries=0)
    assert batch.items_generated == 0 and batch.generation_failures == 3
    assert len(reruns.failed_generation_slots(batch_id=batch.pk)) == 3
    # The operator fixed the server behind the batch's generator endpoint.
    config = {**batch.config, "generator": endpoints.get("fake-generator").provenance()}
    Batch.objects.filter(pk=batch.pk).update(config=config)

    done = rerun(batch, reruns.FAILED_GENERATIONS, by=admin_user)
    assert (done.kind, done.targets, done.items_generated, done.items_kept) == (
        RerunKind.GENERATION,
        3,
        3,
        3,
    )
    batch.refresh_from_db()
    assert (batch.items_generated, batch.items_kept) == (3, 3)
    assert GenerationFailure.objects.filter(batch=batch).count() == 3  # kept
    for item in Item.objects.filter(batch=batch):
        assert item.verifications.get().rerun == done
        assert item.item_figures.count() == 1
    assert reruns.failed_generation_slots(batch_id=batch.pk) == []


def test_a_failed_generation_again_adds_a_try_and_keeps_the_first(admin_user):
    batch = run_batch(n=1, generator_mode="prose", generation_retries=0)
    done = rerun(batch, reruns.FAILED_GENERATIONS)
    assert done.generation_failures == 1
    attempts = list(
        GenerationFailure.objects.order_by("attempt").values_list("attempt", "rerun")
    )
    assert attempts == [(1, None), (2, done.pk)]


@pytest.mark.parametrize(
    ("choices", "field", "message"),
    [
        ({"verifier_endpoint": "nope"}, "verifier_endpoint", "not a registered"),
        # A generator-only endpoint is not a verifier.
        ({"verifier_endpoint": "fake-generator"}, "verifier_endpoint", "verifier"),
        ({"rubric_version": "v9"}, "rubric_version", "unknown rubric version"),
        ({"what": reruns.CHOSEN_ITEMS, "item_ids": [10**9]}, "item_ids", "not items"),
        ({"what": reruns.CHOSEN_ITEMS}, "item_ids", "at least one"),
        ({"what": "everything"}, "what", "unknown re-run"),
    ],
)
def test_refused_choices_name_the_field(choices, field, message):
    batch = run_batch(n=1, verifier_mode="garbage")
    choices = {"what": reruns.FAILED_VERIFICATIONS, **choices}
    with pytest.raises(reruns.RerunError, match=message) as refused:
        reruns.launch(batch_id=batch.pk, created_by=None, enqueue=None, **choices)
    assert refused.value.field == field
    assert not batch.reruns.exists()
    assert not AuditEvent.objects.filter(action="batch.rerun").exists()


def test_nothing_failed_and_a_running_batch_are_refused():
    batch = run_batch(n=1)
    with pytest.raises(reruns.RerunError, match="no item of this batch"):
        reruns.launch(
            batch_id=batch.pk,
            created_by=None,
            what=reruns.FAILED_VERIFICATIONS,
            enqueue=None,
        )
    with pytest.raises(reruns.RerunError, match="no failed generations"):
        reruns.launch(
            batch_id=batch.pk,
            created_by=None,
            what=reruns.FAILED_GENERATIONS,
            enqueue=None,
        )
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    with pytest.raises(reruns.RerunError, match="is running") as refused:
        reruns.launch(
            batch_id=batch.pk,
            created_by=None,
            what=reruns.CHOSEN_ITEMS,
            item_ids=list(Item.objects.values_list("pk", flat=True)),
            enqueue=None,
        )
    assert refused.value.conflict


def test_a_verifier_down_through_every_retry_fails_the_rerun(admin_user):
    batch = run_batch(n=1, verifier_mode="garbage")
    launched = reruns.launch(
        batch_id=batch.pk,
        created_by=admin_user,
        what=reruns.FAILED_VERIFICATIONS,
        verifier_endpoint="fake-verifier-unavailable",
        enqueue=None,
    )
    with pytest.raises(Retry):  # a first try: back to queued, retried later
        tasks.run_rerun.apply(args=[launched.pk])
    assert Rerun.objects.get(pk=launched.pk).status == RerunStatus.QUEUED
    tasks.run_rerun.apply(args=[launched.pk], retries=tasks.run_rerun.max_retries)
    launched.refresh_from_db()
    assert launched.status == RerunStatus.FAILED
    assert "model server unavailable" in launched.status_reason
    assert not Verification.objects.filter(rerun=launched).exists()
    assert AuditEvent.objects.filter(action="rerun.failed").count() == 1
