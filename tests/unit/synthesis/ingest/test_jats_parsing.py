"""The JATS reader: metadata, captions, mentions, and refusal of entity tricks."""

from __future__ import annotations

import pytest

from synthesis.ingest.sources import jats
from synthesis.ingest.sources.records import FigureRecord, Reason, Skipped
from tests.fixtures.sources import jats_article, jats_files


def records(xml: bytes | None = None, files: dict | None = None, **kwargs) -> list:
    files = files if files is not None else jats_files(**kwargs)
    xml = xml if xml is not None else jats_article(**kwargs)
    return list(jats.parse_article(xml, files=files, source="test.tar.gz"))


def by_label(found: list) -> dict[str, list[FigureRecord]]:
    out: dict[str, list[FigureRecord]] = {}
    for record in found:
        out.setdefault(record.label, []).append(record)
    return out


def test_article_metadata_and_license_are_read():
    document = records()[0].document
    assert document.pmcid == "PMC123456"
    assert document.source_id == "PMC123456"
    assert document.doi == "10.9999/jmi.123456"
    assert document.title == "Right lower lobe pneumonia in a runner"
    assert document.journal == "Journal of Made-up Imaging"
    assert document.year == 2021
    assert document.license_url == "https://creativecommons.org/licenses/by/4.0/"
    assert document.license_family == "cc-by"


def test_non_commercial_license_is_classified_for_filtering():
    url = "https://creativecommons.org/licenses/by-nc/4.0/"
    assert records(license_url=url)[0].document.license_family == "cc-by-nc"


def test_caption_flattens_inline_markup_and_keeps_the_title():
    figure = by_label(records())["Figure 1"][0]
    assert figure.caption == (
        "Chest radiograph. Frontal chest X-ray shows a right lower lobe opacity."
    )


def test_mentions_are_the_citing_sentences_with_abbreviations_intact():
    figure = by_label(records())["Figure 1"][0]
    assert figure.mentions == (
        "The radiograph (Fig. 1) showed an opacity, as described by Smith et al."
        " in similar cases.",
    )


def test_subfigure_reference_cites_the_whole_figure():
    mentions = by_label(records())["Figure 2"][0].mentions
    assert "CT confirmed consolidation, i.e. airspace disease (Fig. 2B)." in mentions


def test_range_of_two_xrefs_cites_every_figure_inside_it():
    found = by_label(records())
    sentence = (
        "Follow-up imaging, e.g. ultrasound and biopsy, is summarised in Figs. 2–4."
    )
    for label in ("Figure 2", "Figure 3", "Figure 4"):
        assert sentence in found[label][0].mentions
    assert sentence not in found["Figure 1"][0].mentions


def test_range_inside_one_xref_cites_every_figure_in_it():
    body = (
        '<p>Later scans are shown in <xref ref-type="fig" rid="F1">Figs. 1-3</xref>.'
        " Nothing else.</p>"
    )
    found = by_label(records(body=body))
    assert found["Figure 3"][0].mentions == ("Later scans are shown in Figs. 1-3.",)
    assert found["Figure 4"][0].mentions == ()


def test_caption_paragraphs_are_not_counted_as_mentions():
    figs = [
        {"id": "F1", "label": "Figure 1",
         "caption": 'Compare with <xref ref-type="fig" rid="F2">Fig. 2</xref>.'},
        {"id": "F2", "label": "Figure 2", "caption": "Second."},
    ]  # fmt: skip
    found = by_label(records(figs=figs, body="<p>No references here.</p>"))
    assert found["Figure 2"][0].mentions == ()


def test_fig_with_two_graphics_yields_two_panels_with_one_caption():
    panels = by_label(records())["Figure 2"]
    assert [p.subfigure for p in panels] == ["A", "B"]
    assert {p.caption for p in panels} == {"Axial CT of the chest."}


def test_extension_less_href_resolves_to_the_image_file():
    files = jats_files()
    files["PMC123456/F1.gif"] = b"GIF89a thumbnail"  # PMC ships GIF thumbnails too
    figure = by_label(records(files=files))["Figure 1"][0]
    assert figure.image_name == "PMC123456/F1.png"
    assert figure.image_bytes == files["PMC123456/F1.png"]


def test_missing_graphic_file_is_skipped_with_its_reason():
    files = jats_files()
    del files["PMC123456/F3.png"]
    found = records(files=files)
    skipped = [r for r in found if isinstance(r, Skipped)]
    assert [s.reason for s in skipped] == [Reason.GRAPHIC_MISSING]
    assert "F3" in skipped[0].source_key


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE article [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<article><front><article-meta><title-group><article-title>&secret;</article-title>
</title-group></article-meta></front><body><fig id="F1"><caption><p>x</p></caption>
</fig></body></article>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE article [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<article><body><p>&lol9;</p></body></article>"""


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_entity_declarations_are_refused(xml):
    found = records(xml=xml, files={})
    assert [(type(r), r.reason) for r in found] == [(Skipped, Reason.XML_ENTITIES)]


def test_entity_declared_after_a_comment_in_the_prolog_is_refused():
    xml = XXE.replace(b"<!DOCTYPE", b"<!-- harmless -->\n<!DOCTYPE")
    with pytest.raises(jats.UnsafeXml) as raised:
        jats.parse_xml(xml)
    assert raised.value.reason == Reason.XML_ENTITIES


def test_a_public_doctype_without_entities_is_accepted():
    root = jats.parse_xml(jats_article())
    assert root.tag == "article"


def test_malformed_xml_is_skipped_as_invalid():
    found = records(xml=b"<article><body><p>unclosed</body></article>", files={})
    assert [r.reason for r in found] == [Reason.XML_INVALID]


def test_fig_without_a_graphic_is_reported():
    figs = [{"id": "F1", "label": "Figure 1", "caption": "Text only.", "hrefs": []}]
    found = records(figs=figs, body="<p>Nothing.</p>")
    assert [(r.reason, r.source_key) for r in found] == [
        (Reason.GRAPHIC_MISSING, "PMC123456::F1")
    ]
