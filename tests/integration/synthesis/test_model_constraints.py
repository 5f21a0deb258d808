"""The database itself refuses rows that would corrupt the dataset."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from synthesis.models import Figure, Item, ItemFigure, Verification
from tests.fixtures.builders import make_batch, make_document, make_figure, make_item

pytestmark = pytest.mark.django_db


def refused(action) -> bool:
    try:
        with transaction.atomic():
            action()
    except IntegrityError:
        return True
    return False


def test_answer_must_be_a_letter_a_to_e():
    item = make_item()
    assert refused(lambda: Item.objects.filter(pk=item.pk).update(answer="F"))
    assert not refused(lambda: Item.objects.filter(pk=item.pk).update(answer="E"))


def test_one_item_per_figure_group_and_sample():
    item = make_item()
    assert refused(
        lambda: make_item(
            batch=item.batch, figures=[item.figures.first()], sample_index=0
        )
    )
    # A second sample of the same group is fine.
    make_item(batch=item.batch, figures=[item.figures.first()], sample_index=1)


def test_figure_bytes_are_unique_by_sha256():
    figure = make_figure()
    assert refused(
        lambda: Figure.objects.create(
            document=figure.document,
            image=figure.image.name,
            width=10,
            height=10,
            sha256=figure.sha256,
            phash="0" * 16,
            caption="dup",
            group_key="g",
        )
    )


def test_sha256_must_be_hex():
    figure = make_figure()
    assert refused(
        lambda: Figure.objects.filter(pk=figure.pk).update(sha256="not-a-hash")
    )


def test_figure_positions_are_unique_within_an_item():
    item = make_item()
    other = make_figure(color=(1, 2, 3))
    assert refused(
        lambda: ItemFigure.objects.create(item=item, figure=other, position=0)
    )


def test_verification_score_is_bounded_and_unique_per_verifier():
    item = make_item()
    assert refused(
        lambda: Verification.objects.create(
            item=item, verifier_model="m", rubric_version="v1", normalized_score=1.5
        )
    )
    Verification.objects.create(
        item=item, verifier_model="m", rubric_version="v1", normalized_score=0.5
    )
    assert refused(
        lambda: Verification.objects.create(
            item=item, verifier_model="m", rubric_version="v1"
        )
    )


def test_a_kept_verification_must_have_passed_every_gate():
    item = make_item()
    assert refused(
        lambda: Verification.objects.create(
            item=item,
            verifier_model="m",
            rubric_version="v1",
            kept=True,
            essentials_passed=False,
        )
    )


def test_document_year_and_id_are_checked():
    assert refused(lambda: make_document("PMC1", year=1066))
    assert refused(lambda: make_document(""))


def test_batch_cannot_finish_before_it_starts():
    from django.utils import timezone

    now = timezone.now()
    assert refused(
        lambda: make_batch(
            started_at=now, finished_at=now - timezone.timedelta(minutes=1)
        )
    )
