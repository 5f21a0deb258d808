"""The published API schema, fuzzed: every operation as an admin and a reviewer.

Schemathesis generates requests from /api/schema/ (about 20 per operation and
persona, valid and invalid) and sends them to the app in process. A 5xx, a
status the schema does not list, or a body or content type that breaks the
schema fails the test. No worker runs: launches are stored and never enqueued
(their on-commit hooks do not fire inside the test transaction).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fixtures.builders import (
    add_review,
    make_accepted_item,
    make_batch,
    make_reviewable_item,
    make_user,
)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

RAW = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(RAW)
schema.app = WSGIHandler()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The raw WSGI handler closes connections at the end of each request; the
    test client stops that, and so must this in-process app."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(db) -> dict[str, str]:
    """A token per persona, and objects for the ids the fuzzer tries."""
    admin = make_user("alice", role="admin")
    reviewer = make_user("bob", role="reviewer")
    batch = make_batch("Fuzzed")
    item = make_reviewable_item(batch)
    from review.models import Assignment

    Assignment.objects.create(item=item, reviewer=reviewer)
    add_review(item, reviewer, "accept")
    make_accepted_item(document="PMC555555", image_seed=5)
    return {
        "admin": AuthToken.objects.create(user=admin)[1],
        "reviewer": AuthToken.objects.create(user=reviewer)[1],
    }


def test_the_schema_covers_every_api_route():
    paths = set(RAW["paths"])
    for expected in (
        "/review/api/next/",
        "/review/api/items/{id}/decisions/",
        "/synthesis/api/batches/",
        "/exports/api/",
        "/api/imports/",
        "/quality/api/{batch}/",
    ):
        assert expected in paths
    for path in RAW["paths"].values():
        for operation in path.values():
            assert operation["responses"], operation["operationId"]
            assert "403" in operation["responses"]


@pytest.mark.parametrize("persona", ["admin", "reviewer"])
@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_answers_within_its_schema(case, persona, tokens):
    case.call_and_validate(
        headers={"Authorization": f"Token {tokens[persona]}"}, checks=CHECKS
    )
