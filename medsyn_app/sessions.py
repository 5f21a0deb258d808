"""Idle session timeout without a session write on every request.

A session lasts `SESSION_COOKIE_AGE` (8 hours by default) from when it was last
refreshed. Refreshing on every request would cost a database write per click;
instead the session is touched once it is a few minutes old, so an active user
stays signed in and an idle one is signed out within the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

REFRESH_AFTER_S = 300
KEY = "_medsyn_touched"


class IdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(time.time())
            if now - int(session.get(KEY, 0)) >= REFRESH_AFTER_S:
                session[KEY] = now  # marks it modified: saved with a new expiry
        return response
