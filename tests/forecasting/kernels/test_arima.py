from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

import forecasting as fc
from forecasting.kernels.arima import arima_fit, arima_forecast, differences


def _seasonal_walk(n: int = 240, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    walk = np.cumsum(rng.normal(0, 0.03, n))
    return 0.002 * t + 0.3 * np.sin(2 * np.pi * t / 12) + walk + rng.normal(0, 0.05, n)


def test_errors_are_the_conditional_sum_of_squares_filter():
    """e = (A(B) w - c) / M(B) from zero initial values, by scipy's lfilter."""
    z = _seasonal_walk()
    [fit] = arima_fit([z], 12)
    _, d, _, _, big_d, _, _ = fit.order[0]
    w = z[12:] - z[:-12] if big_d else z
    w = np.diff(w, n=int(d)) if d else w
    e = signal.lfilter(fit.ar[0], fit.ma[0], w) - signal.lfilter(
        [1.0], fit.ma[0], np.full(len(w), fit.const[0])
    )
    np.testing.assert_allclose(fit.errors[0, : len(w)], e, atol=1e-10)


def test_forecasts_follow_the_model_recursion_and_psi_weights():
    from statsmodels.tsa.arima_process import arma2ma

    z = _seasonal_walk()
    cfg = fc.select_arima(z, 12)
    [fit] = arima_fit([z], 12)
    loc, sd = arima_forecast(fit, [z], 12, 18)
    # brute force: the difference equation of y written out, future errors zero
    delta = np.array([1.0])
    for _ in range(cfg["order"][1]):
        delta = np.convolve(delta, [1.0, -1.0])
    if cfg["seasonal_order"][1]:
        delta = np.convolve(delta, np.r_[1.0, np.zeros(11), -1.0])
    phi = np.convolve(cfg["ar"], delta)
    ma = np.array(cfg["ma"])
    n = len(z)
    y = list(z)
    e = list(np.zeros(n))
    w_len = int(fit.lengths[0])
    e[n - w_len :] = fit.errors[0, :w_len]
    for j in range(18):
        t = n + j
        val = cfg["const"] - sum(phi[i] * y[t - i] for i in range(1, len(phi)))
        val += sum(ma[i] * e[t - i] for i in range(1, len(ma)) if t - i < n)
        y.append(val)
        e.append(0.0)
    np.testing.assert_allclose(loc[0], y[n:], rtol=1e-10)
    psi = arma2ma(phi, ma, lags=18)
    np.testing.assert_allclose(sd[0], np.sqrt(cfg["sigma2"] * np.cumsum(psi**2)), rtol=1e-10)


def test_differencing_follows_seasonal_strength_and_kpss():
    t = np.arange(96.0)
    rng = np.random.default_rng(0)
    seasonal = np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.05, 96)
    walk = np.cumsum(rng.normal(0, 1, 96))
    noise = rng.normal(0, 1, 96)
    d, big_d = differences([seasonal, walk, noise], 12)
    assert big_d.tolist() == [1, 0, 0]
    assert d.tolist()[1:] == [1, 0]


def test_a_batch_fits_each_series_as_if_alone_and_holdouts_refit():
    zs = [_seasonal_walk(n, s) for n, s in ((120, 1), (96, 2), (60, 3))]
    batch = arima_fit(zs, 12)[0]
    for i, z in enumerate(zs):
        [alone] = arima_fit([z], 12)
        np.testing.assert_array_equal(alone.order[0], batch.order[i])
        np.testing.assert_allclose(alone.ar[0], batch.ar[i], atol=1e-10)
        assert alone.sigma2[0] == pytest.approx(batch.sigma2[i], rel=1e-9)
    full, cut = arima_fit([zs[0]], 12, holdouts=(0, 24))
    d, big_d = differences([zs[0]], 12)
    # the orders of differencing come from the whole series, the rest is refitted
    assert cut.order[0, 1] == d[0] and cut.order[0, 4] == big_d[0]
    assert cut.lengths[0] == full.lengths[0] - 24


def test_a_refreshed_holdout_runs_the_older_origins_model_over_its_longer_window():
    """Outside ``refit``, a holdout keeps the orders and coefficients chosen at the next
    older origin; its errors are that model's filter (scipy's lfilter) over its own longer
    window, and its variance their mean square."""
    z = _seasonal_walk(n=120, seed=5)
    full, later, older = arima_fit([z], 12, holdouts=(0, 9, 18), refit=(0, 18))
    for name in ("order", "ar", "ma", "const"):
        np.testing.assert_array_equal(getattr(later, name), getattr(older, name))
    [alone] = arima_fit([z[:111]], 12)
    assert later.lengths[0] == older.lengths[0] + 9
    _, d, _, _, big_d, _, _ = later.order[0]
    w = z[12:] - z[:-12] if big_d else z
    w = np.diff(w, n=int(d)) if d else w
    w = w[: int(later.lengths[0])]
    e = signal.lfilter(later.ar[0], later.ma[0], w) - signal.lfilter(
        [1.0], later.ma[0], np.full(len(w), later.const[0])
    )
    np.testing.assert_allclose(later.errors[0, : len(w)], e, atol=1e-10)
    start = 14 if len(w) >= 3 * 12 + 10 else 2  # seasonal terms need m + 2 lags
    p, _, q, big_p, _, big_q, c = later.order[0]
    npar = p + big_p * (p + 1) + q + big_q + c
    mean_square = e[start:] @ e[start:] / (len(w) - start - npar)
    assert later.sigma2[0] == pytest.approx(mean_square, rel=1e-9)
    # a fresh choice would differ, so the test tells a refresh from a refit
    assert not np.allclose(alone.ar[0], later.ar[0]) or not np.allclose(alone.ma[0], later.ma[0])
    np.testing.assert_array_equal(arima_fit([z], 12)[0].ar, full.ar)
