"""An admin exports a curated dataset from the browser; a real worker writes it."""

from __future__ import annotations

import pytest

from tests.e2e.artifacts import screenshot
from tests.fixtures.builders import PASSWORD, make_accepted_item, make_document
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
    assert "6 items" in page.inner_text("#export-status")
    files = page.inner_text("#export-files")
    assert "data/train-00000.parquet" in files and "verl/" in files
    assert "No eval set was given." in page.inner_text("#contamination")
    with page.expect_download() as download:
        page.click("#export-files a:has-text('README.md')")
    card = download.value.path().read_text()
    assert "## License and attribution" in card and "| PMC000000 |" in card


def test_export_reaches_done_and_explains_itself_without_a_reload(
    page, live_server, login, admin_user
):
    """The finding: watched live until Done, the page showed only the download
    button; 5 of 8 items were left out for an unknown licence and validation
    and test came out empty, and the page said neither."""
    paper = make_document("PMC000001")
    for k in range(3):
        make_accepted_item(document=paper, image_seed=k)
    for k in range(5):
        unknown = make_document(f"PMC90000{k}", license="", license_family="unknown")
        make_accepted_item(document=unknown, image_seed=50 + k)
    with celery_worker(queues="default"):
        login("alice", PASSWORD)
        page.goto(f"{live_server.url}/exports/")
        page.fill("#id_name", "Eight accepted")
        page.click("#preview-export")
        preview = page.wait_for_selector("#preview-breakdown")
        assert "3 of 8 accepted items would be exported" in preview.inner_text()
        assert "Licence not allowed" in preview.inner_text()
        screenshot(page, "export-preview")
        page.click("button:has-text('Start export')")
        page.wait_for_selector("h1:has-text('Eight accepted')")
        assert "queued" in page.inner_text("#messages")
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        page.wait_for_selector(
            "#export-status:has-text('Status: Done')", timeout=60_000
        )
        # Everything arrives with the poll that saw Done: no reload.
        page.wait_for_selector("#export-files")
    assert navigations == []
    splits = page.inner_text("#export-splits")
    assert "3 of 8 accepted items were exported" in splits
    assert "Licence not allowed" in splits and "5" in splits
    assert "The validation and test splits are empty" in splits
    assert "manifest.json" in page.inner_text("#export-files")
    assert page.inner_text("#contamination")
    assert page.inner_text("#messages").strip() == ""  # the "queued" banner cleared
    assert page.get_attribute("#export-live", "hx-trigger") is None
    screenshot(page, "export-settled")
