"""The audit log page for admins: filter, page back in time, export CSV."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from medsyn_app.audit import selectors
from medsyn_app.audit.forms import EventFilterForm
from medsyn_app.roles import admin_required

PAGE_SIZE = 100


@require_GET
@admin_required
def events(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/events.html", {"form": form}, status=400)
    found = selectors.events(**form.filters())
    if request.GET.get("format") == "csv":
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(
            selectors.csv_rows(found), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="medsyn-audit-{stamp}.csv"'
        )
        return response
    if before := form.cleaned_data.get("before_id"):
        found = found.filter(pk__lt=before)
    page = list(found.select_related("actor")[: PAGE_SIZE + 1])
    context = {
        "form": form,
        "events": page[:PAGE_SIZE],
        "older": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None,
        "query": request.GET.copy(),
    }
    return render(request, "audit/events.html", context)
