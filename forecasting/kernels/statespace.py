"""Exponential smoothing (ETS) and ARIMA through statsmodels, one series at a time.

``ets``
    statsmodels ``ETSModel`` with additive error, trend none / additive / damped and season
    none / additive, chosen by AICc; exact intervals. On the log1p scale (the default for
    non-negative series) additive components are multiplicative ones on the original scale.
``arima``
    statsmodels ``SARIMAX`` with a small automatic search: seasonal differencing when the
    seasonal strength (fpp3 §4.3) is >= 0.64, first differencing when the KPSS test rejects at
    5 %, then ``p, q <= 2`` (``p + q <= 2``) with a constant or drift, chosen by AICc.

Each fit takes tens of milliseconds, so the engine runs these kernels in a pool of processes
for large batches (:data:`forecasting.kernels.LOOPED`). statsmodels is imported on first use.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from attribution._base.errors import ModelError
from forecasting.kernels.scale import TINY, Result, from_scale, to_scale
from forecasting.kernels.theta import seasonal_indices

__all__ = ["arima", "ets", "select_arima", "select_ets"]


def _ets_configs(n: int, m: int) -> list[dict[str, Any]]:
    out = []
    seasons: list[str | None] = [None] + (["add"] if m > 1 and n >= 2 * m + 2 else [])
    for seasonal in seasons:
        for trend, damped in ((None, False), ("add", False), ("add", True)):
            out.append(
                {
                    "error": "add",
                    "trend": trend,
                    "damped_trend": damped,
                    "seasonal": seasonal,
                    "seasonal_periods": m if seasonal else None,
                }
            )
    return out


def _ets_fit(z: np.ndarray, cfg: dict[str, Any]) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(z, initialization_method="estimated", **cfg).fit(disp=False)


def select_ets(z: np.ndarray, season_length: int) -> dict[str, Any]:
    """Choose the ETS configuration with the lowest AICc for one series (on its own scale).

    Candidates: additive error; trend none, additive or additive damped; season none or
    additive (when there are at least two seasons and two points). Convergence warnings are
    silenced here only.

    Parameters
    ----------
    z : array of float
        The series on the scale it is modelled on (``log1p`` of a non-negative series by
        default in :func:`forecasting.forecast`).
    season_length : int
        Seasonal period (1 for none).

    Returns
    -------
    dict
        Keyword arguments for ``statsmodels`` ``ETSModel`` (``error``, ``trend``,
        ``damped_trend``, ``seasonal``, ``seasonal_periods``), plus ``aicc``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.log1p(100 + 5 * np.arange(24.0))
    >>> select_ets(z, 1)["trend"]
    'add'
    """
    z = np.asarray(z, dtype=np.float64)
    best: dict[str, Any] | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cfg in _ets_configs(len(z), season_length):
            try:
                res = _ets_fit(z, cfg)
            except Exception:  # a configuration statsmodels cannot fit is skipped
                continue
            aicc = float(res.aicc)
            if math.isfinite(aicc) and (best is None or aicc < best["aicc"]):
                best = {**cfg, "aicc": aicc}
    if best is None:
        raise ModelError(f"No ETS configuration could be fitted to a series of {len(z)} points.")
    return best


def _ets_one(z: np.ndarray, h: int, m: int, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cfg = select_ets(z, m)
    cfg.pop("aicc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _ets_fit(z, cfg)
        mean = np.asarray(res.forecast(h), dtype=np.float64)
        var = res.mse * res._relative_forecast_variance(np.arange(1, h + 1))
    return mean, mean[:, None] + np.sqrt(var)[:, None] * stats.norm.ppf(probs)[None, :]


def _arima_orders(z: np.ndarray, m: int) -> tuple[int, int]:
    """Seasonal differences D (seasonal strength >= 0.64) and differences d (KPSS at 5 %)."""
    from statsmodels.tsa.stattools import kpss

    n = len(z)
    big_d = 0
    if m > 1 and n >= 2 * m + 4:
        idx = seasonal_indices(z[None, :], m)[0]
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
        trend = np.convolve(z, w, mode="valid")
        off = (len(w) - 1) // 2
        rem = z[off : off + len(trend)] - trend - idx[np.arange(off, off + len(trend)) % m]
        sr = rem + idx[np.arange(off, off + len(trend)) % m]
        strength = max(0.0, 1 - np.var(rem) / max(np.var(sr), TINY))
        big_d = int(strength >= 0.64)
    x = z[m:] - z[:-m] if big_d else z
    d = 0
    if len(x) >= 8 and np.ptp(x) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = int(kpss(x, regression="c", nlags="auto")[1] < 0.05)
    return d, big_d


def select_arima(z: np.ndarray, season_length: int) -> dict[str, Any]:
    """Choose a SARIMAX order for one series by a small automatic search.

    Differencing first (seasonal if the seasonal strength is at least 0.64, then once more if
    the KPSS test rejects stationarity at 5 %), then ``(p, q)`` with ``p + q <= 2`` by AICc,
    with a constant (no differencing) or a drift (one difference).

    Parameters
    ----------
    z : array of float
        The series on the scale it is modelled on.
    season_length : int
        Seasonal period (1 for none).

    Returns
    -------
    dict
        Keyword arguments for ``statsmodels`` ``SARIMAX`` (``order``, ``seasonal_order``,
        ``trend``), plus ``aicc``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=40)
    >>> select_arima(z, 1)["order"][1]
    0
    """
    z = np.asarray(z, dtype=np.float64)
    d, big_d = _arima_orders(z, season_length)
    trend = {0: "c", 1: "t"}.get(d + big_d, "n")
    seasonal = (0, big_d, 0, season_length) if big_d else (0, 0, 0, 0)
    best: dict[str, Any] | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p, q in ((0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (0, 2)):
            cfg = {"order": (p, d, q), "seasonal_order": seasonal, "trend": trend}
            try:
                res = _arima_fit(z, cfg)
            except Exception:  # an order statsmodels cannot fit is skipped
                continue
            aicc = float(res.aicc)
            if math.isfinite(aicc) and (best is None or aicc < best["aicc"]):
                best = {**cfg, "aicc": aicc}
    if best is None:
        raise ModelError(f"No ARIMA order could be fitted to a series of {len(z)} points.")
    return best


def _arima_fit(z: np.ndarray, cfg: dict[str, Any]) -> Any:
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    return SARIMAX(z, **cfg).fit(disp=False)


def _arima_one(z: np.ndarray, h: int, m: int, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cfg = select_arima(z, m)
    cfg.pop("aicc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = _arima_fit(z, cfg).get_forecast(h)
        mean = np.asarray(fc.predicted_mean, dtype=np.float64)
        var = np.asarray(fc.var_pred_mean, dtype=np.float64)
    return mean, mean[:, None] + np.sqrt(var)[:, None] * stats.norm.ppf(probs)[None, :]


def _per_series(
    one: Callable[..., tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    h: int,
    m: int,
    probs: np.ndarray,
    logm: np.ndarray,
) -> Result:
    """Run a one-series fit over every series of the batch, on the model scale."""
    z = to_scale(y, logm)
    means = np.empty((len(z), h))
    qs = np.empty((len(z), h, len(probs)))
    for i, row in enumerate(z):
        means[i], qs[i] = one(row, h, m, probs)
    return from_scale(means, logm), from_scale(qs, logm)


def ets(y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **_: Any) -> Result:
    """ETS forecasts, the configuration chosen by AICc per series (:func:`select_ets`)."""
    return _per_series(_ets_one, y, h, m, probs, logm)


def arima(y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **_: Any) -> Result:
    """ARIMA forecasts, the order chosen per series by :func:`select_arima`."""
    return _per_series(_arima_one, y, h, m, probs, logm)
