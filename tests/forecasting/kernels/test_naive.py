from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

import forecasting as fc
from tests.forecasting._series import frame

# baselines: closed forms of fpp3 §5.2 / §5.5


def test_benchmark_methods_match_textbook_formulas(rng):
    y = rng.normal(0, 1, 30).cumsum() + 5  # negative values possible: raw scale either way
    h, m = 15, 12
    out = fc.forecast(
        frame({"a": y}),
        h=h,
        models=["naive", "seasonal_naive", "drift"],
        level=[80],
        transform="none",
        freq="1mo",
    )
    z = stats.norm.ppf(0.9)
    steps = np.arange(1, h + 1)
    # naive
    s = np.sqrt(np.mean(np.diff(y) ** 2))
    got = out.filter(pl.col("model") == "naive")
    np.testing.assert_allclose(got["mean"], np.full(h, y[-1]))
    np.testing.assert_allclose(got["hi-80"], y[-1] + z * s * np.sqrt(steps), rtol=1e-12)
    # seasonal naive
    s = np.sqrt(np.mean((y[m:] - y[:-m]) ** 2))
    got = out.filter(pl.col("model") == "seasonal_naive")
    expected = np.array([y[len(y) - m + (i % m)] for i in range(h)])
    np.testing.assert_allclose(got["mean"], expected)
    k = np.array([i // m for i in range(h)])
    np.testing.assert_allclose(got["lo-80"], expected - z * s * np.sqrt(k + 1), rtol=1e-12)
    # drift: slope between first and last point
    b = (y[-1] - y[0]) / (len(y) - 1)
    e = np.diff(y) - b
    s = np.sqrt(np.sum(e**2) / (len(y) - 2))
    got = out.filter(pl.col("model") == "drift")
    np.testing.assert_allclose(got["mean"], y[-1] + b * steps, rtol=1e-12)
    sd = s * np.sqrt(steps * (1 + steps / (len(y) - 1)))
    np.testing.assert_allclose(got["hi-80"], y[-1] + b * steps + z * sd, rtol=1e-12)
