"""The page without a browser: every section and chart, nothing to load, all text escaped."""

from __future__ import annotations

import polars as pl
import pytest

from attribution.reporting import SECTIONS, Report, make_charts, render_html
from tests.reporting.conftest import CHART_KINDS, marks, parse_page, stand_ins


def test_page_has_every_section_chart_and_no_external_reference(full_report: Report) -> None:
    html = full_report.to_html()
    page = parse_page(html)
    ids = [a.get("id") for t, a in page.tags if t == "section"]
    assert ids == [s.key for s in SECTIONS]
    charts = full_report.charts
    assert len(page.svgs) == len(charts) >= 10
    assert {s["attrs"]["data-kind"] for s in page.svgs} == CHART_KINDS
    for svg, chart in zip(page.svgs, charts, strict=True):
        assert svg["attrs"]["aria-label"] == chart.title == svg["title"]
        assert svg["attrs"]["role"] == "img"
        classes = " ".join(a.get("class") or "" for _, a in svg["marks"])
        assert "axis-label" in classes or svg["attrs"]["data-kind"] == "grid"
        assert marks(svg, "bar") or marks(svg, "series") or marks(svg, "cell")
        # every mark carries its value as a tooltip; values also printed where they fit
        n_marks = len(marks(svg, "bar") + marks(svg, "point") + marks(svg, "cell"))
        assert chart.svg.count("<title>") == n_marks + 1 + len(marks(svg, "ref-point"))
        assert marks(svg, "value") or marks(svg, "cell-text") or chart.key == "credit_by_model"
    # nothing to load: no scripts, links, images or frames; no URLs in attributes or CSS
    tags = {t for t, _ in page.tags}
    assert tags.isdisjoint({"script", "link", "img", "iframe", "object", "embed", "base"})
    for _, attrs in page.tags:
        for key in ("src", "href", "xlink:href", "action", "srcset", "poster"):
            value = attrs.get(key)
            assert value is None or value.startswith("#"), (key, value)
    assert "url(" not in page.style and "@import" not in page.style
    csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert csp[0]["content"].startswith("default-src 'none'")
    assert "<title>Sample &lt;report&gt; &amp; co</title>" in html


def test_text_is_escaped_everywhere() -> None:
    evil = '<img src=x onerror="alert(1)">'
    credit = pl.DataFrame(
        {
            "model": ["linear", "linear"],
            "channel": [evil, "b & c"],
            "conversions": [2.0, 1.0],
            "revenue": [20.0, 10.0],
            "share": [2 / 3, 1 / 3],
        }
    )
    html = render_html(
        {"credit": credit},
        make_charts({"credit": credit}),
        title="</title><script>alert(1)</script>",
        notes={"roi": "<b>bold</b>"},
        meta={"input": "<x>"},
    )
    page = parse_page(html)
    assert {t for t, _ in page.tags}.isdisjoint({"script", "img", "b", "x"})
    assert evil in page.cells and "b & c" in page.cells
    assert "</title><script>alert(1)</script>" in "".join(page.text)
    # in the table, the revenue chart's label and tooltip, and the by-model chart's tooltip
    assert "".join(page.text).count(evil) >= 4


def test_control_and_bidirectional_characters_cannot_leak() -> None:
    """A NUL or ESC in a name went into the page as it was (a parse error in HTML, and not XML
    at all); a right-to-left override in a name reversed what followed it in the same text
    (the figure of a tooltip: 'RLO-tv: 20' read as '02 :vt')."""
    rlo, pdf = "\u202e", "\u202c"
    names = [f"{rlo}tv", "a\x00b\x1bc", f"\u2067x{rlo}y"]
    credit = pl.DataFrame(
        {
            "model": ["linear"] * 3,
            "channel": names,
            "conversions": [2.0, 1.0, 1.0],
            "revenue": [20.0, 10.0, 5.0],
            "share": [0.5, 0.25, 0.25],
        }
    )
    html = render_html({"credit": credit}, make_charts({"credit": credit}), title=f"t{rlo}")
    assert not any(c in html for c in "\x00\x1b\x0b\x7f")
    assert "a\ufffdb\ufffdc" in html
    # every text between tags closes what it opens: each override its PDF, each isolate its PDI
    for text in (t for t in html.replace(">", "<").split("<") if rlo in t or "\u2067" in t):
        depth = []
        for c in text:
            if c in (rlo, "\u2067"):
                depth.append(pdf if c == rlo else "\u2069")
            elif depth and c == depth[-1]:
                depth.pop()
        assert depth == [], repr(text)
    page = parse_page(html)
    assert f"{rlo}tv{pdf}" in page.cells


def test_stand_in_sections_render_their_charts() -> None:
    """The funnel, SLA and path sections from frames with the documented columns."""
    tables = stand_ins()
    charts = make_charts(tables)
    assert [c.key for c in charts] == [
        "funnel",
        "stage_conversion",
        "sla_grid",
        "sla_mqls",
        "top_paths",
        "assists",
    ]
    page = parse_page(render_html(tables, charts))
    by_kind = {s["attrs"]["data-kind"]: s for s in page.svgs}
    # funnel: stages in funnel order, widths the sums over periods (lead 150, mql 55, sql 21)
    funnel = next(s for s in page.svgs if s["attrs"]["aria-label"].startswith("Contacts"))
    stages = marks(funnel, "stage")
    assert [float(a["data-value"] or "nan") for a in stages] == [150.0, 55.0, 21.0]
    widths = [float(a["width"] or "nan") for a in stages]
    assert widths[1] / widths[0] == pytest.approx(55 / 150, abs=1e-3)
    # SLA grid: one green cell per attained row, one red per missed
    grid = by_kind["grid"]
    assert len(marks(grid, "attained")) == 2 and len(marks(grid, "missed")) == 2
    # assists: assisted and last-touch bars for both channels, the zero one included
    assists = next(s for s in page.svgs if s["attrs"]["aria-label"].startswith("Assisted"))
    assert sorted(float(a["data-value"] or "nan") for a in marks(assists, "bar")) == [
        0.0,
        2.0,
        7.0,
        11.0,
    ]
