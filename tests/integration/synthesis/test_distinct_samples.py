"""Several items per figure group are sampled, not greedy (issue 16, item 4)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from synthesis import batch_config, pipeline
from synthesis.batch_config import BatchConfigError
from synthesis.models import Batch
from synthesis.parsing import ParsedItem
from tests.fixtures.builders import make_figures

pytestmark = pytest.mark.django_db

FORM = {
    "name": "x", "generator_endpoint": "fake-generator",
    "verifier_endpoint": "fake-verifier",
    "top_p": "1", "max_tokens": "256", "seed": "1",
    "min_score": "0.967", "chunk_size": "4",
}  # fmt: skip


def test_several_items_per_group_default_to_a_warm_temperature():
    config = batch_config.resolve({"items_per_group": 3})
    assert config["sampling"]["temperature"] == 0.7
    assert batch_config.resolve({})["sampling"]["temperature"] == 0.0
    chosen = batch_config.resolve(
        {"items_per_group": 3, "sampling": {"temperature": 0.3}}
    )
    assert chosen["sampling"]["temperature"] == 0.3


def test_greedy_decoding_with_several_items_per_group_is_refused_by_name():
    with pytest.raises(BatchConfigError) as refused:
        batch_config.resolve({"items_per_group": 2, "sampling": {"temperature": 0}})
    assert refused.value.field == "config.sampling.temperature"
    assert "sampling.temperature must be above 0 with items_per_group=2" in str(
        refused.value
    )


def test_the_form_leaves_the_temperature_to_the_service(admin_client):
    make_figures(1)
    form = FORM | {"items_per_group": "3", "temperature": ""}
    admin_client.post(reverse("synthesis:batch_launch"), form)
    assert Batch.objects.get().config["sampling"]["temperature"] == 0.7


def test_the_form_shows_the_refusal_on_the_temperature_field(admin_client):
    make_figures(1)
    form = FORM | {"items_per_group": "3", "temperature": "0"}
    response = admin_client.post(reverse("synthesis:batch_launch"), form)
    assert response.status_code == 200 and not Batch.objects.exists()
    errors = response.context["form"].errors["temperature"]
    assert "must be above 0 with items_per_group=3" in errors[0]


def _generated(sample: int, question: str, options: dict, key: str = "g"):
    group = pipeline.Group(key, (pipeline.FigureText("a caption"),))
    item = ParsedItem(question, options, "A")
    return pipeline.Generated(pipeline.Unit(group, sample), "{}", item=item)


OPTIONS = {"A": "edema", "B": "nodule", "C": "fibrosis", "D": "abscess", "E": "mass"}


def test_near_identical_items_of_a_group_are_dropped_with_how_alike():
    question = "Which finding best explains the opacity in the right lower zone?"
    made = [
        _generated(0, question, OPTIONS),
        # The same item with its options shuffled and different spacing.
        _generated(
            2,
            question + " ",
            dict(zip("ABCDE", [*OPTIONS.values()][::-1], strict=True)),
        ),
        _generated(
            1, "Which structure is marked by the arrow on this axial CT?", OPTIONS
        ),
        _generated(0, question, OPTIONS, key="other-group"),
    ]
    kept, dropped = pipeline.drop_near_duplicates(made)
    assert [(g.unit.group.key, g.unit.sample_index) for g in kept] == [
        ("g", 0),
        ("g", 1),
        ("other-group", 0),
    ]
    (twin,) = dropped
    assert twin.unit.sample_index == 2 and twin.item is None
    assert twin.failure == pipeline.NEAR_DUPLICATE
    assert twin.detail.startswith("100% alike (question and options) to sample 0")
