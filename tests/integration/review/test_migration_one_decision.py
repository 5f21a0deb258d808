"""Migration 0007 supersedes duplicate current decisions; 0008 adds the constraint.

Databases written before issue 14 hold a reviewer's second accept (or an accept
and a reject) on the same item as two current reviews; the migration keeps the
latest and stamps the older one superseded, so the unique constraint applies.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("review", "0005_assignment_planned")]
AFTER = [("review", "0008_one_current_decision_per_reviewer")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # Synthesis stays at its latest state: its tables keep the newer columns
    # while review goes back, so the historical models must know them too.
    targets = [*targets, *executor.loader.graph.leaf_nodes("synthesis")]
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_older_duplicates_are_superseded_and_the_latest_stands():
    apps = _migrate(BEFORE)
    try:
        user = apps.get_model("auth", "User").objects.create(username="old-bob")
        batch = apps.get_model("synthesis", "Batch").objects.create(name="Old")
        item = apps.get_model("synthesis", "Item").objects.create(
            batch=batch,
            group_key="g",
            question="Which finding?",
            options={"A": "a", "B": "b", "C": "c", "D": "d", "E": "e"},
            answer="A",
        )
        review = apps.get_model("review", "Review")
        start = timezone.now() - timedelta(hours=1)
        rows = []
        for minutes, decision, reason in (
            (0, "accept", ""),
            (5, "reject", "other"),
            (9, "accept", ""),
        ):
            row = review.objects.create(
                item=item,
                reviewer=user,
                decision=decision,
                reason_code=reason,
                item_version=1,
            )
            review.objects.filter(pk=row.pk).update(
                created_at=start + timedelta(minutes=minutes)
            )
            rows.append(row.pk)
        review.objects.create(
            item=item,
            reviewer=user,
            decision="reject",
            reason_code="other",
            item_version=1,
            undone_at=timezone.now(),
        )

        apps = _migrate(AFTER)
        review = apps.get_model("review", "Review")
        first, second, third = (review.objects.get(pk=pk) for pk in rows)
        assert first.superseded_at == second.created_at
        assert second.superseded_at == third.created_at
        assert third.superseded_at is None
        assert (second.replaces_id, third.replaces_id) == (first.pk, second.pk)
        current = review.objects.filter(
            item_id=item.pk, undone_at__isnull=True, superseded_at__isnull=True
        )
        assert list(current.values_list("pk", flat=True)) == [third.pk]
    finally:
        # Every app back at its latest state, for the tests that follow.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
