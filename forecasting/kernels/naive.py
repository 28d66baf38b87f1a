"""Benchmark methods: naive, seasonal naive and drift (fpp3 §5.2, intervals §5.5).

*fpp3* is Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed. Each
kernel forecasts a whole batch of equal-length series at once (see :mod:`.scale`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forecasting.kernels.scale import Result, Scale, normal_quantiles, to_scale

__all__ = ["drift", "naive", "seasonal_naive"]


def _rms(x: np.ndarray, dof: int) -> np.ndarray:
    return np.sqrt(np.sum(x * x, axis=1) / max(dof, 1))


def naive(y: np.ndarray, h: int, m: int, probs: np.ndarray, sc: Scale, **_: Any) -> Result:
    """Last value, with the random walk's interval ``sigma * sqrt(k)`` (fpp3 §5.2, §5.5).

    Examples
    --------
    >>> raw = Scale(np.array([False]), np.zeros(1))
    >>> mean, q = naive(np.array([[1.0, 3.0, 2.0]]), 2, 1, np.array([0.5]), raw)
    >>> mean.tolist(), q[..., 0].tolist()
    ([[2.0, 2.0]], [[2.0, 2.0]])
    """
    z = to_scale(y, sc)
    n = z.shape[1]
    sigma = _rms(np.diff(z, axis=1), n - 1) if n > 1 else np.zeros(len(z))
    steps = np.arange(1, h + 1)
    loc = np.repeat(z[:, -1:], h, axis=1)
    return normal_quantiles(loc, sigma[:, None] * np.sqrt(steps), probs, sc)


def seasonal_naive(y: np.ndarray, h: int, m: int, probs: np.ndarray, sc: Scale, **_: Any) -> Result:
    """Value of the same season last cycle (fpp3 §5.2); naive when there is no full season."""
    n = y.shape[1]
    if m <= 1 or n <= m:
        return naive(y, h, m, probs, sc)
    z = to_scale(y, sc)
    steps = np.arange(h)
    loc = z[:, n - m + steps % m]
    sigma = _rms(z[:, m:] - z[:, :-m], n - m)
    return normal_quantiles(loc, sigma[:, None] * np.sqrt(steps // m + 1), probs, sc)


def drift(y: np.ndarray, h: int, m: int, probs: np.ndarray, sc: Scale, **_: Any) -> Result:
    """Line through the first and last values (fpp3 §5.2); naive below three points."""
    z = to_scale(y, sc)
    n = z.shape[1]
    if n < 3:
        return naive(y, h, m, probs, sc)
    slope = (z[:, -1] - z[:, 0]) / (n - 1)
    resid = np.diff(z, axis=1) - slope[:, None]
    sigma = _rms(resid, n - 2)
    steps = np.arange(1, h + 1)
    loc = z[:, -1:] + slope[:, None] * steps
    sd = sigma[:, None] * np.sqrt(steps * (1 + steps / (n - 1)))
    return normal_quantiles(loc, sd, probs, sc)
