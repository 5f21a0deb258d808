"""Review page refinements (issue 17): flag comments, reasons in the help overlay,
J and K walk in the order shown, a multi-panel figure's text shown once, and the
verifier's failed criteria beside the question."""

from __future__ import annotations

import pytest
from django.urls import reverse

from review.models import Review
from review.reasons import REASONS
from synthesis.models import ItemStatus
from tests.fixtures.builders import (
    make_document,
    make_figure,
    make_item,
    make_reviewable_item,
    make_verification,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_flag_takes_an_optional_comment(reviewer_client, item):
    html = reviewer_client.get(reverse("review:next")).content.decode()
    assert 'id="flag-panel"' in html and 'id="flag-comment"' in html
    response = reviewer_client.post(
        reverse("review:decide", args=[item.pk]),
        {"decision": "flag", "comment": "Is this really a CT?", "item_version": 1},
        **HTMX,
    )
    assert response.status_code == 200
    review = Review.objects.get(item=item)
    assert (review.decision, review.comment) == ("flag", "Is this really a CT?")
    item.refresh_from_db()
    assert item.status == ItemStatus.FLAGGED


def test_help_overlay_lists_every_reject_reason_with_its_key(reviewer_client, item):
    html = reviewer_client.get(reverse("review:next")).content.decode()
    help_part = html[html.index('id="help"') :]
    help_part = help_part[: help_part.index("</dialog>")]
    for reason in REASONS:
        assert f"<kbd>{reason.key}</kbd></td><td>{reason.label}" in help_part


def _shown(html: str) -> int:
    return int(html.split('data-item-id="')[1].split('"')[0])


def test_j_then_k_returns_to_the_item_shown_before(reviewer_client, batch):
    for _ in range(3):
        make_reviewable_item(batch)
    decided = _shown(
        reviewer_client.get(reverse("review:next"), **HTMX).content.decode()
    )
    response = reviewer_client.post(
        reverse("review:decide", args=[decided]),
        {"decision": "accept", "item_version": 1},
        **HTMX,
    )
    shown = _shown(response.content.decode())
    # J: move on without deciding; K on the next card goes back to `shown`,
    # not to the item decided last.
    html = reviewer_client.get(
        reverse("review:next"), {"after": shown}, **HTMX
    ).content.decode()
    assert _shown(html) not in (shown, decided)
    assert f'href="{reverse("review:item", args=[shown])}"' in html
    assert f'href="{reverse("review:item", args=[decided])}"' not in html


def _after(client, view: str, *passed: int) -> str:
    url = reverse(view) + "?" + "&".join(f"after={pk}" for pk in passed)
    return client.get(url, **HTMX).content.decode()


def test_j_passes_over_every_item_shown_before(reviewer_client, batch):
    a, b, c = (make_reviewable_item(batch).pk for _ in range(3))
    assert (
        _shown(reviewer_client.get(reverse("review:next"), **HTMX).content.decode())
        == a
    )
    assert _shown(_after(reviewer_client, "review:next", a)) == b
    # A is still Bob's claim, so B alone would lead back to A.
    assert _shown(_after(reviewer_client, "review:next", b)) == a
    html = _after(reviewer_client, "review:next", b, a)
    assert _shown(html) == c
    assert f'href="{reverse("review:item", args=[b])}"' in html  # K: shown before


def test_the_prefetched_card_passes_over_the_items_shown_before(reviewer_client, batch):
    a, b, c = (make_reviewable_item(batch).pk for _ in range(3))
    _after(reviewer_client, "review:next", a)  # claims A and B
    html = _after(reviewer_client, "review:upcoming", b, a)
    assert f'<template data-upcoming data-after="{b}">' in html
    assert _shown(html) == c


def test_a_decision_without_a_card_ahead_passes_over_the_items_shown_before(
    reviewer_client, batch
):
    a, b, c = (make_reviewable_item(batch).pk for _ in range(3))
    assert _shown(_after(reviewer_client, "review:next", a)) == b
    response = reviewer_client.post(
        reverse("review:decide", args=[b]),
        {"decision": "accept", "item_version": 1, "after": [a]},
        **HTMX,
    )
    assert _shown(response.content.decode()) == c


def test_j_wraps_around_to_skipped_items_once_nothing_else_is_left(
    reviewer_client, batch
):
    a, b = (make_reviewable_item(batch).pk for _ in range(2))
    assert _shown(_after(reviewer_client, "review:next", a)) == b
    assert _shown(_after(reviewer_client, "review:next", b, a)) == a


def test_k_on_the_empty_queue_goes_back_to_the_item_decided_last(
    reviewer_client, batch
):
    only = make_reviewable_item(batch).pk
    empty = reviewer_client.get(reverse("review:next"), **HTMX).content.decode()
    assert 'id="queue-empty"' not in empty
    response = reviewer_client.post(
        reverse("review:decide", args=[only]),
        {"decision": "accept", "item_version": 1},
        **HTMX,
    )
    html = response.content.decode()
    assert 'id="queue-empty"' in html
    link = f'href="{reverse("review:item", args=[only])}"'
    assert link in html and 'data-key="k"' in html
    # The whole page (no htmx) too.
    page = reviewer_client.get(reverse("review:next")).content.decode()
    assert 'id="queue-empty"' in page and link in page


def test_an_empty_queue_without_decisions_has_no_k(reviewer_client):
    html = reviewer_client.get(reverse("review:next")).content.decode()
    assert 'id="queue-empty"' in html
    assert 'data-key="k"' not in html


def test_multi_panel_figure_shows_caption_and_mentions_once(reviewer_client, batch):
    document = make_document(source_id="PMC777")
    caption = "Two panels of one chest CT show consolidation."
    mention = "As Figure 2 shows, the lobe is consolidated."
    panels = [
        make_figure(
            document,
            color=(10 * i, 40, 90),
            label="Figure 2",
            subfigure=letter,
            caption=caption,
            mentions=[mention],
        )
        for i, letter in enumerate("ab")
    ]
    item = make_item(batch, panels)
    make_verification(item)
    html = reviewer_client.get(reverse("review:next")).content.decode()
    assert html.count("Two panels of one chest CT") == 1
    assert html.count("the lobe is consolidated") == 1
    assert html.count("data-viewer-image") == 2


def test_failed_gates_are_listed_beside_the_question(reviewer_client, batch):
    item = make_item(batch)
    make_verification(item, score=0.5, failed_gates=("Diagnosis Leak",))
    item.status = ItemStatus.KEPT
    item.save(update_fields=["status"])
    html = reviewer_client.get(reverse("review:next")).content.decode()
    assert f'data-item-id="{item.pk}"' in html
    concerns = html[html.index('id="verifier-concerns"') :]
    assert html.index('id="verifier-concerns"') < html.index('id="decision-bar"')
    assert "Diagnosis Leak" in concerns[: concerns.index("</ul>")]
