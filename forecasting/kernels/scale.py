"""The scale a kernel models a batch on, chosen so that the data's units never matter.

Every series is first divided by its own scale ``s`` (the mean absolute value; 1 for a series
of zeros), so kernels see numbers near 1 whatever the units: a series times ``c`` gives the
forecast times ``c``. Non-negative series are then modelled on a log scale (``transform`` ``"auto"``
or ``"log"``): ``z = log(u + offset)`` with ``u = y / s`` and ``offset`` 0 for positive series
(a plain log: seasonality and trend act multiplicatively) and 1 (the series' mean) for series
with zeros, where a plain log is undefined and a small offset would turn every zero into an
outlier. Quantiles are transformed back exactly, so intervals of non-negative series stay
>= 0 and the point forecast of a log-modelled series is its median.

Every kernel takes the normalised batch ``u`` (S, n) and a :class:`Scale` and returns a
:data:`Result` on the normalised scale; :func:`forecasting.kernels.run_kernel` divides and
multiplies by ``s``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, TypeAlias

import numpy as np
from scipy import stats

__all__ = [
    "MAX_LOG",
    "TINY",
    "Result",
    "Scale",
    "Transform",
    "from_scale",
    "log_scale_each",
    "normal_quantiles",
    "series_scale",
    "series_scale_each",
    "to_scale",
]

#: How series are modelled: ``"auto"`` (non-negative ones on the log scale; ``harmonic`` also
#: weighs the raw scale in), ``"log"`` (non-negative ones always; ``"log1p"`` is an old
#: spelling of it) or ``"none"`` (raw values, divided by their scale).
Transform: TypeAlias = Literal["auto", "log", "log1p", "none"]
#: A forecast of a batch: point forecasts ``(S, h)`` and quantiles ``(S, h, P)``.
Result: TypeAlias = tuple[np.ndarray, np.ndarray]

#: Relative floor of sums of squares (an exact fit is not a zero variance).
TINY = 1e-12
#: Largest log value transformed back: the normalised series is near 1, so e^50 is far beyond
#: any forecast worth making, and keeps ``exp`` finite.
MAX_LOG = 50.0


class Scale(NamedTuple):
    """How each series of a batch is modelled: on a log scale or not, and the log's offset.

    Attributes
    ----------
    log : ndarray of bool
        ``(S,)``: series modelled on ``log(u + offset)``.
    offset : ndarray of float
        ``(S,)``: 0 for positive series, 1 for non-negative series with zeros.
    """

    log: np.ndarray
    offset: np.ndarray

    def take(self, rows: np.ndarray) -> Scale:
        """Return the scale of a subset of the batch."""
        return Scale(self.log[rows], self.offset[rows])


def series_scale(y: np.ndarray) -> np.ndarray:
    """Scale of each series of ``y`` (S, n): its mean absolute value (1 when all zero).

    Examples
    --------
    >>> series_scale(np.array([[1.0, -3.0], [0.0, 0.0]])).tolist()
    [2.0, 1.0]
    """
    top = np.max(np.abs(y), axis=1)
    top = np.where(top > 0, top, 1.0)
    s = top * np.mean(np.abs(y) / top[:, None], axis=1)  # no overflow near 1e308
    return np.where(s > 0, s, 1.0)


def _by_length(us: list[np.ndarray]) -> list[np.ndarray]:
    """Positions of the series of each length in ``us``."""
    lengths = np.array([len(u) for u in us])
    return [np.flatnonzero(lengths == n) for n in np.unique(lengths)]


def series_scale_each(ys: list[np.ndarray]) -> np.ndarray:
    """:func:`series_scale` of a ragged batch (series of one length at once).

    Examples
    --------
    >>> series_scale_each([np.array([1.0, -3.0]), np.zeros(3)]).tolist()
    [2.0, 1.0]
    """
    out = np.ones(len(ys))
    for rows in _by_length(ys):
        out[rows] = series_scale(np.stack([ys[i] for i in rows]))
    return out


def log_scale_each(us: list[np.ndarray], transform: Transform) -> Scale:
    """:func:`log_scale` of a ragged batch (series of one length at once)."""
    log, offset = np.zeros(len(us), dtype=bool), np.ones(len(us))
    for rows in _by_length(us):
        part = log_scale(np.stack([us[i] for i in rows]), transform)
        log[rows], offset[rows] = part.log, part.offset
    return Scale(log, offset)


def log_scale(u: np.ndarray, transform: Transform) -> Scale:
    """Tell which series of the normalised batch ``u`` are modelled on the log scale."""
    nonneg = np.all(u >= 0, axis=1)
    log = np.zeros(len(u), dtype=bool) if transform == "none" else nonneg
    offset = np.where(np.all(u > 0, axis=1), 0.0, 1.0)
    return Scale(log, offset)


def to_scale(u: np.ndarray, sc: Scale) -> np.ndarray:
    """``log(u + offset)`` of the log-modelled series of ``u`` (S, n); the others unchanged."""
    m = sc.log[:, None]
    return np.where(m, np.log(np.where(m, u, 1.0) + sc.offset[:, None]), u)


def to_scale_each(us: list[np.ndarray], sc: Scale) -> list[np.ndarray]:
    """:func:`to_scale` of a ragged batch: series ``i`` of ``us`` on the scale ``sc`` gives it."""
    return [to_scale(u[None], sc.take(np.array([i])))[0] for i, u in enumerate(us)]


def from_scale(z: np.ndarray, sc: Scale) -> np.ndarray:
    """Back from the model scale: ``exp(z) - offset`` for the log-modelled series of ``z``."""
    shape = (len(sc.log),) + (1,) * (z.ndim - 1)
    m = sc.log.reshape(shape)
    back = np.exp(np.where(m, np.minimum(z, MAX_LOG), 0.0)) - sc.offset.reshape(shape)
    return np.where(m, back, z)


def normal_quantiles(loc: np.ndarray, sd: np.ndarray, probs: np.ndarray, sc: Scale) -> Result:
    """Back-transformed location and normal quantiles of a batch given on the model scale.

    Parameters
    ----------
    loc, sd : ndarray
        Location and standard deviation on the model scale, ``(S, h)``.
    probs : ndarray
        Quantile probabilities ``(P,)``.
    sc : Scale
        The scale of the batch.
    """
    q = loc[..., None] + sd[..., None] * stats.norm.ppf(probs)
    return from_scale(loc, sc), from_scale(q, sc)
