"""Importing PMC Open Access packages (JATS), as an archive or a folder."""

from __future__ import annotations

import pytest

from synthesis.ingest import importing
from synthesis.ingest.sources.records import ImportLimits, Reason
from synthesis.models import Document, Figure
from tests.fixtures.sources import jats_article, jats_files, write_tar

pytestmark = pytest.mark.django_db

OPTIONS = importing.ImportOptions()


def run(path, **options):
    return importing.import_path(
        path=path, options=importing.ImportOptions(**options) if options else OPTIONS
    )


def test_archive_imports_document_figures_captions_mentions_and_license(tmp_path):
    report = run(write_tar(tmp_path / "PMC123456.tar.gz", jats_files()))
    assert (report.documents_created, report.figures_created) == (1, 5)
    document = Document.objects.get()
    assert document.pmcid == "PMC123456"
    assert document.license_family == "cc-by"
    assert document.license_url == "https://creativecommons.org/licenses/by/4.0/"
    first = Figure.objects.get(label="Figure 1")
    assert first.caption.startswith("Chest radiograph. Frontal chest X-ray")
    assert first.mentions == [
        "The radiograph (Fig. 1) showed an opacity, as described by Smith et al."
        " in similar cases."
    ]
    assert first.image.read().startswith(b"\x89PNG")


def test_folder_package_imports_like_the_archive(tmp_path):
    folder = tmp_path / "PMC123456"
    for name, data in jats_files().items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    report = run(folder)
    assert report.figures_created == 5
    assert Figure.objects.filter(label="Figure 4").get().mentions


def test_panels_sharing_a_caption_form_one_group(tmp_path):
    run(write_tar(tmp_path / "a.tar.gz", jats_files()))
    panels = Figure.objects.filter(label="Figure 2").order_by("subfigure")
    assert [p.subfigure for p in panels] == ["A", "B"]
    assert len({p.group_key for p in panels}) == 1
    others = Figure.objects.exclude(label="Figure 2").values_list(
        "group_key", flat=True
    )
    assert panels[0].group_key not in set(others)


def test_grouping_can_be_turned_off(tmp_path):
    run(write_tar(tmp_path / "a.tar.gz", jats_files()), group_identical_captions=False)
    keys = Figure.objects.filter(label="Figure 2").values_list("group_key", flat=True)
    assert len(set(keys)) == 2


def test_reimporting_the_same_package_creates_nothing(tmp_path):
    path = write_tar(tmp_path / "a.tar.gz", jats_files())
    run(path)
    again = run(path)
    assert (again.documents_created, again.figures_created) == (0, 0)
    assert again.skipped[Reason.DUPLICATE_IMAGE] == 5
    assert (Document.objects.count(), Figure.objects.count()) == (1, 5)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE article [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>',
        '<!DOCTYPE article [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
    ],
    ids=["xxe", "billion-laughs"],
)
def test_article_declaring_entities_creates_nothing(tmp_path, doctype):
    files = jats_files()
    files["PMC123456/article.nxml"] = jats_article(doctype=doctype)
    report = run(write_tar(tmp_path / "evil.tar.gz", files))
    assert report.skipped[Reason.XML_ENTITIES] == 1
    assert report.figures_created == 0
    assert not Document.objects.exists()


def test_missing_caption_is_skipped_and_the_rest_imported(tmp_path):
    figs = [
        {"id": "F1", "label": "Figure 1", "caption": "A real caption."},
        {"id": "F2", "label": "Figure 2", "caption": "  "},
    ]
    report = run(write_tar(tmp_path / "a.tar.gz", jats_files(figs=figs)))
    assert report.skipped[Reason.CAPTION_MISSING] == 1
    assert list(Figure.objects.values_list("label", flat=True)) == ["Figure 1"]


def test_short_captions_are_dropped_by_the_minimum_length(tmp_path):
    report = run(write_tar(tmp_path / "a.tar.gz", jats_files()), min_caption_chars=26)
    assert report.skipped[Reason.CAPTION_TOO_SHORT] == 4  # F2 (two panels), F3, F4
    assert Figure.objects.count() == 1


def test_other_package_files_are_passed_over_unread(tmp_path):
    files = jats_files()
    files["PMC123456/article.pdf"] = b"%PDF-1.4" + b"x" * 5000
    limits = ImportLimits(max_member_bytes=4000)
    report = run(write_tar(tmp_path / "a.tar.gz", files), limits=limits)
    assert report.figures_created == 5
    assert report.skipped == {}
