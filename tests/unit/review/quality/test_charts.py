"""SVG charts escape every label, so data can never inject markup."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from review.quality import charts

EVIL = '<script>alert("x")</script>'


def test_bar_chart_escapes_labels_and_is_well_formed_svg():
    svg = charts.bar_chart(title=EVIL, bars=[(EVIL, 3), ("Other", None)])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    root = ET.fromstring(str(svg))  # noqa: S314 - our own output
    assert root.tag.endswith("svg")
    assert "n/a" in svg


def test_bar_widths_are_proportional_to_values():
    svg = charts.bar_chart(title="t", bars=[("a", 1), ("b", 2)])
    root = ET.fromstring(str(svg))  # noqa: S314
    widths = [
        float(r.get("width")) for r in root.iter("{http://www.w3.org/2000/svg}rect")
    ]
    assert widths[1] == 2 * widths[0] > 0


def test_interval_chart_escapes_labels_and_draws_points():
    svg = charts.interval_chart(
        title="q", rows=[(EVIL, 0.1, 0.05, 0.2), ("x", None, 0, 1)]
    )
    assert "<script>" not in svg
    root = ET.fromstring(str(svg))  # noqa: S314
    assert len(list(root.iter("{http://www.w3.org/2000/svg}circle"))) == 1
