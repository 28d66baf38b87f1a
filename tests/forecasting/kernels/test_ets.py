from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import forecasting as fc
from forecasting.kernels.ets import FORMS, ets_fit, ets_forecast
from tests.forecasting._series import frame, simulate

# ETS: the grid fit and its concentrated initial state against statsmodels and a brute force


def _series(trend: str, n: int = 60, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, _, _ = simulate(rng, n, 12, season="mult", trend=trend, noise="lognormal")
    return y * np.exp(0.03 * np.arange(n)) if trend == "linear" else y


@pytest.mark.parametrize("trend", ["linear", "none"])
def test_ets_forecast_equals_statsmodels_at_the_chosen_parameters(trend):
    """statsmodels' ETSModel with the smoothing parameters fixed estimates the initial states
    by maximum likelihood, which for additive errors is the least squares fit made here."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = _series(trend)
    z = np.log(y / y.mean())
    cfg = fc.select_ets(z, 12)
    model = ETSModel(
        pd.Series(z),
        error="add",
        trend=cfg["trend"],
        damped_trend=cfg["damped_trend"],
        seasonal=cfg["seasonal"],
        seasonal_periods=cfg["seasonal_periods"],
        initialization_method="estimated",
    )
    names = {"alpha": "smoothing_level", "beta": "smoothing_trend"}
    names |= {"gamma": "smoothing_seasonal", "phi": "damping_trend"}
    fixed = {names[k]: cfg[k] for k in names if cfg[k] is not None}
    with model.fix_params(fixed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp=False, maxiter=5000)
    pred = res.get_prediction(start=60, end=71)
    [fit] = ets_fit([z], 12)
    loc, sd = ets_forecast(fit, 12)
    np.testing.assert_allclose(loc[0], pred.predicted_mean, atol=1e-4)
    # statsmodels' variance is sse / n, ours sse / (n - k) as R's forecast::ets
    k = 60 - res.sse / fit.sigma2[0]
    assert k == pytest.approx(round(k), abs=1e-6)
    np.testing.assert_allclose(
        sd[0] * np.sqrt((60 - k) / 60), np.sqrt(pred.var_pred_mean), rtol=1e-3
    )
    out = fc.forecast(frame({"a": y}), h=12, models="ets")
    np.testing.assert_allclose(out["mean"], np.exp(loc[0]) * y.mean(), rtol=1e-9)


def _brute_sse(z, alpha, beta, gamma, phi, trend, season, m):
    """Least squares initial state by the explicit recursion (Hyndman et al. 2008, Table 2.1)."""

    def run(x0, data):
        level, slope, seas = x0[0], x0[1], list(x0[2:])  # seas[0] is s_(t-m)
        err = []
        for v in data:
            e = v - (level + phi * slope + seas[0])
            err.append(e)
            level, slope = level + phi * slope + alpha * e, phi * slope + beta * e
            seas = [*seas[1:], seas[0] + gamma * e]
        return np.array(err), level, slope, seas

    p = 2 + m
    base, *_ = run(np.zeros(p), z)
    cols = []
    for i in range(p):
        unit = np.zeros(p)
        unit[i] = 1.0
        cols.append(base - run(unit, z)[0])  # the effect of one initial state
    use = [0] + ([1] if trend != "N" else []) + (list(range(2, p)) if season else [])
    x, *_ = np.linalg.lstsq(np.column_stack(cols)[:, use], base, rcond=None)
    x0 = np.zeros(p)
    x0[use] = x
    err, level, slope, seas = run(x0, z)
    return err @ err, level, slope, seas


@pytest.mark.parametrize("form", range(len(FORMS)))
def test_fit_and_forecast_equal_a_brute_force_least_squares(form):
    """Each form at its chosen grid point: sum of squares and forecasts of the explicit
    recursion with the least squares initial state (levels and seasons are only identified
    together, so the forecasts are compared, not the states)."""
    trend, season = FORMS[form]
    z = np.log(_series("linear", n=50, seed=form) / 300)
    [fit] = ets_fit([z], 12, forms=[form])
    assert fit.form[0] == form
    alpha, beta, gamma, phi = fit.params[0]
    sse, level, slope, seas = _brute_sse(z, alpha, beta, gamma, phi, trend, season, 12)
    k = 1 + (trend != "N") + (11 if season else 0) + 1 + (trend != "N") + season + (trend == "Ad")
    assert fit.sigma2[0] * (50 - k - 1) == pytest.approx(sse, rel=1e-8)
    steps = np.arange(1, 13)
    damped = np.cumsum(phi**steps)
    brute = level + damped * slope + np.array(seas)[(steps - 1) % 12]
    np.testing.assert_allclose(ets_forecast(fit, 12)[0][0], brute, rtol=1e-8, atol=1e-10)


def test_a_batch_fits_each_series_as_if_alone():
    ys = [
        np.log(_series(t, n=n, seed=s) / 200)
        for t, n, s in (("linear", 60, 1), ("none", 45, 2), ("damped", 60, 3), ("linear", 30, 4))
    ]
    batch = ets_fit(ys, 12)[0]
    for i, z in enumerate(ys):
        [alone] = ets_fit([z], 12)
        assert alone.form[0] == batch.form[i]
        np.testing.assert_allclose(alone.params[0], batch.params[i])
        assert alone.level[0] == pytest.approx(batch.level[i], rel=1e-10)


def test_holdouts_are_refits_on_the_truncated_series():
    z = np.log(_series("linear", n=60) / 300)
    _, cut = ets_fit([z], 12, holdouts=(0, 12))
    [alone] = ets_fit([z[:48]], 12)
    assert cut.form[0] == alone.form[0]
    np.testing.assert_allclose(cut.params, alone.params)
    assert cut.level[0] == pytest.approx(alone.level[0], rel=1e-10)
    assert cut.sigma2[0] == pytest.approx(alone.sigma2[0], rel=1e-10)


@pytest.mark.parametrize("form", [1, 3])
def test_a_refreshed_holdout_runs_the_older_origins_model_over_its_longer_window(form):
    """Outside ``refit``, a holdout keeps the form and smoothing parameters chosen at the
    next older origin; its initial state, variance and forecasts are those of the explicit
    recursion over its own (longer) window at those parameters."""
    trend, season = FORMS[form]
    z = np.log(_series("linear", n=60, seed=15) / 300)
    full, later, older = ets_fit([z], 12, holdouts=(0, 6, 12), forms=[form], refit=(0, 12))
    [alone] = ets_fit([z[:54]], 12, forms=[form])
    assert later.form[0] == older.form[0] == form
    np.testing.assert_array_equal(later.params, older.params)
    # a fresh choice on the later window would take another grid point here: the test
    # would not tell a refresh from a refit otherwise
    assert not np.array_equal(alone.params, older.params)
    alpha, beta, gamma, phi = later.params[0]
    sse, level, slope, seas = _brute_sse(z[:54], alpha, beta, gamma, phi, trend, season, 12)
    k = 1 + (trend != "N") + (11 if season else 0) + 1 + (trend != "N") + season + (trend == "Ad")
    assert later.sigma2[0] * (54 - k - 1) == pytest.approx(sse, rel=1e-8)
    steps = np.arange(1, 13)
    brute = level + np.cumsum(phi**steps) * slope + np.array(seas)[(steps - 1) % 12]
    np.testing.assert_allclose(ets_forecast(later, 12)[0][0], brute, rtol=1e-8, atol=1e-10)
    # the holdouts of refit are fitted as before
    refit_all = ets_fit([z], 12, holdouts=(0, 6, 12), forms=[form])
    np.testing.assert_array_equal(refit_all[0].params, full.params)
    np.testing.assert_array_equal(refit_all[2].params, older.params)


def test_a_long_daily_series_is_fitted_in_memory_linear_in_its_length(monkeypatch):
    # the lag matrix of the grid fit is (n - 1) x n per series: 3,000 days took 72 MB per
    # copy (20,000 days, 10 GB in all); built a span of days at a time it stays small, and
    # the forecast is the same to the last bit
    import tracemalloc

    import forecasting.kernels.ets as ets_module
    from forecasting.kernels.scale import log_scale

    rng = np.random.default_rng(3)
    t = np.arange(3000)
    u = 1 + 0.1 * np.sin(2 * np.pi * t / 7) + 0.02 * rng.standard_normal(3000)
    sc = log_scale(u[None], "auto")
    probs = np.array([0.1, 0.9])
    whole = ets_module.ets([u], 14, 7, probs, sc)
    monkeypatch.setattr(ets_module, "_BLOCK", 50_000)  # the operators stay cached from above
    tracemalloc.start()
    try:
        spans = ets_module.ets([u], 14, 7, probs, sc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80e6, peak  # 246 MB before
    for (a, qa), (b, qb) in zip(whole, spans, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(qa, qb)
