"""Admin pages for dataset exports: list and launch, detail, downloads."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)
from django.views.decorators.vary import vary_on_headers

from medsyn_app import files, queueing
from medsyn_app.roles import admin_required
from review.export import selectors, services, tasks
from review.export.archive import stream_zip
from review.export.forms import ExportForm
from review.models import Export, ExportStatus


def _get_finished_export(pk: int) -> tuple[Export, Path]:
    export = get_object_or_404(Export, pk=pk, status=ExportStatus.DONE)
    return export, services.export_path(export)


@admin_required
@require_http_methods(["GET", "POST"])
def export_list(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            export = services.create_export(
                created_by=request.user,
                name=form.cleaned_data["name"],
                settings=form.export_settings(),
                eval_set=form.cleaned_data["eval_set"],
                enqueue=tasks.start_export,
            )
        except services.ExportError as exc:
            form.add_error(None, str(exc))
        except queueing.QueueUnavailable as exc:
            messages.warning(request, str(exc))
            return redirect("exports:detail", pk=exc.object_id)
        else:
            messages.success(request, f"Export “{export.name}” queued.")
            return redirect("exports:detail", pk=export.pk)
    exports = Export.objects.select_related("created_by")[:50]
    return render(request, "export/list.html", {"form": form, "exports": exports})


# Statuses a page keeps following, and how often (seconds): a waiting export
# depends on the queue coming back, so it is asked about less often.
POLL_SECONDS = {
    ExportStatus.PENDING: 2,
    ExportStatus.RUNNING: 2,
    ExportStatus.WAITING: 10,
}


@admin_required
@require_POST
def export_preview(request: HttpRequest) -> HttpResponse:
    """What the form's settings would export, before anything is launched."""
    form = ExportForm(request.POST)
    context: dict = {"form": form, "preview": None}
    if form.is_valid():
        try:
            settings = services.resolve_settings(
                settings=form.export_settings(), name=form.cleaned_data["name"]
            )
        except services.ExportError as exc:
            form.add_error(None, str(exc))
        else:
            context["preview"] = selectors.preview(settings)
    return render(request, "export/_preview.html", context)


@admin_required
@require_GET
@vary_on_headers("HX-Request")
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(Export, pk=pk)
    done = export.status == ExportStatus.DONE
    context = {
        "export": export,
        "files": selectors.files_of(export) if done else [],
        "manifest_json": (
            json.dumps(selectors.manifest_summary(export), indent=2)
            if export.manifest
            else ""
        ),
        "contamination": export.manifest.get("contamination"),
        "pairs": selectors.contamination_pairs(export) if done else [],
        "breakdown": selectors.breakdown_of(export) if done else None,
        "running": export.status in POLL_SECONDS,
        "poll_seconds": POLL_SECONDS.get(export.status),
    }
    template = "export/detail.html"
    if request.htmx:
        template += "#live"
    return render(request, template, context)


@admin_required
@require_GET
def export_file(request: HttpRequest, pk: int, path: str) -> HttpResponse:
    export, _ = _get_finished_export(pk)
    # Only files the manifest lists can be fetched: no path tricks.
    if path not in selectors.file_names(export):
        raise Http404("No such file in this export")
    services.record_download(export=export, path=path)
    return files.send(
        f"{export.output_dir}/{path}", attachment_name=path.rsplit("/", 1)[-1]
    )


@admin_required
@require_GET
def export_archive(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    export, root = _get_finished_export(pk)
    names = sorted(selectors.file_names(export))
    folder = services.archive_name(export)
    services.record_download(export=export, path="*")
    response = StreamingHttpResponse(
        stream_zip(root, names, prefix=folder), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{folder}.zip"'
    return response
