"""The item browser: filters, search, keyset pages, query counts, blind review."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from review.items import search, selectors
from review.items.selectors import Cursor, Filters, Sort
from review.models import Assignment
from synthesis.models import Item
from tests.fixtures.builders import (
    add_review,
    add_revision,
    make_batch,
    make_figure,
    make_item,
    make_reviewable_item,
    make_user,
    make_verification,
)

pytestmark = pytest.mark.django_db


def _ids(user, **filters) -> list[int]:
    page = selectors.page(user=user, filters=Filters(**filters), size=200)
    return [row.item.pk for row in page.rows]


@pytest.fixture
def items(admin_user, reviewer_user):
    batch = make_batch("Chest batch")
    other = make_batch("Skin batch")
    dora = make_user("dora")
    rejected = make_reviewable_item(
        batch,
        question="Which vessel is occluded in this angiogram?",
        modality="CT",
    )
    add_review(
        rejected,
        reviewer_user,
        "reject",
        reason_code="factually_wrong",
        comment="The key is the wrong artery.",
    )
    gated = make_item(
        other, [make_figure(color=(1, 2, 3))], modality="Dermoscopy", group_key="gg"
    )
    make_verification(gated, score=0.4, failed_gates=("Clinical Validity",))
    flagged = make_reviewable_item(other, score=0.99, modality="Dermoscopy")
    add_review(flagged, dora, "flag", comment="Discuss")
    edited = make_reviewable_item(batch, score=0.97)
    add_revision(edited, dora, before={"question": "a"}, after={"question": "b"})
    captioned = make_item(
        batch,
        figures=[
            make_figure(
                color=(4, 5, 6), caption="Fundus photograph showing papilledema."
            )
        ],
        group_key="g-caption",
    )
    return {
        "rejected": rejected, "gated": gated, "flagged": flagged,
        "edited": edited, "captioned": captioned, "batch": batch, "other": other,
        "dora": dora,
    }  # fmt: skip


def test_filters_each_narrow_to_the_matching_items(admin_user, reviewer_user, items):
    assert _ids(admin_user, status="rejected") == [items["rejected"].pk]
    assert set(_ids(admin_user, batch=items["other"].pk)) == {
        items["gated"].pk, items["flagged"].pk,
    }  # fmt: skip
    assert set(_ids(admin_user, modality="Dermoscopy")) == {
        items["gated"].pk, items["flagged"].pk,
    }  # fmt: skip
    assert _ids(admin_user, score_min=0.3, score_max=0.5) == [items["gated"].pk]
    assert _ids(admin_user, failed_gate="Clinical Validity") == [items["gated"].pk]
    assert _ids(admin_user, failed_gate="Diagnosis Leak") == []
    assert _ids(admin_user, reason="factually_wrong") == [items["rejected"].pk]
    assert _ids(admin_user, reviewer=reviewer_user.pk) == [items["rejected"].pk]
    assert _ids(admin_user, flagged=True) == [items["flagged"].pk]
    assert _ids(admin_user, edited=True) == [items["edited"].pk]
    assert items["edited"].pk not in _ids(admin_user, edited=False)


def test_search_finds_question_option_and_caption_words(admin_user, items):
    assert _ids(admin_user, q="angiogram") == [items["rejected"].pk]
    # Stemmed on PostgreSQL, a substring elsewhere: "occluded" finds "occluded".
    assert _ids(admin_user, q="occluded vessel") == [items["rejected"].pk]
    assert _ids(admin_user, q="papilledema") == [items["captioned"].pk]
    # Option text ("Pneumothorax" is an option of every builder item).
    assert len(_ids(admin_user, q="pneumothorax")) == Item.objects.count()
    assert _ids(admin_user, q="angiogram papilledema") == []


def test_search_fallback_matches_every_word_in_any_field(items):
    found = Item.objects.filter(search.fallback("FUNDUS papilledema"))
    assert list(found) == [items["captioned"]]
    assert not Item.objects.filter(search.fallback("fundus angiogram")).exists()


def test_postgres_search_uses_the_full_text_indexes(items):
    if connection.vendor != "postgresql":
        pytest.skip("the indexes exist on PostgreSQL only")
    conn = connection
    # Unordered, so the planner weighs the GIN index against scans only (not
    # against walking the ordering index when statistics are stale).
    query = Item.objects.filter(search.matching("angiogram")).order_by().values("pk")
    sql, params = query.query.sql_with_params()
    with conn.cursor() as cursor:
        cursor.execute("ANALYZE synthesis_item")
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "item_search_vector_idx" in plan


def test_the_search_follows_edits_of_questions_and_captions(admin_user, items):
    """The stored words follow every writer (database triggers on PostgreSQL)."""
    item = items["rejected"]
    item.question = "Which ventricle is dilated on this echocardiogram?"
    item.save(update_fields=["question"])
    assert _ids(admin_user, q="echocardiogram") == [item.pk]
    assert _ids(admin_user, q="angiogram") == []
    figure = items["captioned"].figures.get()
    figure.caption = "Optical coherence tomography of the macula."
    figure.save(update_fields=["caption"])
    assert _ids(admin_user, q="macula") == [items["captioned"].pk]
    assert _ids(admin_user, q="papilledema") == []
    # A figure linked later brings its caption along.
    from synthesis.models import ItemFigure

    ItemFigure.objects.create(item=item, figure=figure, position=1)
    assert set(_ids(admin_user, q="macula")) == {item.pk, items["captioned"].pk}


@pytest.mark.parametrize("sort", [s for s, _ in Sort.CHOICES])
def test_keyset_pages_walk_every_item_once_in_order(admin_user, sort):
    batch = make_batch()
    figure = make_figure()
    for i in range(7):
        item = make_item(batch, [figure], group_key=f"k{i}")
        if i % 3:
            make_verification(item, score=[0.5, 0.9][i % 2])
    seen, after = [], None
    while True:
        page = selectors.page(
            user=admin_user, filters=Filters(sort=sort), after=after, size=3
        )
        seen += [row.item.pk for row in page.rows]
        if page.next_cursor is None:
            break
        after = Cursor.decode(page.next_cursor, sort)
    assert sorted(seen) == sorted(Item.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen))
    one_page = [
        row.item.pk
        for row in selectors.page(
            user=admin_user, filters=Filters(sort=sort), size=50
        ).rows
    ]
    assert seen == one_page


def _many(n: int, reviewer, dora):
    batch = make_batch()
    for _i in range(n):
        item = make_reviewable_item(batch)
        add_review(item, reviewer, "reject", reason_code="other")
        add_review(item, dora, "accept")
        add_revision(item, dora, before={"question": "a"}, after={"question": "b"})


def _count(client, url, params) -> int:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_page_size_or_depth(
    admin_client, reviewer_user, django_assert_max_num_queries
):
    dora = make_user("dora")
    url = reverse("items:list")
    _many(3, reviewer_user, dora)
    admin_client.get(url)  # the first request of a session also saves the session
    small = _count(admin_client, url, {"size": 25})
    _many(9, reviewer_user, dora)
    large = _count(admin_client, url, {"size": 200})
    middle = Item.objects.order_by("pk").values_list("pk", flat=True)[6]
    deep = _count(admin_client, url, {"size": 25, "after": str(middle)})
    assert small == large == deep
    with django_assert_max_num_queries(12):
        admin_client.get(url, {"q": "lobe", "status": "disputed", "flagged": "no"})


def test_rows_show_decisions_reasons_flags_and_edits(admin_client, items):
    response = admin_client.get(reverse("items:list"))
    body = response.content.decode()
    assert "bob: <strong>Reject</strong> (Factually wrong)" in body
    assert "dora: <strong>Flag for discussion</strong>" in body
    assert "v2 by dora" in body
    assert "Clinical Validity" in body


def test_a_reviewer_sees_only_items_they_decided(reviewer_user, items):
    assert _ids(reviewer_user) == [items["rejected"].pk]


def test_blind_reviewer_sees_nothing_of_others_while_the_plan_is_open(
    client, reviewer_user, items
):
    dora = items["dora"]
    item = make_reviewable_item(items["batch"], question="Blind item about a bronchus?")
    for user in (reviewer_user, dora, make_user("erin")):
        Assignment.objects.create(item=item, reviewer=user, planned=True)
    add_review(item, reviewer_user, "accept")
    add_review(item, dora, "reject", reason_code="factually_wrong", comment="secret")
    add_revision(item, dora, before={"question": "a"}, after={"question": "b"})
    row = next(
        r
        for r in selectors.page(user=reviewer_user, filters=Filters()).rows
        if r.item.pk == item.pk
    )
    assert row.blind
    assert [d.reviewer for d in row.decisions] == ["bob"]
    assert row.edits == []
    # The status dora's decision moved is not shown, nor filterable.
    item.refresh_from_db()
    assert row.status == "kept"
    assert item.pk not in _ids(reviewer_user, status=item.status)
    assert item.pk not in _ids(reviewer_user, reviewer=dora.pk)
    assert item.pk not in _ids(reviewer_user, reason="factually_wrong")
    client.force_login(reviewer_user)
    page = client.get(reverse("items:detail", args=[item.pk])).content.decode()
    assert "secret" not in page and "dora" not in page
    listing = client.get(reverse("items:list")).content.decode()
    assert "dora" not in listing


def test_detail_page_says_who_rejected_and_why(admin_client, items):
    url = reverse("items:detail", args=[items["rejected"].pk])
    body = admin_client.get(url).content.decode()
    assert "bob" in body
    assert "Factually wrong" in body
    assert "The key is the wrong artery." in body


def test_a_reviewer_cannot_open_an_item_they_did_not_decide(reviewer_client, items):
    url = reverse("items:detail", args=[items["flagged"].pk])
    assert reviewer_client.get(url).status_code == 404


def test_a_broken_cursor_is_refused(admin_client, items):
    response = admin_client.get(
        reverse("items:list"), {"after": "x", "sort": "score_high"}
    )
    assert response.status_code == 400
