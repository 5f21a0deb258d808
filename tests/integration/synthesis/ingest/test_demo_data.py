"""The shipped demo set imports cleanly, links items to captioned figures, and
can be loaded again without creating anything."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from synthesis.models import BatchKind, Document, Figure, Item, ItemStatus

pytestmark = pytest.mark.django_db


def load() -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_demo_data", stdout=out, stderr=err)
    assert err.getvalue() == "", "the demo set must import without refusals"
    return out.getvalue()


def test_demo_set_imports_figures_with_captions_mentions_and_items():
    assert "created 2 documents, 5 figures, 6 items" in load()
    assert set(Document.objects.values_list("license_family", flat=True)) == {"cc0"}
    for figure in Figure.objects.all():
        assert figure.caption and figure.mentions, figure
    panels = Figure.objects.filter(document__source_id="publisher:MEDSYN-DEMO-1")
    assert panels.filter(label="Figure 2").values("group_key").distinct().count() == 1
    radiograph = panels.get(label="Figure 1")
    assert any("Figs. 1–2" in mention for mention in radiograph.mentions)
    items = Item.objects.all()
    assert {item.batch.kind for item in items} == {BatchKind.IMPORTED}
    assert {item.status for item in items} == {ItemStatus.KEPT}
    ct_item = items.get(question__contains="posterior right lower lobe")
    assert [f.label for f in ct_item.figures.all()] == ["Figure 2", "Figure 2"]


def test_loading_twice_creates_nothing_new():
    load()
    counts = (Document.objects.count(), Figure.objects.count(), Item.objects.count())
    assert "created 0 documents, 0 figures, 0 items" in load()
    assert counts == (
        Document.objects.count(),
        Figure.objects.count(),
        Item.objects.count(),
    )
