"""`manage.py synthesize` launches the same batches the browser does."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from synthesis.models import Batch, BatchStatus, ChunkStatus, Item
from tests.fixtures.builders import make_figures

pytestmark = pytest.mark.django_db(transaction=True)
FAKES = [
    "--generator-endpoint",
    "fake-generator",
    "--verifier-endpoint",
    "fake-verifier",
]


def test_sync_runs_the_batch_here_and_returns_when_done():
    make_figures(4)
    out = io.StringIO()
    call_command("synthesize", "--sync", "--limit", "3", *FAKES, stdout=out)
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.COMPLETED
    assert batch.figure_groups_total == 3 and Item.objects.count() == 3
    assert batch.config["generator"]["endpoint"] == "fake-generator"
    assert "3 items generated, 3 kept" in out.getvalue()


def test_without_sync_the_chunks_are_queued_not_run():
    make_figures(2)
    call_command(
        "synthesize",
        *FAKES,
        "--chunk-size",
        "1",
        "--queue",
        "test-unserved",
        stdout=io.StringIO(),
    )
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.QUEUED
    assert (
        list(batch.chunks.values_list("status", flat=True)) == [ChunkStatus.PENDING] * 2
    )
    assert Item.objects.count() == 0


def test_defaults_come_from_settings_when_no_endpoint_is_named(settings):
    make_figures(1)
    settings.MEDSYN_GENERATOR_ENDPOINT = "fake-generator-prose"
    call_command("synthesize", "--queue", "test-unserved", stdout=io.StringIO())
    config = Batch.objects.get().config
    assert config["generator"]["endpoint"] == "fake-generator-prose"
    assert config["verifier"]["endpoint"] == "demo"
    assert config["verifier"]["runtime"] == "hf_transformers"


def test_an_empty_selection_is_a_clear_error():
    with pytest.raises(CommandError, match="no figures match"):
        call_command("synthesize", "--modality", "Ultrasound", *FAKES)


def test_a_down_backend_fails_the_command_with_its_reason():
    make_figures(1)
    with pytest.raises(CommandError, match="fake server is down"):
        call_command(
            "synthesize",
            "--sync",
            "--generator-endpoint",
            "down",
            "--verifier-endpoint",
            "fake-verifier",
            stdout=io.StringIO(),
        )
