"""review.queue: policies, claims, expiry, and concurrent claims on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from review import queue, services
from review.models import Assignment, Decision
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    make_batch,
    make_figure,
    make_item,
    make_reviewable_item,
    make_user,
    make_verification,
)

pytestmark = pytest.mark.django_db


def _set_policy(batch, name, **fields):
    policy = queue.Policy(name=name, **fields)
    return services.set_review_policy(batch=batch, policy=policy)


def _sample(batch):
    policy = queue.policy_for(batch.config)
    return list(queue.ordered_candidates(batch.pk, policy).values_list("pk", flat=True))


def _drain(reviewer):
    """Every item the reviewer is handed, deciding each (skip) as it comes."""
    seen = []
    while (item_id := queue.claim_next(reviewer=reviewer)) is not None:
        seen.append(item_id)
        item = queue.visible_items(reviewer).get(pk=item_id)
        services.decide(
            item=item,
            reviewer=reviewer,
            decision=Decision.SKIP,
            seconds_spent=1,
            item_version=item.version,
        )
        assert len(seen) < 100
    return seen


def test_borderline_policy_orders_by_distance_to_the_keep_threshold(
    batch, reviewer_user
):
    _set_policy(batch, queue.ReviewPolicy.BORDERLINE)
    far = make_reviewable_item(batch, score=0.5)
    near_above = make_reviewable_item(batch, score=0.97)
    near_below = make_reviewable_item(batch, score=0.96)
    middle = make_reviewable_item(batch, score=0.99)
    assert _drain(reviewer_user) == [near_above.pk, near_below.pk, middle.pk, far.pk]


def test_borderline_uses_the_threshold_stored_with_the_batch(batch, reviewer_user):
    _set_policy(batch, queue.ReviewPolicy.BORDERLINE, threshold=0.5)
    far = make_reviewable_item(batch, score=0.97)
    near = make_reviewable_item(batch, score=0.55)
    assert _drain(reviewer_user) == [near.pk, far.pk]


def test_failed_gates_policy_shows_only_items_that_failed_a_gate(batch, reviewer_user):
    _set_policy(batch, queue.ReviewPolicy.FAILED_GATES)
    make_reviewable_item(batch, score=0.99)
    make_reviewable_item(batch, score=0.5)  # dropped on score, gates passed
    failed = make_item(batch, figures=None, group_key="failed")
    make_verification(failed, score=0.99, failed_gates=("Diagnosis Leak",))
    assert _drain(reviewer_user) == [failed.pk]


def test_audit_sample_is_seeded_reproducible_and_only_kept_items(batch, reviewer_user):
    items = [make_reviewable_item(batch, score=0.99) for _ in range(20)]
    make_reviewable_item(batch, score=0.2)  # dropped: never in an audit
    batch = _set_policy(batch, queue.ReviewPolicy.AUDIT, seed=7, sample_rate=0.5)
    first = _sample(batch)
    assert first == _sample(batch)
    assert 0 < len(first) < 20
    assert set(first) <= {i.pk for i in items}
    assert first != sorted(first)
    other = _sample(
        _set_policy(batch, queue.ReviewPolicy.AUDIT, seed=8, sample_rate=0.5)
    )
    assert other != first
    _set_policy(batch, queue.ReviewPolicy.AUDIT, seed=7, sample_rate=0.5)
    assert _drain(reviewer_user) == first


def test_everything_policy_includes_unverified_items_in_order(batch, reviewer_user):
    verified = make_reviewable_item(batch, score=0.2)
    unverified = make_item(batch, group_key="fresh")
    assert unverified.status == ItemStatus.GENERATED
    assert _drain(reviewer_user) == [verified.pk, unverified.pk]


def test_items_already_decided_by_the_reviewer_are_not_handed_out_again(
    batch, reviewer_user
):
    first = make_reviewable_item(batch)
    second = make_reviewable_item(batch)
    assert _drain(reviewer_user) == [first.pk, second.pk]
    assert queue.claim_next(reviewer=reviewer_user) is None


def test_accepted_items_leave_every_queue(batch, reviewer_user, admin_user):
    item = make_reviewable_item(batch)
    services.decide(
        item=item,
        reviewer=admin_user,
        decision=Decision.ACCEPT,
        seconds_spent=1,
        item_version=1,
    )
    assert queue.claim_next(reviewer=reviewer_user) is None


def test_a_claim_is_kept_on_reload_and_hidden_from_others(batch, reviewer_user):
    first = make_reviewable_item(batch)
    second = make_reviewable_item(batch)
    other = make_user("dora")
    assert queue.claim_next(reviewer=reviewer_user) == first.pk
    assert queue.claim_next(reviewer=reviewer_user) == first.pk
    assert queue.claim_next(reviewer=other) == second.pk
    assert queue.claim_next(reviewer=make_user("erin")) is None


def test_an_expired_claim_frees_the_item(batch, reviewer_user):
    item = make_reviewable_item(batch)
    queue.claim_next(reviewer=reviewer_user)
    other = make_user("dora")
    assert queue.claim_next(reviewer=other) is None
    Assignment.objects.filter(reviewer=reviewer_user).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert queue.claim_next(reviewer=other) == item.pk


def test_exclude_moves_past_the_current_item(batch, reviewer_user):
    first = make_reviewable_item(batch)
    second = make_reviewable_item(batch)
    assert queue.claim_next(reviewer=reviewer_user) == first.pk
    assert queue.claim_next(reviewer=reviewer_user, exclude=[first.pk]) == second.pk
    # Both are now the reviewer's; the oldest claim still comes first.
    assert queue.claim_next(reviewer=reviewer_user) == first.pk


def test_older_batches_are_served_first(reviewer_user):
    old, new = make_batch("old"), make_batch("new")
    later = make_reviewable_item(new)
    earlier = make_reviewable_item(old)
    assert _drain(reviewer_user) == [earlier.pk, later.pk]


def test_visible_items_are_the_reviewers_own_assignments(
    batch, reviewer_user, admin_user
):
    mine, theirs = make_reviewable_item(batch), make_reviewable_item(batch)
    queue.claim_next(reviewer=reviewer_user)
    assert list(queue.visible_items(reviewer_user)) == [mine]
    assert set(queue.visible_items(admin_user)) == {mine, theirs}


def test_unknown_policy_is_refused(batch):
    with pytest.raises(services.InvalidDecision):
        services.set_review_policy(batch=batch, policy=queue.Policy(name="vibes"))


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_hand_out_the_same_item(postgres):
    batch = make_batch("Concurrent")
    items = [make_reviewable_item(batch) for _ in range(6)]
    reviewers = [make_user(f"rev{n}") for n in range(6)]
    barrier = threading.Barrier(len(reviewers))
    claimed: dict[str, int | None] = {}
    errors: list[BaseException] = []

    def claim(reviewer):
        try:
            barrier.wait(timeout=10)
            claimed[reviewer.username] = queue.claim_next(reviewer=reviewer)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    handed = list(claimed.values())
    assert None not in handed
    assert sorted(handed) == sorted(i.pk for i in items)
    live = Assignment.objects.filter(claimed_until__gt=timezone.now())
    assert live.count() == len(items)
    assert live.values("item").distinct().count() == len(items)


def test_claims_follow_the_listed_borderline_order(batch, reviewer_user):
    batch = _set_policy(batch, queue.ReviewPolicy.BORDERLINE)
    scores = [0.2, 0.9, 0.95, 0.966, 0.968, 0.99, 1.0, 0.5, 0.98]
    for score in scores:
        make_reviewable_item(batch, score=score)
    item = make_reviewable_item(batch, score=0.1)
    make_verification(item, score=0.9671, verifier_model="second-verifier")
    listed = _sample(batch)
    assert len(listed) == len(scores) + 1
    assert listed[0] == item.pk  # scored by its latest verification
    assert _drain(reviewer_user) == listed


def test_progress_counts_todays_decisions_and_caps_open_items(
    batch, reviewer_user, monkeypatch
):
    items = [make_reviewable_item(batch) for _ in range(4)]
    services.decide(
        item=items[0],
        reviewer=reviewer_user,
        decision=Decision.ACCEPT,
        seconds_spent=1,
        item_version=1,
    )
    progress = queue.progress_for(reviewer_user)
    assert (progress.decided_today, progress.open_items) == (1, 3)
    assert not progress.open_items_capped
    monkeypatch.setattr(queue, "OPEN_ITEMS_CAP", 2)
    capped = queue.progress_for(reviewer_user)
    assert capped.open_items == 3
    assert capped.open_items_capped


def test_failed_gates_judges_each_item_by_its_latest_verification(batch, reviewer_user):
    batch = _set_policy(batch, queue.ReviewPolicy.FAILED_GATES)
    recovered = make_item(batch, figures=[make_figure(color=(1, 1, 1))])
    make_verification(recovered, score=0.5, failed_gates=("Diagnosis Leak",))
    make_verification(recovered, score=0.5, verifier_model="second")  # passes gates
    still_failing = make_item(batch, figures=[make_figure(color=(2, 2, 2))])
    make_verification(still_failing, score=0.99, verifier_model="first")
    make_verification(
        still_failing,
        score=0.4,
        failed_gates=("Clinical Validity",),
        verifier_model="b",
    )
    assert _drain(reviewer_user) == [still_failing.pk]
