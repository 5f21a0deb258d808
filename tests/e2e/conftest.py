"""Playwright driving the machine's Chromium (Debian's package) against live_server."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest
from django.core.signals import request_finished, request_started

from tests.fixtures.services import need

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    explicit = os.environ.get("CHROMIUM_PATH")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    need(path is not None, "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread while the
    # browser lives; the tests' own ORM calls are still synchronous, so Django's
    # guard is lifted for exactly that time (never process-wide: `check
    # --deploy` rejects it). e2e tests run last (see testpaths).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=path, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


class ServerRequests:
    """Requests the live server is handling now.

    A page closed at the end of a test may have left one running (a prefetch,
    a save behind the card); the database is flushed only once none is left,
    else TRUNCATE deadlocks with its row locks and the next test starts dirty.
    """

    def __init__(self) -> None:
        self.count = 0
        self._idle = threading.Condition()

    def started(self, **kwargs: object) -> None:
        with self._idle:
            self.count += 1

    def finished(self, **kwargs: object) -> None:
        with self._idle:
            self.count -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                # Twice, 50 ms apart: a request accepted just before the page
                # closed may not have started yet.
                if not self._idle.wait_for(
                    lambda: self.count <= 0, deadline - time.monotonic()
                ):
                    return False
                self._idle.wait(0.05)
                if self.count <= 0:
                    return True


@pytest.fixture(scope="session")
def server_requests():
    requests = ServerRequests()
    request_started.connect(requests.started, dispatch_uid="e2e-requests-started")
    request_finished.connect(requests.finished, dispatch_uid="e2e-requests-finished")
    yield requests
    request_started.disconnect(dispatch_uid="e2e-requests-started")
    request_finished.disconnect(dispatch_uid="e2e-requests-finished")


@pytest.fixture(autouse=True)
def _server_settles(server_requests):
    """After each test (its tabs closed, before its database is flushed), wait
    for the live server to finish what the tabs asked for."""
    yield
    assert server_requests.wait_idle(), "the live server is still busy after the test"


@pytest.fixture
def page(browser):
    """A fresh browser tab; any Content-Security-Policy violation it logs fails
    the test (every e2e test thereby checks the pages it drives)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.csp_violations = violations
    yield page
    context.close()
    assert not violations, f"CSP violations: {violations}"


@pytest.fixture
def login(page, live_server):
    """Log in through the real form, as a person would."""

    def do_login(username: str, password: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")

    return do_login
