"""The scale a kernel models a batch on: ``log1p`` for non-negative series, and back.

Every kernel takes a batch ``y`` of shape ``(S, n)`` and a mask ``logm`` of shape ``(S,)``
telling which series are modelled on the ``log1p`` scale (:func:`log_mask`); it returns a
:data:`Result` on the original scale. Quantiles are transformed back exactly, so intervals of
non-negative series stay >= 0 and the point forecast of a log-modelled series is its median.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
from scipy import stats

__all__ = [
    "MAX_LOG",
    "TINY",
    "Result",
    "Transform",
    "from_scale",
    "log_mask",
    "normal_quantiles",
    "to_scale",
]

#: How series are modelled: ``"auto"`` (non-negative ones on log1p; ``harmonic`` also weighs
#: the raw scale in), ``"log1p"`` (non-negative ones always) or ``"none"`` (raw values).
Transform: TypeAlias = Literal["auto", "log1p", "none"]
#: A forecast of a batch: point forecasts ``(S, h)`` and quantiles ``(S, h, P)``, original scale.
Result: TypeAlias = tuple[np.ndarray, np.ndarray]

#: Relative floor of sums of squares (an exact fit is not a zero variance).
TINY = 1e-12
#: Largest log1p value transformed back (``expm1`` overflows above ~709).
MAX_LOG = 700.0


def log_mask(y: np.ndarray, transform: Transform) -> np.ndarray:
    """Tell which series of the batch ``y`` (S, n) are modelled on the log1p scale."""
    if transform == "none":
        return np.zeros(len(y), dtype=bool)
    return np.all(y >= 0, axis=1)


def to_scale(y: np.ndarray, logm: np.ndarray) -> np.ndarray:
    """``log1p`` of the masked series of ``y`` (S, n); the others unchanged."""
    return np.where(logm[:, None], np.log1p(np.where(logm[:, None], y, 0.0)), y)


def from_scale(z: np.ndarray, logm: np.ndarray) -> np.ndarray:
    """Back from the model scale: ``expm1`` of the masked series of ``z`` (S, ...)."""
    shape = (len(logm),) + (1,) * (z.ndim - 1)
    m = logm.reshape(shape)
    return np.where(m, np.expm1(np.where(m, np.minimum(z, MAX_LOG), 0.0)), z)


def normal_quantiles(
    loc: np.ndarray, sd: np.ndarray, probs: np.ndarray, logm: np.ndarray
) -> Result:
    """Back-transformed location and normal quantiles of a batch given on the model scale.

    Parameters
    ----------
    loc, sd : ndarray
        Location and standard deviation on the model scale, ``(S, h)``.
    probs : ndarray
        Quantile probabilities ``(P,)``.
    logm : ndarray
        The log1p mask of the batch.
    """
    q = loc[..., None] + sd[..., None] * stats.norm.ppf(probs)
    return from_scale(loc, logm), from_scale(q, logm)
