from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import forecasting as fc
from tests.forecasting._series import frame, simulate

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
