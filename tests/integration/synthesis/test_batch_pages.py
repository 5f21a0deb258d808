"""The batch pages: who may see them, launching, live progress, cancel/resume."""

from __future__ import annotations

import pytest
from django.urls import reverse

from synthesis import services
from synthesis.models import Batch, BatchStatus, GenerationFailure
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_backends import fake_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch():
    make_figures(3)
    return services.launch_batch(
        created_by=None, name="Chest CT run", config=fake_config(), enqueue=None
    )


def pages(batch):
    return [
        ("get", reverse("synthesis:batch_list")),
        ("get", reverse("synthesis:batch_launch")),
        ("get", reverse("synthesis:batch_detail", args=[batch.pk])),
        ("post", reverse("synthesis:batch_cancel", args=[batch.pk])),
        ("post", reverse("synthesis:batch_resume", args=[batch.pk])),
    ]


def test_anonymous_users_are_sent_to_login(client, batch):
    for method, url in pages(batch):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"]


@pytest.mark.parametrize("persona", ["outsider", "reviewer"])
def test_non_admins_are_refused_and_change_nothing(request, persona, batch):
    client = request.getfixturevalue(f"{persona}_client")
    for method, url in pages(batch):
        assert getattr(client, method)(url).status_code == 403, url
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.QUEUED


def test_admin_sees_every_page_and_the_nav_link(admin_client, batch):
    for _method, url in pages(batch)[:3]:
        assert admin_client.get(url).status_code == 200, url
    listing = admin_client.get(reverse("synthesis:batch_list")).content.decode()
    assert "Chest CT run" in listing
    assert f'href="{reverse("synthesis:batch_list")}">Batches</a>' in listing


def test_reviewers_get_no_batches_link(reviewer_client):
    page = reviewer_client.get(reverse("home")).content.decode()
    assert reverse("synthesis:batch_list") not in page


def test_launch_form_creates_a_batch_and_queues_it_on_commit(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    make_figures(4)
    form = {
        "name": "From the browser", "modality": "CT", "document": "", "sample": "3",
        "generator_endpoint": "fake-generator-prose",
        "verifier_endpoint": "fake-verifier",
        "temperature": "0.7", "top_p": "0.9", "max_tokens": "512", "seed": "7",
        "items_per_group": "2", "min_score": "0.9", "chunk_size": "2",
    }  # fmt: skip
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(reverse("synthesis:batch_launch"), form)
    batch = Batch.objects.get(name="From the browser")
    assert response.status_code == 302
    assert response["Location"] == reverse("synthesis:batch_detail", args=[batch.pk])
    assert len(callbacks) == 1  # the chunks go to the queue only after commit
    assert batch.created_by == admin_user and batch.figure_groups_total == 3
    assert batch.config["sampling"] == {
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 512,
        "seed": 7,
    }
    assert batch.config["generator"]["endpoint"] == "fake-generator-prose"
    assert batch.config["generator"]["model"] == "fake-generator"
    assert batch.config["items_per_group"] == 2
    assert batch.config["keep_rule"] == {"min_score": 0.9}
    assert batch.config["figure_filter"] == {"modality": "CT", "sample": 3}


def test_launch_form_shows_a_clear_error_and_writes_nothing(admin_client):
    form = LAUNCH_DEFAULTS | {"modality": "Ultrasound"}
    response = admin_client.post(reverse("synthesis:batch_launch"), form)
    assert response.status_code == 200
    assert "no figures match this selection" in response.content.decode()
    assert not Batch.objects.exists()


def test_launch_form_rejects_out_of_range_values(admin_client):
    make_figures(1)
    form = LAUNCH_DEFAULTS | {"min_score": "1.5", "items_per_group": "0"}
    response = admin_client.post(reverse("synthesis:batch_launch"), form)
    assert response.status_code == 200
    assert not Batch.objects.exists()


LAUNCH_DEFAULTS = {
    "name": "x", "generator_endpoint": "fake-generator",
    "verifier_endpoint": "fake-verifier",
    "temperature": "0", "top_p": "1", "max_tokens": "256", "seed": "1",
    "items_per_group": "1", "min_score": "0.967", "chunk_size": "4",
}  # fmt: skip


def test_detail_polls_while_running_and_htmx_gets_only_the_progress(
    admin_client, batch
):
    GenerationFailure.objects.create(
        batch=batch, group_key="g", reason="unparseable", raw_output="<b>x</b>"
    )
    services.refresh_batch_counters(batch_id=batch.pk)
    url = reverse("synthesis:batch_detail", args=[batch.pk])
    full = admin_client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in full and "<h1>Chest CT run</h1>" in full
    assert "unparseable" in full
    partial = admin_client.get(url, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="batch-progress"')
    assert "<h1>" not in body
    assert partial["Vary"] and "HX-Request" in partial["Vary"]


def test_cancel_then_resume_from_the_page(admin_client, batch):
    admin_client.post(reverse("synthesis:batch_cancel", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    page = admin_client.get(reverse("synthesis:batch_detail", args=[batch.pk]))
    html = page.content.decode()
    assert 'id="resume-batch"' in html and "every 2s" not in html
    admin_client.post(reverse("synthesis:batch_resume", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.QUEUED


def test_resume_of_a_running_batch_is_refused_with_a_message(admin_client, batch):
    response = admin_client.post(
        reverse("synthesis:batch_resume", args=[batch.pk]), follow=True
    )
    assert "already running" in response.content.decode()
