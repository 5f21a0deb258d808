"""A real worker takes the export task from the broker and finishes the export."""

from __future__ import annotations

import pytest

from review.export import services, tasks
from review.models import Export
from tests.fixtures.builders import make_accepted_item
from tests.fixtures.services import celery_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_worker_runs_the_export_task(admin_user):
    for paper in range(4):
        make_accepted_item(document=f"PMC{paper:06d}", image_seed=paper)
    export = services.create_export(
        created_by=admin_user, name="Worker", settings={}, enqueue=None
    )
    with celery_worker() as (_, queue):
        tasks.run_export.apply_async(args=[export.pk], queue=queue)
        wait_for(
            lambda: Export.objects.get(pk=export.pk).status in {"done", "failed"},
            timeout=60,
            message="the worker never finished the export",
        )
    export.refresh_from_db()
    assert export.status == "done", export.error
    assert export.item_count == 4
    assert services.export_path(export).joinpath("manifest.json").is_file()
