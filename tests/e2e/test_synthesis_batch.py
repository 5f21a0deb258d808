"""An admin launches a batch in the browser and watches it finish, live."""

from __future__ import annotations

import pytest

from synthesis.models import Batch, BatchStatus, Item, Verification
from tests.e2e.artifacts import screenshot
from tests.fixtures.builders import PASSWORD, make_document, make_figure, make_figures
from tests.fixtures.services import celery_worker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_admin_launches_a_batch_and_watches_it_complete(
    page, live_server, login, admin_user, settings
):
    make_figures(4)
    with celery_worker() as (_, queue):
        settings.MEDSYN_SYNTHESIS_QUEUE = queue
        login("alice", PASSWORD)
        page.click("#main-nav a:has-text('Batches')")
        page.click("text=Launch a batch")
        page.fill("#id_name", "Browser batch")
        page.select_option("#id_generator_endpoint", "fake-generator")
        page.select_option("#id_verifier_endpoint", "fake-verifier")
        page.fill("#id_chunk_size", "1")
        page.fill("#id_items_per_group", "2")
        page.click("button:has-text('Launch')")
        page.wait_for_selector("h1:has-text('Browser batch')")
        url = page.url
        # The progress panel refreshes itself through htmx; no reload here.
        page.wait_for_selector("#batch-status:has-text('Completed')", timeout=60_000)
        assert page.url == url
        assert page.inner_text("#items-generated") == "8"
        assert page.inner_text("#items-kept") == "8"
        assert page.locator("#cancel-batch").count() == 0
        # Settled in place: re-runs are offered and the "queued" banner is gone.
        page.wait_for_selector("#rerun-form")
        assert page.inner_text("#messages").strip() == ""

        # Verify two items again with another verifier, from the same page.
        chosen = list(Item.objects.order_by("pk").values_list("pk", flat=True)[:2])
        page.check("input[name=what][value=chosen_items]")
        page.fill("#id_item_ids", ", ".join(map(str, chosen)))
        page.select_option("#id_verifier_endpoint", "fake-verifier-garbage")
        page.click("#launch-rerun")
        page.wait_for_selector("#rerun-notice:has-text('Re-run queued.')")
        page.wait_for_selector("#rerun-list .badge:has-text('Done')", timeout=60_000)
        assert page.url == url
        row = page.inner_text("#rerun-list tbody tr")
        assert "fake-verifier-garbage" in row and "alice" in row
    for pk in chosen:
        assert Verification.objects.filter(item_id=pk).count() == 2
    assert Item.objects.filter(status="dropped").count() == 2


def test_launch_form_counts_groups_live_and_cancel_asks_first(
    page, live_server, login, admin_user, settings
):
    settings.MEDSYN_SYNTHESIS_QUEUE = "e2e-no-worker"
    make_figures(3, modality="CT")
    other = make_document("PMC000002", title="Knee imaging")
    for i in range(2):
        make_figure(other, color=(200, i, 9), modality="MR")
    login("alice", PASSWORD)
    page.goto(f"{live_server.url}/synthesis/batches/new/")
    page.wait_for_selector("#match-count:has-text('5')")
    page.select_option("#id_modality", "MR")
    page.wait_for_selector("#match-count:has-text('2')")
    page.select_option("#id_modality", "")
    page.fill("#id_document", "knee")
    option = "#document-options option[value=PMC000002]"
    page.wait_for_selector(option, state="attached")
    page.fill("#id_document", "PMC000002")
    page.wait_for_selector("#match-count:has-text('2')")
    assert "random weights" in page.inner_text("#launch-form")
    screenshot(page, "batch-launch-count")
    page.fill("#id_name", "To cancel")
    page.select_option("#id_generator_endpoint", "fake-generator")
    page.select_option("#id_verifier_endpoint", "fake-verifier")
    page.click("button:has-text('Launch')")
    page.wait_for_selector("h1:has-text('To cancel')")
    batch = Batch.objects.get(name="To cancel")
    assert batch.figure_groups_total == 2
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#cancel-batch")
    page.wait_for_timeout(500)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.QUEUED
    messages = []

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("#cancel-batch")
    page.wait_for_selector("#batch-status:has-text('Cancelled')")
    assert messages and messages[0].startswith("Cancel batch “To cancel”?")
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.CANCELLED
