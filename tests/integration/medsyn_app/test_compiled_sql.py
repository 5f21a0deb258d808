"""Compiled subqueries answer what their ORM querysets answer, for any ids."""

from __future__ import annotations

import pytest

from medsyn_app.compiled_sql import CompiledSubquery
from review.models import Assignment
from synthesis.models import Item
from tests.fixtures.builders import make_batch, make_figure, make_item, make_user

pytestmark = pytest.mark.django_db


def _assignments(item: int, reviewer: int):
    return Assignment.objects.filter(item_id=item, reviewer_id=reviewer).values("pk")


def test_rebinding_ids_gives_the_rows_the_orm_gives():
    batch = make_batch()
    items = [make_item(batch, figures=[make_figure(color=(i, 0, 0))]) for i in range(3)]
    ann, bob = make_user("ann"), make_user("bob")
    for item, reviewer in [(items[0], ann), (items[1], bob), (items[2], ann)]:
        Assignment.objects.create(item=item, reviewer=reviewer)
    compiled = CompiledSubquery(_assignments, "item", "reviewer")
    for item in items:
        for reviewer in (ann, bob):
            expected = list(_assignments(item.pk, reviewer.pk).values_list("pk"))
            assert compiled.rows(item=item.pk, reviewer=reviewer.pk) == expected


def test_as_columns_the_counts_and_checks_follow_the_row():
    batch = make_batch()
    first, second = (
        make_item(batch, figures=[make_figure(color=(i, 0, 0))]) for i in range(2)
    )
    ann = make_user("ann")
    Assignment.objects.create(item=first, reviewer=ann)
    compiled = CompiledSubquery(
        lambda item: Assignment.objects.filter(item_id=item).values("pk"), "item"
    )
    for item, expected in ((first, 1), (second, 0)):
        row = (
            Item.objects.filter(pk=item.pk)
            .annotate(n=compiled.count(item=item.pk), any=compiled.exists(item=item.pk))
            .get()
        )
        assert (row.n, row.any) == (expected, bool(expected))


def test_the_query_is_built_once_and_unbound_names_are_refused():
    built = []

    def build(item: int):
        built.append(item)
        return Assignment.objects.filter(item_id=item).values("pk")

    compiled = CompiledSubquery(build, "item")
    compiled.sql(item=1)
    compiled.sql(item=2)
    assert len(built) == 1
    ignoring = CompiledSubquery(lambda item: Assignment.objects.values("pk"), "item")
    with pytest.raises(ValueError, match="item"):
        ignoring.sql(item=1)
