"""Exponential smoothing (ETS) with additive errors, fitted for a whole batch at once.

The state space form of Hyndman, Koehler, Ord & Snyder (2008, ch. 2-3), with level ``l``,
trend ``b`` (none, additive, or damped with ``phi``) and ``m`` seasonal states ``s``::

    yhat_t = l + phi b + s_(t-m)          e_t = y_t - yhat_t
    l <- l + phi b + alpha e              b <- phi b + beta e          s_t = s_(t-m) + gamma e

On the log scale (the default for positive series, see :mod:`.scale`) the additive
components are multiplicative ones on the original scale: this is ETS(M,Md,M) up to the
error's form.

**How it is fitted.** The model is linear in its initial state ``x0``: for given smoothing
parameters the one-step errors are ``e = e0 - W x0``, with ``e0`` the errors of the filter
started from zero (a causal convolution of the series with the model's impulse response) and
``W`` (n x p) the rows ``w' D^(t-1)``, ``D = F - g w'``, which depend on the parameters only.
The best initial state is then a least squares fit, so the sum of squared errors is exact
maximum likelihood over ``x0`` (concentrated likelihood; Hyndman et al. 2008, §5.2) and for a
grid of smoothing parameters ``(alpha, beta, gamma, phi)`` it is a few matrix products
shared by every series of the batch: no per-series optimiser, no loop over series. The
best grid point of each of the six forms (trend N / A / Ad x season N / A) is kept, the form
chosen per series by AICc (parameters: the smoothing ones, ``p`` initial states with the
seasonal ones summing to zero, and the variance), and the forecast variance is the exact one
of the linear model, ``sigma² (1 + sum_j c_j²)`` with ``c_j = w' F^(j-1) g`` (ch. 6).

The grid (:data:`ALPHAS` ...) spans the usual bounds (``0 < beta <= alpha``,
``0 < gamma <= 1 - alpha``, ``0.8 <= phi <= 0.98``); points whose filter is unstable
(``D`` with an eigenvalue outside the unit circle: the model cannot be forecast) are left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from forecasting.kernels.scale import TINY, Result, Scale, normal_quantiles, to_scale_each

__all__ = [
    "ALPHAS",
    "FORMS",
    "EtsFit",
    "ets",
    "ets_fit",
    "ets_forecast",
    "form_system",
    "refresh_sources",
    "select_ets",
]

#: Smoothing parameter grid: level ``alpha``; ``beta`` and ``gamma`` as shares of their bounds
#: ``alpha`` and ``1 - alpha``; damping ``phi``.
ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
BETA_SHARES = (0.02, 0.2)
GAMMA_SHARES = (0.02, 0.1, 0.3)
PHIS = (0.85, 0.95)
#: The forms fitted: (trend, season) with trend ``"N"`` (none) or ``"Ad"`` (damped). An
#: undamped trend (``"A"``, also supported by the kernel) runs away over long horizons on
#: real series, so it is not among the defaults.
FORMS: tuple[tuple[str, bool], ...] = (("N", False), ("Ad", False), ("N", True), ("Ad", True))
#: Memory budget (doubles) of one block of filter matrices.
_BLOCK = 8_000_000


def _grid(trend: str, season: bool) -> np.ndarray:
    """Grid points ``(K, 4)`` of ``alpha, beta, gamma, phi`` for one form."""
    betas = BETA_SHARES if trend != "N" else (0.0,)
    gammas = GAMMA_SHARES if season else (0.0,)
    phis = PHIS if trend == "Ad" else ((1.0,) if trend == "A" else (0.0,))
    rows = [
        (a, a * b, (1 - a) * g, p) for a, b, g, p in itertools.product(ALPHAS, betas, gammas, phis)
    ]
    return np.array(rows, dtype=np.float64)


def form_system(
    params: np.ndarray, trend: str, season: bool, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Build the linear system ``w`` (K, p), ``F`` (K, p, p), ``g`` (K, p) of each grid row.

    The state is ``(l, b, s_t, s_(t-1), ..., s_(t-m+1))`` (``b`` only with a trend, the
    seasonal states only with a season); ``yhat = w' x``, ``x <- F x + g e``.

    Examples
    --------
    >>> w, f, g = form_system(np.array([[0.5, 0.1, 0.0, 0.9]]), "Ad", False, 1)
    >>> w.tolist(), f.tolist(), g.tolist()
    ([[1.0, 0.9]], [[[1.0, 0.9], [0.0, 0.9]]], [[0.5, 0.1]])
    """
    k = len(params)
    alpha, beta, gamma, phi = params.T
    has_b = trend != "N"
    ms = m if season else 0
    p = 1 + int(has_b) + ms
    w, f, g = np.zeros((k, p)), np.zeros((k, p, p)), np.zeros((k, p))
    w[:, 0], f[:, 0, 0], g[:, 0] = 1.0, 1.0, alpha
    if has_b:
        w[:, 1], f[:, 0, 1], f[:, 1, 1], g[:, 1] = phi, phi, phi, beta
    if ms:
        s0 = p - ms
        w[:, p - 1] = 1.0
        f[:, s0, p - 1] = 1.0
        for i in range(1, ms):
            f[:, s0 + i, s0 + i - 1] = 1.0
        g[:, s0] = gamma
    return w, f, g


def _constraint(trend: str, season: bool, m: int) -> np.ndarray:
    """Map ``(p, p')`` from free initial states to the state: seasonal states sum to zero."""
    p = 1 + int(trend != "N") + (m if season else 0)
    if not season:
        return np.eye(p)
    c = np.eye(p)[:, : p - 1].copy()
    c[p - 1, p - m : p - 1] = -1.0
    return c


@dataclass(frozen=True)
class _Operators:
    """Filters of one form's grid over ``n`` periods at most (see the module notes)."""

    params: np.ndarray  # (K, 4)
    w: np.ndarray  # (K, p)
    f: np.ndarray  # (K, p, p)
    g: np.ndarray  # (K, p)
    impulse: np.ndarray  # (n, K): row i - 1 is c_i = w' D^(i-1) g, the weight of lag i
    rows: np.ndarray  # (K, n, p'): W C, the rows w' D^(t-1) C, t = 1 .. n
    stable: np.ndarray  # (K,) bool


def _operators(trend: str, season: bool, m: int, n: int) -> _Operators:
    """Return the operators of a form for up to ``n`` periods (cached by blocks of 64)."""
    return _operators_upto(trend, season, m, -(-n // 64) * 64)


@lru_cache(maxsize=16)
def _operators_upto(trend: str, season: bool, m: int, n: int) -> _Operators:
    params = _grid(trend, season)
    w, f, g = form_system(params, trend, season, m)
    d = f - g[:, :, None] * w[:, None, :]
    radius = np.max(np.abs(np.linalg.eigvals(d)), axis=1)
    stable = radius <= 1 + 1e-9
    # unstable points are kept out of the grid: their powers of D explode
    params, w, f, g, d = params[stable], w[stable], f[stable], g[stable], d[stable]
    c = _constraint(trend, season, m)
    k, p = w.shape
    v = np.empty((k, n, p))
    v[:, 0] = w
    for t in range(1, n):
        v[:, t] = np.einsum("kp,kpq->kq", v[:, t - 1], d)
    impulse = np.einsum("ktp,kp->tk", v, g)
    return _Operators(params, w, f, g, np.ascontiguousarray(impulse), v @ c, stable[stable])


def _pinv_sym(a: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a stack of symmetric positive semi-definite matrices."""
    val, vec = np.linalg.eigh(a)
    cut = 1e-10 * np.max(val, axis=-1, keepdims=True)
    inv = np.where(val > cut, 1.0 / np.where(val > cut, val, 1.0), 0.0)
    return np.einsum("...ij,...j,...kj->...ik", vec, inv, vec)


@dataclass(frozen=True)
class EtsFit:
    """The chosen ETS of each series of a batch (:func:`ets_fit`).

    Attributes
    ----------
    form : ndarray of int
        ``(S,)`` index into :data:`FORMS`.
    params : ndarray
        ``(S, 4)``: ``alpha, beta, gamma, phi`` (0 where the form has no such part; ``phi``
        is 1 for an undamped trend).
    level, trend : ndarray
        ``(S,)``: the last level and trend (0 without a trend).
    season : ndarray
        ``(S, m)``: the last ``m`` seasonal states, newest first (0 without a season).
    sigma2 : ndarray
        ``(S,)``: variance of the one-step errors (sum of squares over ``n - k``).
    aicc : ndarray
        ``(S, len(FORMS))``: AICc of the best grid point of every form (inf: not fitted).
    """

    form: np.ndarray
    params: np.ndarray
    level: np.ndarray
    trend: np.ndarray
    season: np.ndarray
    sigma2: np.ndarray
    aicc: np.ndarray


def _n_params(trend: str, season: bool, m: int) -> int:
    """Free parameters of a form: smoothing ones, initial states, and the variance."""
    states = 1 + int(trend != "N") + (m - 1 if season else 0)
    return states + 1 + int(trend != "N") + int(season) + int(trend == "Ad") + 1


def _padded(zs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Left-aligned series ``(S, N)`` padded with zeros, and their lengths."""
    lengths = np.array([len(z) for z in zs])
    out = np.zeros((len(zs), int(lengths.max())))
    for i, z in enumerate(zs):
        out[i, : len(z)] = z
    return out, lengths


def _filter(
    z: np.ndarray,
    lengths: np.ndarray,
    params: np.ndarray,
    x0: np.ndarray,
    m: int,
    seasonal: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the filter of each series from ``x0`` over its own length.

    ``x0`` is ``(S, 2 + m)``: level, trend and the seasonal states newest first (zeros for
    absent parts). Returns the last states in the same layout and the errors ``(S, N)``
    (0 past each series' end).
    """
    alpha, beta, gamma, phi = params.T
    level, trend = x0[:, 0].copy(), x0[:, 1].copy()
    ring = x0[:, 2:][:, ::-1].copy()  # ring[:, t % m] is the season used at step t
    use = seasonal.astype(np.float64)
    err = np.zeros_like(z)
    for t in range(z.shape[1]):
        act = t < lengths
        i = t % m
        e = np.where(act, z[:, t] - (level + phi * trend + use * ring[:, i]), 0.0)
        err[:, t] = e
        level = np.where(act, level + phi * trend + alpha * e, level)
        trend = np.where(act, phi * trend + beta * e, trend)
        ring[:, i] += gamma * e
    rows = np.arange(len(z))[:, None]
    newest_first = ring[rows, (lengths[:, None] - 1 - np.arange(m)[None, :]) % m]
    return np.column_stack([level, trend, newest_first * use[:, None]]), err


def _whiten(rows: np.ndarray) -> np.ndarray:
    """``W U`` with ``U U'`` the pseudo-inverse of ``W' W``, for a stack of ``W`` (K, n, p)."""
    val, vec = np.linalg.eigh(np.matmul(rows.transpose(0, 2, 1), rows))
    cut = 1e-10 * np.max(val, axis=-1, keepdims=True)
    inv_root = np.where(val > cut, 1.0 / np.sqrt(np.where(val > cut, val, 1.0)), 0.0)
    return np.matmul(rows, vec * inv_root[:, None, :])


def _grid_sse(
    z: np.ndarray, forms: list[tuple[int, _Operators]], ends: list[tuple[int, list[int]]]
) -> list[dict[int, np.ndarray]]:
    """Least sum of squares over ``x0`` of every grid point, ``(S, K)`` per form and end.

    ``ends`` are ``(n_e, positions)`` pairs: the forms (positions in ``forms``) fitted on the
    first ``n_e`` points of the series. The zero-start errors
    ``e0 = z - L c`` of all grid points come from one matrix product of the impulse responses
    with the lag matrix ``L[i, s, t] = z[s, t - 1 - i]``, shared by every end (the filter is
    causal); then ``sse = |e0|² - |e0' W U|²`` over the first ``n_e`` points, with ``U U'``
    the pseudo-inverse of ``W' W``.
    """
    s, n = z.shape
    impulse = np.concatenate([ops.impulse[: n - 1] for _, ops in forms], axis=1).T  # (K, n-1)
    k_all = impulse.shape[0]
    bounds = np.cumsum([0] + [len(ops.params) for _, ops in forms])
    plan = [(n_e, [(j, _whiten(forms[j][1].rows[:, :n_e])) for j in pos]) for n_e, pos in ends]
    out: list[dict[int, np.ndarray]] = [
        {j: np.empty((s, len(forms[j][1].params))) for j in pos} for _, pos in ends
    ]
    chunk = max(1, _BLOCK // (n * k_all))
    for a in range(0, s, chunk):
        zc = z[a : a + chunk]
        c = len(zc)
        # the lag matrix is (n-1) x c x n: over 4 blocks (a long daily series), it is built
        # for a span of periods at a time, so memory grows as n, not n²
        span = n if (n - 1) * c * n <= 4 * _BLOCK else max(1, 4 * _BLOCK // ((n - 1) * c))
        e0 = np.empty((k_all, c, n))
        for t0 in range(0, n, span):
            t1 = min(n, t0 + span)
            lag = np.arange(t0, t1)[None, :] - 1 - np.arange(n - 1)[:, None]  # t - 1 - i
            ok = lag >= 0
            lagged = np.where(ok[:, None, :], zc[:, np.where(ok, lag, 0)].transpose(1, 0, 2), 0.0)
            wide = (impulse @ lagged.reshape(n - 1, c * (t1 - t0))).reshape(k_all, c, t1 - t0)
            e0[:, :, t0:t1] = zc[None, :, t0:t1] - wide
        for e, (n_e, whitened) in enumerate(plan):
            for j, wu in whitened:
                part = e0[bounds[j] : bounds[j + 1], :, :n_e]
                proj = np.matmul(part, wu)
                out[e][j][a : a + c] = np.einsum("kcn,kcn->ck", part, part) - np.einsum(
                    "kcp,kcp->ck", proj, proj
                )
    return out


def _fits_form(n: int, m: int, trend: str, season: bool) -> bool:
    """Whether a form can be fitted to ``n`` points (AICc needs ``n > k + 1``)."""
    if season and (m <= 1 or n < 2 * m + 2):
        return False
    return n - _n_params(trend, season, m) - 1 > 0


def refresh_sources(
    holdouts: tuple[int, ...],
    refit: tuple[int, ...] | None,
    same: Callable[[int, int], bool] | None = None,
) -> list[int]:
    """For each holdout, the position of the holdout its model is chosen at.

    A holdout of ``refit`` (every holdout when ``refit`` is None) is its own source; any
    other takes the nearest larger holdout of ``refit`` (the origin just before it), when
    there is one and ``same(b, source)`` says the two windows allow the same models, and
    is its own source otherwise.

    Examples
    --------
    >>> refresh_sources((0, 9, 18), (0, 18))
    [0, 2, 2]
    >>> refresh_sources((0, 9, 18), (0, 9))
    [0, 1, 2]
    """
    out = list(range(len(holdouts)))
    if refit is None:
        return out
    for e, b in enumerate(holdouts):
        if b in refit:
            continue
        older = [(a, i) for i, a in enumerate(holdouts) if a in refit and a > b]
        if older:
            a, i = min(older)
            if same is None or same(b, a):
                out[e] = i
    return out


def ets_fit(
    zs: list[np.ndarray],
    m: int,
    holdouts: tuple[int, ...] = (0,),
    forms: Sequence[int] | None = None,
    refit: tuple[int, ...] | None = None,
) -> list[EtsFit]:
    """Fit every ETS form to each series of ``zs`` (any lengths) and choose by AICc.

    Parameters
    ----------
    zs : list of ndarray
        The series on the scale they are modelled on, values near 1 (see :mod:`.scale`).
    m : int
        Season length (1: no seasonal forms).
    holdouts : tuple of int
        Fit on each series without its last ``b`` points, for each ``b`` (0: all of it);
        the filtering is shared by all of them.
    forms : sequence of int, optional
        Positions in :data:`FORMS` to choose from (all by default).
    refit : tuple of int, optional
        The holdouts whose form and smoothing parameters are chosen afresh (all by default).
        Any other holdout ``b`` keeps the form and smoothing parameters chosen at the next
        larger holdout of ``refit`` (its older origin) and only re-estimates the initial
        state and the variance on its longer window (see :func:`refresh_sources`; its
        ``aicc`` is the older origin's): the costly grid search is done once per origin of
        ``refit``.

    Returns
    -------
    list of EtsFit
        One per holdout, series in the order of ``zs``.
    """
    allowed = set(range(len(FORMS)) if forms is None else forms)
    z, lengths = _padded(zs)
    s, nf = len(z), len(FORMS)
    nh = len(holdouts)
    aicc = np.full((nh, s, nf), np.inf)
    best_k = np.zeros((nh, s, nf), dtype=np.int64)
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        zn = z[rows, :n]

        def usable(b: int, n: int = int(n)) -> list[int]:
            """Forms (positions in FORMS) that can be fitted without the last b points."""
            return [j for j, (t, season) in enumerate(FORMS) if _fits_form(n - b, m, t, season)]

        source = refresh_sources(holdouts, refit, lambda b, a: usable(b) == usable(a))
        fresh = [e for e, src in enumerate(source) if src == e]
        fitted = [
            (j, _operators(t, season, m, int(n)))
            for j, (t, season) in enumerate(FORMS)
            if j in allowed and any(_fits_form(int(n) - holdouts[e], m, t, season) for e in fresh)
        ]
        ends = [
            (
                int(n) - holdouts[e],
                [
                    i
                    for i, (j, _) in enumerate(fitted)
                    if _fits_form(int(n) - holdouts[e], m, *FORMS[j])
                ],
            )
            for e in fresh
        ]
        if not fitted:
            continue
        for e, sses in zip(fresh, _grid_sse(zn, fitted, ends), strict=True):
            n_e = int(n) - holdouts[e]
            floor = TINY * (1.0 + np.einsum("si,si->s", zn[:, :n_e], zn[:, :n_e]))
            for i, sse in sses.items():
                j = fitted[i][0]
                kbest = np.argmin(sse, axis=1)
                npar = _n_params(*FORMS[j], m)
                best = np.maximum(sse[np.arange(len(rows)), kbest], floor)
                loglik = -0.5 * n_e * (np.log(2 * np.pi * best / n_e) + 1)
                aicc[e, rows, j] = -2 * loglik + 2 * npar + 2 * npar * (npar + 1) / (n_e - npar - 1)
                best_k[e, rows, j] = kbest
        for e, src in enumerate(source):  # the others keep the choice of an older origin
            if src != e:
                aicc[e, rows], best_k[e, rows] = aicc[src, rows], best_k[src, rows]
    return [
        _final(z, np.maximum(lengths - b, 1), m, aicc[e], best_k[e]) for e, b in enumerate(holdouts)
    ]


def _final(
    z: np.ndarray, lengths: np.ndarray, m: int, aicc: np.ndarray, best_k: np.ndarray
) -> EtsFit:
    """Fit the chosen form of each series: least squares initial state, then its last state."""
    s = len(z)
    fitted = np.isfinite(aicc).any(axis=1)
    form = np.where(fitted, np.argmin(aicc, axis=1), 0)
    params = np.zeros((s, 4))
    x0 = np.zeros((s, 2 + m))
    top_all = int(lengths.max())
    for j in np.unique(form):
        rows = np.flatnonzero(form == j)
        trend, season = FORMS[j]
        top = int(lengths[rows].max())
        ops = _operators(trend, season, m, top)
        k = best_k[rows, j]
        params[rows] = ops.params[k]
        seasonal = np.full(len(rows), season)
        zero = np.zeros((len(rows), 2 + m))
        _, e0 = _filter(z[rows, :top], lengths[rows], params[rows], zero, m, seasonal)
        inside = np.arange(top)[None, :] < lengths[rows, None]
        w = ops.rows[k, :top] * inside[:, :, None]
        gram = np.matmul(w.transpose(0, 2, 1), w)
        theta = np.einsum("spq,sq->sp", _pinv_sym(gram), np.einsum("snp,sn->sp", w, e0))
        state = theta @ _constraint(trend, season, m).T
        x0[rows, 0] = state[:, 0]
        if trend != "N":
            x0[rows, 1] = state[:, 1]
        if season:
            x0[rows, 2:] = state[:, -m:]
    npar = np.array([_n_params(FORMS[j][0], FORMS[j][1], m) for j in form])
    seasonal = np.array([FORMS[j][1] for j in form])
    last, err = _filter(z[:, :top_all], lengths, params, x0, m, seasonal)
    sigma2 = np.einsum("sn,sn->s", err, err) / np.maximum(lengths - npar, 1)
    return EtsFit(form, params, last[:, 0], last[:, 1], last[:, 2:], sigma2, aicc)


def ets_forecast(fit: EtsFit, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Point forecasts and their standard deviations ``(S, h)`` of fitted ETS models.

    ``yhat_(n+j) = l + (phi + ... + phi^j) b + s`` (the newest seasonal state of that
    phase), variance ``sigma² (1 + sum_(i<j) c_i²)`` with
    ``c_i = alpha + beta (phi + ... + phi^i) + gamma [i mod m = 0]`` (Hyndman et al. 2008,
    Table 6.1).
    """
    alpha, beta, gamma, phi = fit.params.T
    m = fit.season.shape[1]
    steps = np.arange(1, h + 1)
    damped = np.cumsum(phi[:, None] ** steps[None, :], axis=1)  # phi + ... + phi^j
    phase = m - 1 - (steps - 1) % m
    loc = fit.level[:, None] + damped * fit.trend[:, None] + fit.season[:, phase]
    c = alpha[:, None] + beta[:, None] * damped + gamma[:, None] * (steps % m == 0)[None, :]
    acc = np.concatenate([np.zeros((len(c), 1)), np.cumsum(c[:, :-1] ** 2, axis=1)], axis=1)
    return loc, np.sqrt(fit.sigma2[:, None] * (1 + acc))


def ets(
    us: list[np.ndarray],
    h: int,
    m: int,
    probs: np.ndarray,
    sc: Scale,
    holdouts: tuple[int, ...] = (0,),
    refit: tuple[int, ...] | None = None,
    **_: Any,
) -> list[Result]:
    """ETS forecasts of a batch, one result per holdout (see the notes and :func:`ets_fit`)."""
    zs = to_scale_each(us, sc)
    fits = ets_fit(zs, m, holdouts, refit=refit)
    return [normal_quantiles(*ets_forecast(fit, h), probs, sc) for fit in fits]


def select_ets(z: np.ndarray, season_length: int) -> dict[str, Any]:
    """Choose the ETS form and smoothing parameters of one series (on its own scale) by AICc.

    Parameters
    ----------
    z : array of float
        The series on the scale it is modelled on (see :mod:`.scale`).
    season_length : int
        Seasonal period (1 for none).

    Returns
    -------
    dict
        ``trend`` (``None`` or ``"add"``), ``damped_trend``, ``seasonal`` (``None`` or
        ``"add"``), ``seasonal_periods``, ``alpha``, ``beta``, ``gamma``, ``phi`` and ``aicc``.

    Examples
    --------
    >>> z = np.log(100 + 5 * np.arange(24.0))
    >>> select_ets(z, 1)["trend"]
    'add'
    """
    [fit] = ets_fit([np.asarray(z, dtype=np.float64)], season_length)
    trend, season = FORMS[int(fit.form[0])]
    alpha, beta, gamma, phi = (float(v) for v in fit.params[0])
    return {
        "trend": None if trend == "N" else "add",
        "damped_trend": trend == "Ad",
        "seasonal": "add" if season else None,
        "seasonal_periods": season_length if season else None,
        "alpha": alpha,
        "beta": beta if trend != "N" else None,
        "gamma": gamma if season else None,
        "phi": phi if trend == "Ad" else None,
        "aicc": float(fit.aicc[0, int(fit.form[0])]),
    }
