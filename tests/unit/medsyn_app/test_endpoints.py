"""The model endpoint registry: operator configuration, parsed and checked once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from medsyn_app import endpoints

REPO = Path(__file__).resolve().parents[3]

TWO_SERVERS = """
[generator-7b]
runtime = "openai_compat"
base_url = "http://gpu-1:8001/v1"
model = "generator"
key_env = "MEDSYN_GENERATOR_KEY"
context_length = 16384
concurrency = 16
roles = ["generator", "evaluation"]
label = "Qwen2.5-VL-7B on gpu-1"

[verifier-72b]
runtime = "openai_compat"
base_url = "http://gpu-2:8002/v1"
model = "verifier"
key_file = "/run/secrets/verifier_key"
roles = ["verifier"]

[verifier-72b.options]
read_timeout_s = 600
"""


@pytest.fixture
def registry_file(settings, tmp_path):
    def write(text: str, suffix: str = ".toml") -> Path:
        path = tmp_path / f"endpoints{suffix}"
        path.write_text(text)
        settings.MEDSYN_ENDPOINTS = ""
        settings.MEDSYN_ENDPOINTS_FILE = str(path)
        return path

    return write


def use(settings, **tables) -> None:
    settings.MEDSYN_ENDPOINTS_FILE = ""
    settings.MEDSYN_ENDPOINTS = {endpoints.DEMO_NAME: endpoints.DEMO, **tables}


def test_with_no_registry_there_is_only_the_demo_model(settings):
    settings.MEDSYN_ENDPOINTS_FILE = ""
    settings.MEDSYN_ENDPOINTS = ""
    settings.MEDSYN_GENERATOR_ENDPOINT = settings.MEDSYN_VERIFIER_ENDPOINT = "demo"
    (demo,) = endpoints.registry().values()
    assert (demo.name, demo.runtime, demo.model) == ("demo", "hf_transformers", "")
    assert demo.roles == {"generator", "verifier", "evaluation"}
    assert "random weights" in demo.label and "demo only" in demo.label
    assert endpoints.default_for("generator") == demo


def test_a_toml_file_registers_two_vllm_servers(settings, registry_file):
    registry_file(TWO_SERVERS)
    settings.MEDSYN_GENERATOR_ENDPOINT = "generator-7b"
    settings.MEDSYN_VERIFIER_ENDPOINT = "verifier-72b"
    generator = endpoints.get("generator-7b")
    assert generator.base_url == "http://gpu-1:8001/v1"
    assert (generator.context_length, generator.concurrency) == (16384, 16)
    assert generator.roles == {"generator", "evaluation"}
    assert generator.key_env == "MEDSYN_GENERATOR_KEY"
    verifier = endpoints.get("verifier-72b")
    assert verifier.concurrency == 8 and verifier.context_length is None
    assert dict(verifier.options) == {"read_timeout_s": 600}
    assert verifier.label == "verifier-72b (verifier)"
    assert [e.name for e in endpoints.for_role("evaluation")] == ["generator-7b"]
    assert endpoints.default_for("verifier") == verifier


def test_a_json_file_and_inline_json_read_the_same(settings, registry_file):
    table = {
        "demo": endpoints.DEMO,
        "local": {
            "runtime": "vllm_offline",
            "model": "/models/qwen",
            "roles": ["generator"],
            "context_length": 8192,
        },
    }
    registry_file(json.dumps(table), suffix=".json")
    from_file = endpoints.registry()
    settings.MEDSYN_ENDPOINTS_FILE = ""
    settings.MEDSYN_ENDPOINTS = json.dumps(table)
    assert endpoints.registry() == from_file
    assert from_file["local"].context_length == 8192


def test_several_endpoints_may_serve_one_role_as_replicas(settings):
    replica = {
        "runtime": "openai_compat",
        "model": "generator",
        "roles": ["generator"],
    }
    use(
        settings,
        **{
            "gen-b": {**replica, "base_url": "http://gpu-2:8001/v1"},
            "gen-a": {**replica, "base_url": "http://gpu-1:8001/v1"},
        },
    )
    names = [e.name for e in endpoints.for_role("generator")]
    assert names == ["demo", "gen-a", "gen-b"]


def test_a_dotted_runtime_is_allowed_in_operator_configuration(settings):
    use(settings, site={"runtime": "site_clients.llm:Client", "roles": ["verifier"]})
    assert endpoints.get("site").runtime == "site_clients.llm:Client"


def test_provenance_names_the_server_but_never_the_key(settings, monkeypatch):
    monkeypatch.setenv("MEDSYN_GEN_KEY", "sk-secret")
    use(
        settings,
        gen={
            "runtime": "openai_compat",
            "base_url": "https://api.example.org/v1",
            "model": "m",
            "key_env": "MEDSYN_GEN_KEY",
            "roles": ["generator"],
        },
    )
    endpoint = endpoints.get("gen")
    assert endpoint.api_key() == "sk-secret"
    assert endpoint.provenance() == {
        "endpoint": "gen",
        "runtime": "openai_compat",
        "model": "m",
        "base_url": "https://api.example.org/v1",
        "context_length": None,
    }
    assert "sk-secret" not in repr(endpoint)


def test_an_unknown_name_is_its_own_error(settings):
    use(settings)
    with pytest.raises(endpoints.UnknownEndpoint, match="'nope'"):
        endpoints.get("nope")


BASE = {"runtime": "openai_compat", "base_url": "http://h:1/v1", "model": "m"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({**BASE, "roles": ["generator"], "api_key": "sk-x"}, "never put a key"),
        ({**BASE, "roles": ["generator"], "key_evn": "X"}, "unknown setting key_evn"),
        ({**BASE, "runtime": "nope", "roles": ["generator"]}, "runtime must be one"),
        ({**BASE, "base_url": "", "roles": ["generator"]}, "needs base_url and model"),
        ({**BASE, "base_url": "file:///etc/x", "roles": ["generator"]}, "http(s) URL"),
        (
            {**BASE, "base_url": "http://u:p@h/v1", "roles": ["generator"]},
            "may not carry credentials",
        ),
        (
            {**BASE, "key_env": "A", "key_file": "/k", "roles": ["generator"]},
            "one key source",
        ),
        ({**BASE, "key_env": "A-B", "roles": ["generator"]}, "variable name"),
        ({**BASE, "key_file": "k.txt", "roles": ["generator"]}, "absolute path"),
        ({**BASE, "roles": ["judge"]}, "unknown role judge"),
        ({**BASE}, "roles must be"),
        (
            {**BASE, "roles": ["generator"], "options": {"base_url": "http://x/"}},
            "options may not set base_url",
        ),
        ({**BASE, "roles": ["generator"], "context_length": "8k"}, "whole number"),
        ({**BASE, "roles": ["generator"], "concurrency": True}, "whole number"),
        (
            {
                "runtime": "hf_transformers",
                "base_url": "http://h/",
                "roles": ["verifier"],
            },
            "takes no base_url",
        ),
        (
            {"runtime": "hf_transformers", "key_env": "K", "roles": ["verifier"]},
            "a key needs a base_url",
        ),
        ({"runtime": "vllm_offline", "roles": ["generator"]}, "vllm_offline needs"),
    ],
)
def test_a_mistake_in_an_endpoint_names_it_and_the_field(settings, table, message):
    use(settings, broken=table)
    with pytest.raises(ImproperlyConfigured, match="'broken'") as caught:
        endpoints.registry()
    assert message in str(caught.value)


def test_a_name_that_looks_like_a_path_is_refused(settings):
    use(settings, **{"pkg.mod:Class": {**BASE, "roles": ["generator"]}})
    with pytest.raises(ImproperlyConfigured, match="a name is"):
        endpoints.registry()


def test_a_default_that_is_not_registered_for_its_role_is_refused(settings):
    use(settings, only_verifies={**BASE, "roles": ["verifier"]})
    settings.MEDSYN_GENERATOR_ENDPOINT = "only_verifies"
    with pytest.raises(ImproperlyConfigured, match="MEDSYN_GENERATOR_ENDPOINT"):
        endpoints.registry()


def test_file_and_inline_registry_together_are_refused(settings, registry_file):
    registry_file(TWO_SERVERS)
    settings.MEDSYN_ENDPOINTS = '{"a": {}}'
    with pytest.raises(ImproperlyConfigured, match="not both"):
        endpoints.registry()


def test_a_bad_registry_stops_the_process_at_start_up(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDSYN_")},
        "MEDSYN_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "medsyn_app.settings",
        "MEDSYN_ENDPOINTS": json.dumps(
            {"x": {"runtime": "nope", "roles": ["generator"]}}
        ),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "model endpoint 'x': runtime must be one of" in result.stderr
