"""The HTML report and ``attribution report``.

References: counts and sums taken straight from the raw sample CSV with Polars (trends,
summary), hand-worked targets, the library's own figure functions for the tables the report
only collects (credit, ROI, paths, funnel), geometry read back from the SVG, and a real headless
Chromium driven over the DevTools protocol (console errors, page errors, failed or blocked loads,
every chart laid out with non-zero size and visible marks).
"""

from __future__ import annotations

import base64
import json
import math
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import attribution as at
from attribution.cli import main
from attribution.report import (
    SECTIONS,
    Chart,
    Report,
    build_report,
    make_charts,
    read_targets,
    render_html,
    trends,
)
from attribution.reporting import paths as path_reports
from attribution.reporting import svg as _svg
from attribution.schema import CRM_STAGES

DATA = Path(at.__file__).parent / "datasets" / "data"
SAMPLE = DATA / "sample_events.csv"
SPEND = DATA / "sample_spend.csv"
# data_driven is left out only to keep the suite fast; the report runs whatever it is given
FAST_MODELS = [m for m in at.MODELS if m != "data_driven"]
CHART_KINDS = {"hbar", "grouped", "line", "funnel", "grid"}


# ----------------------------------------------------------------------------------------------
# inputs


def _crm_and_activities(seed: int = 7, n: int = 300) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A small CRM log for sample users: each walks the funnel some way; some SQLs get a call."""
    rng = np.random.default_rng(seed)
    stages = CRM_STAGES[:6]
    crm, acts = [], []
    for user in range(1, n + 1):
        t = datetime(2024, 1, 1) + timedelta(hours=int(rng.integers(0, 24 * 85)))
        for stage in stages[: int(rng.integers(1, len(stages) + 1))]:
            crm.append((user, t.isoformat(), stage))
            if stage == "sql" and rng.random() < 0.8:
                lag = timedelta(minutes=float(rng.exponential(600)))
                acts.append((user, (t + lag).isoformat(), "call"))
            t += timedelta(hours=float(rng.exponential(100)))
    return (
        pl.DataFrame(crm, schema=["user_id", "timestamp", "stage"], orient="row"),
        pl.DataFrame(acts, schema=["user_id", "timestamp", "activity"], orient="row"),
    )


def _stand_ins() -> dict[str, pl.DataFrame]:
    """Frames with the documented columns of the funnel, SLA and path sections."""
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    return {
        "funnel": pl.DataFrame(
            {
                "period": [jan] * 3 + [feb] * 3,
                "stage": ["mql", "lead", "sql"] * 2,
                "contacts": [30, 80, 12, 25, 70, 9],
            }
        ),
        "stage_conversion": pl.DataFrame(
            {
                "from_stage": ["lead", "mql"],
                "to_stage": ["mql", "sql"],
                "reached_from": [150, 55],
                "reached_to_after": [55, 21],
                "rate": [55 / 150, 21 / 55],
                "median_days": [3.0, 1.5],
                "mean_days": [4.2, 2.0],
            }
        ),
        "sla": pl.DataFrame(
            {
                "period": [jan, jan, feb, feb],
                "team": ["marketing", "sales", "marketing", "sales"],
                "metric": ["mqls_delivered", "sql_followed_up_within_24h"] * 2,
                "actual": [30.0, 0.75, 25.0, 1.0],
                "target": [28.0, 1.0, 28.0, 1.0],
                "attained": [True, False, False, True],
            }
        ),
        "top_paths": pl.DataFrame(
            {
                "path": ["a > b", "b", "a"],
                "conversions": [7.0, 4.0, 2.0],
                "revenue": [70.0, 40.0, 20.0],
                "nulls": [3.0, 10.0, 2.0],
                "conversion_rate": [0.7, 4 / 14, 0.5],
                "share": [7 / 13, 4 / 13, 2 / 13],
            }
        ),
        "assists": pl.DataFrame(
            {
                "channel": ["a", "b"],
                "assisted_conversions": [7.0, 0.0],
                "last_touch_conversions": [2.0, 11.0],
                "assist_ratio": [3.5, 0.0],
            }
        ),
    }


@pytest.fixture(scope="module")
def journeys() -> at.Journeys:
    return at.build_journeys(SAMPLE)


@pytest.fixture(scope="module")
def report(journeys: at.Journeys) -> Report:
    return build_report(journeys, spend=SPEND, models=FAST_MODELS)


@pytest.fixture(scope="module")
def full_report(journeys: at.Journeys) -> Report:
    """Every section: the sample with spend and targets, plus CRM figures (real or stand-in)."""
    crm, acts = _crm_and_activities()
    try:
        import attribution.funnel  # noqa: F401

        rep = build_report(
            journeys,
            spend=SPEND,
            crm=crm,
            activities=acts,
            mql_commitment=45,
            targets={"conversions": 120},
            models=FAST_MODELS,
            title="Sample <report> & co",
        )
    except ImportError:  # funnel module not there yet: its contract's columns, by hand
        rep = build_report(journeys, spend=SPEND, targets={"conversions": 120}, models=FAST_MODELS)
        stand = _stand_ins()
        tables = {**rep.tables, **{k: stand[k] for k in ("funnel", "stage_conversion", "sla")}}
        rep = Report(tables, {}, "Sample <report> & co", rep.headline_model, rep.meta)
    return rep


def _raw_conversions() -> pl.DataFrame:
    return (
        pl.read_csv(SAMPLE)
        .filter(pl.col("event") == "conversion")
        .with_columns(pl.col("timestamp").str.to_datetime(time_zone="UTC"))
    )


# ----------------------------------------------------------------------------------------------
# a tiny HTML reader (stdlib html.parser)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.svgs: list[dict[str, Any]] = []
        self.cells: list[str] = []
        self.style = ""
        self.text: list[str] = []
        self._svg: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "svg":
            self._svg = {"attrs": a, "title": None, "marks": []}
            self.svgs.append(self._svg)
        elif self._svg is not None and tag in ("rect", "circle", "polyline", "text"):
            self._svg["marks"].append((tag, a))
        if tag not in ("meta", "line", "br", "rect", "circle", "polyline"):
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if self._svg is not None and tag in ("rect", "circle", "polyline"):
            self._svg["marks"].append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg = None
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        top = self.stack[-1] if self.stack else ""
        self.text.append(data)
        if top == "style":
            self.style += data
        elif top == "td":
            self.cells.append(data)
        elif top == "title" and self._svg is not None and self._svg["title"] is None:
            if "svg" in self.stack and self.stack[-2] == "svg":
                self._svg["title"] = data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _marks(svg: dict[str, Any], cls: str) -> list[dict[str, str | None]]:
    return [a for _, a in svg["marks"] if cls in (a.get("class") or "").split()]


# ----------------------------------------------------------------------------------------------
# trends and targets


def test_trends_count_conversions_and_revenue_per_month_like_the_raw_log(
    journeys: at.Journeys,
) -> None:
    raw = (
        _raw_conversions()
        .group_by(pl.col("timestamp").dt.truncate("1mo").dt.date().alias("period"))
        .agg(pl.len().cast(pl.Float64).alias("conversions"), pl.col("revenue").sum())
        .sort("period")
    )
    tr = trends(journeys)
    for metric in ("conversions", "revenue"):
        got = tr.filter(pl.col("metric") == metric).sort("period")
        assert got["period"].to_list() == raw["period"].to_list()
        np.testing.assert_allclose(got["actual"].to_numpy(), raw[metric].to_numpy(), rtol=1e-12)
        prev = [None, *raw[metric].to_list()[:-1]]
        assert got["previous"].to_list()[0] is None
        np.testing.assert_allclose(got["previous"].to_list()[1:], prev[1:], rtol=1e-12)
        assert got["basis"].to_list() == [None] + ["previous"] * (got.height - 1)
        delta = np.array(raw[metric].to_list()[1:]) - np.array(prev[1:])
        np.testing.assert_allclose(got["delta"].to_list()[1:], delta, rtol=1e-12)
        np.testing.assert_allclose(got["delta_pct"].to_list()[1:], delta / prev[1:], rtol=1e-12)
        assert got["attained"].null_count() == got.height


def _hand_journeys() -> at.Journeys:
    # Jan: three conversions worth 10 + 20 + 30; Feb: none; Mar: one worth 5
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3, 4, 4],
            "timestamp": [
                "2024-01-01",
                "2024-01-02",
                "2024-01-05",
                "2024-01-06",
                "2024-01-20",
                "2024-01-31T23:59:59",
                "2024-02-27",
                "2024-03-02",
            ],
            "channel": ["a", None, "b", None, "a", None, "b", None],
            "event": ["touch", "conversion"] * 4,
            "revenue": [0.0, 10.0, 0.0, 20.0, 0.0, 30.0, 0.0, 5.0],
        }
    )
    return at.build_journeys(ev)


def test_trends_against_targets_worked_by_hand() -> None:
    targets = pl.DataFrame(
        {
            "period": ["2024-01-15", "2024-03-01", None],  # mid-January means January
            "metric": ["conversions", "conversions", "revenue"],
            "target": [2, 2, 50],
        }
    )
    tr = trends(_hand_journeys(), targets=targets)
    cols = ["period", "actual", "target", "previous", "basis", "delta", "delta_pct", "attained"]
    conv = tr.filter(pl.col("metric") == "conversions").select(cols).rows()
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    # Jan 3 vs target 2: +1, +50 %; Feb 0 (no target) vs previous 3: -3, -100 %;
    # Mar 1 vs target 2: -1, -50 %
    assert conv == [
        (jan, 3.0, 2.0, None, "target", 1.0, 0.5, True),
        (feb, 0.0, None, 3.0, "previous", -3.0, -1.0, None),
        (mar, 1.0, 2.0, 0.0, "target", -1.0, -0.5, False),
    ]
    rev = tr.filter(pl.col("metric") == "revenue").select(cols).rows()
    # one revenue target of 50 for every month: 60 (+10, +20 %), 0 (-50, -100 %), 5 (-45, -90 %)
    assert rev == [
        (jan, 60.0, 50.0, None, "target", 10.0, 0.2, True),
        (feb, 0.0, 50.0, 60.0, "target", -50.0, -1.0, False),
        (mar, 5.0, 50.0, 0.0, "target", -45.0, pytest.approx(-0.9), False),
    ]


def test_trends_delta_pct_is_null_when_the_previous_period_is_zero() -> None:
    tr = trends(_hand_journeys()).filter(pl.col("metric") == "conversions")
    # Mar (1) against Feb (0): delta 1, ratio undefined -> null, never inf
    assert tr.select("delta", "delta_pct").rows()[2] == (1.0, None)


def test_scalar_targets_per_metric_equal_a_target_in_every_period() -> None:
    j = _hand_journeys()
    flat = trends(j, targets={"conversions": 2.0})
    every = trends(
        j,
        targets=pl.DataFrame(
            {
                "period": [date(2024, m, 1) for m in (1, 2, 3)],
                "metric": ["conversions"] * 3,
                "target": [2.0] * 3,
            }
        ),
    )
    assert_frame_equal(flat, every)


def test_weekly_trends_fill_empty_weeks_with_zero() -> None:
    tr = trends(_hand_journeys(), freq="1w").filter(pl.col("metric") == "conversions")
    # Mondays from the week of 2024-01-01 to the week of 2024-03-02 (Monday 2024-02-26)
    weeks = pl.date_range(date(2024, 1, 1), date(2024, 2, 26), "1w", eager=True)
    assert tr["period"].to_list() == weeks.to_list()
    assert tr["actual"].sum() == 4.0
    assert tr.filter(pl.col("period") == date(2024, 1, 29))["actual"].item() == 1.0


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        (
            {"period": ["2024-01-01"], "metric": ["conversions"]},
            {},
            at.SchemaError,
            r"Column 'target' is missing from the targets table; found columns: 'period', "
            r"'metric'",
        ),
        (
            {
                "period": ["2024-01-01"] * 3,
                "metric": ["visits", "revenue", "leads"],
                "target": [1, 2, 3],
            },
            {},
            at.ValidationError,
            r"Column 'metric' of the targets table has 2 unknown metrics \('visits' at row 0, "
            r"'leads' at row 2\); expected one of conversions, revenue\.",
        ),
        (
            {"period": ["2024-01-01", "2024-02-01"], "metric": ["revenue"] * 2, "target": [5, -1]},
            {},
            at.ValidationError,
            r"Column 'target' of the targets has 1 null, negative or non-finite values "
            r"\(-1 at row 1\)",
        ),
        (
            {"period": ["2024-01-01", "January"], "metric": ["revenue"] * 2, "target": [5, 1]},
            {},
            at.ValidationError,
            r"Column 'period' of the targets table has 1 values that are not dates "
            r"\('January' at row 1\)",
        ),
        (
            {"period": ["2024-01-03", "2024-01-20"], "metric": ["revenue"] * 2, "target": [5, 6]},
            {},
            at.ValidationError,
            r"The targets have 2 rows sharing a period and metric \('2024-01-01 revenue' at row "
            r"0, '2024-01-01 revenue' at row 1\); give one target per month and metric\.",
        ),
        (
            {"period": ["2024-01-01"], "metric": ["revenue"], "target": [5]},
            {"freq": "monthly-ish"},
            at.ValidationError,
            r"freq 'monthly-ish' is not a period",
        ),
    ],
)
def test_bad_targets_are_named(
    frame: dict[str, list[Any]], kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        read_targets(pl.DataFrame(frame), **kwargs)


def test_targets_with_other_column_names_and_a_mapping() -> None:
    t = read_targets(
        pl.DataFrame({"month": [date(2024, 2, 10)], "kpi": ["revenue"], "goal": [7]}),
        period_col="month",
        metric_col="kpi",
        target_col="goal",
    )
    assert t.rows() == [(date(2024, 2, 1), "revenue", 7.0)]
    with pytest.raises(at.ValidationError, match=r"targets has 1 unknown metrics \('roi' at row"):
        read_targets({"roi": 2.0})


def test_trends_without_conversions_is_an_error() -> None:
    ev = pl.DataFrame(
        {
            "user_id": [1],
            "timestamp": ["2024-01-01"],
            "channel": ["a"],
            "event": ["touch"],
            "revenue": [0.0],
        }
    )
    with pytest.raises(at.EmptyInputError, match="no conversions"):
        trends(at.build_journeys(ev))


# ----------------------------------------------------------------------------------------------
# the tables the report collects


def test_report_tables_come_from_the_library(report: Report, journeys: at.Journeys) -> None:
    credit = at.attribute_all(journeys, models=FAST_MODELS)
    assert_frame_equal(report.tables["credit"], credit)
    assert_frame_equal(report.tables["roi"], at.roi(credit, SPEND))
    assert report.headline_model == "markov"
    assert_frame_equal(report.tables["top_paths"], path_reports.top_paths(journeys, n=10))
    assert_frame_equal(report.tables["assists"], path_reports.assists(journeys))


def test_summary_matches_the_raw_files(report: Report) -> None:
    raw = pl.read_csv(SAMPLE)
    conv = _raw_conversions()
    spend = pl.read_csv(SPEND)["spend"].sum()
    summary = dict(report.tables["summary"].iter_rows())
    assert summary["conversions"] == conv.height
    assert summary["revenue"] == pytest.approx(conv["revenue"].sum(), rel=1e-12)
    assert summary["touches"] == raw.filter(pl.col("event") == "touch").height
    assert summary["channels"] == raw["channel"].drop_nulls().n_unique()
    assert summary["models"] == len(FAST_MODELS)
    assert summary["spend"] == pytest.approx(spend, rel=1e-12)


def test_sections_without_input_are_skipped_with_a_note(journeys: at.Journeys) -> None:
    rep = build_report(journeys, models=["linear"])
    assert {"roi", "funnel", "stage_conversion", "sla"}.isdisjoint(rep.tables)
    assert rep.notes["roi"] == "No spend table was given."
    page = rep.to_html()
    roi_html = page.split('<section id="roi">')[1].split("</section>")[0]
    assert "Section skipped: No spend table was given. It needs a spend table" in roi_html
    assert "<svg" not in roi_html
    sla_html = page.split('<section id="sla">')[1].split("</section>")[0]
    assert "No CRM lifecycle table was given." in sla_html


def test_a_path_table_has_no_trends(journeys: at.Journeys) -> None:
    rep = build_report(journeys.to_paths(), models=["linear", "markov"])
    assert "trends" not in rep.tables
    assert rep.notes["trends"] == "The input is a path table, which has no times."
    summary = dict(rep.tables["summary"].iter_rows())
    assert summary["conversions"] == journeys.n_conversions
    assert summary["paths"] == journeys.to_paths().n_paths


def test_report_option_errors(journeys: at.Journeys) -> None:
    with pytest.raises(at.ValidationError, match="lookback_days applies when the report builds"):
        build_report(journeys, lookback_days=30, models=["linear"])
    with pytest.raises(
        at.ValidationError, match=r"headline_model 'markov' is not among the models run \(linear\)"
    ):
        build_report(journeys, models=["linear"], headline_model="markov")
    with pytest.raises(at.ModelError, match="nope"):
        build_report(journeys, models=["nope"])


def test_lookback_is_applied_when_the_report_builds_journeys() -> None:
    rep = build_report(SAMPLE, lookback_days=7, models=["first_touch"])
    expected = at.attribute_all(at.build_journeys(SAMPLE, lookback_days=7), models=["first_touch"])
    assert_frame_equal(rep.tables["credit"], expected)
    assert rep.meta["lookback"] == "7 days"


def test_crm_sections_come_from_the_funnel_module(journeys: at.Journeys) -> None:
    fn = pytest.importorskip("attribution.funnel")
    crm, acts = _crm_and_activities()
    rep = build_report(
        journeys, crm=crm, activities=acts, mql_commitment=45, models=["linear"], freq="1mo"
    )
    lf = fn.read_crm(crm)
    assert_frame_equal(rep.tables["funnel"], fn.funnel(lf, freq="1mo"))
    assert_frame_equal(rep.tables["stage_conversion"], fn.stage_conversion(lf))
    assert_frame_equal(
        rep.tables["sla"],
        fn.sla_attainment(lf, fn.read_activities(acts), mql_commitment=45, freq="1mo"),
    )
    # without a commitment and activities the SLA section has nothing to measure against
    rep2 = build_report(journeys, crm=crm, models=["linear"])
    assert "funnel" in rep2.tables and "sla" not in rep2.tables
    assert "Neither an MQL commitment nor sales activities" in rep2.notes["sla"]


# ----------------------------------------------------------------------------------------------
# writing


def test_write_puts_every_table_beside_the_page(report: Report, tmp_path: Path) -> None:
    written = report.write(tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())  # hidden temp files too
    expected = {"report.html"} | {f"{t}{s}" for t in report.tables for s in (".parquet", ".csv")}
    assert names == sorted(expected)
    assert written[-1].name == "report.html"
    for name, df in report.tables.items():
        assert_frame_equal(pl.read_parquet(tmp_path / "out" / f"{name}.parquet"), df)
        back = pl.read_csv(tmp_path / "out" / f"{name}.csv", try_parse_dates=True)
        assert back.columns == df.columns and back.height == df.height
    assert (tmp_path / "out" / "report.html").read_text(encoding="utf-8") == report.to_html()
    # a second write replaces the files in place and leaves nothing behind
    report.write(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(expected)


def test_a_failed_write_leaves_no_page_and_no_temporary_files(tmp_path: Path) -> None:
    bad = Report({"nested": pl.DataFrame({"x": [[1, 2]]})})  # CSV cannot hold a list column
    with pytest.raises(pl.exceptions.ComputeError):
        bad.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nested.parquet"]


# ----------------------------------------------------------------------------------------------
# the page without a browser


def test_page_has_every_section_chart_and_no_external_reference(full_report: Report) -> None:
    html = full_report.to_html()
    page = _parse(html)
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
        assert _marks(svg, "bar") or _marks(svg, "series") or _marks(svg, "cell")
        # every mark carries its value as a tooltip; values also printed where they fit
        n_marks = len(_marks(svg, "bar") + _marks(svg, "point") + _marks(svg, "cell"))
        assert chart.svg.count("<title>") == n_marks + 1 + len(_marks(svg, "ref-point"))
        assert _marks(svg, "value") or _marks(svg, "cell-text") or chart.key == "credit_by_model"
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
    page = _parse(html)
    assert {t for t, _ in page.tags}.isdisjoint({"script", "img", "b", "x"})
    assert evil in page.cells and "b & c" in page.cells
    assert "</title><script>alert(1)</script>" in "".join(page.text)
    # in the table, the revenue chart's label and tooltip, and the by-model chart's tooltip
    assert "".join(page.text).count(evil) >= 4


def test_stand_in_sections_render_their_charts() -> None:
    """The funnel, SLA and path sections from frames with the documented columns."""
    tables = _stand_ins()
    charts = make_charts(tables)
    assert [c.key for c in charts] == [
        "funnel",
        "stage_conversion",
        "sla_grid",
        "sla_mqls",
        "top_paths",
        "assists",
    ]
    page = _parse(render_html(tables, charts))
    by_kind = {s["attrs"]["data-kind"]: s for s in page.svgs}
    # funnel: stages in funnel order, widths the sums over periods (lead 150, mql 55, sql 21)
    funnel = next(s for s in page.svgs if s["attrs"]["aria-label"].startswith("Contacts"))
    stages = _marks(funnel, "stage")
    assert [float(a["data-value"] or "nan") for a in stages] == [150.0, 55.0, 21.0]
    widths = [float(a["width"] or "nan") for a in stages]
    assert widths[1] / widths[0] == pytest.approx(55 / 150, abs=1e-3)
    # SLA grid: one green cell per attained row, one red per missed
    grid = by_kind["grid"]
    assert len(_marks(grid, "attained")) == 2 and len(_marks(grid, "missed")) == 2
    # assists: assisted and last-touch bars for both channels, the zero one included
    assists = next(s for s in page.svgs if s["attrs"]["aria-label"].startswith("Assisted"))
    assert sorted(float(a["data-value"] or "nan") for a in _marks(assists, "bar")) == [
        0.0,
        2.0,
        7.0,
        11.0,
    ]


# ----------------------------------------------------------------------------------------------
# chart geometry


def _bars(svg: str) -> list[dict[str, str | None]]:
    return _marks(_parse(svg).svgs[0], "bar")


def test_hbar_lengths_are_proportional_and_negatives_go_left() -> None:
    svg = _svg.hbar(["a", "b", "c", "d"], [40.0, 10.0, -20.0, None], title="T", x_label="x")
    bars = _bars(svg)
    assert len(bars) == 3  # no bar for the missing value
    vals = [float(b["data-value"] or "nan") for b in bars]
    widths = [float(b["width"] or "nan") for b in bars]
    scale = widths[0] / vals[0]
    for v, w in zip(vals, widths, strict=True):
        assert w == pytest.approx(abs(v) * scale, abs=0.15)
    zero = float(bars[0]["x"] or "nan")
    assert float(bars[1]["x"] or "nan") == zero
    neg = bars[2]
    assert float(neg["x"] or "nan") + float(neg["width"] or "nan") == pytest.approx(zero, abs=0.15)
    assert neg["fill"] != bars[0]["fill"]
    assert "n/a" in svg


def test_line_chart_heights_are_linear_in_the_values() -> None:
    values = [1.0, 3.0, 2.0, 5.0]
    svg = _svg.line_chart(
        ["Jan", "Feb", "Mar", "Apr"], values, [None, 1.0, 3.0, 2.0], title="T", y_label="y"
    )
    s = _parse(svg).svgs[0]
    cy = [float(a["cy"] or "nan") for a in _marks(s, "point")]
    slopes = [(cy[i] - cy[0]) / (values[i] - values[0]) for i in range(1, 4)]
    assert max(slopes) - min(slopes) < 0.1 and slopes[0] < 0  # higher values drawn higher
    (ref,) = _marks(s, "ref")
    assert len((ref["points"] or "").split()) == 3  # the reference starts in February


def test_grouped_bars_heights_are_proportional() -> None:
    svg = _svg.grouped_bars(
        ["x", "y"], {"m1": [4.0, 2.0], "m2": [1.0, 3.0]}, title="T", y_label="y"
    )
    bars = _bars(svg)
    ratio = {float(b["data-value"] or "nan"): float(b["height"] or "nan") for b in bars}
    for v, h in ratio.items():
        assert h == pytest.approx(v * ratio[4.0] / 4.0, abs=0.15)
    assert len({b["fill"] for b in bars}) == 2


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-1e9, 1e9, allow_nan=False),
    st.floats(0, 1e9, allow_nan=False),
    st.integers(2, 8),
)
def test_nice_ticks_cover_the_range_in_round_even_steps(lo: float, span: float, n: int) -> None:
    hi = lo + span
    ticks = _svg.nice_ticks(lo, hi, n)
    steps = np.diff(ticks)
    slack = 1e-8 * steps[0]  # the ends may round inwards by a hair of a step, never more
    assert ticks[0] <= lo + slack and ticks[-1] >= hi - slack
    assert np.allclose(steps, steps[0], rtol=1e-6)
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m, rel_tol=1e-6) for m in (1, 2, 2.5, 5, 10))
    assert len(ticks) <= 2 * n + 3


# ----------------------------------------------------------------------------------------------
# command line


def test_cli_report_writes_the_page_and_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = tmp_path / "targets.csv"
    pl.DataFrame({"period": ["2024-02-01"], "metric": ["revenue"], "target": [9000.0]}).write_csv(
        targets
    )
    out = tmp_path / "out"
    code = main(
        [
            "report",
            str(SAMPLE),
            "--out",
            str(out),
            "--spend",
            str(SPEND),
            "--targets",
            str(targets),
            "--model",
            "linear",
            "last_touch",
            "--title",
            "CLI report",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "attribution report" in err and "wrote report.html" in err
    assert "section funnel skipped: No CRM lifecycle table was given." in err
    j = at.build_journeys(SAMPLE)
    credit = at.attribute_all(j, models=["linear", "last_touch"])
    assert_frame_equal(pl.read_parquet(out / "credit.parquet"), credit)
    assert_frame_equal(pl.read_parquet(out / "roi.parquet"), at.roi(credit, SPEND))
    tr = pl.read_parquet(out / "trends.parquet").filter(
        (pl.col("metric") == "revenue") & (pl.col("period") == date(2024, 2, 1))
    )
    assert tr["target"].item() == 9000.0 and tr["basis"].item() == "target"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<title>CLI report</title>" in html and html.count('<svg class="chart"') >= 6


def test_cli_report_passes_column_and_journey_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = pl.read_csv(SAMPLE).rename({"user_id": "uid", "channel": "src"})
    raw.write_parquet(tmp_path / "ev.parquet")
    code = main(
        [
            "report",
            str(tmp_path / "ev.parquet"),
            "--out",
            str(tmp_path / "out"),
            "--user-col",
            "uid",
            "--channel-col",
            "src",
            "--lookback-days",
            "7",
            "--model",
            "first_touch",
            "--quiet",
        ]
    )
    assert code == 0 and capsys.readouterr().err == ""
    expected = at.attribute_all(at.build_journeys(SAMPLE, lookback_days=7), models=["first_touch"])
    assert_frame_equal(pl.read_parquet(tmp_path / "out" / "credit.parquet"), expected)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--model", "nope"], "Unknown model 'nope'; expected one or more of:"),
        (["--spend", "missing.csv"], "does not exist"),
        (["--targets", "TARGETS"], "unknown metrics \\('visits' at row 0\\)"),
    ],
)
def test_cli_report_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], match: str
) -> None:
    targets = tmp_path / "t.csv"
    pl.DataFrame({"period": ["2024-01-01"], "metric": ["visits"], "target": [1]}).write_csv(targets)
    extra = [str(targets) if e == "TARGETS" else e for e in extra]
    extra = [str(tmp_path / e) if e == "missing.csv" else e for e in extra]
    out = tmp_path / "out"
    code = main(["report", str(SAMPLE), "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ")
    assert __import__("re").search(match, err)
    assert not (out / "report.html").exists()


def test_cli_run_is_unchanged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(SAMPLE), "--model", "linear", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    expected = at.attribute(at.build_journeys(SAMPLE), "linear").channels
    assert_frame_equal(pl.read_parquet(tmp_path / "channels.parquet"), expected)


# ----------------------------------------------------------------------------------------------
# headless Chromium over the DevTools protocol (--remote-debugging-pipe; stdlib only)

_CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]


def _chromium() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class _DevTools:
    """The smallest DevTools client: JSON messages separated by NUL on fds 3 (in) and 4 (out)."""

    def __init__(self, binary: str, profile: str, timeout: float = 60.0) -> None:
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def child() -> None:  # runs in the forked child before exec
            import fcntl

            a = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [
                binary,
                *_CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=child,
        )
        os.close(cmd_r)
        os.close(res_w)
        self._deadline = time.monotonic() + timeout
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer within the time limit")
            ready, _, _ = select.select([self._res_r], [], [], left)
            if ready:
                chunk = os.read(self._res_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while True:
            msg = self._read()
            self.events.append(msg)
            if msg.get("method") == method:
                return

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        os.close(self._res_r)

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions, failed and blocked loads, in arrival order."""
        out = []
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(d.get("exception", {}).get("description") or d["text"])
            elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a)) for a in p["args"]))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(p["entry"]["text"])
        return out


_PROBE = """(() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const charts = [...document.querySelectorAll('svg.chart')].map((s) => {
    const r = s.getBoundingClientRect();
    return {
      kind: s.dataset.kind, label: s.getAttribute('aria-label'),
      title: (s.querySelector(':scope > title') || {}).textContent,
      width: r.width, height: r.height,
      bars: [...s.querySelectorAll('rect.bar')].filter(visible).length,
      lines: [...s.querySelectorAll('polyline.series')]
        .filter((l) => l.getTotalLength() > 0).length,
      points: [...s.querySelectorAll('circle.point')].filter(visible).length,
      cells: [...s.querySelectorAll('rect.cell')].filter(visible).length,
      labels: [...s.querySelectorAll('text')].filter(visible).length,
    };
  });
  return {
    title: document.title, h1: document.querySelector('h1').textContent, charts,
    sections: [...document.querySelectorAll('section')].map((s) => s.id),
    resources: performance.getEntriesByType('resource').map((e) => e.name),
    tables: document.querySelectorAll('table').length,
  };
})()"""


def _open_in_chromium(path: Path, screenshot: Path | None = None) -> tuple[Any, list[str]]:
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "no Chromium found: install it (Debian: apt-get install -y chromium) or set "
            "CHROMIUM=/path/to/chrome"
        )
    with tempfile.TemporaryDirectory() as profile:
        tools = _DevTools(binary, profile)
        try:
            target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for method in ("Page.enable", "Runtime.enable", "Log.enable"):
                tools.send(method, session=session)
            tools.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
            tools.wait_for("Page.loadEventFired")
            result = tools.send(
                "Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session
            )["result"]
            if screenshot is not None:
                shot = tools.send(
                    "Page.captureScreenshot",
                    {"format": "png", "captureBeyondViewport": True},
                    session=session,
                )
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            return result.get("value"), tools.errors()
        finally:
            tools.close()


@pytest.fixture(scope="module")
def browser_page(full_report: Report, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("report")
    full_report.write(out)
    yield out / "report.html"


def test_the_browser_check_catches_errors(tmp_path: Path) -> None:
    """The harness itself: a broken page must produce errors (or the real test proves nothing)."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"><title>bad</title></head>"
        '<body><h1>x</h1><img src="https://example.invalid/x.png">'
        '<script>console.error("oops"); throw new Error("boom")</script></body></html>'
    )
    value, errors = _open_in_chromium(bad)
    assert value["title"] == "bad"
    text = "\n".join(errors)
    assert "oops" in text and "boom" in text and "Content Security Policy" in text


def test_report_opens_in_headless_chromium(browser_page: Path, full_report: Report) -> None:
    value, errors = _open_in_chromium(browser_page)
    assert errors == []
    assert value["resources"] == []  # nothing fetched besides the page itself
    assert value["title"] == value["h1"] == "Sample <report> & co"
    assert value["sections"] == [s.key for s in SECTIONS]
    assert value["tables"] == len(full_report.tables)
    expected: list[Chart] = full_report.charts
    assert [c["label"] for c in value["charts"]] == [c.title for c in expected]
    assert {c["kind"] for c in value["charts"]} == CHART_KINDS
    for chart in value["charts"]:
        assert chart["title"] == chart["label"]
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["labels"] > 3, chart
        if chart["kind"] in ("hbar", "grouped", "funnel"):
            assert chart["bars"] > 0, chart
        elif chart["kind"] == "line":
            assert chart["lines"] >= 1 and chart["points"] >= 2, chart
        else:
            assert chart["cells"] > 0, chart
