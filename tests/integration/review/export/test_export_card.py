"""Attribution rows read as plain values say what the Document model says."""

from __future__ import annotations

import pytest

from review.export.card import attribution_rows
from synthesis.models import Document
from tests.fixtures.builders import make_document


@pytest.mark.django_db
def test_attribution_rows_match_the_documents():
    make_document("PMC000002", doi="10.1/abc")
    make_document("PMC000001", license="", license_family="cc-by-sa")
    make_document("S-3", license_url="https://example.org/license", year=None)
    make_document("S-4", license="", license_family="not-a-family")
    counts = {"PMC000001": 2, "PMC000002": 1, "S-3": 4, "S-4": 1}
    rows = attribution_rows(counts)
    assert [r["source_id"] for r in rows] == sorted(counts)
    for row in rows:
        doc = Document.objects.get(source_id=row["source_id"])
        assert row == {
            "source_id": doc.source_id,
            "title": doc.title,
            "journal": doc.journal,
            "year": doc.year,
            "license": doc.license or doc.get_license_family_display(),
            "license_family": doc.license_family,
            "link": doc.license_url or doc.link,
            "items": counts[doc.source_id],
        }
    assert rows[0]["license"] == "CC BY-SA"
    assert rows[1]["link"] == "https://doi.org/10.1/abc"
    assert rows[3]["license"] == "not-a-family"
