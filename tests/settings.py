"""Settings for the test suite: the app's own, plus the fake model endpoints.

Tests and benchmarks reach the scripted backends of
`tests/fixtures/fake_backends.py` the way production reaches a model: through
registered endpoints, by name. Celery workers started by the tests inherit
DJANGO_SETTINGS_MODULE, so they hold the same registry.
"""

from __future__ import annotations

import json
import os

from medsyn_app.endpoints import DEMO, DEMO_NAME
from medsyn_app.settings import *  # noqa: F403

_FAKES = "tests.fixtures.fake_backends"
GENERATOR_MODES = (
    "valid", "prose", "invalid_json", "extra_fields", "wrong_option_count", "mixed",
    "blank_stem", "repeated_options", "nul", "unavailable",
)  # fmt: skip
VERIFIER_MODES = (
    "valid", "fail_gate", "insufficient", "garbage", "schema_valid_garbage",
    "unavailable",
)  # fmt: skip


def _fake(role: str, cls: str, mode: str = "valid", **options: object) -> dict:
    return {
        "runtime": f"{_FAKES}:{cls}",
        "model": f"fake-{role}",
        "roles": [role],
        "options": {"mode": mode, **options},
        "label": f"fake {role} ({mode})",
    }


def _name(role: str, mode: str) -> str:
    return f"fake-{role}" if mode == "valid" else f"fake-{role}-{mode}"


MEDSYN_ENDPOINTS_FILE = ""
MEDSYN_ENDPOINTS = {
    DEMO_NAME: DEMO,
    **{
        _name("generator", m): _fake("generator", "FakeGenerator", m)
        for m in GENERATOR_MODES
    },
    **{
        _name("verifier", m): _fake("verifier", "FakeVerifier", m)
        for m in VERIFIER_MODES
    },
    # Slow enough for a worker to be killed, or a second run to race, mid-chunk.
    "fake-generator-slow": _fake("generator", "FakeGenerator", sleep=0.4),
    "down": {
        **_fake("generator", "DownBackend"),
        "label": "a server that never answers",
    },
    "broken": {**_fake("generator", "BrokenBackend"), "label": "a missing model"},
    # Evaluation: answerers that always pick one letter, in one format.
    "fake-answerer": _fake("evaluation", "FakeAnswerer"),
    "fake-answerer-b": _fake("evaluation", "FakeAnswerer", answer="B"),
    "fake-answerer-prose": _fake("evaluation", "FakeAnswerer", "prose", answer="B"),
    "fake-answerer-letter": _fake("evaluation", "FakeAnswerer", "letter"),
    "fake-answerer-slow": _fake("evaluation", "FakeAnswerer", sleep=0.5),
    "fake-answerer-down": _fake("evaluation", "DownBackend"),
    "fake-answerer-broken": _fake("evaluation", "BrokenBackend"),
}
# Endpoints a test adds for the Celery workers it starts (e.g. local fake
# OpenAI-compatible servers on random ports), as JSON in the worker's env.
MEDSYN_ENDPOINTS.update(json.loads(os.environ.get("MEDSYN_TEST_ENDPOINTS") or "{}"))
# A killed worker\'s endpoint slots come back sooner than in production.
MEDSYN_SLOT_TTL_S = 6
MEDSYN_GENERATOR_ENDPOINT = "demo"
MEDSYN_VERIFIER_ENDPOINT = "demo"

# PBKDF2 costs ~0.3 s a user and the suite makes hundreds; never in production.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
