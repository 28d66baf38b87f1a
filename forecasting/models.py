"""Forecasts for many series at once, with prediction intervals.

:func:`forecast` takes long series (``series_id, date, value``) and returns one row per series,
future period and model: ``series_id, date, model, mean, lo-80, hi-80, lo-95, hi-95`` (one
``lo``/``hi`` pair per requested level).

Models (each cites the textbook form it follows; *fpp3* is Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice*, 3rd ed.):

``naive``, ``seasonal_naive``, ``drift``
    The benchmark methods of fpp3 §5.2 with their residual-based intervals (§5.5).
``harmonic``
    Regression on a trend and Fourier terms of the season (fpp3 §7.4, §12.1): trends none,
    linear or damped (``sum of phi^k``, phi in 0.8, 0.9, 0.95, 0.98), ``K = 0 .. m/2``
    harmonics, each fitted by least squares in closed form, with exact t prediction intervals.
    All variants (on the log1p and, for ``transform="auto"``, also the raw scale, compared with
    the Jacobian term) are **averaged with Akaike weights** (AICc; Burnham & Anderson 2002,
    §4.2) rather than picking one, which removes most of the cost of model selection.
``theta``
    The Theta method (Assimakopoulos & Nikolopoulos 2000) in the form of Hyndman & Billah
    (2003), as R's ``forecast::thetaf``: classical decomposition when the seasonal
    autocorrelation test passes at 90 %, simple exponential smoothing with drift half the
    trend slope.
``ets``
    statsmodels ``ETSModel`` with additive error, trend none / additive / damped and season
    none / additive, chosen by AICc; exact intervals. On the log1p scale (the default for
    non-negative series) additive components are multiplicative ones on the original scale.
``arima``
    statsmodels ``SARIMAX`` with a small automatic search: seasonal differencing when the
    seasonal strength (fpp3 §4.3) is >= 0.64, first differencing when the KPSS test rejects at
    5 %, then ``p, q <= 2`` (``p + q <= 2``) with a constant or drift, chosen by AICc.
``auto``
    A combination of ``candidates`` (default ``harmonic`` and ``theta``) weighted by the
    inverse square of their mean squared error in a rolling-origin backtest (Bates & Granger
    1969, with a sharper weighting), or the single best one (``combine="best"``); see
    :func:`forecasting.backtest`. Points and interval bounds are averaged with the same
    weights (quantile averaging).

Non-negative series (every value >= 0) are modelled on the ``log1p`` scale by default
(``transform="auto"``): quantiles are transformed back exactly, so intervals stay >= 0, and
the ``mean`` column is then the back-transformed location, i.e. the forecast **median**
(which is also what the mean absolute error rewards). Lower bounds of non-negative series are
clipped at 0 for every model.

Speed: ``naive``, ``seasonal_naive``, ``drift``, ``harmonic`` and ``theta`` are vectorised
over all series of equal length (NumPy, no loop per series); ``ets`` and ``arima`` fit one
statsmodels model per series and candidate, tens of milliseconds each, so they run in a pool
of ``n_jobs`` processes.
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats

from attribution._base.errors import EmptyInputError, ModelError, SchemaError, ValidationError
from attribution._base.frames import FrameLike, check_columns, to_lazy
from forecasting.series import _parse_freq, _shift_dates
from forecasting.series import season_length as _season_of

__all__ = [
    "AUTO_CANDIDATES",
    "MODEL_NAMES",
    "forecast",
    "select_arima",
    "select_ets",
]

#: Every model name :func:`forecast` knows.
MODEL_NAMES: tuple[str, ...] = (
    "naive",
    "seasonal_naive",
    "drift",
    "harmonic",
    "theta",
    "ets",
    "arima",
    "auto",
)
#: Default candidates of ``auto``: the vectorised models that do well on trend + season data.
AUTO_CANDIDATES: tuple[str, ...] = ("harmonic", "theta")

Transform = Literal["auto", "log1p", "none"]
_LOOPED = ("ets", "arima")
_DAMPING = (0.8, 0.9, 0.95, 0.98)
_TINY = 1e-12
_MAX_LOG = 700.0  # expm1 overflows above ~709

# A forecast of a batch: point forecasts (S, h) and quantiles (S, h, P), original scale.
Result = tuple[np.ndarray, np.ndarray]


# ----------------------------------------------------------------------------------------------
# scales


def _to_scale(y: np.ndarray, logm: np.ndarray) -> np.ndarray:
    return np.where(logm[:, None], np.log1p(np.where(logm[:, None], y, 0.0)), y)


def _from_scale(z: np.ndarray, logm: np.ndarray) -> np.ndarray:
    shape = (len(logm),) + (1,) * (z.ndim - 1)
    m = logm.reshape(shape)
    return np.where(m, np.expm1(np.where(m, np.minimum(z, _MAX_LOG), 0.0)), z)


def _normal(loc: np.ndarray, sd: np.ndarray, probs: np.ndarray, logm: np.ndarray) -> Result:
    """Back-transformed location and normal quantiles for a batch on the model scale."""
    q = loc[..., None] + sd[..., None] * stats.norm.ppf(probs)
    return _from_scale(loc, logm), _from_scale(q, logm)


# ----------------------------------------------------------------------------------------------
# benchmark methods (fpp3 §5.2, intervals §5.5)


def _rms(x: np.ndarray, dof: int) -> np.ndarray:
    return np.sqrt(np.sum(x * x, axis=1) / max(dof, 1))


def _naive(y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **_: Any) -> Result:
    z = _to_scale(y, logm)
    n = z.shape[1]
    sigma = _rms(np.diff(z, axis=1), n - 1) if n > 1 else np.zeros(len(z))
    steps = np.arange(1, h + 1)
    loc = np.repeat(z[:, -1:], h, axis=1)
    return _normal(loc, sigma[:, None] * np.sqrt(steps), probs, logm)


def _seasonal_naive(
    y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **_: Any
) -> Result:
    n = y.shape[1]
    if m <= 1 or n <= m:
        return _naive(y, h, m, probs, logm)
    z = _to_scale(y, logm)
    steps = np.arange(h)
    loc = z[:, n - m + steps % m]
    sigma = _rms(z[:, m:] - z[:, :-m], n - m)
    return _normal(loc, sigma[:, None] * np.sqrt(steps // m + 1), probs, logm)


def _drift(y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **_: Any) -> Result:
    z = _to_scale(y, logm)
    n = z.shape[1]
    if n < 3:
        return _naive(y, h, m, probs, logm)
    slope = (z[:, -1] - z[:, 0]) / (n - 1)
    resid = np.diff(z, axis=1) - slope[:, None]
    sigma = _rms(resid, n - 2)
    steps = np.arange(1, h + 1)
    loc = z[:, -1:] + slope[:, None] * steps
    sd = sigma[:, None] * np.sqrt(steps * (1 + steps / (n - 1)))
    return _normal(loc, sd, probs, logm)


# ----------------------------------------------------------------------------------------------
# harmonic regression, Akaike-averaged


@dataclass(frozen=True)
class _Designs:
    """Every trend x harmonics design for one (n, h, m): operators for a whole batch."""

    resid: np.ndarray  # (D, n, n): I - hat matrix
    ahead: np.ndarray  # (D, h, n): maps the series to the forecast
    leverage: np.ndarray  # (D, h): x0' (X'X)^-1 x0
    n_params: np.ndarray  # (D,)
    names: tuple[str, ...] = field(default=())


@lru_cache(maxsize=64)
def _designs(n: int, h: int, m: int) -> _Designs:
    t = np.arange(n + h, dtype=np.float64)
    trends: list[tuple[str, np.ndarray | None]] = [("none", None), ("linear", t)]
    for phi in _DAMPING:
        trends.append((f"damped{phi:g}", phi * (1 - phi ** (t + 1)) / (1 - phi)))
    # seasonal terms only from two full seasons on (as theta's test): fitted on part of a
    # cycle, Fourier terms extrapolate wildly
    k_max = m // 2 if m > 1 and n >= 2 * m else 0
    resid, ahead, lev, npar, names = [], [], [], [], []
    for label, trend in trends:
        for k in range(k_max + 1):
            cols = [np.ones(n + h)] + ([trend] if trend is not None else [])
            for j in range(1, k + 1):
                w = 2 * np.pi * j * t / m
                cols.append(np.cos(w))
                if 2 * j != m:
                    cols.append(np.sin(w))
            x = np.column_stack(cols)
            p = x.shape[1]
            if n - p - 2 <= 0:
                continue
            fit, new = x[:n], x[n:]
            xtx_inv = np.linalg.pinv(fit.T @ fit)
            proj = xtx_inv @ fit.T
            resid.append(np.eye(n) - fit @ proj)
            ahead.append(new @ proj)
            lev.append(np.einsum("ij,jk,ik->i", new, xtx_inv, new))
            npar.append(p)
            names.append(f"{label}+K{k}")
    if not resid:
        raise ModelError(f"harmonic needs at least 4 observations; a series has {n}.")
    return _Designs(np.stack(resid), np.stack(ahead), np.stack(lev), np.array(npar), tuple(names))


def _harmonic(
    y: np.ndarray,
    h: int,
    m: int,
    probs: np.ndarray,
    logm: np.ndarray,
    transform: Transform = "auto",
    **_: Any,
) -> Result:
    n = y.shape[1]
    d = _designs(n, h, m)
    df = (n - d.n_params).astype(np.float64)
    tq = stats.t.ppf(probs[None, :], df[:, None])  # (D, P)
    k = d.n_params + 1.0
    penalty = 2 * k + 2 * k * (k + 1) / (n - k - 1)
    scales = []
    for on_log in (True, False):
        allowed = logm if on_log else ((transform != "log1p") | ~logm)
        if not allowed.any():
            continue
        z = np.log1p(np.where(logm[:, None], y, 0.0)) if on_log else y
        jac = -z.sum(axis=1) if on_log else np.zeros(len(y))
        r = np.einsum("dij,sj->sdi", d.resid, z)
        rss = np.einsum("sdi,sdi->sd", r, r)
        floor = _TINY * (1.0 + np.einsum("si,si->s", z, z))[:, None]
        rss = np.maximum(rss, floor)
        loglik = -0.5 * n * (np.log(2 * np.pi * rss / n) + 1) + jac[:, None]
        aicc = np.where(allowed[:, None], -2 * loglik + penalty[None, :], np.inf)
        loc = np.einsum("dhn,sn->sdh", d.ahead, z)
        sd = np.sqrt(rss / (n - d.n_params))[:, :, None] * np.sqrt(1 + d.leverage)[None]
        q = loc[..., None] + sd[..., None] * tq[None, :, None, :]
        if on_log:
            loc, q = np.expm1(np.minimum(loc, _MAX_LOG)), np.expm1(np.minimum(q, _MAX_LOG))
        scales.append((aicc, loc, q))
    aicc = np.concatenate([s[0] for s in scales], axis=1)
    best = np.min(aicc, axis=1, keepdims=True)
    w = np.where(np.isfinite(aicc), np.exp(-0.5 * (aicc - best)), 0.0)
    w /= w.sum(axis=1, keepdims=True)
    loc = np.concatenate([s[1] for s in scales], axis=1)
    q = np.concatenate([s[2] for s in scales], axis=1)
    return np.einsum("sd,sdh->sh", w, loc), np.einsum("sd,sdhp->shp", w, q)


# ----------------------------------------------------------------------------------------------
# theta (Hyndman & Billah 2003; forecast::thetaf)

_ALPHAS = np.linspace(0.01, 0.99, 99)


def _seasonal_indices(z: np.ndarray, m: int) -> np.ndarray:
    """Classical additive decomposition: per-season means of the series minus its 2xm MA."""
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    windows = np.lib.stride_tricks.sliding_window_view(z, len(w), axis=1)
    trend = windows @ w
    off = (len(w) - 1) // 2
    detrended = z[:, off : off + trend.shape[1]] - trend
    season = (np.arange(off, off + trend.shape[1])) % m
    counts = np.bincount(season, minlength=m)
    sums = np.stack([np.bincount(season, weights=row, minlength=m) for row in detrended])
    idx = sums / np.maximum(counts, 1)
    return idx - idx.mean(axis=1, keepdims=True)


def _seasonal_test(z: np.ndarray, m: int, alpha: float = 0.1) -> np.ndarray:
    """F test of season-of-year means in the linearly detrended series, at level ``alpha``."""
    n = z.shape[1]
    t = np.arange(n) - (n - 1) / 2
    x = z - z.mean(axis=1, keepdims=True) - np.outer((z @ t) / (t @ t), t)
    pos = np.arange(n) % m
    counts = np.bincount(pos, minlength=m)
    sums = np.stack([np.bincount(pos, weights=row, minlength=m) for row in x])
    between = np.sum(sums**2 / counts, axis=1)
    within = np.maximum(np.sum(x * x, axis=1) - between, _TINY)
    f = (between / (m - 1)) / (within / (n - m - 1))
    return stats.f.sf(f, m - 1, n - m - 1) < alpha


def _theta(y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **_: Any) -> Result:
    z = _to_scale(y, logm)
    s, n = z.shape
    seas_in, seas_out = np.zeros((s, n)), np.zeros((s, h))
    if m > 1 and n >= 2 * m:
        seasonal = _seasonal_test(z, m)
        if seasonal.any():
            idx = _seasonal_indices(z[seasonal], m)
            seas_in[seasonal] = idx[:, np.arange(n) % m]
            seas_out[seasonal] = idx[:, (n + np.arange(h)) % m]
    x = z - seas_in
    t = np.arange(n) - (n - 1) / 2
    slope = (x @ t) / (t @ t)
    level = np.repeat(x[:, :1], len(_ALPHAS), axis=1)
    sse = np.zeros_like(level)
    for i in range(1, n):
        e = x[:, i : i + 1] - level
        sse += e * e
        level += _ALPHAS * e
    best = np.argmin(sse, axis=1)
    rows = np.arange(s)
    a = _ALPHAS[best][:, None]
    steps = np.arange(1, h + 1)[None, :]
    loc = level[rows, best][:, None] + slope[:, None] / 2 * (steps - 1 + 1 / a - (1 - a) ** n / a)
    sigma = np.sqrt(sse[rows, best] / max(n - 1, 1))[:, None]
    sd = sigma * np.sqrt(1 + a**2 * (steps - 1))
    return _normal(loc + seas_out, sd, probs, logm)


# ----------------------------------------------------------------------------------------------
# statsmodels models, one series at a time


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
        default in :func:`forecast`).
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
        idx = _seasonal_indices(z[None, :], m)[0]
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
        trend = np.convolve(z, w, mode="valid")
        off = (len(w) - 1) // 2
        rem = z[off : off + len(trend)] - trend - idx[np.arange(off, off + len(trend)) % m]
        sr = rem + idx[np.arange(off, off + len(trend)) % m]
        strength = max(0.0, 1 - np.var(rem) / max(np.var(sr), _TINY))
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


def _looped(one: Callable[..., tuple[np.ndarray, np.ndarray]]) -> Callable[..., Result]:
    def kernel(
        y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **_: Any
    ) -> Result:
        z = _to_scale(y, logm)
        means = np.empty((len(z), h))
        qs = np.empty((len(z), h, len(probs)))
        for i, row in enumerate(z):
            means[i], qs[i] = one(row, h, m, probs)
        return _from_scale(means, logm), _from_scale(qs, logm)

    return kernel


_KERNELS: dict[str, Callable[..., Result]] = {
    "naive": _naive,
    "seasonal_naive": _seasonal_naive,
    "drift": _drift,
    "harmonic": _harmonic,
    "theta": _theta,
    "ets": _looped(_ets_one),
    "arima": _looped(_arima_one),
}


# ----------------------------------------------------------------------------------------------
# running models over a batch of equal-length series


@dataclass(frozen=True)
class _Options:
    h: int
    m: int
    probs: np.ndarray
    transform: Transform
    candidates: tuple[str, ...]
    combine: Literal["weighted", "best"]
    n_windows: int
    step: int


def _log_mask(y: np.ndarray, transform: Transform) -> np.ndarray:
    if transform == "none":
        return np.zeros(len(y), dtype=bool)
    return np.all(y >= 0, axis=1)


def _run_kernel(name: str, y: np.ndarray, h: int, opt: _Options) -> Result:
    logm = _log_mask(y, opt.transform)
    mean, q = _KERNELS[name](y, h, opt.m, opt.probs, logm, transform=opt.transform)
    nonneg = np.all(y >= 0, axis=1)
    if nonneg.any():
        mean = np.where(nonneg[:, None], np.maximum(mean, 0.0), mean)
        q = np.where(nonneg[:, None, None], np.maximum(q, 0.0), q)
    return mean, q


def _window_cuts(n: int, h: int, n_windows: int, step: int) -> list[int]:
    """Training lengths of the backtest windows, oldest first (the last ends h before n)."""
    return [n - h - step * (n_windows - 1 - w) for w in range(n_windows)]


def _auto_weights(y: np.ndarray, opt: _Options) -> np.ndarray:
    """Weights (S, C) of the candidates from their backtest mean squared error."""
    s, n = y.shape
    c = len(opt.candidates)
    cuts = _window_cuts(n, opt.h, opt.n_windows, opt.step)
    if cuts[0] < 4:
        return np.full((s, c), 1.0 / c)
    sq = np.zeros((s, c))
    for cut in cuts:
        actual = y[:, cut : cut + opt.h]
        for j, name in enumerate(opt.candidates):
            mean, _ = _run_kernel(name, y[:, :cut], opt.h, opt)
            sq[:, j] += np.mean((mean - actual) ** 2, axis=1)
    if opt.combine == "best":
        w = np.zeros((s, c))
        w[np.arange(s), np.argmin(sq, axis=1)] = 1.0
        return w
    exact = sq <= _TINY * (1 + np.max(sq, axis=1, keepdims=True))
    inv = np.where(
        exact.any(axis=1, keepdims=True), exact.astype(float), 1.0 / np.maximum(sq, 1e-150) ** 2
    )
    return inv / inv.sum(axis=1, keepdims=True)


def _run_batch(y: np.ndarray, models: Sequence[str], opt: _Options) -> dict[str, Result]:
    out: dict[str, Result] = {}
    fits: dict[str, Result] = {}

    def fit(name: str) -> Result:
        if name not in fits:
            fits[name] = _run_kernel(name, y, opt.h, opt)
        return fits[name]

    for name in models:
        if name == "auto":
            w = _auto_weights(y, opt)
            parts = [fit(c) for c in opt.candidates]
            mean = sum(w[:, j, None] * p[0] for j, p in enumerate(parts))
            q = sum(w[:, j, None, None] * p[1] for j, p in enumerate(parts))
            out[name] = (np.asarray(mean), np.asarray(q))
        else:
            out[name] = fit(name)
    return out


def _trim_leading_zeros(v: np.ndarray, keep: int = 4) -> np.ndarray:
    nz = np.flatnonzero(v != 0)
    if len(nz) == 0:
        return v
    return v[min(int(nz[0]), max(len(v) - keep, 0)) :]


def _run_chunk(
    chunk: list[np.ndarray], models: Sequence[str], opt: _Options
) -> dict[str, list[Result]]:
    """Forecast a list of series (any lengths): grouped by length, each group vectorised.

    Leading zeros (periods before a series' first non-zero value, e.g. a channel that started
    later) are not fitted; at least 4 points are kept.
    """
    chunk = [_trim_leading_zeros(v) for v in chunk]
    lengths = np.array([len(v) for v in chunk])
    out: dict[str, list[Result]] = {name: [] for name in models}
    order = []
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        order.append(rows)
        y = np.stack([chunk[i] for i in rows])
        for name, res in _run_batch(y, models, opt).items():
            out[name].append(res)
    perm = np.argsort(np.concatenate(order), kind="stable")
    merged = {}
    for name, parts in out.items():
        mean = np.concatenate([p[0] for p in parts])[perm]
        q = np.concatenate([p[1] for p in parts])[perm]
        merged[name] = [(mean, q)]
    return merged


def _n_workers(n_jobs: int | None) -> int:
    cpus = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    return max(1, cpus + 1 + n_jobs if n_jobs < 0 else min(n_jobs, cpus))


def _forecast_arrays(
    values: list[np.ndarray], models: Sequence[str], opt: _Options, n_jobs: int | None
) -> dict[str, Result]:
    """Run the models over every series, in a process pool when it pays off."""
    workers = _n_workers(n_jobs)
    looped = any(
        name in _LOOPED or (name == "auto" and set(opt.candidates) & set(_LOOPED))
        for name in models
    )
    big = len(values) >= (8 if looped else 20_000)
    if workers == 1 or not big:
        res = _run_chunk(values, models, opt)
        return {k: v[0] for k, v in res.items()}
    n_chunks = min(len(values), workers * 4)
    bounds = np.linspace(0, len(values), n_chunks + 1).astype(int)
    chunks = [values[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        parts = list(pool.map(_run_chunk, chunks, [models] * len(chunks), [opt] * len(chunks)))
    return {
        name: (
            np.concatenate([p[name][0][0] for p in parts]),
            np.concatenate([p[name][0][1] for p in parts]),
        )
        for name in models
    }


# ----------------------------------------------------------------------------------------------
# frames in, frames out


@dataclass
class _Panel:
    ids: pl.Series
    values: list[np.ndarray]
    first: pl.Series
    last: pl.Series
    freq: str
    dtype: pl.DataType


def _level_label(level: float) -> str:
    return f"{level:g}"


def _check_levels(level: Sequence[float] | float | None) -> list[float]:
    if level is None:
        return []
    levels = [level] if isinstance(level, int | float) else list(level)
    bad = [v for v in levels if not (isinstance(v, int | float) and 0 < v < 100)]
    if bad:
        raise ValidationError(
            f"level must be percentages strictly between 0 and 100; got {bad} "
            f"({len(bad)} bad value{'s' if len(bad) > 1 else ''})."
        )
    return sorted(set(float(v) for v in levels))


def _probs(levels: list[float]) -> np.ndarray:
    out = []
    for lv in levels:
        out += [0.5 - lv / 200, 0.5 + lv / 200]
    return np.array(out, dtype=np.float64)


def _infer_freq(days: np.ndarray) -> str:
    known = {1: "1d", 7: "1w", 14: "2w"}
    if len(days) == 0:
        raise ValidationError(
            "Cannot infer freq from series with a single date each; pass freq (e.g. '1mo')."
        )
    lo, hi = int(days.min()), int(days.max())
    if lo == hi and lo in known:
        return known[lo]
    for f, (a, b) in (("1mo", (28, 31)), ("1q", (89, 92)), ("1y", (365, 366))):
        if a <= lo and hi <= b:
            return f
    raise ValidationError(
        f"Cannot infer freq: gaps between dates range from {lo} to {hi} days; pass freq "
        "(e.g. '1d', '1w', '1mo') and fill missing periods with forecasting.to_series."
    )


def _panel(
    series: FrameLike, freq: str | None, id_col: str, time_col: str, value_col: str
) -> _Panel:
    lf = to_lazy(series, what="series")
    schema = lf.collect_schema()
    check_columns(schema, [id_col, time_col, value_col], "series")
    tdt = schema[time_col]
    if tdt == pl.String:
        date = pl.col(time_col).str.to_datetime(strict=False, time_unit="us").cast(pl.Date)
    elif tdt == pl.Date or isinstance(tdt, pl.Datetime):
        date = pl.col(time_col)
    else:
        raise SchemaError(f"Column {time_col!r} of the series has type {tdt}; expected dates.")
    if not schema[value_col].is_numeric():
        raise SchemaError(
            f"Column {value_col!r} of the series has type {schema[value_col]}; expected numbers."
        )
    df = (
        lf.select(
            pl.col(id_col).alias("id"),
            date.alias("t"),
            pl.col(value_col).cast(pl.Float64).alias("v"),
        )
        .with_row_index("row")
        .collect()
    )
    if df.height == 0:
        raise EmptyInputError("The series frame is empty (0 rows).")
    for col, name, rule in (
        ("id", id_col, "every row needs a series id"),
        ("t", time_col, "every row needs a date"),
        ("v", value_col, "values must be finite numbers (fill missing periods first)"),
    ):
        bad = df[col].is_null() | (~df[col].is_finite() if col == "v" else False)
        if bad.any():
            rows = df.filter(bad)
            sample = ", ".join(
                f"row {r} ({id_col} {i})" for r, i in rows.select("row", "id").head(5).rows()
            )
            raise ValidationError(
                f"Column {name!r} has {int(bad.sum())} null or non-finite values ({sample}); "
                f"{rule}."
            )
    df = df.sort("id", "t")
    dup = df.filter(pl.struct("id", "t").is_duplicated())
    if dup.height:
        sample = ", ".join(
            f"{i} {t}" for i, t in dup.select("id", "t").unique(maintain_order=True).head(5).rows()
        )
        raise ValidationError(
            f"Columns {id_col!r}, {time_col!r} have {dup.height - dup.select('id', 't').n_unique()}"
            f" duplicated rows ({sample}); "
            "each series needs one value per date (aggregate with forecasting.to_series)."
        )
    if freq is None:
        days = (
            df.select(pl.col("t").cast(pl.Date).cast(pl.Int64).diff().over("id"))
            .drop_nulls()
            .to_series()
            .to_numpy()
        )
        freq = _infer_freq(days)
    count, unit = _parse_freq(freq)
    k = pl.int_range(pl.len()).over("id")
    first = pl.col("t").first().over("id")
    expected = first.dt.offset_by(pl.format("{}" + unit, k * count))
    gaps = df.with_columns(expected.alias("e")).filter(pl.col("t") != pl.col("e"))
    if gaps.height:
        ids = gaps["id"].unique(maintain_order=True)
        sample = ", ".join(
            f"{i} at {t} (expected {e})"
            for i, t, e in gaps.group_by("id", maintain_order=True)
            .first()
            .select("id", "t", "e")
            .head(5)
            .rows()
        )
        raise ValidationError(
            f"Column {time_col!r}: {len(ids)} series are not regular at freq {freq!r} "
            f"(first break: {sample}); fill missing periods with forecasting.to_series."
        )
    groups = df.group_by("id", maintain_order=True).agg(
        pl.col("v"), pl.col("t").first().alias("first"), pl.col("t").last().alias("last")
    )
    values = [np.asarray(v, dtype=np.float64) for v in groups["v"].to_list()]
    return _Panel(groups["id"], values, groups["first"], groups["last"], freq, df["t"].dtype)


def _check_models(models: str | Sequence[str], candidates: Sequence[str]) -> list[str]:
    names = [models] if isinstance(models, str) else list(models)
    if not names:
        raise ModelError("models is empty; name at least one of: " + ", ".join(MODEL_NAMES))
    for name in [*names, *candidates]:
        if name not in MODEL_NAMES:
            raise ModelError(
                f"Unknown forecasting model {name!r}; expected one of: {', '.join(MODEL_NAMES)}."
            )
    if "auto" in candidates:
        raise ModelError("candidates of 'auto' cannot include 'auto' itself.")
    return list(dict.fromkeys(names))


def _options(
    h: int,
    m: int,
    levels: list[float],
    transform: str,
    candidates: Sequence[str],
    combine: str,
    n_windows: int,
    step: int,
) -> _Options:
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise ValidationError(
            f"h (the number of periods ahead) must be a whole number >= 1; got {h!r}."
        )
    if transform not in ("auto", "log1p", "none"):
        raise ValidationError(f"transform must be 'auto', 'log1p' or 'none'; got {transform!r}.")
    if combine not in ("weighted", "best"):
        raise ValidationError(f"combine must be 'weighted' or 'best'; got {combine!r}.")
    for name, v in (("n_windows", n_windows), ("step", step), ("season_length", m)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValidationError(f"{name} must be a whole number >= 1; got {v!r}.")
    return _Options(
        int(h),
        int(m),
        _probs(levels),
        transform,  # type: ignore[arg-type]
        tuple(candidates),
        combine,  # type: ignore[arg-type]
        int(n_windows),
        int(step),
    )


def _check_lengths(panel: _Panel, need: int, why: str) -> None:
    lengths = np.array([len(v) for v in panel.values])
    short = np.flatnonzero(lengths < need)
    if len(short):
        sample = ", ".join(f"{panel.ids[int(i)]} ({lengths[i]} points)" for i in short[:5])
        raise ValidationError(
            f"{len(short)} series are too short: {sample}; {why} needs at least {need} points."
        )


def _output(
    panel: _Panel,
    results: dict[str, Result],
    h: int,
    levels: list[float],
    id_col: str,
    time_col: str,
    ends: np.ndarray | None = None,
    sort: bool = True,
) -> pl.DataFrame:
    s = len(panel.values)
    if ends is None:
        ends = np.array([len(v) - 1 for v in panel.values])
    steps = np.repeat(ends, h) + np.tile(np.arange(1, h + 1), s)
    dates = _shift_dates(panel.first.gather(np.repeat(np.arange(s), h)), steps, panel.freq)
    frames = []
    for name, (mean, q) in results.items():
        cols: dict[str, Any] = {
            id_col: panel.ids.gather(np.repeat(np.arange(s), h)),
            time_col: dates,
            "model": pl.Series([name] * (s * h), dtype=pl.String),
            "mean": mean.reshape(-1),
        }
        for j, lv in enumerate(levels):
            cols[f"lo-{_level_label(lv)}"] = q[:, :, 2 * j].reshape(-1)
            cols[f"hi-{_level_label(lv)}"] = q[:, :, 2 * j + 1].reshape(-1)
        frames.append(pl.DataFrame(cols))
    out = pl.concat(frames)
    return out.sort(id_col, "model", time_col, maintain_order=True) if sort else out


def forecast(
    series: FrameLike,
    h: int,
    *,
    level: Sequence[float] | float | None = (80, 95),
    models: str | Sequence[str] = "auto",
    freq: str | None = None,
    season_length: int | None = None,
    transform: Transform = "auto",
    candidates: Sequence[str] = AUTO_CANDIDATES,
    combine: Literal["weighted", "best"] = "weighted",
    n_windows: int = 3,
    step: int = 1,
    n_jobs: int | None = -1,
    id_col: str = "series_id",
    time_col: str = "date",
    value_col: str = "value",
) -> pl.DataFrame:
    """Forecast every series ``h`` periods ahead with one or more models, with intervals.

    Parameters
    ----------
    series
        Long frame (or path) with one row per series and period: ``id_col``, ``time_col``
        (Date, Datetime or ISO text) and ``value_col``. Periods must be regular and complete
        (build the frame with :func:`forecasting.to_series` to fill gaps).
    h : int
        Number of periods to forecast.
    level : sequence of float
        Prediction interval levels in percent; one ``lo-<level>``/``hi-<level>`` pair each.
    models : str or sequence of str
        Any of :data:`MODEL_NAMES` (see the module docstring); ``"auto"`` by default.
    freq : str, optional
        Period of the series (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``); inferred from
        the dates when omitted.
    season_length : int, optional
        Seasonal period; by default from ``freq`` (12 for months, 4 quarters, 7 days...).
    transform : {"auto", "log1p", "none"}
        ``"auto"``: non-negative series are modelled on the log1p scale (``harmonic`` also
        weighs the raw scale in by AICc); ``"log1p"``: always (for non-negative series);
        ``"none"``: the raw values. Leading zeros of a series (the periods before its first
        non-zero value, e.g. a channel that started later) are not fitted (at least 4 points
        are kept): on a log scale a jump from 0 would read as explosive growth.
    candidates : sequence of str
        Models that ``auto`` combines (``ets`` and ``arima`` are allowed but slow: each is fit
        ``n_windows + 1`` times per series).
    combine : {"weighted", "best"}
        ``auto`` averages the candidates' forecasts and interval bounds with weights
        proportional to 1 / (backtest MSE)², or keeps the candidate with the smallest MSE.
    n_windows, step : int
        The backtest behind ``auto``: see :func:`forecasting.backtest` (the last window ends
        ``h`` periods before the end of each series; windows ``step`` periods apart). Series
        too short for it get equal weights.
    n_jobs : int or None
        Processes for the per-series statsmodels fits (``ets``, ``arima``); -1 uses every
        core, 1 (or ``None``) none. The vectorised models always run in this process.
    id_col, time_col, value_col : str
        Column names of the input; the output keeps ``id_col`` and ``time_col``.

    Returns
    -------
    DataFrame
        ``id_col``, ``time_col`` (the future periods), ``model``, ``mean`` (point forecast: the
        median when modelled on the log1p scale), then ``lo-<level>``, ``hi-<level>`` per
        level; sorted by series, model and date.

    Raises
    ------
    SchemaError
        Missing or mistyped columns.
    ValidationError
        Nulls, duplicates, gaps, bad ``h``/``level``/options, series too short.
    ModelError
        Unknown model names.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> s = pl.DataFrame({"series_id": "a", "value": [float(v) for v in range(1, 13)],
    ...     "date": pl.date_range(date(2024, 1, 1), date(2024, 12, 1), "1mo", eager=True)})
    >>> out = forecast(s, h=2, models="drift", transform="none")
    >>> out.select("date", "mean", "lo-80").rows()  # doctest: +ELLIPSIS
    [(datetime.date(2025, 1, 1), 13.0, 13.0), (datetime.date(2025, 2, 1), 14.0, 14.0)]
    """
    levels = _check_levels(level)
    names = _check_models(models, candidates)
    panel = _panel(series, freq, id_col, time_col, value_col)
    m = season_length if season_length is not None else _season_of(panel.freq)
    opt = _options(h, m, levels, transform, candidates, combine, n_windows, step)
    _check_lengths(panel, 4 if "harmonic" in names or "auto" in names else 2, "forecasting")
    results = _forecast_arrays(panel.values, names, opt, n_jobs)
    return _output(panel, results, opt.h, levels, id_col, time_col)
