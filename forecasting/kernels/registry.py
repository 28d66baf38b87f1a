"""The kernel registry: every model name :func:`forecasting.forecast` fits, and how to run one.

A kernel is a function over a batch of series (see :class:`Kernel`); the engine looks kernels
up here by name, so a new model family is one module plus one entry below. Most kernels take
series of one length (:func:`run_kernel` groups a batch by length); those in :data:`RAGGED`
take the whole batch at once, whatever the lengths, because they share work across it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from forecasting.kernels.arima import arima
from forecasting.kernels.ets import ets
from forecasting.kernels.harmonic import harmonic
from forecasting.kernels.naive import drift, naive, seasonal_naive
from forecasting.kernels.scale import (
    Result,
    Scale,
    Transform,
    log_scale_each,
    series_scale_each,
)
from forecasting.kernels.theta import theta

__all__ = ["KERNELS", "MIN_LENGTH", "RAGGED", "Kernel", "run_kernel"]


class Kernel(Protocol):
    """Forecast a batch ``y`` ``h`` periods ahead with season ``m``.

    ``y`` is an array (S, n) of series of one length, or for the kernels of :data:`RAGGED`
    a list of series of any lengths; each series is divided by its scale (values near 1).
    ``probs`` are the quantile probabilities, ``sc`` tells which series are modelled on the
    log scale; keywords the engine passes (``transform``) may be ignored. Returns point
    forecasts (S, h) and quantiles (S, h, P) on the scale of ``y``.
    """

    def __call__(self, y: Any, h: int, m: int, probs: np.ndarray, sc: Scale, **kw: Any) -> Any:
        """Return point forecasts and quantiles (per holdout, for :data:`RAGGED` kernels)."""
        ...


#: Kernel of each model name (each has the signature of :class:`Kernel`).
KERNELS: dict[str, Callable[..., Any]] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
    "harmonic": harmonic,
    "theta": theta,
    "ets": ets,
    "arima": arima,
}
#: Kernels that take a batch of series of any lengths at once.
RAGGED: tuple[str, ...] = ("ets", "arima")
#: Fewest points a series needs for each kernel: ``theta`` a slope and a spread, ``harmonic``
#: an intercept, a trend and two degrees of freedom, ``ets`` a level model with AICc
#: (``n > k + 1``), ``arima`` a short autoregression of the differenced series.
MIN_LENGTH: dict[str, int] = {
    "naive": 1,
    "seasonal_naive": 1,
    "drift": 1,
    "harmonic": 4,
    "theta": 3,
    "ets": 5,
    "arima": 8,
}


def run_kernel(
    name: str,
    ys: Sequence[np.ndarray],
    h: int,
    m: int,
    probs: np.ndarray,
    transform: Transform,
    holdouts: Sequence[int] = (0,),
    refit: Sequence[int] | None = None,
) -> list[Result]:
    """Forecast the series ``ys`` (any lengths) with kernel ``name``, once per holdout.

    Each series is divided by its scale (:func:`~forecasting.kernels.scale.series_scale`)
    before the kernel sees it and the forecasts are multiplied back, so units never matter;
    forecasts of non-negative series stay >= 0. For each ``b`` of ``holdouts`` the models are
    fitted to every series without its last ``b`` points (0: all of it); the scale and the
    transform are those of the whole series (a unit of measurement, not a fitted quantity).
    Results are in the order of ``ys``.

    ``refit`` (by default every holdout) names the holdouts whose models are chosen afresh;
    the kernels of :data:`RAGGED` forecast any other holdout with the model chosen at the
    next older origin of ``refit``, run over the longer window (a rolling origin that updates
    the model's state without choosing it again; see :func:`.ets.ets_fit`); the others
    refit every holdout, which costs them little.

    Examples
    --------
    >>> [(mean, q)] = run_kernel("drift", [np.array([1.0, 2.0, 3.0])], 2, 1, np.array([0.5]),
    ...     "none")
    >>> mean.tolist()
    [[4.0, 5.0]]
    """
    ys = list(ys)
    holdouts = tuple(int(b) for b in holdouts)
    scale = series_scale_each(ys)
    us = [y / s for y, s in zip(ys, scale, strict=True)]
    sc = log_scale_each(us, transform)
    lengths = np.array([len(u) for u in us])
    s_all, p = len(us), len(probs)
    results = [(np.empty((s_all, h)), np.empty((s_all, h, p))) for _ in holdouts]
    todo = [np.ones(s_all, dtype=bool) for _ in holdouts]
    least = MIN_LENGTH[name]
    if name in RAGGED:  # one shared fit for the series long enough for every holdout
        rows = np.flatnonzero(lengths - max(holdouts) >= least)
        if len(rows):
            parts = KERNELS[name](
                [us[i] for i in rows],
                h,
                m,
                probs,
                sc.take(rows),
                holdouts=holdouts,
                refit=None if refit is None else tuple(int(b) for b in refit),
            )
            for (mean, q), res, left in zip(parts, results, todo, strict=True):
                res[0][rows], res[1][rows] = mean, q
                left[rows] = False
    for (mean, q), b, left in zip(results, holdouts, todo, strict=True):
        cut = np.maximum(lengths - b, 1)
        # a window too short for the model gets the naive forecast (auto never uses it)
        group = np.where(cut >= least, cut, -cut)
        if name in RAGGED:  # the rest of the series long enough, any lengths at once
            rows = np.flatnonzero(left & (group > 0))
            if len(rows):
                batch = [us[i][: cut[i]] for i in rows]
                [(mean[rows], q[rows])] = KERNELS[name](batch, h, m, probs, sc.take(rows))
                left = left & (group <= 0)
        for n in np.unique(group[left]):
            rows = np.flatnonzero(left & (group == n))
            mean[rows], q[rows] = KERNELS[name if n > 0 else "naive"](
                np.stack([us[i][: abs(int(n))] for i in rows]),
                h,
                m,
                probs,
                sc.take(rows),
                transform=transform,
            )
    nonneg = np.array([bool(np.all(y >= 0)) for y in ys])
    # a series of zeros has no unit to scale by (its scale is 1): it is forecast 0, exactly,
    # so that zeros times c still give c times the forecast
    zero = np.array([not np.any(y) for y in ys])
    out: list[Result] = []
    for mean, q in results:
        with np.errstate(over="ignore", invalid="ignore"):
            mean, q = mean * scale[:, None], q * scale[:, None, None]
        if nonneg.any():
            mean = np.where(nonneg[:, None], np.maximum(mean, 0.0), mean)
            q = np.where(nonneg[:, None, None], np.maximum(q, 0.0), q)
        if zero.any():
            mean, q = np.where(zero[:, None], 0.0, mean), np.where(zero[:, None, None], 0.0, q)
        out.append((mean, q))
    return out
