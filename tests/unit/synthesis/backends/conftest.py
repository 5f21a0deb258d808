"""Fixtures for the model-backend tests: the demo model and a stub HTTP server."""

from __future__ import annotations

import pytest

from tests.fixtures.fake_openai_server import StubServer


@pytest.fixture
def stub_server():
    server = StubServer().start()
    yield server
    server.stop()
