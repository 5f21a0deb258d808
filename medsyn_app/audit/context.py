"""Who is acting, for the audit log: set per request by the middleware.

Services record events without being handed the request; the actor, address
and browser come from here. Outside a request (Celery, commands, the shell)
there is no origin, and callers name the actor themselves.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class Origin:
    user: Any
    ip: str | None
    user_agent: str


_origin: ContextVar[Origin | None] = ContextVar("medsyn_audit_origin", default=None)


def current() -> Origin | None:
    return _origin.get()


def client_ip(request: HttpRequest) -> str | None:
    """The peer address as Django sees it (a proxy must set REMOTE_ADDR)."""
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        return ipaddress.ip_address(raw).compressed
    except ValueError:
        return None


def origin_of(request: HttpRequest) -> Origin:
    user = getattr(request, "user", None)
    return Origin(
        user=user if user is not None and user.is_authenticated else None,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )


@contextmanager
def acting(origin: Origin | None) -> Iterator[None]:
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


class AuditOriginMiddleware:
    """Binds the request's origin for everything the view calls.

    The user is read lazily (on first record), so API requests authenticated
    by DRF inside the view are attributed too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _origin.set(_LazyOrigin(request))  # type: ignore[arg-type]
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)


class _LazyOrigin:
    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @property
    def user(self) -> Any:
        user = getattr(self._request, "user", None)
        return user if user is not None and user.is_authenticated else None

    @property
    def ip(self) -> str | None:
        return client_ip(self._request)

    @property
    def user_agent(self) -> str:
        return self._request.META.get("HTTP_USER_AGENT", "")[:300]
