"""Admin pages for synthesis batches: list, launch, watch, cancel, resume."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from medsyn_app import queueing
from medsyn_app.roles import admin_required
from synthesis import (
    batch_config,
    figure_selection,
    reruns,
    selectors,
    services,
    tasks,
)
from synthesis.forms import FigureFilterForm, LaunchBatchForm, RerunForm
from synthesis.models import Batch


@require_GET
@admin_required
def batch_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "synthesis/batch_list.html", {"batches": selectors.batches()}
    )


@admin_required
@require_http_methods(["GET", "POST"])
def batch_launch(request: HttpRequest) -> HttpResponse:
    initial = LaunchBatchForm.initial_from(batch_config.default_config())
    form = LaunchBatchForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.launch_batch(
                created_by=request.user,
                name=form.cleaned_data["name"],
                figure_filter=form.figure_filter(),
                config=form.config(),
                enqueue=tasks.send_chunks,
            )
        except services.BatchConfigError as exc:
            form.add_service_error(exc)
        except queueing.QueueUnavailable as exc:
            messages.warning(request, str(exc))
            return redirect("synthesis:batch_detail", pk=exc.object_id)
        else:
            messages.success(request, f"Batch “{batch.name}” queued.")
            return redirect("synthesis:batch_detail", pk=batch.pk)
    return render(request, "synthesis/batch_launch.html", {"form": form})


@require_GET
@admin_required
def batch_launch_match(request: HttpRequest) -> HttpResponse:
    """How many figure groups the launch form's filters select, as they change,
    counted by the function the launch uses; and documents to pick from."""
    form = FigureFilterForm(request.GET)
    groups = None
    if form.is_valid():
        groups = len(figure_selection.select_groups(form.figure_filter(), seed=0))
    documents = figure_selection.documents_like(request.GET.get("document", ""))
    context = {"form": form, "groups": groups, "documents": documents}
    return render(request, "synthesis/_launch_match.html", context)


@require_GET
@admin_required
@vary_on_headers("HX-Request")
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(Batch, pk=pk)
    template = "synthesis/batch_detail.html"
    if getattr(request, "htmx", False):
        template += "#progress"
    context = {
        "progress": selectors.progress(batch),
        "import_jobs": selectors.import_jobs(batch),
        "sampling": selectors.sampling_rows(batch.config.get("sampling")),
        "rerun_form": RerunForm(),
        **selectors.rerun_panel(batch),
    }
    return render(request, template, context)


@admin_required
@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def batch_reruns(request: HttpRequest, pk: int) -> HttpResponse:
    """The re-runs panel (htmx polls it) and the form that launches one."""
    batch = get_object_or_404(Batch, pk=pk)
    form = RerunForm(request.POST if request.method == "POST" else None)
    notice = ""
    if request.method == "POST" and form.is_valid():
        try:
            reruns.launch(
                batch_id=batch.pk, created_by=request.user, enqueue=tasks.send_rerun,
                **form.cleaned_data,
            )  # fmt: skip
        except reruns.RerunError as exc:
            form.add_service_error(exc)
        except queueing.QueueUnavailable as exc:
            form, notice = RerunForm(), str(exc)
        else:
            form, notice = RerunForm(), "Re-run queued."
    htmx = getattr(request, "htmx", False)
    if request.method == "POST" and not htmx and not form.errors:
        messages.info(request, notice)
        return redirect("synthesis:batch_detail", pk=batch.pk)
    context = {"progress": selectors.progress(batch), **selectors.rerun_panel(batch)}
    context |= {"rerun_form": form, "rerun_notice": notice}
    context |= {
        "import_jobs": selectors.import_jobs(batch),
        "sampling": selectors.sampling_rows(batch.config.get("sampling")),
    }
    if request.method == "POST" and not htmx:  # the whole page, with the errors
        return render(request, "synthesis/batch_detail.html", context, status=400)
    if request.method == "GET":  # the list, polled while a re-run is under way
        return render(request, "synthesis/batch_detail.html#reruns", context)
    # The form (with its errors or notice) and, out of band, the list.
    page = "synthesis/batch_detail.html"
    return HttpResponse(
        render_to_string(f"{page}#rerun-form", context, request)
        + render_to_string(f"{page}#reruns", {**context, "oob": True}, request)
    )


@admin_required
@require_POST
def batch_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    batch = services.cancel_batch(batch_id=get_object_or_404(Batch, pk=pk).pk)
    messages.info(request, f"Batch “{batch.name}” is {batch.get_status_display()}.")
    if getattr(request, "htmx", False):
        # Asked through htmx after the confirm dialog: load the page afresh.
        return HttpResponseClientRedirect(reverse("synthesis:batch_detail", args=[pk]))
    return redirect("synthesis:batch_detail", pk=pk)


@admin_required
@require_POST
def batch_resume(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.resume_batch(
            batch_id=get_object_or_404(Batch, pk=pk).pk, enqueue=tasks.send_chunks
        )
    except services.BatchConfigError as exc:
        messages.error(request, str(exc))
    except queueing.QueueUnavailable as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Batch resumed.")
    return redirect("synthesis:batch_detail", pk=pk)
