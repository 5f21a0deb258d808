"""The item browser's pages: the list, one item, the failures, bulk actions."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from medsyn_app.roles import admin_required, is_admin, reviewer_required
from review.items import selectors, services
from review.items.forms import BulkAction, BulkForm, FailureForm, FilterForm
from synthesis.models import Item

BULK = {
    BulkAction.SEND_TO_REVIEW: services.send_to_review,
    BulkAction.AUDIT_SAMPLE: services.add_to_audit_sample,
    BulkAction.INCLUDE: services.include_in_export,
}


@require_GET
@reviewer_required
def item_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET, user=request.user)
    if not form.is_valid():
        context = {"form": form, "page": None, "admin": is_admin(request.user)}
        return render(request, "items/list.html", context, status=400)
    page = selectors.page(
        user=request.user,
        filters=form.filters(),
        after=form.cursor(),
        size=form.page_size(),
    )
    query = request.GET.copy()
    query.pop("after", None)
    next_query = query.copy()
    next_query["after"] = page.next_cursor or ""
    context = {
        "form": form,
        "page": page,
        "admin": is_admin(request.user),
        "bulk_form": BulkForm(
            auto_id="bulk_%s", initial={"back": request.get_full_path()}
        ),
        "first_url": f"?{query.urlencode()}",
        "next_url": f"?{next_query.urlencode()}" if page.next_cursor else "",
        "paged": bool(form.cursor()),
    }
    return render(request, "items/list.html", context)


def _back(request: HttpRequest, target: str) -> HttpResponseRedirect:
    home = reverse("items:list")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts=None)
    return HttpResponseRedirect(target if safe and target.startswith(home) else home)


@require_POST
@admin_required
def bulk(request: HttpRequest) -> HttpResponse:
    form = BulkForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, f"Nothing was changed: {errors}")
        return _back(request, request.POST.get("back", ""))
    data = form.cleaned_data
    try:
        if data["action"] == BulkAction.EXCLUDE:
            result = services.exclude_from_export(
                item_ids=data["items"], actor=request.user, reason=data["reason"]
            )
        else:
            result = BULK[data["action"]](item_ids=data["items"], actor=request.user)
    except services.BulkRefused as refused:
        messages.error(request, f"Nothing was changed: {refused}")
    else:
        label = dict(BulkAction.CHOICES)[data["action"]]
        messages.success(request, f"{label}: {result.summary}")
    return _back(request, data["back"])


@require_GET
@reviewer_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = selectors.detail(user=request.user, pk=pk)
    except Item.DoesNotExist:
        raise Http404("No such item among those you may see.") from None
    context = {"detail": found, "item": found.row.item, "admin": is_admin(request.user)}
    return render(request, "items/detail.html", context)


@require_GET
@admin_required
def failures(request: HttpRequest) -> HttpResponse:
    form = FailureForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    kind = data.get("kind") or selectors.FailureKind.GENERATION
    shown, before = selectors.failures(
        kind=kind,
        cause=data.get("cause") or "",
        batch=data.get("batch"),
        before=data.get("before"),
    )
    counts = selectors.failure_causes(data.get("batch"))
    labels = dict(selectors.FailureKind.CHOICES)
    context = {
        "kind": kind,
        "kind_label": labels[kind],
        "causes": [(k, label, counts[k]) for k, label in labels.items()],
        "failures": shown,
        "before": before,
        "cause": data.get("cause") or "",
        "batch": data.get("batch"),
    }
    return render(request, "items/failures.html", context)
