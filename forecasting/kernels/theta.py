"""The Theta method (Assimakopoulos & Nikolopoulos 2000) as R's ``forecast::thetaf``.

In the form of Hyndman & Billah (2003): classical decomposition when the seasonal
autocorrelation test passes at 90 %, simple exponential smoothing with drift half the trend
slope. Vectorised over a batch of equal-length series (see :mod:`.scale`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from forecasting.kernels.scale import TINY, Result, Scale, normal_quantiles, to_scale

__all__ = ["quiet_quantiles", "seasonal_indices", "seasonal_test", "theta"]

_ALPHAS = np.linspace(0.01, 0.99, 99)


def seasonal_indices(z: np.ndarray, m: int) -> np.ndarray:
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


def seasonal_test(z: np.ndarray, m: int, alpha: float = 0.1) -> np.ndarray:
    """F test of season-of-year means in the linearly detrended series, at level ``alpha``."""
    n = z.shape[1]
    t = np.arange(n) - (n - 1) / 2
    x = z - z.mean(axis=1, keepdims=True) - np.outer((z @ t) / (t @ t), t)
    pos = np.arange(n) % m
    counts = np.bincount(pos, minlength=m)
    sums = np.stack([np.bincount(pos, weights=row, minlength=m) for row in x])
    between = np.sum(sums**2 / counts, axis=1)
    within = np.maximum(np.sum(x * x, axis=1) - between, TINY)
    f = (between / (m - 1)) / (within / (n - m - 1))
    return stats.f.sf(f, m - 1, n - m - 1) < alpha


#: Seasonal cycles of history the Theta method is fitted on (all of a shorter series).
CYCLES = 10


def quiet_quantiles(full: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles ``(P,)`` of the next value of a non-negative series that ends in zeros.

    A run of ``n`` trailing zeros bounds the chance of a non-zero value by ``3 / n`` (the
    rule of three: the 95 % upper confidence bound of a rate never seen in ``n`` trials).
    The next value is taken as 0, or with that chance one of the series' past non-zero
    values; its quantile at ``p`` is 0 up to ``1 - 3 / n`` and above it the quantile of the
    past non-zero values at ``(p - (1 - 3 / n)) / (3 / n)``.
    """
    nonzero = np.flatnonzero(full)
    run = len(full) - 1 - int(nonzero[-1])
    chance = min(3.0 / max(run, 1), 1.0)
    sizes = full[nonzero]
    r = (probs - (1.0 - chance)) / chance
    # r at 0 (up to rounding) is the zero part: 120 zeros and a 95 % bound, 0.975 = 1 - 3 / 120
    return np.where(r > 1e-9, np.quantile(sizes, np.clip(r, 0.0, 1.0)), 0.0)


def theta(y: np.ndarray, h: int, m: int, probs: np.ndarray, sc: Scale, **_: Any) -> Result:
    """Theta forecasts of a batch (see the module notes).

    A non-negative series whose window (the last :data:`CYCLES` seasons) is all zeros but
    whose earlier history is not is forecast 0, and its quantiles are those of
    :func:`quiet_quantiles` (its window alone would give a zero-width interval).
    """
    full = y
    if m > 1 and y.shape[1] > CYCLES * m:
        y = y[:, -CYCLES * m :]
    mean, q = _theta(y, h, m, probs, sc)
    quiet = ~y.any(axis=1) & full.any(axis=1) & (full >= 0).all(axis=1)
    for i in np.flatnonzero(quiet):
        q[i] = quiet_quantiles(full[i], probs)[None, :]
    return mean, q


def _theta(y: np.ndarray, h: int, m: int, probs: np.ndarray, sc: Scale) -> Result:
    z = to_scale(y, sc)
    s, n = z.shape
    seas_in, seas_out = np.zeros((s, n)), np.zeros((s, h))
    if m > 1 and n >= 2 * m:
        seasonal = seasonal_test(z, m)
        if seasonal.any():
            idx = seasonal_indices(z[seasonal], m)
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
    return normal_quantiles(loc + seas_out, sd, probs, sc)
