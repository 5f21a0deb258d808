"""Small server-rendered SVG charts for the quality dashboard.

Markup is built with ElementTree, which escapes every label and attribute, so
a label that came from data (a reason, a modality, a username) can never
inject markup; only the finished, escaped document is marked safe. No
JavaScript and no external library.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree as ET  # noqa: S405 - building, not parsing

from django.utils.safestring import SafeString, mark_safe

ROW = 26
LABEL_WIDTH = 260
BAR_WIDTH = 300
VALUE_WIDTH = 170


def _svg(title: str, height: int) -> ET.Element:
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {width} {height}",
            "width": str(width),
            "height": str(height),
            "role": "img",
            "class": "chart",
            "font-size": "13",
        },
    )
    ET.SubElement(svg, "title").text = title
    return svg


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> None:
    ET.SubElement(
        parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", **attrs}
    ).text = text


def _render(svg: ET.Element) -> SafeString:
    # ElementTree escaped all text and attributes above.
    return mark_safe(ET.tostring(svg, encoding="unicode"))  # noqa: S308


def bar_chart(
    *,
    title: str,
    bars: Sequence[tuple[str, float | None]],
    maximum: float | None = None,
    fmt: str = "{:.0f}",
) -> SafeString:
    """Horizontal bars, one per (label, value); a None value shows as 'n/a'."""
    values = [v for _, v in bars if v is not None]
    top = maximum or max(values, default=0) or 1
    svg = _svg(title, ROW * max(len(bars), 1) + 8)
    for i, (label, value) in enumerate(bars):
        y = i * ROW + 4
        _text(svg, LABEL_WIDTH - 8, y + 16, str(label), **{"text-anchor": "end"})
        width = 0 if value is None else max(value, 0) / top * BAR_WIDTH
        ET.SubElement(
            svg,
            "rect",
            {
                "x": str(LABEL_WIDTH),
                "y": str(y + 3),
                "width": f"{width:.1f}",
                "height": str(ROW - 8),
                "class": "bar",
                "fill": "#1f5fbf",
            },
        )
        shown = "n/a" if value is None else fmt.format(value)
        _text(svg, LABEL_WIDTH + width + 6, y + 16, shown, **{"class": "value"})
    return _render(svg)


def interval_chart(
    *, title: str, rows: Sequence[tuple[str, float | None, float, float]]
) -> SafeString:
    """Point estimates with their interval on a 0–100% axis, one row each."""
    svg = _svg(title, ROW * max(len(rows), 1) + 8)
    for i, (label, point, low, high) in enumerate(rows):
        y = i * ROW + 4
        mid = y + ROW / 2
        _text(svg, LABEL_WIDTH - 8, y + 16, str(label), **{"text-anchor": "end"})
        x0, x1 = LABEL_WIDTH + low * BAR_WIDTH, LABEL_WIDTH + high * BAR_WIDTH
        ET.SubElement(
            svg,
            "line",
            {
                "x1": f"{x0:.1f}",
                "x2": f"{x1:.1f}",
                "y1": f"{mid:.1f}",
                "y2": f"{mid:.1f}",
                "class": "interval",
                "stroke": "#5b6676",
                "stroke-width": "2",
            },
        )
        if point is not None:
            ET.SubElement(
                svg,
                "circle",
                {
                    "cx": f"{LABEL_WIDTH + point * BAR_WIDTH:.1f}",
                    "cy": f"{mid:.1f}",
                    "r": "4",
                    "class": "point",
                    "fill": "#b3261e",
                },
            )
        shown = "n/a" if point is None else f"{point:.1%} ({low:.1%}–{high:.1%})"
        _text(svg, LABEL_WIDTH + BAR_WIDTH + 6, y + 16, shown, **{"class": "value"})
    return _render(svg)


def dashboard_charts(figures: dict) -> dict[str, SafeString]:
    """The dashboard's charts, drawn from `dashboard.dashboard_figures` output."""
    calibration = figures["calibration"]
    estimates = figures["quality"]
    return {
        "status": bar_chart(
            title="Items by status", bars=list(figures["status_counts"].items())
        ),
        "reliability": bar_chart(
            title="Human accept rate by verifier score",
            bars=[
                (
                    f"{b['lower']:.1f}–{b['upper']:.1f} (n={b['reviewed']})",
                    b["accept_rate"],
                )
                for b in calibration["reliability"]
            ],
            maximum=1.0,
            fmt="{:.0%}",
        ),
        "reasons": bar_chart(
            title="Rejection reasons",
            bars=[(r["label"], r["count"]) for r in figures["rejection_reasons"]],
        ),
        "gates": bar_chart(
            title="Verifier–human agreement by gate",
            bars=[(g["gate"], g["agreement"]) for g in calibration["gates"]],
            maximum=1.0,
            fmt="{:.0%}",
        ),
        "throughput": bar_chart(
            title="Items per hour by reviewer",
            bars=[(t["reviewer"], t["items_per_hour"]) for t in figures["throughput"]],
        ),
        "quality": interval_chart(
            title="Estimated share of kept items a clinician would reject",
            rows=[
                ("All audited", *_interval(estimates["overall"])),
                *(
                    (f"Modality: {m['modality']}", *_interval(m))
                    for m in estimates["by_modality"]
                ),
                *(
                    (f"Batch: {b['name']}", *_interval(b))
                    for b in estimates["by_batch"]
                ),
            ],
        ),
    }


def _interval(estimate: dict) -> tuple[float | None, float, float]:
    return (estimate["reject_rate"], estimate["ci_low"], estimate["ci_high"])
