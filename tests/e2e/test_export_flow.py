"""An admin exports a curated dataset from the browser; a real worker writes it."""

from __future__ import annotations

import pytest

from tests.fixtures.builders import PASSWORD, make_accepted_item
from tests.fixtures.services import celery_worker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_admin_exports_from_the_browser(page, live_server, login, admin_user):
    for paper in range(6):
        make_accepted_item(document=f"PMC{paper:06d}", image_seed=paper)
    with celery_worker(queues="default"):
        login("alice", PASSWORD)
        page.click("#main-nav a:has-text('Exports')")
        page.fill("#id_name", "Browser export")
        page.check("input[name=formats][value=verl]")
        page.fill("#id_ratios", "0.5,0.25,0.25")
        page.click("button:has-text('Start export')")
        page.wait_for_selector("h1:has-text('Browser export')")
        # htmx polls the status card until the worker is done.
        page.wait_for_selector(
            "#export-status:has-text('Status: Done')", timeout=60_000
        )
        page.reload()
    assert "6 items" in page.inner_text("#export-status")
    files = page.inner_text("#export-files")
    assert "data/train-00000.parquet" in files and "verl/" in files
    assert "No eval set was given." in page.inner_text("#contamination")
    with page.expect_download() as download:
        page.click("#export-files a:has-text('README.md')")
    card = download.value.path().read_text()
    assert "## License and attribution" in card and "| PMC000000 |" in card
