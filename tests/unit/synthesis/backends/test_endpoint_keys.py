"""A backend built from an endpoint gets that endpoint's URL and key, and only those.

Only the network edge is faked: each endpoint points at a local stub server
that records the headers it was sent.
"""

from __future__ import annotations

import json

import pytest

from medsyn_app import endpoints
from synthesis import backends
from synthesis.backends.base import BackendError
from tests.fixtures.fake_backends import FakeGenerator
from tests.fixtures.fake_openai_server import Reply, StubServer, chat_body
from tests.unit.synthesis.backends.sample_requests import mcq_request

VALID = {
    "question": "Which lobe?",
    "options": ["L", "R", "Both", "None"],
    "answer": "A",
}
OK = Reply(body=chat_body(json.dumps(VALID)))


@pytest.fixture
def other_server():
    server = StubServer().start()
    yield server
    server.stop()


def register(settings, **tables) -> None:
    settings.MEDSYN_ENDPOINTS = {endpoints.DEMO_NAME: endpoints.DEMO, **tables}


def remote(server, **fields) -> dict:
    return {
        "runtime": "openai_compat",
        "base_url": server.base_url,
        "model": "served",
        "roles": ["generator"],
        "options": {"max_retries": 0},
        **fields,
    }


def call(name: str):
    backend = backends.from_endpoint(endpoints.get(name))
    return backend.generate([mcq_request("r")])


def test_an_endpoint_with_no_key_source_sends_no_authorization(
    settings, stub_server, monkeypatch
):
    monkeypatch.setenv("MEDSYN_OPENAI_API_KEY", "sk-global")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-global")
    register(settings, local=remote(stub_server))
    stub_server.script = [OK]
    (completion,) = call("local")
    assert completion.ok
    assert "Authorization" not in stub_server.headers[0]


def test_each_endpoint_sends_only_its_own_key(
    settings, stub_server, other_server, monkeypatch
):
    monkeypatch.setenv("KEY_A", "sk-a")
    monkeypatch.setenv("KEY_B", "sk-b")
    register(
        settings,
        a=remote(stub_server, key_env="KEY_A"),
        b=remote(other_server, key_env="KEY_B"),
    )
    stub_server.script = other_server.script = [OK]
    call("a")
    call("b")
    assert [h["Authorization"] for h in stub_server.headers] == ["Bearer sk-a"]
    assert [h["Authorization"] for h in other_server.headers] == ["Bearer sk-b"]


def test_an_endpoint_key_can_come_from_a_secret_file(settings, stub_server, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n")
    register(settings, filed=remote(stub_server, key_file=str(key_file)))
    stub_server.script = [OK]
    call("filed")
    assert stub_server.headers[0]["Authorization"] == "Bearer sk-from-file"


def test_a_key_variable_that_is_not_set_stops_the_call(
    settings, stub_server, monkeypatch
):
    monkeypatch.delenv("KEY_UNSET", raising=False)
    register(settings, keyed=remote(stub_server, key_env="KEY_UNSET"))
    with pytest.raises(endpoints.EndpointError, match="KEY_UNSET is not set"):
        call("keyed")
    assert stub_server.requests == []


def test_a_dotted_runtime_is_built_from_the_endpoint_with_its_options(settings):
    register(
        settings,
        fake={
            "runtime": "tests.fixtures.fake_backends:FakeGenerator",
            "model": "fake-generator",
            "roles": ["generator"],
            "options": {"mode": "prose"},
        },
    )
    backend = backends.from_endpoint(endpoints.get("fake"))
    assert isinstance(backend, FakeGenerator)
    assert (backend.model_name, backend.mode) == ("fake-generator", "prose")


def test_get_backend_runs_only_the_built_in_runtimes(tmp_path):
    marker = tmp_path / "pwned.txt"
    with pytest.raises(BackendError, match="unknown runtime") as caught:
        backends.get_backend("subprocess:Popen", args=["touch", str(marker)])
    assert caught.value.retryable is False
    assert not marker.exists()


def test_the_registry_and_the_backends_know_the_same_runtimes():
    assert set(endpoints.RUNTIMES) == set(backends.RUNTIMES)
