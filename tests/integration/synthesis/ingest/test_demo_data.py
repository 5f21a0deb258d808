"""The shipped demo set imports cleanly, links items to captioned figures, and
can be loaded again without creating anything."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from synthesis.ingest.demo_verdicts import DEMO_VERIFIER
from synthesis.models import (
    BatchKind,
    Document,
    Figure,
    Item,
    ItemStatus,
    Verification,
)
from synthesis.rubric import RUBRIC_V1
from tests.fixtures.builders import make_user

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
    # Hand-written verdicts: some kept, one failing a gate (dropped).
    assert {item.status for item in items} == {ItemStatus.KEPT, ItemStatus.DROPPED}
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


def test_demo_items_carry_hand_written_verdicts_some_kept_some_failing_a_gate():
    assert "6 hand-written verdicts" in load()
    verdicts = Verification.objects.select_related("item")
    assert verdicts.count() == 6
    assert {v.verifier_model for v in verdicts} == {DEMO_VERIFIER}
    assert "written by hand" in DEMO_VERIFIER
    kept = [v for v in verdicts if v.kept]
    assert 2 <= len(kept) < 6
    for verdict in verdicts:
        assert len(verdict.criteria) == len(RUBRIC_V1.criteria)
        assert all(row["reason"] for row in verdict.criteria), verdict.item
        assert verdict.item.status == (
            ItemStatus.KEPT if verdict.kept else ItemStatus.DROPPED
        )
    leak = verdicts.get(item__question__contains="gallbladder")
    assert not leak.essentials_passed
    failed = [r for r in leak.criteria if r["title"] == "Diagnosis Leak"][0]
    assert failed["score"] == 0 and "acoustic shadowing" in failed["reason"]


def test_loading_again_never_duplicates_or_reverts_an_edited_item():
    from review import services

    load()
    reviewer = make_user("rita")
    item = Item.objects.get(question__contains="frontal chest radiograph")
    services.edit_item(
        item=item,
        author=reviewer,
        question="Which zone holds the focal opacity on this radiograph?",
        options=item.options,
        answer=item.answer,
        item_version=item.version,
    )
    item.refresh_from_db()
    assert item.status == ItemStatus.ACCEPTED
    out = load()
    assert "created 0 documents, 0 figures, 0 items, 0 hand-written verdicts" in out
    assert Item.objects.count() == 6
    item.refresh_from_db()
    assert item.question.startswith("Which zone holds")
    assert (item.status, item.version) == (ItemStatus.ACCEPTED, 2)
    assert not Item.objects.filter(question__contains="frontal chest radiograph")
