from __future__ import annotations

from datetime import date
from functools import partial

import numpy as np
import polars as pl
import pytest

import forecasting as fc
from attribution import ValidationError
from tests.forecasting._series import frame as series_frame

# monthly long frames from January 2021
frame = partial(series_frame, start=date(2021, 1, 1))


def test_windows_are_refits_on_truncated_series(rng):
    """The docstring example: n=36, h=12, 3 windows, step 1 -> fits on 22, 23, 24 points."""
    y = 50 + rng.normal(0, 1, 36).cumsum()
    s = frame({"a": y})
    cv = fc.backtest(s, h=12, models=["drift", "theta"], n_windows=3, step=1)
    cutoffs = sorted(cv["cutoff"].unique().to_list())
    assert cutoffs == [date(2022, 10, 1), date(2022, 11, 1), date(2022, 12, 1)]
    for k, cut in enumerate((22, 23, 24)):
        ref = fc.forecast(s.head(cut), h=12, models=["drift", "theta"])
        got = cv.filter(pl.col("cutoff") == cutoffs[k]).sort("model", "date")
        assert got["date"].to_list() == ref["date"].to_list()
        np.testing.assert_allclose(got["mean"], ref["mean"], rtol=1e-12)
        np.testing.assert_allclose(got["hi-95"], ref["hi-95"], rtol=1e-12)
        np.testing.assert_allclose(
            got.filter(pl.col("model") == "drift")["actual"], y[cut : cut + 12]
        )
        train = y[:cut]
        assert got["scale"][0] == pytest.approx(np.mean(np.abs(train[12:] - train[:-12])))
    assert cv["horizon"].to_list()[:12] == list(range(1, 13))


def test_accuracy_matches_brute_force(rng):
    n = 60
    cv = pl.DataFrame(
        {
            "model": rng.choice(["x", "y"], n).tolist(),
            "horizon": rng.integers(1, 4, n),
            "actual": np.where(rng.random(n) < 0.2, 0.0, rng.normal(10, 3, n)),
            "mean": np.where(rng.random(n) < 0.1, 0.0, rng.normal(10, 3, n)),
            "scale": np.where(rng.random(n) < 0.1, 0.0, rng.uniform(1, 2, n)),
        }
    ).with_columns((pl.col("mean") - 2).alias("lo-80"), (pl.col("mean") + 2).alias("hi-80"))
    got = fc.accuracy(cv, by="model")
    for row in got.iter_rows(named=True):
        g = cv.filter(pl.col("model") == row["model"])
        a, f, sc = g["actual"].to_numpy(), g["mean"].to_numpy(), g["scale"].to_numpy()
        e = np.abs(a - f)
        assert row["mae"] == pytest.approx(e.mean())
        assert row["rmse"] == pytest.approx(np.sqrt((e**2).mean()))
        assert row["mape"] == pytest.approx(
            np.mean([x / abs(y) for x, y in zip(e, a, strict=True) if y != 0])
        )
        d = np.abs(a) + np.abs(f)
        assert row["smape"] == pytest.approx(
            np.mean([2 * x / y for x, y in zip(e, d, strict=True) if y != 0])
        )
        assert row["mase"] == pytest.approx(
            np.mean([x / s for x, s in zip(e, sc, strict=True) if s > 0])
        )
        assert row["coverage-80"] == pytest.approx(np.mean(np.abs(a - f) <= 2))
    # all actuals zero: MAPE has no usable point -> null, not inf
    zero = cv.with_columns(pl.lit(0.0).alias("actual"))
    assert fc.accuracy(zero, by="model")["mape"].null_count() == 2
    # errors whose squares overflow: the same metrics, scaled (RMSE was inf)
    huge = fc.accuracy(cv.with_columns(pl.col("actual", "mean", "lo-80", "hi-80") * 1e200))
    plain = fc.accuracy(cv)
    for col in ("mae", "rmse", "mase"):
        np.testing.assert_allclose(huge[col].to_numpy(), 1e200 * plain[col].to_numpy(), rtol=1e-12)


def test_auto_best_picks_the_exact_candidate():
    """On a straight line the drift method has zero backtest error, naive does not."""
    y = 10 + 3 * np.arange(30.0)
    out = fc.forecast(
        frame({"a": y}),
        h=5,
        models=["auto", "drift"],
        candidates=["naive", "drift"],
        combine="best",
        transform="none",
    )
    auto = out.filter(pl.col("model") == "auto")["mean"].to_numpy()
    np.testing.assert_allclose(auto, 10 + 3 * np.arange(30.0, 35.0))
    # one series cannot tell a subset apart by its spread: "select" keeps every candidate
    # that beats seasonal naive, with equal weights (on the raw scale here)
    select = fc.forecast(
        frame({"a": y}), h=5, models="auto", candidates=["naive", "drift"], transform="none"
    )
    np.testing.assert_allclose(select["mean"], (auto + y[-1]) / 2, rtol=1e-12)


def test_backtest_too_short_names_the_series():
    with pytest.raises(
        ValidationError, match=r"1 series are too short: b \(20 points\).*at least 30"
    ):
        fc.backtest(frame({"a": np.ones(40), "b": np.ones(20)}), h=12, n_windows=3, step=7)
