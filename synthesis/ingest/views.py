"""Pages for importing sources: upload, then follow the job to its report."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from medsyn_app import files, queueing
from medsyn_app.roles import admin_required
from synthesis.ingest import services, tasks
from synthesis.ingest.forms import ImportUploadForm
from synthesis.models import Batch, Figure, ImportJob

RECENT_JOBS = 20


@admin_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.start_import(
                upload=form.cleaned_data["file"],
                source_format=form.cleaned_data["source_format"],
                options=form.import_options(),
                user=request.user,
                enqueue=tasks.start_import,
            )
        except queueing.QueueUnavailable as exc:
            messages.warning(request, str(exc))
            return redirect("imports:job", pk=exc.object_id)
        return redirect("imports:job", pk=job.pk)
    jobs = ImportJob.objects.select_related("created_by")[:RECENT_JOBS]
    return render(request, "ingest/upload.html", {"form": form, "jobs": jobs})


@admin_required
@require_GET
@vary_on_headers("HX-Request")
def job(request: HttpRequest, pk: int) -> HttpResponse:
    import_job = get_object_or_404(ImportJob, pk=pk)
    template = "ingest/job.html"
    if getattr(request, "htmx", False):
        template += "#job-status"
    batch_ids = (import_job.report or {}).get("batch_ids", [])
    batches = Batch.objects.filter(pk__in=batch_ids).order_by("pk")
    return render(request, template, {"job": import_job, "batches": batches})


@admin_required
@require_GET
def figure_image(request: HttpRequest, pk: int) -> HttpResponse:
    """Any stored figure, for admins (import reports show them). Reviewers get
    figures through the review route, which checks the item is theirs."""
    figure = get_object_or_404(Figure, pk=pk)
    content_type = "image/jpeg" if figure.image.name.endswith(".jpg") else "image/png"
    return files.send(figure.image.name, content_type=content_type)
