"""Moved to tests/fixtures/fake_openai_server.py; kept so older imports work."""

from tests.fixtures.fake_openai_server import Reply, StubServer, chat_body

__all__ = ["Reply", "StubServer", "chat_body"]
