"""The admin export pages: who may see them, launching, downloads."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from review.models import Export
from tests.integration.review.export.conftest import run


@pytest.fixture
def finished(admin_user, corpus):
    export = run(admin_user, formats=["hf", "jsonl"])
    assert export.status == "done"
    return export


def _urls(export):
    return [
        reverse("exports:list"),
        reverse("exports:detail", args=[export.pk]),
        reverse("exports:archive", args=[export.pk]),
        reverse("exports:file", args=[export.pk, "README.md"]),
    ]


def test_anonymous_users_are_sent_to_login(client, finished):
    for url in _urls(finished):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["reviewer_client", "outsider_client"])
def test_non_admins_are_refused(request, persona, finished):
    client = request.getfixturevalue(persona)
    for url in _urls(finished):
        assert client.get(url).status_code == 403
    assert client.post(reverse("exports:list"), {"name": "x"}).status_code == 403


def test_nav_shows_exports_to_admins_only(client, admin_user, reviewer_user):
    client.force_login(admin_user)
    assert f'href="{reverse("exports:list")}"' in client.get("/").content.decode()
    client.force_login(reviewer_user)
    assert f'href="{reverse("exports:list")}"' not in client.get("/").content.decode()


def test_admin_launches_an_export_from_the_form(
    admin_client, corpus, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("exports:list"),
            {
                "name": "From the browser",
                "formats": ["hf", "verl"],
                "seed": 7,
                "ratios": "0.7,0.15,0.15",
                "min_reviews": 0,
                "rebalance_letters": "on",
            },
        )
    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:detail", args=[export.pk])
    assert len(callbacks) == 1  # the task is queued once the row is committed
    assert export.formats == ["hf", "verl"]
    assert export.settings["ratios"] == [0.7, 0.15, 0.15]
    assert export.settings["rebalance_letters"] is True
    assert export.settings["dataset_name"] == "from-the-browser"


def test_form_errors_are_shown_and_nothing_is_created(admin_client):
    response = admin_client.post(
        reverse("exports:list"),
        {"name": "Bad", "formats": ["hf"], "seed": 1, "ratios": "0.5,0.5,0.5"},
    )
    assert response.status_code == 200
    assert "add up to 1" in response.content.decode()
    assert not Export.objects.exists()


def test_detail_lists_files_and_contamination_and_downloads_work(
    admin_client, finished
):
    page = admin_client.get(reverse("exports:detail", args=[finished.pk]))
    html = page.content.decode()
    assert "data/train-00000.parquet" in html
    assert "No eval set was given." in html
    readme = admin_client.get(reverse("exports:file", args=[finished.pk, "README.md"]))
    body = b"".join(readme.streaming_content)
    assert body.startswith(b"---\nlicense:")
    manifest = admin_client.get(
        reverse("exports:file", args=[finished.pk, "manifest.json"])
    )
    assert json.loads(b"".join(manifest.streaming_content)) == finished.manifest


def test_only_listed_files_can_be_downloaded(admin_client, finished):
    for path in ["../../etc/passwd", "data/missing.parquet", ".tmp"]:
        url = reverse("exports:file", args=[finished.pk, "x"]).replace("/x", "/" + path)
        assert admin_client.get(url).status_code == 404


def test_archive_holds_every_file(admin_client, finished):
    response = admin_client.get(reverse("exports:archive", args=[finished.pk]))
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = {n.split("/", 1)[1] for n in archive.namelist()}
        assert names == {f["path"] for f in finished.manifest["files"]} | {
            "manifest.json"
        }
        folder = archive.namelist()[0].split("/", 1)[0]
        assert archive.read(f"{folder}/README.md").startswith(b"---")


def test_htmx_poll_gets_only_the_status_partial(admin_client, finished):
    response = admin_client.get(
        reverse("exports:detail", args=[finished.pk]), headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert 'id="export-status"' in html
    assert "<html" not in html


def test_uploaded_eval_set_is_checked_and_reported(admin_client, corpus):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from review.export import services

    target = corpus[0]
    line = json.dumps({"question": target.question, "options": target.options})
    upload = SimpleUploadedFile("bench.jsonl", (line + "\n").encode())
    response = admin_client.post(
        reverse("exports:list"),
        {
            "name": "Checked",
            "formats": ["hf"],
            "seed": 1,
            "ratios": "0.8,0.1,0.1",
            "eval_set": upload,
        },
    )
    assert response.status_code == 302
    export = services.run_export(export_id=Export.objects.get().pk)
    report = export.manifest["contamination"]
    # Every corpus item shares the builder's question, so all are flagged.
    assert report["flagged_by_text"] == len(corpus)
    page = admin_client.get(reverse("exports:detail", args=[export.pk])).content
    assert f"{len(corpus)} flagged".encode() in page


def test_bad_eval_set_upload_is_refused(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = admin_client.post(
        reverse("exports:list"),
        {
            "name": "Bad",
            "formats": ["hf"],
            "seed": 1,
            "ratios": "0.8,0.1,0.1",
            "eval_set": SimpleUploadedFile("bench.csv", b"a,b\n"),
        },
    )
    assert response.status_code == 200
    assert "must be a .jsonl or .parquet" in response.content.decode()
    assert not Export.objects.exists()


def test_jsonl_images_are_summed_up_but_still_downloadable(admin_client, finished):
    html = admin_client.get(reverse("exports:detail", args=[finished.pk])).content
    images = [f for f in finished.manifest["files"] if "/images/" in f["path"]]
    assert f"jsonl/images/ · {len(images)} images".encode() in html
    assert images[0]["path"].encode() not in html
    response = admin_client.get(
        reverse("exports:file", args=[finished.pk, images[0]["path"]])
    )
    assert response.status_code == 200
