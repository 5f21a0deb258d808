"""`manage.py synthesize` launches the same batches the browser does."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from synthesis.models import Batch, BatchStatus, ChunkStatus, Item
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_backends import FAKE_GENERATOR, FAKE_VERIFIER

pytestmark = pytest.mark.django_db(transaction=True)
FAKES = ["--generator-backend", FAKE_GENERATOR, "--verifier-backend", FAKE_VERIFIER]


def test_sync_runs_the_batch_here_and_returns_when_done():
    make_figures(4)
    out = io.StringIO()
    call_command("synthesize", "--sync", "--limit", "3", *FAKES, stdout=out)
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.COMPLETED
    assert batch.figure_groups_total == 3 and Item.objects.count() == 3
    assert batch.config["generator"]["backend"] == FAKE_GENERATOR
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


def test_defaults_come_from_settings_when_no_backend_is_named(settings):
    make_figures(1)
    settings.MEDSYN_GENERATOR_BACKEND = "hf_transformers"
    call_command("synthesize", "--queue", "test-unserved", stdout=io.StringIO())
    assert Batch.objects.get().config["generator"]["backend"] == "hf_transformers"


def test_an_empty_selection_is_a_clear_error():
    with pytest.raises(CommandError, match="no figures match"):
        call_command("synthesize", "--modality", "Ultrasound", *FAKES)


def test_a_down_backend_fails_the_command_with_its_reason():
    make_figures(1)
    with pytest.raises(CommandError, match="fake server is down"):
        call_command(
            "synthesize",
            "--sync",
            "--generator-backend",
            "tests.fixtures.fake_backends:DownBackend",
            "--verifier-backend",
            FAKE_VERIFIER,
            stdout=io.StringIO(),
        )
