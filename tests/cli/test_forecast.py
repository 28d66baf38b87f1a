"""``attribution forecast`` (attribution/cli/forecast.py; ``forecasting.cli`` forwards here)."""

from __future__ import annotations

import argparse
from datetime import date
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from attribution.cli import forecast as cli
from attribution.cli import main
from tests.conftest import SAMPLE
from tests.forecasting._series import frame as series_frame

# monthly long frames from January 2021
frame = partial(series_frame, start=date(2021, 1, 1))


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="attribution")
    cli.add_parser(p.add_subparsers(dest="command", required=True))
    return p


def test_cli_forecasts_a_series_file(tmp_path, rng):
    src = tmp_path / "s.csv"
    frame({"a": 100 + rng.normal(0, 1, 30), "b": 50 + rng.normal(0, 1, 30)}).write_csv(src)
    args = _parser().parse_args(
        [
            "forecast",
            str(src),
            "--h",
            "4",
            "--out",
            str(tmp_path / "o"),
            "--models",
            "seasonal_naive,theta",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    out = pl.read_parquet(tmp_path / "o" / "forecast.parquet")
    assert out.columns[:4] == ["series_id", "date", "model", "mean"]
    assert out.height == 2 * 2 * 4
    assert pl.read_csv(tmp_path / "o" / "forecast.csv").height == out.height
    assert (tmp_path / "o" / "forecast.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_cli_forecasts_an_event_log(tmp_path):
    args = _parser().parse_args(
        [
            "forecast",
            str(SAMPLE),
            "--h",
            "3",
            "--out",
            str(tmp_path),
            "--by",
            "total",
            "--freq",
            "1w",
            "--no-plot",
            "--quiet",
        ]
    )
    assert cli.run(args) == 0
    out = pl.read_parquet(tmp_path / "forecast.parquet")
    assert out["series_id"].unique().to_list() == ["total"]
    assert not (tmp_path / "forecast.png").exists()


def test_cli_bad_input_exits_2_with_message(tmp_path, capsys):
    src = tmp_path / "s.csv"
    s = frame({"a": np.ones(12)})
    pl.concat([s, s.head(1)]).write_csv(src)  # a date twice
    args = _parser().parse_args(["forecast", str(src), "--out", str(tmp_path / "o")])
    assert cli.run(args) == 2
    assert "duplicated rows" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_forecast_subcommand_matches_the_library(tmp_path: Path) -> None:
    """`attribution forecast` writes what forecasting.forecast returns for the same series."""
    import forecasting as fc

    months = pl.date_range(pl.date(2021, 1, 1), pl.date(2023, 12, 1), "1mo", eager=True)
    t = np.arange(len(months))
    series = pl.DataFrame(
        {
            "series_id": ["a"] * len(t) + ["b"] * len(t),
            "date": pl.concat([months, months]),
            "value": np.concatenate([100 + 2.0 * t, 50 + 10 * np.sin(2 * np.pi * t / 12)]),
        }
    )
    src = tmp_path / "series.csv"
    series.write_csv(src)
    out = tmp_path / "out"
    args = ["forecast", str(src), "--out", str(out), "--h", "4", "--no-plot", "--quiet"]
    assert main(args) == 0
    got = pl.read_parquet(out / "forecast.parquet")
    want = fc.forecast(series, h=4)
    assert got.height == want.height == 8
    np.testing.assert_allclose(got.sort("series_id", "date")["mean"], want["mean"], rtol=1e-9)
    assert main(["forecast", str(tmp_path / "missing.csv"), "--out", str(out)]) == 2


def test_the_old_module_path_forwards_with_a_warning() -> None:
    import importlib

    old = importlib.import_module("forecasting.cli")
    with pytest.warns(DeprecationWarning, match=r"forecasting.cli has moved to attribution.cli"):
        assert old.run is cli.run
    with pytest.warns(DeprecationWarning):
        assert old.add_parser is cli.add_parser


def test_forecast_of_an_event_log_reads_its_own_columns(tmp_path: Path) -> None:
    raw = pl.read_csv(SAMPLE).rename({"timestamp": "ts", "channel": "src"})
    src = tmp_path / "events.parquet"
    raw.write_parquet(src)
    argv = ["forecast", str(src), "--h", "2", "--by", "total", "--models", "naive"]
    argv += ["--event-time-col", "ts", "--channel-col", "src", "--no-plot", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert (
        main(
            [
                "forecast",
                str(SAMPLE),
                *argv[2:8],
                "--no-plot",
                "--quiet",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    a = pl.read_parquet(tmp_path / "a" / "forecast.parquet")
    b = pl.read_parquet(tmp_path / "b" / "forecast.parquet")
    assert a.equals(b)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("series_id,date,value\n", "The series frame is empty (0 rows)"),
        (
            "series_id,date,value\na,2020-01-01,1\na,2020-02-01,x\na,2020-03-01,3\n",
            "Column 'value' has 1 values that are not numbers ('x' at row 1)",
        ),
    ],
)
def test_a_series_file_with_no_rows_or_a_word_for_a_value_is_named(tmp_path, capsys, text, message):
    src = tmp_path / "s.csv"
    src.write_text(text)
    assert main(["forecast", str(src), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_forecast_of_numbered_periods_writes_numbers_and_draws_them(tmp_path: Path) -> None:
    """Competition-style files (unique_id, ds = 1 .. n, y) forecast as the library does."""
    pytest.importorskip("matplotlib")
    import forecasting as fc

    t = np.arange(36)
    series = pl.DataFrame(
        {
            "unique_id": ["a"] * 36 + ["b"] * 36,
            "ds": np.tile(t + 1, 2),
            "y": np.concatenate([100 + 2.0 * t, 50 + 10 * np.sin(2 * np.pi * t / 12)]),
        }
    )
    src = tmp_path / "numbered.csv"
    series.write_csv(src)
    out = tmp_path / "out"
    cols = ["--id-col", "unique_id", "--time-col", "ds", "--value-col", "y"]
    args = ["forecast", str(src), "--out", str(out), "--h", "3", "--season-length", "12"]
    assert main([*args, *cols, "--quiet"]) == 0
    got = pl.read_parquet(out / "forecast.parquet")
    names = {"id_col": "unique_id", "time_col": "ds", "value_col": "y"}
    want = fc.forecast(series, h=3, season_length=12, **names)
    assert got["ds"].to_list() == [37, 38, 39] * 2
    assert got.equals(want)
    assert (out / "forecast.png").stat().st_size > 0
