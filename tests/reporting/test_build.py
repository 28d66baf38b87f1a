"""The report's build: its tables come from the library's figures; writing them beside the page."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import attribution as at
from attribution.crm import read_activities, read_crm
from attribution.kpis.funnel import funnel
from attribution.kpis.sla import sla_attainment
from attribution.reporting import Report, build_report, trends
from attribution.reporting import paths as path_reports
from tests.reporting.conftest import FAST_MODELS, SAMPLE, SPEND, crm_and_activities, raw_conversions


def test_report_tables_come_from_the_library(report: Report, journeys: at.Journeys) -> None:
    credit = at.attribute_all(journeys, models=FAST_MODELS)
    assert_frame_equal(report.tables["credit"], credit)
    assert_frame_equal(report.tables["roi"], at.roi(credit, SPEND))
    assert report.headline_model == "markov"
    assert_frame_equal(report.tables["top_paths"], path_reports.top_paths(journeys, n=10))
    assert_frame_equal(report.tables["assists"], path_reports.assists(journeys))


def test_summary_matches_the_raw_files(report: Report) -> None:
    raw = pl.read_csv(SAMPLE)
    conv = raw_conversions()
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
    from attribution import crm as crm_module
    from attribution.kpis import funnel as funnel_module
    from attribution.kpis import sla as sla_module

    crm, acts = crm_and_activities()
    rep = build_report(
        journeys, crm=crm, activities=acts, mql_commitment=45, models=["linear"], freq="1mo"
    )
    lf = crm_module.read_crm(crm)
    assert_frame_equal(rep.tables["funnel"], funnel_module.funnel(lf, freq="1mo"))
    assert_frame_equal(rep.tables["stage_conversion"], funnel_module.stage_conversion(lf))
    activities = crm_module.read_activities(acts)
    assert_frame_equal(
        rep.tables["sla"],
        sla_module.sla_attainment(lf, activities, mql_commitment=45, freq="1mo"),
    )
    # without a commitment and activities the SLA section has nothing to measure against
    rep2 = build_report(journeys, crm=crm, models=["linear"])
    assert "funnel" in rep2.tables and "sla" not in rep2.tables
    assert "Neither an MQL commitment nor sales activities" in rep2.notes["sla"]


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


def test_the_report_takes_pandas_period_aliases(journeys: at.Journeys) -> None:
    crm, acts = crm_and_activities()
    rep = build_report(
        journeys, crm=crm, activities=acts, mql_commitment=45, models=["linear"], freq="MS"
    )
    assert_frame_equal(rep.tables["trends"], trends(journeys, freq="1mo"))
    lf = read_crm(crm)
    assert_frame_equal(rep.tables["funnel"], funnel(lf, freq="1mo"))
    assert_frame_equal(
        rep.tables["sla"], sla_attainment(lf, read_activities(acts), mql_commitment=45, freq="1mo")
    )
    assert rep.meta["period"] == "month"
    weekly = build_report(journeys, models=["linear"], freq="2w")
    assert weekly.meta["period"] == "2 weeks"
    assert_frame_equal(weekly.tables["trends"], trends(journeys, freq="2w"))


def test_journey_options_as_a_value_or_as_keywords(tmp_path: Path) -> None:
    raw = pl.read_csv(SAMPLE).rename({"user_id": "uid", "channel": "src"})
    raw.write_parquet(tmp_path / "ev.parquet")
    expected = at.attribute_all(
        at.build_journeys(SAMPLE, lookback_days=7, max_touches=3), models=["first_touch"]
    )
    opts = at.JourneyOptions(user_col="uid", channel_col="src", lookback_days=7, max_touches=3)
    by_value = build_report(tmp_path / "ev.parquet", opts, models=["first_touch"])
    by_keywords = build_report(
        tmp_path / "ev.parquet",
        models=["first_touch"],
        user_col="uid",
        channel_col="src",
        lookback_days=7,
        max_touches=3,
    )
    # a keyword replaces the field of the options value
    replaced = build_report(
        tmp_path / "ev.parquet",
        at.JourneyOptions(user_col="uid", channel_col="src", lookback_days=30, max_touches=3),
        models=["first_touch"],
        lookback_days=7,
    )
    for rep in (by_value, by_keywords, replaced):
        assert_frame_equal(rep.tables["credit"], expected)
        assert rep.meta["lookback"] == "7 days"
    # events that read_events returned are used as they are
    events = at.read_events(tmp_path / "ev.parquet", user_col="uid", channel_col="src")
    read = build_report(events, models=["first_touch"], lookback_days=7, max_touches=3)
    assert_frame_equal(read.tables["credit"], expected)


def test_journey_options_are_refused_for_built_journeys(journeys: at.Journeys) -> None:
    with pytest.raises(at.ValidationError, match=r"^options applies when the report builds"):
        build_report(journeys, at.JourneyOptions(lookback_days=30), models=["linear"])
    with pytest.raises(
        at.ValidationError,
        match=r"^lookback_days, max_touches apply when .* \(pass lookback_days, max_touches to",
    ):
        build_report(journeys.to_paths(), models=["linear"], lookback_days=3, max_touches=2)
    with pytest.raises(at.ValidationError, match=r"Unknown journey option 'lookback'"):
        build_report(SAMPLE, models=["linear"], lookback=30)  # type: ignore[call-arg]
    with pytest.raises(at.ValidationError, match=r"lookback_days must be a finite number > 0"):
        build_report(SAMPLE, models=["linear"], lookback_days=-1)


def test_spend_outside_the_journeys_dates_is_left_out_of_the_roi() -> None:
    """Spend of a year before the log was counted: ROI of 'a' was (15 − 1005) / 1005.

    Hand-worked: 'a' earns 10 + 5 and costs 5 in the log's dates, ROI (15 − 5) / 5 = 2;
    'b' earns 30 and costs 0 then (its 7 is dated after the log), so its ROI is null.
    """
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3],
            "channel": ["a", None, "b", None, "a", None],
            "event": ["touch", "conversion"] * 3,
            "revenue": [0.0, 10.0, 0.0, 30.0, 0.0, 5.0],
            "timestamp": [
                "2024-01-03", "2024-01-05", "2024-02-01", "2024-02-02", "2024-03-01", "2024-03-02",
            ],
        }
    )  # fmt: skip
    spend = pl.DataFrame(
        {
            "date": ["2023-01-01", "2024-01-03", "2024-03-03"],
            "channel": ["a", "a", "b"],
            "spend": [1000.0, 5.0, 7.0],
        }
    )
    with pytest.warns(at.DataQualityWarning, match=r"left out of the ROI: 1,007 over 2 rows"):
        rep = build_report(ev, models=["linear"], spend=spend)
    roi = {c: r for c, r in rep.tables["roi"].select("channel", "roi").iter_rows()}
    assert roi == {"a": pytest.approx(2.0), "b": None}
    assert dict(rep.tables["summary"].iter_rows())["spend"] == 5.0
    assert "2024-01-03 to 2024-03-02" in rep.notes["roi"]
    assert rep.meta["spend dates"] == "2024-01-03 to 2024-03-02"
    assert "left out of the ROI" in rep.to_html()
    # a path table has no dates: all of the spend is counted
    paths = at.build_journeys(ev).to_paths()
    assert (
        build_report(paths, models=["linear"], spend=spend).tables["roi"]["spend"].sum() == 1012.0
    )


def test_the_report_reads_a_spend_file_s_channel_names_as_written(tmp_path: Path) -> None:
    """'01' in a spend CSV was the number 1 (channel '1'), so the credited '01' had no spend."""
    ev = pl.DataFrame(
        {
            "user_id": [1, 1],
            "channel": ["01", None],
            "event": ["touch", "conversion"],
            "revenue": [0.0, 10.0],
            "timestamp": ["2024-01-03", "2024-01-05"],
        }
    )
    path = tmp_path / "spend.csv"
    path.write_text("date,channel,spend\n2024-01-03,01,4\n")
    rep = build_report(ev, models=["linear"], spend=path)
    assert rep.tables["roi"].select("channel", "spend", "roi").rows() == [("01", 4.0, 1.5)]
