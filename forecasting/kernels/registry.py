"""The kernel registry: every model name :func:`forecasting.forecast` fits, and how to run one.

A kernel is a function over a batch of equal-length series (see :class:`Kernel`); the engine
looks kernels up here by name, so a new model family is one module plus one entry below.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from forecasting.kernels.harmonic import harmonic
from forecasting.kernels.naive import drift, naive, seasonal_naive
from forecasting.kernels.scale import Result, Transform, log_mask
from forecasting.kernels.statespace import arima, ets
from forecasting.kernels.theta import theta

__all__ = ["KERNELS", "LOOPED", "Kernel", "run_kernel"]


class Kernel(Protocol):
    """Forecast a batch ``y`` (S, n) ``h`` periods ahead with season ``m``.

    ``probs`` are the quantile probabilities, ``logm`` the series modelled on the log1p scale;
    keywords the engine passes (``transform``) may be ignored. Returns point forecasts
    (S, h) and quantiles (S, h, P) on the original scale.
    """

    def __call__(
        self, y: np.ndarray, h: int, m: int, probs: np.ndarray, logm: np.ndarray, **kw: Any
    ) -> Result:
        """Return point forecasts and quantiles of the batch."""
        ...


#: Kernel of each model name.
KERNELS: dict[str, Kernel] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
    "harmonic": harmonic,
    "theta": theta,
    "ets": ets,
    "arima": arima,
}
#: Kernels that fit one series at a time (statsmodels): worth a process pool.
LOOPED: tuple[str, ...] = ("ets", "arima")


def run_kernel(
    name: str, y: np.ndarray, h: int, m: int, probs: np.ndarray, transform: Transform
) -> Result:
    """Forecast the batch ``y`` with kernel ``name``; non-negative series stay >= 0.

    Examples
    --------
    >>> y = np.array([[1.0, 2.0, 3.0]])
    >>> mean, q = run_kernel("drift", y, 2, 1, np.array([0.5]), "none")
    >>> mean.tolist()
    [[4.0, 5.0]]
    """
    logm = log_mask(y, transform)
    mean, q = KERNELS[name](y, h, m, probs, logm, transform=transform)
    nonneg = np.all(y >= 0, axis=1)
    if nonneg.any():
        mean = np.where(nonneg[:, None], np.maximum(mean, 0.0), mean)
        q = np.where(nonneg[:, None, None], np.maximum(q, 0.0), q)
    return mean, q
