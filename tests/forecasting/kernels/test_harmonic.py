from __future__ import annotations

import numpy as np
import polars as pl

import forecasting as fc
from tests.forecasting._series import frame


def test_harmonic_recovers_an_exact_trend_and_season():
    t = np.arange(48.0)
    y = 100 + 2 * t + 10 * np.sin(2 * np.pi * t / 12) + 4 * np.cos(4 * np.pi * t / 12)
    y = y + 1e-6 * np.random.default_rng(1).normal(size=48)
    tf = np.arange(48.0, 60.0)
    truth = 100 + 2 * tf + 10 * np.sin(2 * np.pi * tf / 12) + 4 * np.cos(4 * np.pi * tf / 12)
    out = fc.forecast(frame({"a": y}), h=12, models="harmonic", transform="none")
    np.testing.assert_allclose(out["mean"], truth, rtol=1e-6)
    assert (out["hi-95"] - out["lo-95"]).max() < 1e-3


def test_harmonic_single_design_equals_ols_prediction_interval():
    """With one admissible design (5 points: intercept + trend only) it is plain OLS."""
    y = np.array([3.0, 5.0, 4.0, 8.0, 9.0])
    out = fc.forecast(
        frame({"a": y}), h=2, models="harmonic", transform="none", season_length=1, level=[90]
    )
    x = np.column_stack([np.ones(5), np.arange(5.0)])
    # candidates: intercept only and linear / damped trends; check the linear one's interval
    # by refitting with statsmodels-free OLS and verifying the averaged mean lies between
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    lin = beta[0] + beta[1] * np.array([5.0, 6.0])
    assert np.all(out["mean"].to_numpy() <= lin + 1e-9)
    assert np.all(out["mean"].to_numpy() >= y.mean() - 1e-9)


def test_short_series_get_no_seasonal_terms_and_stay_bounded():
    """Fewer than two seasons: Fourier terms fitted on part of a cycle extrapolate wildly."""
    from forecasting.kernels.harmonic import designs

    assert all(name.endswith("+K0") for name in designs(11, 4, 52).names)
    assert any(name.endswith("+K1") for name in designs(104, 4, 52).names)
    rng = np.random.default_rng(5)
    weeks = pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 3, 25), "1w", eager=True)
    y = rng.gamma(2.0, 200.0, size=(6, len(weeks)))
    y[:, :3] = 0.0  # channels that start late, as in attribution series
    series = pl.DataFrame(
        {
            "series_id": np.repeat([f"s{i}" for i in range(6)], len(weeks)),
            "date": pl.concat([weeks] * 6),
            "value": y.ravel(),
        }
    )
    out = fc.forecast(series, h=4)
    assert out["hi-95"].max() < 20 * y.max()


def test_designs_of_a_long_daily_series_take_memory_linear_in_its_length():
    # n x n operators per design took 24 * 1500^2 * 8 bytes (430 MB) here, 4 GB at 3000 days
    from dataclasses import fields

    from forecasting.kernels.harmonic import designs

    d = designs(1500, 14, 7)
    size = sum(getattr(d, f.name).nbytes for f in fields(d) if f.name != "names")
    assert size < 24 * 10 * (1500 + 14) * 8 * 3  # D designs, at most 10 columns, 3 arrays


def test_harmonic_equals_the_least_squares_fit_of_its_one_design():
    # 6 points, season 1: only "none+K0" and trends; a straight line is fitted exactly by the
    # linear design, whose AICc then dominates: the forecast is the line (closed form)
    y = 3.0 + 2.0 * np.arange(6.0)
    out = fc.forecast(frame({"a": y}), h=3, models="harmonic", transform="none", season_length=1)
    np.testing.assert_allclose(out["mean"], 3.0 + 2.0 * np.arange(6.0, 9.0), rtol=1e-6)
