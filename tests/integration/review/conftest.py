from __future__ import annotations

import pytest

from tests.fixtures.builders import make_batch, make_reviewable_item


@pytest.fixture
def batch(db):
    return make_batch("Review batch")


@pytest.fixture
def item(batch):
    return make_reviewable_item(batch)
