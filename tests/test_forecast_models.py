from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import stats

import forecasting as fc
from attribution import ModelError, SchemaError, ValidationError


def frame(values: dict[str, np.ndarray], start: date = date(2020, 1, 1)) -> pl.DataFrame:
    parts = []
    for sid, v in values.items():
        d = pl.date_range(start, date(2100, 1, 1), "1mo", eager=True)[: len(v)]
        parts.append(pl.DataFrame({"series_id": [sid] * len(v), "date": d, "value": v}))
    return pl.concat(parts)


# --------------------------------------------------------------------------------------------
# a simulator with known trend and seasonality


def simulate(rng, n, h, *, season, trend, noise, profile="sin"):
    """Monthly series: trend x/+ season, log-normal or Gaussian noise; returns y, future, mean."""
    t = np.arange(n + h)
    level = rng.uniform(50, 500)
    if trend == "linear":
        tr = level + level * rng.uniform(-0.005, 0.02) * t
    elif trend == "damped":
        phi = rng.uniform(0.85, 0.97)
        tr = level + level * rng.uniform(0.01, 0.04) * phi * (1 - phi**t) / (1 - phi)
    else:
        tr = np.full(n + h, level)
    amp = rng.uniform(0.1, 0.35)
    if profile == "sin":
        ph = rng.uniform(0, 2 * np.pi)
        s = np.sin(2 * np.pi * t / 12 + ph) + 0.3 * np.sin(4 * np.pi * t / 12 + 2 * ph)
        s /= np.abs(s).max()
    else:
        p = rng.normal(0, 1, 12)
        p = (p - p.mean()) / np.abs(p - p.mean()).max()
        s = p[t % 12]
    mu = {"mult": tr * (1 + amp * s), "add": tr + amp * level * s, "none": tr}[season]
    if noise == "lognormal":
        sig = rng.uniform(0.04, 0.15)
        y = mu * np.exp(rng.normal(0, sig, n + h) - sig**2 / 2)
    else:
        y = mu + rng.normal(0, rng.uniform(0.04, 0.15) * level, n + h)
    y = np.maximum(y, 0.0)
    return y[:n], y[n:], mu[n:]


SETTINGS = [
    dict(season="mult", trend="linear", noise="lognormal", profile="sin"),
    dict(season="add", trend="linear", noise="gaussian", profile="sin"),
    dict(season="mult", trend="damped", noise="lognormal", profile="random"),
    dict(season="add", trend="damped", noise="gaussian", profile="random"),
    dict(season="none", trend="linear", noise="lognormal"),
    dict(season="none", trend="damped", noise="gaussian"),
    dict(season="mult", trend="none", noise="gaussian", profile="random"),
]


@pytest.mark.slow
def test_auto_beats_seasonal_naive_is_near_the_true_mean_and_covers():
    """Held-out accuracy over 560 simulated series (36-60 months, h = 12)."""
    rng = np.random.default_rng(20261123)
    h, series, future = 12, {}, {}
    for rep in range(80):
        for k, setting in enumerate(SETTINGS):
            n = int(rng.choice([36, 48, 60]))
            y, yf, mu = simulate(rng, n, h, **setting)
            series[f"s{k}-{rep}"] = y
            future[f"s{k}-{rep}"] = (yf, mu)
    out = fc.forecast(frame(series), h=h, models=["auto", "seasonal_naive"], freq="1mo")
    err = {"auto": 0.0, "seasonal_naive": 0.0}
    truth, inside80, inside95, count = 0.0, 0, 0, 0
    for (sid, model), g in out.group_by("series_id", "model", maintain_order=True):
        yf, mu = future[sid]
        err[model] += np.abs(g["mean"].to_numpy() - yf).sum()
        if model == "auto":
            truth += np.abs(mu - yf).sum()
            inside80 += ((yf >= g["lo-80"].to_numpy()) & (yf <= g["hi-80"].to_numpy())).sum()
            inside95 += ((yf >= g["lo-95"].to_numpy()) & (yf <= g["hi-95"].to_numpy())).sum()
            count += len(yf)
    assert err["auto"] / err["seasonal_naive"] < 1.0
    assert err["auto"] / truth <= 1.2
    assert 0.75 <= inside80 / count <= 0.85
    assert 0.92 <= inside95 / count <= 0.97


# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# ETS and ARIMA: the wrapper adds no error to a direct statsmodels fit


@pytest.fixture(scope="module")
def seasonal_series():
    rng = np.random.default_rng(7)
    y, _, _ = simulate(rng, 48, 12, season="mult", trend="linear", noise="lognormal")
    return y


def test_ets_equals_direct_statsmodels_fit(seasonal_series):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = seasonal_series
    cfg = fc.select_ets(np.log1p(y), 12)
    cfg.pop("aicc")
    res = ETSModel(pd.Series(np.log1p(y)), initialization_method="estimated", **cfg).fit(disp=False)
    pred = res.get_prediction(start=48, end=59)
    out = fc.forecast(frame({"a": y}), h=12, models="ets")
    np.testing.assert_allclose(out["mean"], np.expm1(pred.predicted_mean), rtol=1e-8)
    for level in (80, 95):
        sf = pred.summary_frame(alpha=1 - level / 100)
        np.testing.assert_allclose(out[f"lo-{level}"], np.expm1(sf["pi_lower"]), rtol=1e-8)
        np.testing.assert_allclose(out[f"hi-{level}"], np.expm1(sf["pi_upper"]), rtol=1e-8)


@pytest.mark.slow
def test_arima_equals_direct_statsmodels_fit():
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    # non-seasonal here (seasonal SARIMAX fits are slow); an AR(1) around a trend
    rng = np.random.default_rng(11)
    e = np.zeros(40)
    for i in range(1, 40):
        e[i] = 0.6 * e[i - 1] + rng.normal(0, 0.05)
    y = 200 * np.exp(0.01 * np.arange(40) + e)
    cfg = fc.select_arima(np.log1p(y), 1)
    cfg.pop("aicc")
    res = SARIMAX(np.log1p(y), **cfg).fit(disp=False)
    pred = res.get_forecast(12)
    out = fc.forecast(frame({"a": y}), h=12, models="arima", season_length=1)
    np.testing.assert_allclose(out["mean"], np.expm1(pred.predicted_mean), rtol=1e-8)
    for level in (80, 95):
        ci = pred.conf_int(alpha=1 - level / 100)
        np.testing.assert_allclose(out[f"lo-{level}"], np.expm1(ci[:, 0]), rtol=1e-8)
        np.testing.assert_allclose(out[f"hi-{level}"], np.expm1(ci[:, 1]), rtol=1e-8)


@pytest.mark.slow
def test_process_pool_gives_the_same_answer():
    rng = np.random.default_rng(3)
    series = {f"s{i}": 100 + rng.normal(0, 1, 24).cumsum() for i in range(8)}
    kw = dict(h=6, models="ets", season_length=1)
    one = fc.forecast(frame(series), n_jobs=1, **kw)
    two = fc.forecast(frame(series), n_jobs=2, **kw)
    assert one.equals(two)


# --------------------------------------------------------------------------------------------
# shape of the output and input rules


def test_output_columns_dates_and_non_negative_intervals(rng):
    y = np.abs(rng.normal(0, 1, 40))  # small non-negative values with zeros nearby
    y[::7] = 0.0
    out = fc.forecast(
        frame({"b": y, "a": y[:30] + 1}),
        h=3,
        level=[50, 99.5],
        models=["theta", "harmonic", "drift", "auto"],
    )
    assert out.columns == [
        "series_id",
        "date",
        "model",
        "mean",
        "lo-50",
        "hi-50",
        "lo-99.5",
        "hi-99.5",
    ]
    a = out.filter((pl.col("series_id") == "a") & (pl.col("model") == "drift"))
    assert a["date"].to_list() == [date(2022, 7, 1), date(2022, 8, 1), date(2022, 9, 1)]
    assert out.select(pl.col("lo-99.5").min()).item() >= 0.0
    assert (out["lo-99.5"] <= out["lo-50"]).all() and (out["hi-50"] <= out["hi-99.5"]).all()


def test_freq_is_inferred_and_month_ends_stay_month_ends():
    d = [date(2023, 1, 31), date(2023, 2, 28), date(2023, 3, 31), date(2023, 4, 30)]
    s = pl.DataFrame({"series_id": "a", "date": d, "value": [1.0, 2.0, 3.0, 4.0]})
    out = fc.forecast(s, h=2, models="naive")
    assert out["date"].to_list() == [date(2023, 5, 31), date(2023, 6, 30)]


def test_bad_input_raises_named_errors():
    s = frame({"a": np.arange(1.0, 13.0)})
    with pytest.raises(
        ValidationError, match=r"1 series are not regular at freq '1mo' \(first break: a"
    ):
        fc.forecast(s.filter(pl.col("date") != date(2020, 5, 1)), h=2, freq="1mo")
    with pytest.raises(ValidationError, match="1 duplicated rows"):
        fc.forecast(pl.concat([s, s.head(1)]), h=2)
    with pytest.raises(ModelError, match="Unknown forecasting model 'prophet'"):
        fc.forecast(s, h=2, models="prophet")
    with pytest.raises(ValidationError, match="level must be percentages"):
        fc.forecast(s, h=2, level=[95, 120])
    with pytest.raises(ValidationError, match=r"h \(the number of periods ahead\)"):
        fc.forecast(s, h=0)
    with pytest.raises(SchemaError, match="Column 'y' is missing"):
        fc.forecast(s, h=2, value_col="y")
    with pytest.raises(ValidationError, match=r"Column 'value' has 1 null.*row 3 \(series_id a\)"):
        fc.forecast(
            s.with_columns(
                pl.when(pl.int_range(12) == 3).then(None).otherwise(pl.col("value")).alias("value")
            ),
            h=2,
        )
    with pytest.raises(ValidationError, match=r"1 series are too short: b \(3 points\)"):
        fc.forecast(frame({"a": np.ones(10), "b": np.ones(3)}), h=2)


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
