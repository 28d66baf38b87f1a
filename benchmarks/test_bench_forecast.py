"""Forecasting speed: monthly series of 36 points, h = 12, ``auto`` plus a 3-window backtest.

The number of series comes from ``BENCH_FORECAST_SERIES`` (comma-separated, default ``50`` so
that the normal test run is a quick smoke test); the target size is 1,000
(``BENCH_FORECAST_SERIES=1000 make bench``), budget 60 s on two cores.
"""

from __future__ import annotations

import os
from datetime import date

import numpy as np
import polars as pl
import pytest

import forecasting as fc


def _sizes() -> list[int]:
    raw = os.environ.get("BENCH_FORECAST_SERIES", "50")
    return [int(float(x)) for x in raw.split(",") if x.strip()]


def _series(n_series: int, n: int = 36, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = rng.uniform(50, 500, (n_series, 1))
    trend = level * rng.uniform(-0.005, 0.02, (n_series, 1)) * t
    season = 1 + rng.uniform(0, 0.3, (n_series, 1)) * np.sin(
        2 * np.pi * t / 12 + rng.uniform(0, 6.3, (n_series, 1))
    )
    y = (level + trend) * season * np.exp(rng.normal(0, 0.08, (n_series, n)))
    dates = pl.date_range(date(2021, 1, 1), date(2023, 12, 1), "1mo", eager=True)
    return pl.DataFrame(
        {
            "series_id": np.repeat([f"s{i}" for i in range(n_series)], n),
            "date": pl.concat([dates] * n_series),
            "value": y.reshape(-1),
        }
    )


@pytest.mark.parametrize("n_series", _sizes(), ids=lambda n: f"{n}series")
def test_auto_forecast_and_backtest(benchmark, n_series):
    series = _series(n_series)

    def run():
        out = fc.forecast(series, h=12, models="auto")
        cv = fc.backtest(series, h=12, models=["auto", "seasonal_naive"], n_windows=3)
        return out, fc.accuracy(cv, by="model")

    out, scores = benchmark.pedantic(run, rounds=3 if n_series >= 1000 else 1, iterations=1)
    benchmark.extra_info["n_series"] = n_series
    assert out.height == n_series * 12
    assert scores["mase"].is_not_null().all()
