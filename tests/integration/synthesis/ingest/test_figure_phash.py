"""Every figure carries imagehash's pHash: computed at import, backfilled once.

The dHash in `Figure.phash` is what split grouping compares; it stays as it
was, so adding the pHash moves no item between splits.
"""

from __future__ import annotations

import imagehash
import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from PIL import Image

from synthesis.ingest import importing
from synthesis.models import Figure
from tests.fixtures.builders import patterned_png
from tests.integration.synthesis.ingest.test_import_folder import ROWS, folder

BEFORE = [("synthesis", "0006_figure_dct_phash")]
AFTER = [("synthesis", "0007_backfill_figure_dct_phash")]


def _phash_of_stored(figure) -> str:
    with figure.image.open("rb") as handle, Image.open(handle) as image:
        return str(imagehash.phash(image))


@pytest.mark.django_db
def test_import_stores_the_phash_beside_the_dhash(tmp_path):
    importing.import_path(
        path=folder(tmp_path, ROWS), options=importing.ImportOptions()
    )
    figures = list(Figure.objects.all())
    assert len(figures) == 2
    for figure in figures:
        assert len(figure.dct_phash) == 16
        assert figure.dct_phash == _phash_of_stored(figure)
        assert figure.phash != figure.dct_phash  # two different hashes


@pytest.mark.django_db(transaction=True)
def test_backfill_hashes_figures_imported_before_the_field():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    try:
        document = apps.get_model("synthesis", "Document").objects.create(
            source_id="PMC1", source_kind="jats"
        )
        figure_model = apps.get_model("synthesis", "Figure")
        data = patterned_png(7)
        old = figure_model(
            document=document,
            width=48,
            height=40,
            sha256="a" * 64,
            phash="0123456789abcdef",
            caption="c",
            group_key="g",
        )
        old.image.save("old.png", ContentFile(data), save=False)
        old.save()
        lost = figure_model.objects.create(
            document=document,
            image="figures/missing.png",
            width=1,
            height=1,
            sha256="b" * 64,
            phash="0" * 16,
            caption="c",
            group_key="h",
        )
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        backfilled = Figure.objects.get(pk=old.pk)
        assert backfilled.dct_phash == _phash_of_stored(backfilled)
        assert backfilled.phash == "0123456789abcdef"  # the dHash is untouched
        assert Figure.objects.get(pk=lost.pk).dct_phash == ""
    finally:
        MigrationExecutor(connection).migrate(
            MigrationExecutor(connection).loader.graph.leaf_nodes()
        )
