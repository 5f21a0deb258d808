"""Without a final verdict an item returns to the status it had (issue 14, #5).

Items imported from a VQA set are kept with no verification; a skip or an undo
must leave them kept, never "generated, awaiting verification".
"""

from __future__ import annotations

import pytest

from review import services
from synthesis.models import ItemStatus
from tests.fixtures.builders import make_batch, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(db):
    """Kept without a verification, as the VQA importer writes it."""
    return make_item(make_batch("Imported: test-vqa"), status=ItemStatus.KEPT)


def _decide(item, reviewer, decision: str):
    return services.decide(
        item=item, reviewer=reviewer, decision=decision, seconds_spent=1, item_version=1
    )


def test_a_skip_leaves_an_imported_item_kept(imported, reviewer_user):
    _decide(imported, reviewer_user, "skip")
    imported.refresh_from_db()
    assert imported.status == ItemStatus.KEPT


def test_undo_returns_an_imported_item_to_kept(imported, reviewer_user):
    _decide(imported, reviewer_user, "accept")
    imported.refresh_from_db()
    assert imported.status == ItemStatus.ACCEPTED
    services.undo_last(reviewer=reviewer_user)
    imported.refresh_from_db()
    assert imported.status == ItemStatus.KEPT


def test_skip_then_undo_keeps_the_imported_item_kept(imported, reviewer_user):
    _decide(imported, reviewer_user, "skip")
    services.undo_last(reviewer=reviewer_user)
    imported.refresh_from_db()
    assert imported.status == ItemStatus.KEPT
