"""Harmonic regression, Akaike-averaged: a trend and Fourier terms of the season.

Regression on a trend and Fourier terms of the season (fpp3 §7.4, §12.1): trends none, linear
or damped (``sum of phi^k``, phi in 0.8, 0.9, 0.95, 0.98), ``K = 0 .. m/2`` harmonics, each
fitted by least squares in closed form, with exact t prediction intervals. All variants (on
the log1p and, for ``transform="auto"``, also the raw scale, compared with the Jacobian term)
are **averaged with Akaike weights** (AICc; Burnham & Anderson 2002, §4.2) rather than picking
one, which removes most of the cost of model selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

from attribution._base.errors import ModelError
from forecasting.kernels.scale import TINY, Result, Scale, Transform, from_scale, to_scale

__all__ = ["DAMPING", "Designs", "designs", "harmonic"]

#: Damping factors of the damped trends.
DAMPING = (0.8, 0.9, 0.95, 0.98)


@dataclass(frozen=True)
class Designs:
    """Every trend x harmonics design for one (n, h, m): operators for a whole batch.

    Designs have up to ``p`` columns; those with fewer are padded with zero columns (and zero
    coefficients), so they stack. Memory grows as ``D * p * (n + h)``, not ``D * n * n``: a
    series of a few thousand days fits in megabytes.
    """

    fit: np.ndarray  # (D, n, p): the regressors over the series
    proj: np.ndarray  # (D, p, n): (X'X)^-1 X', the least-squares coefficients of a series
    new: np.ndarray  # (D, h, p): the regressors over the forecast periods
    leverage: np.ndarray  # (D, h): x0' (X'X)^-1 x0
    n_params: np.ndarray  # (D,)
    names: tuple[str, ...] = field(default=())


@lru_cache(maxsize=64)
def designs(n: int, h: int, m: int) -> Designs:
    """Build the designs for series of ``n`` points, ``h`` ahead, season ``m`` (cached).

    Seasonal terms come only from two full seasons on (as theta's test): fitted on part of a
    cycle, Fourier terms extrapolate wildly.

    Examples
    --------
    >>> designs(11, 4, 52).names[:3]
    ('none+K0', 'linear+K0', 'damped0.8+K0')
    """
    t = np.arange(n + h, dtype=np.float64)
    trends: list[tuple[str, np.ndarray | None]] = [("none", None), ("linear", t)]
    for phi in DAMPING:
        trends.append((f"damped{phi:g}", phi * (1 - phi ** (t + 1)) / (1 - phi)))
    k_max = m // 2 if m > 1 and n >= 2 * m else 0
    fits, projs, news, lev, npar, names = [], [], [], [], [], []
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
            fits.append(fit)
            projs.append(xtx_inv @ fit.T)
            news.append(new)
            lev.append(np.einsum("ij,jk,ik->i", new, xtx_inv, new))
            npar.append(p)
            names.append(f"{label}+K{k}")
    if not fits:
        raise ModelError(f"harmonic needs at least 4 observations; a series has {n}.")
    width = max(npar)

    def pad(a: np.ndarray, axis: int) -> np.ndarray:
        extra = [(0, 0)] * a.ndim
        extra[axis] = (0, width - a.shape[axis])
        return np.pad(a, extra)

    return Designs(
        np.stack([pad(a, 1) for a in fits]),
        np.stack([pad(a, 0) for a in projs]),
        np.stack([pad(a, 1) for a in news]),
        np.stack(lev),
        np.array(npar),
        tuple(names),
    )


def harmonic(
    y: np.ndarray,
    h: int,
    m: int,
    probs: np.ndarray,
    sc: Scale,
    transform: Transform = "auto",
    **_: Any,
) -> Result:
    """Akaike-weighted average of every trend x harmonics regression (see the module notes)."""
    n = y.shape[1]
    d = designs(n, h, m)
    df = (n - d.n_params).astype(np.float64)
    tq = stats.t.ppf(probs[None, :], df[:, None])  # (D, P)
    k = d.n_params + 1.0
    penalty = 2 * k + 2 * k * (k + 1) / (n - k - 1)
    scales = []
    for on_log in (True, False):
        allowed = sc.log if on_log else ((transform not in ("log", "log1p")) | ~sc.log)
        if not allowed.any():
            continue
        z = to_scale(y, sc) if on_log else y
        jac = -z.sum(axis=1) if on_log else np.zeros(len(y))
        beta = np.einsum("dpn,sn->sdp", d.proj, z)
        r = z[:, None, :] - np.einsum("dnp,sdp->sdn", d.fit, beta)
        rss = np.einsum("sdi,sdi->sd", r, r)
        floor = TINY * (1.0 + np.einsum("si,si->s", z, z))[:, None]
        rss = np.maximum(rss, floor)
        loglik = -0.5 * n * (np.log(2 * np.pi * rss / n) + 1) + jac[:, None]
        aicc = np.where(allowed[:, None], -2 * loglik + penalty[None, :], np.inf)
        loc = np.einsum("dhp,sdp->sdh", d.new, beta)
        sd = np.sqrt(rss / (n - d.n_params))[:, :, None] * np.sqrt(1 + d.leverage)[None]
        q = loc[..., None] + sd[..., None] * tq[None, :, None, :]
        if on_log:
            loc, q = from_scale(loc, sc), from_scale(q, sc)
        scales.append((aicc, loc, q))
    aicc = np.concatenate([s[0] for s in scales], axis=1)
    best = np.min(aicc, axis=1, keepdims=True)
    w = np.where(np.isfinite(aicc), np.exp(-0.5 * (aicc - best)), 0.0)
    w /= w.sum(axis=1, keepdims=True)
    loc = np.concatenate([s[1] for s in scales], axis=1)
    q = np.concatenate([s[2] for s in scales], axis=1)
    return np.einsum("sd,sdh->sh", w, loc), np.einsum("sd,sdhp->shp", w, q)
