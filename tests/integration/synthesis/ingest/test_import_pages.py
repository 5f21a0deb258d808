"""The admin upload page, the job page with its htmx status, the API, the image."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from synthesis.ingest import services, tasks
from synthesis.models import Figure, ImportJob, ImportJobStatus
from tests.fixtures.builders import make_figure
from tests.fixtures.sources import jats_files, write_tar

pytestmark = pytest.mark.django_db


def package(tmp_path) -> SimpleUploadedFile:
    path = write_tar(tmp_path / "PMC123456.tar.gz", jats_files())
    return SimpleUploadedFile("PMC123456.tar.gz", path.read_bytes())


def make_job(tmp_path, **fields) -> ImportJob:
    fields.setdefault("source_path", "uploads/x.tar.gz")
    return ImportJob.objects.create(**fields)


PAGES = ["imports:upload", "imports:job"]


def url(name: str, tmp_path) -> str:
    if name == "imports:job":
        return reverse(name, args=[make_job(tmp_path).pk])
    return reverse(name)


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_are_sent_to_login(client, name, tmp_path):
    response = client.get(url(name, tmp_path))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize(
    ("persona", "status"), [("outsider", 403), ("reviewer", 403), ("admin", 200)]
)
def test_only_admins_see_import_pages(request, name, persona, status, tmp_path):
    client = request.getfixturevalue(f"{persona}_client")
    assert client.get(url(name, tmp_path)).status_code == status


def test_upload_queues_a_job_that_the_task_runs(
    admin_client, tmp_path, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(
            reverse("imports:upload"),
            {
                "file": package(tmp_path),
                "min_caption_chars": 1,
                "min_image_side": 1,
                "group_identical_captions": "on",
            },
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:job", args=[job.pk])
    assert len(queued) == 1, "the task is enqueued once the job row is committed"
    stored = settings.MEDIA_ROOT / job.source_path
    assert stored.is_file() and stored.parent == settings.MEDIA_ROOT / "uploads"
    assert job.original_name == "PMC123456.tar.gz"

    tasks.run_import_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJobStatus.SUCCEEDED
    assert job.report["figures_created"] == 5
    tasks.run_import_job(job.pk)  # a second delivery changes nothing
    assert Figure.objects.count() == 5

    page = admin_client.get(reverse("imports:job", args=[job.pk]))
    assert b"figures created" in page.content
    assert b"hx-trigger" not in page.content


def test_upload_with_a_disallowed_file_type_is_refused(admin_client):
    upload = SimpleUploadedFile("evil.html", b"<script>alert(1)</script>")
    response = admin_client.post(
        reverse("imports:upload"),
        {"file": upload, "min_caption_chars": 1, "min_image_side": 1},
    )
    assert response.status_code == 200
    assert b"upload a .tar.gz" in response.content
    assert not ImportJob.objects.exists()


def test_running_job_polls_and_finished_job_shows_reasons(admin_client, tmp_path):
    job = make_job(tmp_path, status=ImportJobStatus.RUNNING, records_seen=7)
    url = reverse("imports:job", args=[job.pk])
    partial = admin_client.get(url, headers={"HX-Request": "true"})
    assert b"<html" not in partial.content
    assert b'hx-trigger="every 1s"' in partial.content
    assert b"7 records read" in partial.content

    job.status = ImportJobStatus.SUCCEEDED
    job.report = {
        "records_seen": 9,
        "skipped_total": 2,
        "skipped": {"decompression_bomb": 2},
        "examples": {"decompression_bomb": [{"source": "s.tar::x", "detail": "big"}]},
    }
    job.save()
    done = admin_client.get(url, headers={"HX-Request": "true"})
    assert b"hx-trigger" not in done.content
    assert b"decompression_bomb" in done.content
    assert b"s.tar::x" in done.content


def test_job_that_fails_records_the_error(tmp_path):
    job = make_job(tmp_path, source_format="vqa", source_path="uploads/missing.jsonl")
    services.run_import(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJobStatus.FAILED
    assert "missing.jsonl" in job.error


def test_figure_image_is_served_to_admins_with_nosniff(admin_client):
    figure = make_figure()
    response = admin_client.get(reverse("imports:figure-image", args=[figure.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


# Reviewers get figures through the review route, which checks the item is theirs.
@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 302), ("outsider", 403), ("reviewer", 403)],
)
def test_figure_image_is_not_served_to_others(request, client, persona, status):
    figure = make_figure()
    if persona != "anonymous":
        client = request.getfixturevalue(f"{persona}_client")
    response = client.get(reverse("imports:figure-image", args=[figure.pk]))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 403), ("outsider", 403), ("reviewer", 403), ("admin", 201)],
)
def test_api_starts_imports_for_admins_only(
    request, client, persona, status, tmp_path, django_capture_on_commit_callbacks
):
    if persona != "anonymous":
        client = request.getfixturevalue(f"{persona}_client")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("imports-api:list"),
            {"file": package(tmp_path), "modalities": ["CT"]},
        )
    assert response.status_code == status
    assert ImportJob.objects.count() == (1 if status == 201 else 0)
    if status == 201:
        assert response.json()["options"]["modalities"] == ["CT"]
        assert response.json()["status"] == "queued"


def test_api_does_not_show_jobs_to_reviewers(reviewer_client, tmp_path):
    job = make_job(tmp_path)
    url = reverse("imports-api:detail", args=[job.pk])
    assert reviewer_client.get(url).status_code == 403


def test_api_reads_a_job(admin_client, tmp_path):
    job = make_job(tmp_path, status=ImportJobStatus.SUCCEEDED, report={"x": 1})
    body = admin_client.get(reverse("imports-api:detail", args=[job.pk])).json()
    assert (body["status"], body["report"]) == ("succeeded", {"x": 1})


def test_api_refuses_a_bad_file_type(admin_client):
    upload = SimpleUploadedFile("x.exe", b"MZ")
    response = admin_client.post(reverse("imports-api:list"), {"file": upload})
    assert response.status_code == 400
    assert "file" in response.json()


def test_an_import_is_recorded_when_started_and_when_it_ends(
    admin_client, admin_user, tmp_path, settings, django_capture_on_commit_callbacks
):
    from medsyn_app.audit.models import AuditEvent

    settings.MEDIA_ROOT = tmp_path / "media"
    archive = write_tar(tmp_path / "PMC1.tar.gz", jats_files()).read_bytes()
    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(
            reverse("imports:upload"),
            {
                "file": SimpleUploadedFile("PMC1.tar.gz", archive),
                "min_caption_chars": 1,
                "min_image_side": 1,
            },
        )
    job = ImportJob.objects.get()
    services.run_import(job_id=job.pk)
    events = AuditEvent.objects.filter(object_type="synthesis.importjob").order_by("id")
    assert [(e.action, e.actor_username) for e in events] == [
        ("import.start", "alice"),
        ("import.succeeded", ""),
    ]
    assert events[0].after["file"] == "PMC1.tar.gz"
    assert events[1].after["figures_created"] >= 1
