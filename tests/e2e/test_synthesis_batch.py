"""An admin launches a batch in the browser and watches it finish, live."""

from __future__ import annotations

import pytest

from tests.fixtures.builders import PASSWORD, make_figures
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
