"""An admin evaluates the demo model on an export's test split from the
browser, watches it finish, reads the results and compares two runs."""

from __future__ import annotations

import pytest

from review.export import services as exports
from tests.fixtures.builders import PASSWORD, make_accepted_item
from tests.fixtures.services import celery_worker

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def _launch(page, *, name: str, endpoint: str, export_label: str) -> None:
    page.click("#main-nav a:has-text('Evaluation')")
    page.click("#launch-evaluation")
    page.fill("#id_name", name)
    page.select_option("#id_endpoint", endpoint)
    page.select_option("#id_export", label=export_label)
    page.select_option("#id_split", "test")
    page.fill("#id_max_tokens", "12")
    page.click("button:has-text('Start evaluation')")
    page.wait_for_selector(f"h1:has-text('{name}')")
    # htmx refreshes the progress card until the worker is done.
    page.wait_for_selector("#run-status:has-text('Completed')", timeout=120_000)


def test_admin_evaluates_on_an_export_split_and_compares_runs(
    page, live_server, login, admin_user, settings, demo_model_dir
):
    for paper in range(8):
        make_accepted_item(document=f"PMC{paper:06d}", image_seed=paper)
    export = exports.create_export(
        created_by=admin_user,
        name="Eval export",
        settings={"ratios": [0.5, 0.25, 0.25], "formats": ["hf"]},
        enqueue=None,
    )
    export = exports.run_export(export_id=export.pk)
    tested = export.manifest["splits"]["test"]["items"]
    assert tested > 0
    env = {"MEDSYN_DEMO_MODEL_DIR": str(demo_model_dir)}
    with celery_worker(extra_env=env) as (_, queue):
        settings.MEDSYN_EVALUATION_QUEUE = queue
        login("alice", PASSWORD)
        _launch(page, name="Demo on test", endpoint="demo", export_label="Eval export")
        assert page.inner_text("#items-done") == str(tested)
        # Results and predictions arrived with the poll that saw Completed.
        assert "Wilson 95% interval" in page.inner_text("#results")
        assert "random weights" in page.content()
        assert page.locator("#predictions tbody tr").count() == tested
        _launch(
            page,
            name="Fake on test",
            endpoint="fake-answerer",
            export_label="Eval export",
        )
    page.click("#main-nav a:has-text('Evaluation')")
    table = page.inner_text("#runs-table")
    assert "demo" in table and "fake-answerer" in table
    page.click("text=Compare two runs")
    page.select_option("#id_first", label="Demo on test (Completed)")
    page.select_option("#id_second", label="Fake on test (Completed)")
    page.click("button:has-text('Compare')")
    comparison = page.inner_text("#comparison")
    assert f"On {tested} items both answered" in comparison
    assert "McNemar exact p" in comparison
