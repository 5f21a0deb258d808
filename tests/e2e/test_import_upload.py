"""An admin uploads an article package and watches the import finish."""

from __future__ import annotations

import pytest

from synthesis.models import Figure
from tests.fixtures.builders import PASSWORD
from tests.fixtures.services import celery_worker
from tests.fixtures.sources import jats_files, write_tar

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_admin_uploads_a_package_and_sees_the_report(
    page, live_server, login, admin_user, tmp_path
):
    files = jats_files()
    files["PMC123456/F3.png"] = b"<html>not an image</html>"
    package = write_tar(tmp_path / "PMC123456.tar.gz", files)

    # The upload page queues on `default`; this worker takes that queue.
    with celery_worker(queues="default"):
        login("alice", PASSWORD)
        page.click("#main-nav a:has-text('Import')")
        page.set_input_files("#id_file", str(package))
        page.click("button:has-text('Start import')")
        status = page.wait_for_selector(
            "#job-status[data-status=succeeded]", timeout=60_000
        )
        text = status.inner_text()
    assert "4 figures created" in text.replace("\n", " ")
    assert "not_an_image" in text
    assert "PMC123456::F3::F3" in text
    assert Figure.objects.count() == 4
