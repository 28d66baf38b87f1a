"""The ``attribution forecast`` subcommand (forecasting/cli.py)."""

from __future__ import annotations

import argparse
from datetime import date

import numpy as np
import polars as pl
import pytest

from forecasting import cli
from tests.conftest import SAMPLE


def frame(values: dict[str, np.ndarray]) -> pl.DataFrame:
    parts = []
    for sid, v in values.items():
        d = pl.date_range(date(2021, 1, 1), date(2100, 1, 1), "1mo", eager=True)[: len(v)]
        parts.append(pl.DataFrame({"series_id": [sid] * len(v), "date": d, "value": v}))
    return pl.concat(parts)


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
