"""A small curated corpus: papers, a shared figure, items in every state."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from review.export import services
from tests.fixtures.builders import (
    make_accepted_item,
    make_document,
    make_image_figure,
    make_user,
    patterned_png,
)


@pytest.fixture
def second_reviewer(db):
    return make_user("dora", role="reviewer")


@pytest.fixture
def corpus(admin_user, second_reviewer):
    """12 papers × 2 accepted items, plus two papers sharing one image."""
    items = []
    modalities = ["CT", "MR", "X-Ray"]
    for paper in range(12):
        doc = make_document(f"PMC{paper:06d}", title=f"Paper {paper} | a title")
        for k in range(2):
            items.append(
                make_accepted_item(
                    document=doc,
                    image_seed=paper * 10 + k,
                    modality=modalities[paper % 3],
                    answer="ABCDE"[(paper + k) % 5],
                    reviewers=[admin_user, second_reviewer],
                    score=0.5 + paper / 40,
                )
            )
    shared = make_image_figure(
        make_document("PMC100000"), data=patterned_png(999), modality="CT"
    )
    items.append(make_accepted_item(document="PMC100000", figures=[shared]))
    other = make_document("PMC100001")
    items.append(make_accepted_item(document=other, figures=[shared]))
    return items


def run(user, name: str = "Curated", **settings_):
    export = services.create_export(
        created_by=user, name=name, settings=settings_, enqueue=None
    )
    return services.run_export(export_id=export.pk)


def export_root(export) -> Path:
    return Path(settings.MEDIA_ROOT) / export.output_dir
