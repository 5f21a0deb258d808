"""Fixtures for the model-backend tests: the demo model and a stub HTTP server."""

from __future__ import annotations

import pytest

from tests.unit.synthesis.backends.openai_stub import StubServer


@pytest.fixture
def stub_server():
    server = StubServer().start()
    yield server
    server.stop()
