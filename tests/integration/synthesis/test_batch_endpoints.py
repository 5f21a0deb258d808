"""Batches pick model endpoints by name; nothing else about a model comes from
a request (MedSyn issue 14, findings 1-2).

The registry the tests run with is `tests/settings.py`: the demo endpoint plus
one fake endpoint per fake mode.
"""

from __future__ import annotations

import contextlib
import io
import json
import time

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from synthesis import chunks, services
from synthesis.backends.base import BackendError
from synthesis.batch_config import BatchConfigError
from synthesis.forms import LaunchBatchForm
from synthesis.models import Batch, Chunk, ChunkStatus, Item
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_backends import GOOD_ITEM, fake_config
from tests.fixtures.fake_openai_server import Reply, StubServer, chat_body

pytestmark = pytest.mark.django_db

API = "synthesis:api_batches"
# Chunks of a batch the old code would have accepted go to a queue no worker
# listens on; the test runs them itself.
UNSERVED = {"queue": "test-unserved"}


@pytest.fixture
def stub_server():
    server = StubServer().start()
    yield server
    server.stop()


def run_every_chunk() -> bool:
    """Run whatever chunks exist, as a worker would; True if there were any."""
    ids = list(Chunk.objects.values_list("pk", flat=True))
    for chunk_id in ids:
        with contextlib.suppress(Exception):
            chunks.run(chunk_id=chunk_id)
    return bool(ids)


def launch_over_api(client, config, figure_filter=None):
    return client.post(
        reverse(API),
        {"name": "x", "figure_filter": figure_filter or {"limit": 1}, "config": config},
        content_type="application/json",
    )


# -- finding 1: code execution on the worker ------------------------------------


def test_a_dotted_path_from_the_api_never_runs_on_the_worker(admin_client, tmp_path):
    make_figures(1)
    marker = tmp_path / "pwned.txt"
    response = launch_over_api(
        admin_client,
        {
            **UNSERVED,
            "generator": {
                "backend": "subprocess:Popen",
                "model": "",
                "options": {"args": ["touch", str(marker)]},
            },
        },
    )
    if run_every_chunk():
        time.sleep(1)  # Popen returns at once; give `touch` time to run
    assert not marker.exists()
    assert response.status_code == 400
    assert "config.generator.backend" in response.json()
    assert not Batch.objects.exists()


def test_the_launch_form_offers_no_way_to_name_a_class(admin_client):
    make_figures(1)
    form = LAUNCH | {"generator_endpoint": "subprocess:Popen"}
    response = admin_client.post(reverse("synthesis:batch_launch"), form)
    assert response.status_code == 200
    assert response.context["form"].errors["generator_endpoint"]
    assert not Batch.objects.exists()


# -- finding 2: the API key sent anywhere --------------------------------------


def test_the_api_key_never_goes_to_a_url_from_the_request(
    admin_client, stub_server, monkeypatch
):
    monkeypatch.setenv("MEDSYN_OPENAI_API_KEY", "sk-operator-secret")
    stub_server.script = [Reply(body=chat_body("{}"))]
    make_figures(1)
    response = launch_over_api(
        admin_client,
        {
            **UNSERVED,
            "generator": {
                "backend": "openai_compat",
                "model": "m",
                "options": {"base_url": stub_server.base_url, "max_retries": 0},
            },
        },
    )
    run_every_chunk()
    assert not any("sk-operator-secret" in str(h) for h in stub_server.headers)
    assert response.status_code == 400
    assert "config.generator.backend" in response.json()


# -- what a request may not name, refused everywhere ----------------------------

REFUSED = [
    ({"generator": {"backend": "subprocess:Popen"}}, "config.generator.backend"),
    ({"generator": {"endpoint": "subprocess:Popen"}}, "config.generator.endpoint"),
    (
        {"generator": {"endpoint": "fake-generator", "base_url": "http://x.test/v1"}},
        "config.generator.base_url",
    ),
    (
        {"verifier": {"endpoint": "fake-verifier", "api_key": "sk-mine"}},
        "config.verifier.api_key",
    ),
    (
        {"generator": {"endpoint": "fake-generator", "key_file": "/etc/passwd"}},
        "config.generator.key_file",
    ),
    (
        {"generator": {"endpoint": "fake-generator", "options": {"mode": "x"}}},
        "config.generator.options",
    ),
    ({"generator": {"endpoint": "no-such-endpoint"}}, "config.generator.endpoint"),
    ({"verifier": {"endpoint": "fake-generator"}}, "config.verifier.endpoint"),
    ({"base_url": "http://x.test/v1"}, "config.base_url"),
]


@pytest.mark.parametrize(("config", "field"), REFUSED)
def test_the_api_refuses_anything_but_an_endpoint_name(admin_client, config, field):
    make_figures(1)
    response = launch_over_api(admin_client, {**UNSERVED, **config})
    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert isinstance(body[field], list) and body[field][0]
    assert not Batch.objects.exists()


def test_an_unknown_endpoint_is_refused_with_the_names_that_exist(admin_client):
    make_figures(1)
    response = launch_over_api(admin_client, {"generator": {"endpoint": "nope"}})
    (message,) = response.json()["config.generator.endpoint"]
    assert "nope" in message and "fake-generator" in message
    assert "fake-verifier" not in message  # only endpoints serving the role


def test_the_api_refuses_unknown_fields_of_the_request(admin_client):
    make_figures(1)
    response = admin_client.post(
        reverse(API),
        {"name": "x", "api_key": "sk-mine", "config": {}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "api_key" in response.json()
    assert not Batch.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": {"keep_rule": "x"}}, "config.keep_rule"),
        ({"config": {"generator": "x"}}, "config.generator"),
        ({"config": {"generator": {"endpoint": 7}}}, "config.generator.endpoint"),
        (
            {"config": {"sampling": {"temperature": "hot"}}},
            "config.sampling.temperature",
        ),
        ({"config": {"sampling": {"best_of": 4}}}, "config.sampling.best_of"),
        ({"config": {"items_per_group": True}}, "config.items_per_group"),
        ({"config": {"surprise": 1}}, "config.surprise"),
        ({"config": {"figure_filter": {}}}, "config.figure_filter"),
        ({"figure_filter": {"figure_ids": "abc"}}, "figure_filter.figure_ids"),
        ({"figure_filter": {"figure_ids": ["abc"]}}, "figure_filter.figure_ids"),
        ({"figure_filter": {"modality": ["CT"]}}, "figure_filter.modality"),
    ],
)
def test_a_config_of_the_wrong_shape_is_a_400_not_a_500(admin_client, body, field):
    make_figures(1)
    response = admin_client.post(
        reverse(API), {"name": "x", **body}, content_type="application/json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Batch.objects.exists()


LAUNCH = {
    "name": "x", "generator_endpoint": "fake-generator",
    "verifier_endpoint": "fake-verifier",
    "temperature": "0", "top_p": "1", "max_tokens": "256", "seed": "1",
    "items_per_group": "1", "min_score": "0.967", "chunk_size": "4",
}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("generator_endpoint", "subprocess:Popen"),
        ("generator_endpoint", "no-such-endpoint"),
        ("generator_endpoint", "fake-verifier"),
        ("verifier_endpoint", "tests.fixtures.fake_backends:FakeVerifier"),
    ],
)
def test_the_form_refuses_anything_but_a_listed_endpoint(admin_client, field, value):
    make_figures(1)
    response = admin_client.post(
        reverse("synthesis:batch_launch"), LAUNCH | {field: value}
    )
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not Batch.objects.exists()


@pytest.mark.parametrize("extra", ["base_url", "api_key", "generator_backend"])
def test_the_form_refuses_fields_it_does_not_have(admin_client, extra):
    make_figures(1)
    response = admin_client.post(
        reverse("synthesis:batch_launch"), LAUNCH | {extra: "http://x.test/v1"}
    )
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert any(extra in error for error in errors), errors
    assert not Batch.objects.exists()


def test_the_form_lists_the_endpoints_of_each_role_by_label(admin_client):
    page = admin_client.get(reverse("synthesis:batch_launch")).content.decode()
    generator = page.split('id="id_generator_endpoint"')[1].split("</select>")[0]
    assert 'value="fake-generator"' in generator
    assert 'value="fake-verifier"' not in generator
    assert "random weights" in generator and "demo only" in generator


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--generator-endpoint", "subprocess:Popen"], "config.generator.endpoint"),
        (["--generator-endpoint", "no-such-endpoint"], "config.generator.endpoint"),
        (["--verifier-endpoint", "fake-generator"], "config.verifier.endpoint"),
        (["--generator-backend", "subprocess:Popen"], "unrecognized arguments"),
        (["--generator-base-url", "http://x.test/v1"], "unrecognized arguments"),
        (["--api-key", "sk-mine"], "unrecognized arguments"),
    ],
)
def test_the_command_refuses_anything_but_an_endpoint_name(args, message):
    make_figures(1)
    with pytest.raises(CommandError, match=message):
        call_command(
            "synthesize", *args, "--queue", "test-unserved", stdout=io.StringIO()
        )
    assert not Batch.objects.exists()


# -- the worker: its own registry, by name ----------------------------------------


def launch(**config):
    return services.launch_batch(
        created_by=None, name="t", config=fake_config(**config), enqueue=None
    )


def test_a_batch_records_each_roles_endpoint_with_its_provenance():
    make_figures(1)
    batch = launch()
    assert batch.config["generator"] == {
        "endpoint": "fake-generator",
        "runtime": "tests.fixtures.fake_backends:FakeGenerator",
        "model": "fake-generator",
        "base_url": "",
        "context_length": None,
    }
    assert batch.config["verifier"]["endpoint"] == "fake-verifier"


def test_the_worker_builds_from_its_own_registry_never_the_stored_snapshot(tmp_path):
    make_figures(2)
    batch = launch()
    marker = tmp_path / "pwned.txt"
    tampered = {
        **batch.config,
        "generator": {
            **batch.config["generator"],
            "runtime": "subprocess:Popen",
            "base_url": "http://x.test/v1",
            "options": {"args": ["touch", str(marker)]},
        },
    }
    Batch.objects.filter(pk=batch.pk).update(config=tampered)
    assert chunks.run(chunk_id=batch.chunks.get().pk) == "done"
    assert not marker.exists()
    assert set(Item.objects.values_list("generator_model", flat=True)) == {
        "fake-generator"
    }


def test_an_endpoint_missing_on_the_worker_fails_the_chunk_for_good(settings):
    make_figures(1)
    batch = launch(generator_mode="prose")
    settings.MEDSYN_ENDPOINTS = {
        name: table
        for name, table in settings.MEDSYN_ENDPOINTS.items()
        if name != "fake-generator-prose"
    }
    chunk = batch.chunks.get()
    with pytest.raises(BackendError) as caught:
        chunks.run(chunk_id=chunk.pk)
    assert caught.value.retryable is False
    chunk.refresh_from_db()
    assert chunk.status == ChunkStatus.FAILED
    assert "'fake-generator-prose' is not registered on this worker" in chunk.last_error


def test_a_batch_sends_its_endpoints_key_to_that_endpoint_only(
    settings, stub_server, monkeypatch
):
    monkeypatch.setenv("MEDSYN_OPENAI_API_KEY", "sk-global")
    monkeypatch.setenv("MEDSYN_TEST_REMOTE_KEY", "sk-own")
    settings.MEDSYN_ENDPOINTS = {
        **settings.MEDSYN_ENDPOINTS,
        "remote": {
            "runtime": "openai_compat",
            "base_url": stub_server.base_url,
            "model": "served",
            "key_env": "MEDSYN_TEST_REMOTE_KEY",
            "roles": ["generator"],
        },
    }
    stub_server.script = [Reply(body=chat_body(json.dumps(GOOD_ITEM)))]
    make_figures(1)
    batch = launch(generator={"endpoint": "remote"})
    assert chunks.run(chunk_id=batch.chunks.get().pk) == "done"
    assert [h["Authorization"] for h in stub_server.headers] == ["Bearer sk-own"]
    assert Item.objects.get().generator_model == "served"


def test_a_refused_launch_is_shown_on_the_field_it_is_about():
    form = LaunchBatchForm(LAUNCH)
    assert form.is_valid(), form.errors
    form.add_service_error(
        BatchConfigError("not this one", field="config.generator.endpoint")
    )
    form.add_service_error(BatchConfigError("no figures match this selection"))
    assert form.errors["generator_endpoint"] == ["not this one"]
    assert form.non_field_errors() == ["no figures match this selection"]
