"""Shared fixtures: personas, service requirements and a real Celery worker."""

from __future__ import annotations

import pytest

from tests.fixtures.builders import make_user

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.demo_model"]


@pytest.fixture
def admin_user(db):
    return make_user("alice", role="admin")


@pytest.fixture
def reviewer_user(db):
    return make_user("bob", role="reviewer")


@pytest.fixture
def outsider_user(db):
    """Signed in, but in neither role."""
    return make_user("charlie", role=None)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def reviewer_client(client, reviewer_user):
    client.force_login(reviewer_user)
    return client


@pytest.fixture
def outsider_client(client, outsider_user):
    client.force_login(outsider_user)
    return client
