"""Admin pages for review quality: dashboard, adjudication queue, overlap setup."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)
from django.views.decorators.vary import vary_on_headers

from medsyn_app.roles import admin_required
from review import adjudication, consensus, overlap
from review.quality import charts, snapshots
from review.quality.forms import AdjudicationForm, DashboardForm, OverlapForm
from synthesis.models import Batch, Item

ITEM_PAGE = "quality/item.html"


@require_GET
@admin_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.GET)
    if not form.is_valid():
        context = {"form": form}
        return render(request, "quality/dashboard.html", context, status=400)
    figures, computed_at = snapshots.figures_for(
        form.cleaned_data["batch"],
        options=form.figure_options(),
        fresh=request.GET.get("fresh") == "1",
    )
    context = {
        "form": form,
        "figures": figures,
        "computed_at": computed_at,
        "charts": charts.dashboard_charts(figures),
    }
    return render(request, "quality/dashboard.html", context)


@require_GET
@admin_required
def adjudication_queue(request: HttpRequest) -> HttpResponse:
    items = adjudication.adjudication_queue()[:200]
    return render(request, "quality/queue.html", {"items": items})


@require_GET
@admin_required
def adjudication_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item.objects.select_related("batch"), pk=pk)
    context = {
        "item": item,
        "columns": adjudication.item_comparison(item),
        "form": AdjudicationForm(),
        "rule_steps": consensus.RULE_STEPS,
    }
    return render(request, ITEM_PAGE, context)


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
    if request.htmx:
        context = {"item": item, "settled": True}
        return render(request, f"{ITEM_PAGE}#settle-panel", context)
    messages.success(request, f"Item {item.pk} is now {item.get_status_display()}.")
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
