"""Admin pages for evaluation: the table of runs, launch, a run, compare."""

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

from medsyn_app import files
from medsyn_app.roles import admin_required
from review.evalsets.models import EvaluationImage
from review.evaluation import selectors, services, tasks
from review.evaluation.forms import CompareForm, LaunchForm
from review.evaluation.models import EvaluationRun

PREDICTIONS_SHOWN = 50


@admin_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "evaluation/home.html", selectors.overview())


@admin_required
@require_http_methods(["GET", "POST"])
def launch(request: HttpRequest) -> HttpResponse:
    form = LaunchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.launch_run(
                created_by=request.user,
                name=form.cleaned_data["name"],
                config=form.config(),
                enqueue=tasks.send_slices,
                **form.target(),
            )
        except (services.EvaluationError, services.EvaluationConfigError) as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Evaluation “{run.name}” queued.")
            return redirect("evaluation:run", pk=run.pk)
    return render(request, "evaluation/launch.html", {"form": form})


@admin_required
@require_GET
@vary_on_headers("HX-Request")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(
        EvaluationRun.objects.select_related("evaluation_set"), pk=pk
    )
    context = {
        "progress": selectors.progress(run),
        "results": selectors.results(run),
        "predictions": selectors.predictions(run, limit=PREDICTIONS_SHOWN),
    }
    template = "evaluation/run.html"
    if getattr(request, "htmx", False):
        template += "#progress"
    return render(request, template, context)


@admin_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = services.cancel_run(run_id=get_object_or_404(EvaluationRun, pk=pk).pk)
    messages.info(request, f"Evaluation “{run.name}” is {run.get_status_display()}.")
    return redirect("evaluation:run", pk=pk)


@admin_required
@require_POST
def run_resume(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.resume_run(
            run_id=get_object_or_404(EvaluationRun, pk=pk).pk,
            enqueue=tasks.send_slices,
        )
    except services.EvaluationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Evaluation resumed.")
    return redirect("evaluation:run", pk=pk)


@admin_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    form = CompareForm(request.GET or None)
    comparison = None
    if form.is_valid():
        try:
            comparison = selectors.compare(
                form.cleaned_data["first"], form.cleaned_data["second"]
            )
        except selectors.NotComparable as exc:
            form.add_error(None, str(exc))
    return render(
        request, "evaluation/compare.html", {"form": form, "comparison": comparison}
    )


@admin_required
@require_GET
def image(request: HttpRequest, pk: int) -> HttpResponse:
    """An evaluation set's image, for admins (files only through a check)."""
    stored = get_object_or_404(EvaluationImage, pk=pk)
    return files.send(stored.image.name)
