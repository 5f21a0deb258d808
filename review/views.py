"""The clinician review page: one template, htmx partials, thin views.

Each view answers both ways: the item card partial for htmx requests, the full
page otherwise, so every URL also works as a plain link.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from medsyn_app import files
from medsyn_app.roles import admin_required, reviewer_required
from review import cards, queue, services
from review.forms import DecisionForm, EditForm, PolicyForm
from review.reasons import REASONS
from synthesis.models import Batch, Item

PAGE = "review/review.html"
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
# review.js keeps at most this many items shown in a tab (static/js/review.js).
MAX_PASSED = 200


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _get_item_for_reviewer(request: HttpRequest, pk: int) -> Item:
    try:
        return queue.visible_items(request.user).get(pk=pk)
    except Item.DoesNotExist:
        raise Http404("No such item in your queue.") from None


def _page(
    request: HtmxHttpRequest,
    item_id: int | None,
    *,
    partial: str = "item-card",
    status: int = 200,
    shown_before: int | None = None,
    **extra: Any,
) -> HttpResponse:
    user = request.user
    card = None
    if item_id:
        card = cards.card_for(item_id=item_id, reviewer=user, with_progress=True)
        if shown_before and shown_before != item_id:
            # Moving on with J: K goes back to the item shown before, decided or not.
            card.previous_item_id = shown_before
    progress = card.progress if card else queue.progress_for(user)
    context = {"card": card, "progress": progress, "reasons": REASONS, **extra}
    if card is None:
        context["previous_item_id"] = cards.last_decided(user)
    template = f"{PAGE}#{partial}" if request.htmx else PAGE
    return render(request, template, context, status=status)


def _conflict(
    request: HtmxHttpRequest, error: services.StaleVersion, **extra: Any
) -> HttpResponse:
    """409 with the current item and the change the reviewer did not see."""
    newer = cards.revisions_since(
        error.item.pk, error.submitted_version, viewer=request.user
    )
    conflict = {"error": error, "revisions": newer, **extra}
    return _page(request, error.item.pk, status=409, conflict=conflict)


def _passed(values: list[str]) -> list[int]:
    """The `after` items: the one on screen, then those shown before, latest first."""
    return [int(value) for value in values[:MAX_PASSED] if value.isdigit()]


@require_GET
@reviewer_required
@vary_on_headers("HX-Request")
def next_item(request: HtmxHttpRequest) -> HttpResponse:
    """The reviewer's next item; `?after=<id>` moves past the current one (J).

    review.js adds the items shown before it as more `after` values, so J
    moves on to an item not yet seen in this tab.
    """
    passed = _passed(request.GET.getlist("after"))
    item_id = queue.claim_after(reviewer=request.user, passed=passed)
    return _page(request, item_id, shown_before=passed[0] if passed else None)


@require_GET
@reviewer_required
@vary_on_headers("HX-Request")
def item_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _page(request, _get_item_for_reviewer(request, pk).pk)


@require_GET
@reviewer_required
def upcoming(request: HtmxHttpRequest) -> HttpResponse:
    """Claim the item after `?after=<id>`; send its card, ready to show, and images.

    The card waits in a `<template>` until the reviewer decides the current
    item; review.js then shows it at once and saves the decision behind it.
    More `after` values (the items shown before) are passed over too, as for J.
    """
    passed = _passed(request.GET.getlist("after"))
    item_id = queue.claim_after(reviewer=request.user, passed=passed)
    card = cards.card_for(item_id=item_id, reviewer=request.user) if item_id else None
    if card and passed:
        # Shown only once `after` is decided, so `after` is its previous item (K).
        card.previous_item_id = passed[0]
    context = {"card": card, "after": passed[0] if passed else ""}
    return render(request, f"{PAGE}#upcoming", context)


@require_POST
@reviewer_required
def decide(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    form = DecisionForm(request.POST)
    if not form.is_valid():
        item_id = _get_item_for_reviewer(request, pk).pk
        return _page(request, item_id, status=422, form_errors=form.errors)
    data = form.cleaned_data
    try:
        services.decide(
            item=pk,
            within=queue.visible_items(request.user, item=pk),
            reviewer=request.user,
            decision=data["decision"],
            reason_code=data["reason_code"] or "",
            comment=data["comment"],
            seconds_spent=data["seconds_spent"] or 0,
            item_version=data["item_version"],
        )
    except Item.DoesNotExist:
        raise Http404("No such item in your queue.") from None
    except services.StaleVersion as error:
        return _conflict(request, error, decision=data["decision"])
    except services.InvalidDecision as error:
        item_id = _get_item_for_reviewer(request, pk).pk
        return _page(request, item_id, status=422, form_errors={"decision": [error]})
    return _after_decision(request, pk, shown=data["shown"])


@require_POST
@reviewer_required
def edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    form = EditForm(request.POST)
    if not form.is_valid():
        item_id = _get_item_for_reviewer(request, pk).pk
        return _page(request, item_id, status=422, form_errors=form.errors)
    data = form.cleaned_data
    attempt = {"question": data["question"], "options": form.options()}
    attempt["answer"] = data["answer"]
    try:
        services.edit_item(
            item=pk,
            within=queue.visible_items(request.user, item=pk),
            author=request.user,
            item_version=data["item_version"],
            seconds_spent=data["seconds_spent"] or 0,
            **attempt,
        )
    except Item.DoesNotExist:
        raise Http404("No such item in your queue.") from None
    except services.StaleVersion as error:
        return _conflict(request, error, attempt=attempt)
    except services.InvalidDecision as error:
        edit_form = {"errors": error.errors, "values": attempt}
        item_id = _get_item_for_reviewer(request, pk).pk
        return _page(request, item_id, status=422, edit_form=edit_form)
    return _after_decision(request, pk)


def _after_decision(
    request: HtmxHttpRequest, pk: int, shown: int | None = None
) -> HttpResponse:
    """The next card; only the progress when the browser already shows the next item.

    Without a card shown ahead, the next one passes over the items shown before
    (the form's `after` values, added by review.js), as J does.
    """
    if not request.htmx:
        return redirect("review:next")
    if shown is None:
        passed = [pk, *_passed(request.POST.getlist("after"))]
        item_id = queue.claim_after(reviewer=request.user, passed=passed)
    else:
        item_id = queue.claim_next(reviewer=request.user, prefer=shown)
    if shown is not None and item_id == shown:
        progress = queue.progress_for(request.user)
        return render(request, f"{PAGE}#progress", {"progress": progress, "oob": True})
    return _page(request, item_id, partial="decided")


@require_POST
@reviewer_required
def undo(request: HtmxHttpRequest) -> HttpResponse:
    """Undo the latest decision and bring its item back on screen."""
    try:
        review = services.undo_last(reviewer=request.user)
    except (services.NothingToUndo, services.StaleVersion) as error:
        return _page(request, queue.claim_next(reviewer=request.user), notice=error)
    if not request.htmx:
        return redirect("review:item", pk=review.item_id)
    return _page(request, review.item_id, partial="decided", notice="Decision undone.")


@require_GET
@reviewer_required
def figure_image(request: HttpRequest, pk: int) -> HttpResponse:
    """Figure bytes for reviewers who may see an item that shows the figure."""
    figure = queue.visible_figure(request.user, pk)
    content_type = mimetypes.guess_type(figure.image.name)[0] if figure else None
    if figure is None or content_type not in IMAGE_TYPES:
        raise Http404("No such figure.")
    return files.send(
        figure.image.name, content_type=content_type, cache="private, max-age=3600"
    )


@require_http_methods(["GET", "POST"])
@admin_required
def batch_policy(request: HttpRequest, pk: int) -> HttpResponse:
    """Admins choose how a batch's items are queued for review."""
    batch = get_object_or_404(Batch, pk=pk)
    current = queue.policy_for(batch.config)
    form = PolicyForm(request.POST or None, initial=vars(current))
    if request.method == "POST" and form.is_valid():
        services.set_review_policy(
            batch=batch, policy=queue.Policy(**form.cleaned_data)
        )
        messages.success(request, f"Review policy saved for “{batch.name}”.")
        return redirect("review:batch_policy", pk=batch.pk)
    context = {"batch": batch, "form": form, "policy": current}
    return render(request, "review/policy.html", context)
