"""``attribution report``: the page and tables written, options passed, bad input exits 2."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import attribution as at
from attribution.cli import main
from tests.reporting.conftest import SAMPLE, SPEND


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
