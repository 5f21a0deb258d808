"""Stored files reach a browser only through views that check who asks."""

from __future__ import annotations

import importlib
import re

import pytest
from django.test import Client
from django.urls import clear_url_caches, reverse

from review.export import services
from tests.fixtures.builders import (
    make_accepted_item,
    make_document,
    make_image_figure,
    patterned_png,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_export(admin_user):
    for paper in range(3):
        make_accepted_item(document=f"PMC{paper:06d}", image_seed=paper)
    export = services.create_export(
        created_by=admin_user, name="Served", settings={}, enqueue=None
    )
    return services.run_export(export_id=export.pk)


@pytest.fixture
def debug_urls(settings):
    """The URLconf as a developer with DEBUG=1 builds it (DEBUG on at import)."""
    import medsyn_app.urls

    settings.DEBUG = True
    importlib.reload(medsyn_app.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(medsyn_app.urls)
    clear_url_caches()


def test_media_is_never_served_by_url_even_with_debug(
    debug_urls, client, finished_export
):
    manifest = f"/media/{finished_export.output_dir}/manifest.json"
    assert client.get(manifest).status_code == 404
    figure = make_image_figure(make_document("PMC900001"), data=patterned_png(7))
    assert client.get(f"/media/{figure.image.name}").status_code == 404


def test_import_figure_route_is_for_admins_only(admin_user, reviewer_user):
    figure = make_image_figure(make_document("PMC900001"), data=patterned_png(7))
    url = reverse("imports:figure-image", args=[figure.pk])
    reviewer, admin = Client(), Client()
    reviewer.force_login(reviewer_user)
    admin.force_login(admin_user)
    assert reviewer.get(url).status_code == 403
    response = admin.get(url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"


def test_export_folder_names_cannot_be_guessed(finished_export):
    folder = finished_export.output_dir.rsplit("/", 1)[-1]
    assert folder != f"{finished_export.pk}-served"
    assert re.fullmatch(rf"{finished_export.pk}-served-[0-9a-f]{{32}}", folder)


def test_the_zip_keeps_the_readable_name(admin_client, finished_export):
    response = admin_client.get(reverse("exports:archive", args=[finished_export.pk]))
    assert response.status_code == 200
    name = f"{finished_export.pk}-served"
    assert response["Content-Disposition"] == f'attachment; filename="{name}.zip"'


def test_files_go_through_the_front_server_when_configured(
    settings, admin_client, reviewer_user, finished_export
):
    settings.MEDSYN_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    url = reverse("exports:file", args=[finished_export.pk, "manifest.json"])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Accel-Redirect"] == (
        f"/protected-media/{finished_export.output_dir}/manifest.json"
    )
    assert "attachment" in response["Content-Disposition"]
    # The check still comes first: a reviewer gets no redirect to follow.
    reviewer_client = Client()
    reviewer_client.force_login(reviewer_user)
    refused = reviewer_client.get(url)
    assert refused.status_code == 403
    assert "X-Accel-Redirect" not in refused
    # The whole-export zip is still streamed by Django.
    archive = admin_client.get(reverse("exports:archive", args=[finished_export.pk]))
    assert archive.streaming and "X-Accel-Redirect" not in archive


def test_without_a_front_server_django_sends_the_bytes(admin_client, finished_export):
    url = reverse("exports:file", args=[finished_export.pk, "manifest.json"])
    response = admin_client.get(url)
    assert b"".join(response.streaming_content).startswith(b"{")
    assert "X-Accel-Redirect" not in response
