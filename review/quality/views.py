"""Admin pages for review quality: dashboard, adjudication queue, overlap setup."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)
from django.views.decorators.vary import vary_on_headers

from medsyn_app.roles import admin_required
from review import adjudication, cards, consensus, overlap, proposals
from review.quality import audit_plan, charts, snapshots
from review.quality.forms import (
    AdjudicationForm,
    AdoptForm,
    DashboardForm,
    MergeForm,
    OverlapForm,
    PlanAuditForm,
)
from synthesis.models import Batch, Item

ITEM_PAGE = "quality/item.html"


@require_GET
@admin_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.GET)
    if not form.is_valid():
        context = {"form": form}
        return render(request, "quality/dashboard.html", context, status=400)
    result = snapshots.figures_for(
        form.cleaned_data["batch"],
        options=form.figure_options(),
        fresh=request.GET.get("fresh") == "1",
    )
    setups = audit_plan.batch_setups(form.cleaned_data["batch"])
    context = {
        "form": form,
        "figures": result.figures,
        "computed_at": result.computed_at,
        "behind": result.behind,
        "charts": charts.dashboard_charts(result.figures),
        "setups": setups,
        "audit_planned": any(setup.audited for setup in setups),
    }
    return render(request, "quality/dashboard.html", context)


@admin_required
@require_POST
def plan_audit(request: HttpRequest) -> HttpResponse:
    """Plan a random audit sample of kept items (the quality estimate needs one)."""
    form = PlanAuditForm(request.POST)
    if not form.is_valid():
        return render(request, "400.html", status=400)
    batch = form.cleaned_data["batch"]
    planned = audit_plan.plan_audit_sample(batch=batch)
    if planned:
        names = ", ".join(f"“{b.name}”" for b in planned)
        share = f"{audit_plan.DEFAULT_RATE:.0%}"
        messages.success(
            request,
            f"Audit sample planned: a random {share} of the kept items of {names} "
            "now wait in the reviewers' queue.",
        )
    else:
        messages.info(
            request, "Nothing to plan: no batch without an audit has kept items."
        )
    query = f"?batch={batch.pk}" if batch else ""
    return redirect(reverse("quality:dashboard") + query)


@require_GET
@admin_required
def adjudication_queue(request: HttpRequest) -> HttpResponse:
    items = adjudication.adjudication_queue()[:200]
    return render(request, "quality/queue.html", {"items": items})


def _item_page(
    request: HttpRequest, pk: int, *, status: int = 200, **extra: Any
) -> HttpResponse:
    item = get_object_or_404(Item.objects.select_related("batch"), pk=pk)
    context = {
        "item": item,
        "card": cards.card_for(item_id=item.pk, reviewer=request.user),
        "status_label": adjudication.status_label(item, adjudication.settled_by(item)),
        "comparison": proposals.item_comparison(item),
        "form": AdjudicationForm(),
        "adopt_form": AdoptForm(initial={"item_version": item.version}),
        "merge_form": MergeForm.for_item(item),
        "rule_steps": consensus.RULE_STEPS,
        **extra,
    }
    return render(request, ITEM_PAGE, context, status=status)


@require_GET
@admin_required
def adjudication_item(request: HttpRequest, pk: int) -> HttpResponse:
    return _item_page(request, pk)


def _refused(
    request: HttpRequest, pk: int, error: adjudication.AdjudicationError, **extra: Any
) -> HttpResponse:
    """The item page again, saying why; 409 when the item moved meanwhile."""
    stale = isinstance(error, adjudication.StaleAdjudication)
    return _item_page(
        request, pk, status=409 if stale else 400, adjudication_error=error, **extra
    )


def _settled(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    label = adjudication.status_label(item, adjudication.settled_by(item))
    messages.success(request, f"Item {item.pk} is now {label}.")
    return redirect("quality:adjudication_item", pk=item.pk)


@admin_required
@require_POST
def adopt(request: HttpRequest, pk: int, proposal_id: int) -> HttpResponse:
    """Adopt one reviewer's edit proposal as the item's next revision."""
    form = AdoptForm(request.POST)
    if not form.is_valid():
        error = "item_version: the page did not say which version it showed."
        return _item_page(request, pk, status=400, adjudication_error=error)
    try:
        proposals.adopt(
            item_id=pk,
            proposal_id=proposal_id,
            admin=request.user,
            item_version=form.cleaned_data["item_version"],
        )
    except Item.DoesNotExist:
        raise Http404("No such item.") from None
    except adjudication.AdjudicationError as error:
        return _refused(request, pk, error)
    return _settled(request, pk)


@admin_required
@require_POST
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the admin's merged content as the item's next revision and accept it."""
    form = MergeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            proposals.merge(
                item_id=pk,
                admin=request.user,
                question=data["question"],
                options=form.options(),
                answer=data["answer"],
                item_version=data["item_version"],
                comment=data["comment"],
            )
        except Item.DoesNotExist:
            raise Http404("No such item.") from None
        except adjudication.AdjudicationError as error:
            for field, message in error.errors.items():
                form.add_error(field if field in form.fields else None, message)
            if not error.errors:
                return _refused(request, pk, error, merge_form=form)
    if form.errors:
        return _item_page(request, pk, status=400, merge_form=form)
    return _settled(request, pk)


@admin_required
@require_POST
@vary_on_headers("HX-Request")
def settle(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    form = AdjudicationForm(request.POST)
    if form.is_valid():
        try:
            adjudication.adjudicate(item=item, admin=request.user, **form.cleaned_data)
        except adjudication.AdjudicationError as error:
            form.add_error(None, str(error))
    if form.errors:
        context = {"item": item, "form": form}
        return render(request, f"{ITEM_PAGE}#settle-panel", context, status=400)
    item.refresh_from_db(fields=["status"])
    label = adjudication.status_label(item, adjudication.settled_by(item))
    if request.htmx:
        context = {"item": item, "settled": True, "status_label": label}
        return render(request, f"{ITEM_PAGE}#settled", context)
    messages.success(request, f"Item {item.pk} is now {label}.")
    return redirect("quality:adjudication_queue")


@admin_required
@require_http_methods(["GET", "POST"])
def overlap_settings(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = get_object_or_404(Batch, pk=batch_id)
    current = overlap.OverlapSettings.of_batch(batch)
    form = OverlapForm(request.POST or None, initial=OverlapForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        try:
            plan = overlap.apply_settings(batch=batch, settings=form.to_settings())
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, plan.summary)
            return redirect("quality:overlap", batch_id=batch.pk)
    return render(request, "quality/overlap.html", {"batch": batch, "form": form})
