"""Re-runs from the batch page (htmx), the API and the command line; only
admins may launch them; one runs end to end on a real Celery worker."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from medsyn_app.audit.models import AuditEvent
from synthesis import reruns, services, tasks
from synthesis.models import Batch, BatchStatus, Item, Rerun, RerunStatus
from tests.fixtures.builders import make_figures
from tests.fixtures.fake_backends import fake_config
from tests.fixtures.services import celery_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def finished_batch(n=2, **config) -> Batch:
    make_figures(n)
    batch = services.launch_batch(
        created_by=None,
        name="t",
        config=fake_config(verifier_mode="garbage", **config),
        enqueue=None,
    )
    for chunk_id in batch.chunks.values_list("pk", flat=True):
        tasks.process_chunk(chunk_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and batch.items_kept == 0
    return batch


def test_the_page_launches_a_rerun_with_htmx(admin_client, admin_user):
    batch = finished_batch()
    page = admin_client.get(reverse("synthesis:batch_detail", args=[batch.pk]))
    assert b'id="rerun-form"' in page.content
    assert b'value="fake-verifier"' in page.content  # registry names, no hosts
    response = admin_client.post(
        reverse("synthesis:batch_reruns", args=[batch.pk]),
        {"what": "failed_verifications", "verifier_endpoint": "fake-verifier"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    # The form comes back in place; the list rides along out of band and
    # polls while the re-run is queued.
    assert body.lstrip().startswith('<section id="rerun-panel"')
    assert "Re-run queued." in body
    assert 'id="batch-reruns" class="card" hx-swap-oob="true"' in body
    assert "every 2s" in body
    rerun = Rerun.objects.get()
    assert (rerun.created_by, rerun.targets, rerun.status) == (
        admin_user,
        2,
        RerunStatus.QUEUED,
    )
    assert f'id="rerun-{rerun.pk}"' in body
    polled = admin_client.get(
        reverse("synthesis:batch_reruns", args=[batch.pk]),
        headers={"HX-Request": "true"},
    ).content.decode()
    assert polled.lstrip().startswith('<section id="batch-reruns"')
    assert "hx-swap-oob" not in polled and f'id="rerun-{rerun.pk}"' in polled


def test_the_page_shows_a_refused_choice_next_to_its_field(admin_client):
    batch = finished_batch()
    response = admin_client.post(
        reverse("synthesis:batch_reruns", args=[batch.pk]),
        {"what": "chosen_items", "item_ids": "12, abc"},
    )
    assert response.status_code == 400
    assert b"Item ids are whole numbers." in response.content
    response = admin_client.post(
        reverse("synthesis:batch_reruns", args=[batch.pk]),
        {"what": "chosen_items", "item_ids": "999999"},
        headers={"HX-Request": "true"},
    )
    assert b"not items of batch" in response.content
    assert not Rerun.objects.exists()


def test_reviewers_may_not_rerun(reviewer_client):
    batch = finished_batch(n=1)
    page = reviewer_client.post(
        reverse("synthesis:batch_reruns", args=[batch.pk]),
        {"what": "failed_verifications"},
    )
    api = reviewer_client.post(
        reverse("synthesis:api_batch_reruns", args=[batch.pk]),
        {"what": "failed_verifications"},
        content_type="application/json",
    )
    assert (page.status_code, api.status_code) == (403, 403)
    assert not Rerun.objects.exists()


def test_the_api_launches_lists_and_refuses(admin_client):
    batch = finished_batch()
    url = reverse("synthesis:api_batch_reruns", args=[batch.pk])
    item = Item.objects.first()
    created = admin_client.post(
        url,
        {"what": "chosen_items", "item_ids": [item.pk], "rubric_version": "v1"},
        content_type="application/json",
    )
    assert created.status_code == 202
    assert created.json()["item_ids"] == [item.pk]
    assert created.json()["verifier_endpoint"] == "fake-verifier-garbage"
    assert created.json()["created_by"] == "alice"
    assert [r["id"] for r in admin_client.get(url).json()] == [created.json()["id"]]

    unknown = admin_client.post(
        url,
        {"what": "failed_verifications", "verifier_endpoint": "http://evil:80"},
        content_type="application/json",
    )
    assert unknown.status_code == 400
    assert "verifier_endpoint" in unknown.json()
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    busy = admin_client.post(
        url, {"what": "failed_verifications"}, content_type="application/json"
    )
    assert busy.status_code == 409 and "is running" in busy.json()["detail"]
    missing = reverse("synthesis:api_batch_reruns", args=[batch.pk + 1000])
    assert admin_client.get(missing).status_code == 404


def test_the_command_reruns_and_names_who(admin_user, capsys):
    batch = finished_batch()
    call_command(
        "rerun",
        str(batch.pk),
        "--failed-verifications",
        "--verifier-endpoint",
        "fake-verifier",
        "--by",
        "alice",
        "--sync",
    )
    assert "Done: 2 verified, 2 kept" in capsys.readouterr().out
    assert AuditEvent.objects.get(action="batch.rerun").actor == admin_user
    batch.refresh_from_db()
    assert batch.items_kept == 2
    with pytest.raises(CommandError, match="verifier-endpoint"):
        call_command("rerun", str(batch.pk), "--items", "1", "--verifier-endpoint", "x")


@pytest.mark.slow
def test_a_rerun_runs_on_a_real_worker(admin_user):
    with celery_worker() as (_, queue):
        batch = finished_batch(n=3, queue=queue)
        rerun = reruns.launch(
            batch_id=batch.pk,
            created_by=admin_user,
            what=reruns.FAILED_VERIFICATIONS,
            verifier_endpoint="fake-verifier",
            enqueue=tasks.send_rerun,
        )
        wait_for(
            lambda: Rerun.objects.get(pk=rerun.pk).is_finished,
            timeout=60,
            message="the worker never finished the re-run",
        )
    rerun.refresh_from_db()
    assert (rerun.status, rerun.items_verified, rerun.items_kept) == (
        RerunStatus.DONE,
        3,
        3,
    )
    batch.refresh_from_db()
    assert batch.items_kept == 3
    for item in Item.objects.filter(batch=batch):
        assert item.verifications.count() == 2 and item.status == "kept"
