"""The review page: full page and htmx partials, conflicts, escaping, roles."""

from __future__ import annotations

import pytest
from django.urls import reverse

from review.models import Assignment, ItemRevision, Review
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    OPTIONS,
    make_figure,
    make_item,
    make_reviewable_item,
    make_verification,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _claim(client, **extra):
    return client.get(reverse("review:next"), **extra)


def test_full_page_shows_the_evidence_and_the_decision_bar(reviewer_client, item):
    response = _claim(reviewer_client)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html
    assert f'data-item-id="{item.pk}"' in html
    assert item.question in html
    assert reverse("review:figure_image", args=[item.figures.get().pk]) in html
    assert "Diagnosis Leak" in html  # rubric row
    assert "0.980" in html  # normalized score
    assert "Journal of Tests" in html
    assert "https://pmc.ncbi.nlm.nih.gov/articles/PMC000001/" in html
    assert "<mark>Fig. 1</mark>" in html  # the mention's reference, highlighted
    assert 'data-key="a"' in html
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_request_gets_only_the_item_card(reviewer_client, item):
    response = _claim(reviewer_client, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.strip().startswith('<section id="item-card"')


def test_empty_queue_says_so(reviewer_client):
    response = _claim(reviewer_client)
    assert "Your queue is empty" in response.content.decode()


def _post_decision(client, item, **data):
    data.setdefault("item_version", item.version)
    data.setdefault("seconds_spent", 3)
    return client.post(reverse("review:decide", args=[item.pk]), data, **HTMX)


def test_decide_returns_the_next_card_and_progress_out_of_band(
    reviewer_client, reviewer_user, batch
):
    first, second = make_reviewable_item(batch), make_reviewable_item(batch)
    _claim(reviewer_client)
    response = _post_decision(reviewer_client, first, decision="accept")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-item-id="{second.pk}"' in html
    assert 'id="progress" class="progress" hx-swap-oob="true"' in html
    assert "<strong>1</strong> decided today" in html
    first.refresh_from_db()
    assert first.status == ItemStatus.ACCEPTED
    assert Review.objects.get(item=first).seconds_spent == 3


def test_plain_form_post_redirects_to_the_next_item(reviewer_client, item):
    _claim(reviewer_client)
    response = reviewer_client.post(
        reverse("review:decide", args=[item.pk]),
        {"decision": "reject", "reason_code": "weak_distractors", "item_version": 1},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("review:next")
    assert Review.objects.get().reason_code == "weak_distractors"


def test_reject_without_a_reason_is_refused_with_a_message(reviewer_client, item):
    _claim(reviewer_client)
    response = _post_decision(reviewer_client, item, decision="reject")
    assert response.status_code == 422
    assert "needs a reason" in response.content.decode()
    assert not Review.objects.exists()


def test_stale_save_gets_409_with_the_other_change_and_overwrites_nothing(
    reviewer_client, admin_client, item
):
    _claim(reviewer_client)
    edit = {
        "question": "Admin's better stem",
        **{f"option_{k}": v for k, v in OPTIONS.items()},
        "answer": "B",
        "item_version": 1,
    }
    ok = admin_client.post(reverse("review:edit", args=[item.pk]), edit, **HTMX)
    assert ok.status_code == 200
    mine = {**edit, "question": "Reviewer's stale stem", "answer": "A"}
    response = reviewer_client.post(
        reverse("review:edit", args=[item.pk]), mine, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert 'id="conflict"' in html
    assert "Admin&#x27;s better stem" in html  # the other change, in the diff
    assert "Reviewer&#x27;s stale stem" in html  # their own attempt, kept on screen
    assert "answer key changed" in html
    assert 'name="item_version" value="2"' in html  # re-decide on the new version
    item.refresh_from_db()
    assert item.question == "Admin's better stem"
    assert ItemRevision.objects.count() == 1
    stale = _post_decision(reviewer_client, item, decision="accept", item_version=1)
    assert stale.status_code == 409
    assert not Review.objects.filter(reviewer__username="bob").exists()


def test_invalid_edit_shows_errors_and_keeps_the_input(reviewer_client, item):
    _claim(reviewer_client)
    data = {
        "question": "New stem",
        **{f"option_{k}": v for k, v in OPTIONS.items()},
        "option_C": OPTIONS["A"],
        "answer": "A",
        "item_version": 1,
    }
    response = reviewer_client.post(
        reverse("review:edit", args=[item.pk]), data, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Option C repeats option A." in html
    assert "New stem" in html
    item.refresh_from_db()
    assert item.version == 1


def test_item_history_shows_an_escaped_diff(reviewer_client, item):
    _claim(reviewer_client)
    data = {
        "question": f"Edited {XSS}",
        **{f"option_{k}": v for k, v in OPTIONS.items()},
        "answer": "A",
        "item_version": 1,
    }
    reviewer_client.post(reverse("review:edit", args=[item.pk]), data, **HTMX)
    html = reviewer_client.get(reverse("review:item", args=[item.pk])).content.decode()
    assert 'id="history"' in html
    assert '<span class="diff-add">+ Question: Edited &lt;script&gt;' in html
    assert "<script>alert" not in html


def test_undo_brings_the_item_back(reviewer_client, item):
    _claim(reviewer_client)
    _post_decision(reviewer_client, item, decision="flag")
    response = reviewer_client.post(reverse("review:undo"), **HTMX)
    html = response.content.decode()
    assert f'data-item-id="{item.pk}"' in html
    assert "Decision undone." in html
    item.refresh_from_db()
    assert item.status == ItemStatus.KEPT


def test_model_and_paper_text_is_escaped(reviewer_client, batch):
    figure = make_figure(
        color=(1, 2, 3),
        caption=f"Caption {XSS} (Fig. 1)",
        mentions=[f"As seen {XSS} in Fig. 1"],
        label="Fig. 1",
    )
    item = make_item(
        batch,
        figures=[figure],
        question=f"Which? {XSS}",
        options={**OPTIONS, "B": XSS},
        flags=[{"code": "x", "message": XSS}],
    )
    make_verification(
        item,
        criteria=[{"title": XSS, "category": "Essential", "reason": XSS}],
    )
    html = _claim(reviewer_client).content.decode()
    assert f'data-item-id="{item.pk}"' in html
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6


def test_rubric_rows_with_missing_keys_still_render(reviewer_client, batch):
    item = make_reviewable_item(batch)
    item.verifications.update(criteria=[{"score": "n/a"}, "junk", {"title": "Only"}])
    html = _claim(reviewer_client).content.decode()
    assert "(untitled criterion)" in html
    assert "Only" in html


def test_previous_link_goes_to_the_last_decided_item(reviewer_client, batch):
    first, second = make_reviewable_item(batch), make_reviewable_item(batch)
    _claim(reviewer_client)
    html = _post_decision(reviewer_client, first, decision="skip").content.decode()
    assert f'data-item-id="{second.pk}"' in html
    assert reverse("review:item", args=[first.pk]) in html


def test_upcoming_claims_the_next_item_and_sends_its_card_and_images(
    reviewer_client, reviewer_user, batch
):
    first, second = make_reviewable_item(batch), make_reviewable_item(batch)
    _claim(reviewer_client)
    response = reviewer_client.get(
        reverse("review:upcoming"), {"after": first.pk}, **HTMX
    )
    html = response.content.decode()
    image = reverse("review:figure_image", args=[second.figures.get().pk])
    assert f'<template data-upcoming data-after="{first.pk}">' in html
    assert f'data-item-id="{second.pk}"' in html
    assert second.question in html
    # Shown once `first` is decided: Previous (K) leads back to it.
    assert f'hx-get="{reverse("review:item", args=[first.pk])}"' in html
    assert f'<img src="{image}" alt="" loading="eager">' in html
    assert Assignment.objects.filter(item=second, reviewer=reviewer_user).exists()
    assert reviewer_client.get(image).status_code == 200


def test_upcoming_with_an_empty_queue_sends_nothing(reviewer_client, batch):
    only = make_reviewable_item(batch)
    _claim(reviewer_client)
    response = reviewer_client.get(
        reverse("review:upcoming"), {"after": only.pk}, **HTMX
    )
    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_a_decision_behind_a_shown_card_answers_with_the_progress_only(
    reviewer_client, reviewer_user, batch
):
    first, second = make_reviewable_item(batch), make_reviewable_item(batch)
    _claim(reviewer_client)
    reviewer_client.get(reverse("review:upcoming"), {"after": first.pk})
    response = _post_decision(
        reviewer_client, first, decision="accept", shown=second.pk
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="item-card"' not in html
    assert '<div id="progress" class="progress" hx-swap-oob="true">' in html
    assert "<strong>1</strong> decided today" in html
    assert Review.objects.get(item=first, reviewer=reviewer_user).decision == "accept"


def test_a_decision_behind_a_card_that_is_no_longer_yours_sends_the_next_card(
    reviewer_client, reviewer_user, admin_user, batch
):
    first, second = make_reviewable_item(batch), make_reviewable_item(batch)
    third = make_reviewable_item(batch)
    _claim(reviewer_client)
    reviewer_client.get(reverse("review:upcoming"), {"after": first.pk})
    # The prefetched claim ran out and another reviewer took the item.
    Assignment.objects.filter(item=second).update(
        reviewer=admin_user, claimed_until="2999-01-01T00:00:00Z"
    )
    response = _post_decision(reviewer_client, first, decision="skip", shown=second.pk)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-item-id="{third.pk}"' in html
    assert 'hx-swap-oob="true"' in html


def test_a_stale_decision_behind_a_shown_card_still_gets_the_conflict(
    reviewer_client, reviewer_user, admin_user, batch
):
    from review import services

    first, second = make_reviewable_item(batch), make_reviewable_item(batch)
    _claim(reviewer_client)
    reviewer_client.get(reverse("review:upcoming"), {"after": first.pk})
    services.edit_item(
        item=first.pk,
        author=admin_user,
        item_version=first.version,
        question="Changed by someone else",
        options=dict(OPTIONS),
        answer=first.answer,
    )
    response = _post_decision(
        reviewer_client, first, decision="accept", shown=second.pk
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert f'data-item-id="{first.pk}"' in html
    assert "Someone else changed this item" in html
    assert not Review.objects.filter(item=first, reviewer=reviewer_user).exists()


def test_figure_images_are_served_with_nosniff_to_whoever_may_see_them(
    reviewer_client, outsider_user, item
):
    from django.test import Client

    url = reverse("review:figure_image", args=[item.figures.get().pk])
    assert reviewer_client.get(url).status_code == 404  # not handed to bob yet
    _claim(reviewer_client)
    response = reviewer_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    outsider = Client()
    outsider.force_login(outsider_user)
    assert outsider.get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_reviewers_cannot_open_items_not_handed_to_them(reviewer_client, batch):
    item = make_reviewable_item(batch)
    url = reverse("review:item", args=[item.pk])
    assert reviewer_client.get(url).status_code == 404
    assert _post_decision(reviewer_client, item, decision="accept").status_code == 404
    assert not Review.objects.exists()


def test_admins_may_open_any_item(admin_client, item):
    assert admin_client.get(reverse("review:item", args=[item.pk])).status_code == 200


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "review:next", []),
        ("get", "review:upcoming", []),
        ("get", "review:item", [1]),
        ("post", "review:decide", [1]),
        ("post", "review:edit", [1]),
        ("post", "review:undo", []),
        ("get", "review:figure_image", [1]),
    ],
)
def test_every_review_url_enforces_the_role(outsider_client, method, name, args):
    from django.test import Client

    anonymous = getattr(Client(), method)(reverse(name, args=args))
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert getattr(outsider_client, method)(reverse(name, args=args)).status_code == 403


def test_review_nav_link_is_shown_to_reviewers_only(reviewer_user, outsider_user):
    from django.test import Client

    link = f'href="{reverse("review:next")}"'
    for user, shown in ((reviewer_user, True), (outsider_user, False)):
        client = Client()
        client.force_login(user)
        assert (link in client.get(reverse("home")).content.decode()) is shown


def test_review_page_query_count_is_constant_as_items_grow(
    reviewer_client,
    reviewer_user,
    batch,
    django_assert_num_queries,
    django_assert_max_num_queries,
):
    item = make_reviewable_item(batch)
    _claim(reviewer_client, **HTMX)  # claims; later visits resume the claim
    with django_assert_max_num_queries(100) as small:
        _claim(reviewer_client, **HTMX)
    count = len(small)
    for _ in range(15):
        make_reviewable_item(batch)
    for version in (2, 3):
        ItemRevision.objects.create(
            item=item, author=reviewer_user, version=version, before={}, after={}
        )
    with django_assert_num_queries(count):
        _claim(reviewer_client, **HTMX)
    assert count <= 13


def test_decide_query_count_is_constant_as_items_grow(
    reviewer_client, batch, django_assert_num_queries, django_assert_max_num_queries
):
    items = [make_reviewable_item(batch) for _ in range(3)]
    _claim(reviewer_client)
    reviewer_client.get(reverse("review:upcoming"), {"after": items[0].pk})
    with django_assert_max_num_queries(100) as small:
        _post_decision(reviewer_client, items[0], decision="accept")
    count = len(small)  # read now: each request resets the query log
    reviewer_client.get(reverse("review:upcoming"), {"after": items[1].pk})
    for _ in range(15):
        make_reviewable_item(batch)
    with django_assert_num_queries(count):
        _post_decision(reviewer_client, items[1], decision="accept")
    # Includes the consensus rule's one read (current reviews with planned
    # reviewers) and the audit event (chain head under its lock, then the row).
    assert count <= 14


def test_a_decision_behind_a_shown_card_costs_fewer_queries(
    reviewer_client, batch, django_assert_max_num_queries
):
    items = [make_reviewable_item(batch) for _ in range(3)]
    _claim(reviewer_client)
    reviewer_client.get(reverse("review:upcoming"), {"after": items[0].pk})
    # 14 when the next card is sent; both include the audit event's 2 queries.
    with django_assert_max_num_queries(11):
        _post_decision(reviewer_client, items[0], decision="accept", shown=items[1].pk)


def test_previous_walks_back_beyond_the_recent_window(reviewer_user, batch):
    from review import cards, services

    items = [make_reviewable_item(batch) for _ in range(cards.RECENT_REVIEWS + 3)]
    for item in items:
        services.decide(
            item=item,
            reviewer=reviewer_user,
            decision="skip",
            seconds_spent=1,
            item_version=1,
        )
    oldest = cards.card_for(item_id=items[0].pk, reviewer=reviewer_user)
    assert oldest.own_review.item_id == items[0].pk
    assert oldest.previous_item_id is None
    second = cards.card_for(item_id=items[1].pk, reviewer=reviewer_user)
    assert second.previous_item_id == items[0].pk
    newest = cards.card_for(item_id=items[-1].pk, reviewer=reviewer_user)
    assert newest.previous_item_id == items[-2].pk


def test_a_missing_image_file_is_a_404_not_a_crash(reviewer_client, item):
    _claim(reviewer_client)
    figure = item.figures.get()
    figure.image.storage.delete(figure.image.name)
    url = reverse("review:figure_image", args=[figure.pk])
    assert reviewer_client.get(url).status_code == 404


def test_card_queries_stay_constant_past_the_recent_window(
    reviewer_user, batch, django_assert_num_queries, django_assert_max_num_queries
):
    from medsyn_app.roles import is_admin
    from review import cards, services

    fresh = make_reviewable_item(batch)
    is_admin(reviewer_user)  # a request's user comes with its roles (RoleBackend)
    with django_assert_max_num_queries(100) as before:
        cards.card_for(item_id=fresh.pk, reviewer=reviewer_user, with_progress=True)
    count = len(before)
    for item in [make_reviewable_item(batch) for _ in range(cards.RECENT_REVIEWS + 2)]:
        services.decide(
            item=item,
            reviewer=reviewer_user,
            decision="skip",
            seconds_spent=1,
            item_version=1,
        )
    with django_assert_num_queries(count):
        card = cards.card_for(
            item_id=fresh.pk, reviewer=reviewer_user, with_progress=True
        )
    assert card.own_review is None
    assert card.progress.decided_today == cards.RECENT_REVIEWS + 2
