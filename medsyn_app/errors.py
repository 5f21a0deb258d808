"""Error answers: the app's own pages for people, JSON for API callers.

Django's debug pages are for developers who ask for them (DEBUG=1); everyone
else, `make run` included, sees these. A path under an API prefix always gets
JSON with `detail`, whatever went wrong before DRF saw the request (an unknown
route, a malformed id in the URL), so API clients can rely on one shape.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

API_MARKER = "/api/"

MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do this.",
    404: "There is nothing at this address.",
    500: "Something went wrong on our side; the error was logged.",
}


def _is_api(request: HttpRequest) -> bool:
    return API_MARKER in request.path


def _answer(request: HttpRequest, status: int) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": MESSAGES[status]}, status=status)
    return render(request, f"{status}.html", status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, 403)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _answer(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": MESSAGES[500]}, status=500)
    # A page with no user, role or message lookups: the database may be
    # what failed.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
