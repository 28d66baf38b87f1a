"""Seasonal ARIMA fitted by conditional sum of squares, for a whole batch at once.

The model of each series (Box & Jenkins; the order search follows Hyndman & Khandakar 2008)::

    A(B) (1 - B)^d (1 - B^m)^D y_t = c + (1 + theta_1 B + theta_2 B²)(1 + Theta B^m) e_t

``D = 1`` when the seasonal strength of the series (fpp3 §4.3, from a classical
decomposition) is at least 0.64, then ``d`` (0 to 2, ``d + D <= 2``) by repeated KPSS tests
at 5 % (Kwiatkowski et al. 1992, ``4 (n/100)^(1/4)`` lags, as R's ``forecast::ndiffs``).
The autoregressive part ``A(B) = 1 - a_1 B - ... `` has the lags ``1 .. p`` (``p <= 2``) and,
with a seasonal autoregression (``P = 1``), ``m .. m + p`` (the product of the two factors,
its coefficients left free); ``p + q <= 2``, ``P, Q <= 1``, the constant ``c`` (a mean, or a
drift after one difference) only when ``d + D <= 1``, with or without. The order is chosen by
AICc.

**How it is fitted.** Conditional sum of squares (Box & Jenkins §7.1; R's ``arima(method =
"CSS")``): errors before the start are 0. For a given moving-average polynomial ``M(B)`` the
series filtered by ``1 / M(B)``, ``u``, makes the errors linear in the rest,
``e_t = A(B) u_t - c kappa_t`` (``kappa`` the filtered constant), so the autoregressive
coefficients and the constant are a least squares fit given ``M``. The moving-average
coefficients run over a grid (:data:`MA1`, :data:`MA2`, :data:`SMA`, inside the
invertibility region), and the filtering of every series by every grid polynomial is one
matrix product per series length: no per-series optimiser, no loop over series. Forecasts
are the recursions of the fitted model; their variance is ``sigma² sum psi_j²`` with the
``psi`` weights of ``M(B) / (A(B) (1 - B)^d (1 - B^m)^D)`` (Box & Jenkins §5.2).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from forecasting.kernels.ets import refresh_sources
from forecasting.kernels.scale import TINY, Result, Scale, normal_quantiles, to_scale_each
from forecasting.kernels.theta import seasonal_indices

__all__ = [
    "MA1",
    "MA2",
    "SMA",
    "ArimaFit",
    "arima",
    "arima_fit",
    "arima_forecast",
    "differences",
    "select_arima",
]

#: Grid of the moving-average coefficient ``theta_1`` of MA(1).
MA1 = (-0.8, -0.6, -0.4, -0.2, 0.2, 0.4, 0.6, 0.8)
#: Grid of ``(theta_1, theta_2)`` of MA(2), invertible points only.
MA2 = tuple(
    (a, b)
    for a, b in itertools.product((-1.0, -0.5, 0.0, 0.5, 1.0), (-0.4, 0.2, 0.5))
    if abs(b) < 1 and b - a > -1 and a + b > -1 and b != 0
)
#: Grid of the seasonal moving-average coefficient ``Theta``.
SMA = (-0.8, -0.6, -0.4, -0.2, 0.3)
#: Memory budget (doubles) of one block of filtered series.
_BLOCK = 6_000_000
#: KPSS critical value at 5 % (level stationarity; Kwiatkowski et al. 1992, Table 1).
KPSS_5 = 0.463
ALLOW_DRIFT = True
MAX_D = 2
#: Largest root modulus of the autoregressive part (companion eigenvalues) accepted: clearly
#: explosive fits are refused; near-unit seasonal roots, common in seasonal series the
#: seasonal-strength test leaves undifferenced, are kept.
STATIONARY = 1.02


def _kpss(x: np.ndarray) -> np.ndarray:
    """KPSS statistics (level stationarity) of equal-length series ``x`` (S, n)."""
    n = x.shape[1]
    e = x - x.mean(axis=1, keepdims=True)
    s = np.cumsum(e, axis=1)
    lags = int(4 * (n / 100) ** 0.25)
    lrv = np.einsum("sn,sn->s", e, e) / n
    for j in range(1, lags + 1):
        lrv += 2 * (1 - j / (lags + 1)) * np.einsum("sn,sn->s", e[:, j:], e[:, :-j]) / n
    return np.einsum("sn,sn->s", s, s) / (n * n * np.maximum(lrv, TINY))


def _seasonal_strength(z: np.ndarray, m: int) -> np.ndarray:
    """Seasonal strength ``1 - var(remainder) / var(season + remainder)`` (fpp3 §4.3)."""
    idx = seasonal_indices(z, m)
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.lib.stride_tricks.sliding_window_view(z, len(w), axis=1) @ w
    off = (len(w) - 1) // 2
    season = idx[:, np.arange(off, off + trend.shape[1]) % m]
    rem = z[:, off : off + trend.shape[1]] - trend - season
    total = np.var(rem + season, axis=1)
    some = total > TINY * (1.0 + np.var(z, axis=1))  # a season worth the name
    return np.where(some, 1 - np.var(rem, axis=1) / np.where(some, total, 1.0), 0.0)


def differences(zs: list[np.ndarray], m: int) -> tuple[np.ndarray, np.ndarray]:
    """Orders of differencing ``d`` and ``D`` of each series (see the module notes).

    Examples
    --------
    >>> t = np.arange(60.0)
    >>> d, big_d = differences([np.sin(2 * np.pi * t / 12) + 0.01 * t, 0.3 * t], 12)
    >>> big_d.tolist(), d.tolist()
    ([1, 0], [0, 1])
    """
    lengths = np.array([len(z) for z in zs])
    d, big_d = np.zeros(len(zs), dtype=np.int64), np.zeros(len(zs), dtype=np.int64)
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        x = np.stack([zs[i] for i in rows])
        if m > 1 and n >= 3 * m:
            seasonal = _seasonal_strength(x, m) >= 0.64
            big_d[rows] = seasonal
        for dd in (0, 1):
            for sub in (False, True):
                sel = rows[(big_d[rows] == int(sub)) & (d[rows] == dd)]
                if not len(sel) or dd + int(sub) >= 2 or dd + 1 > MAX_D:
                    continue
                w = np.stack([zs[i] for i in sel])
                if sub:
                    w = w[:, m:] - w[:, :-m]
                w = np.diff(w, n=dd, axis=1) if dd else w
                if w.shape[1] < 8:
                    continue
                flat = np.ptp(w, axis=1) <= TINY
                d[sel] += (~flat & (_kpss(w) > KPSS_5)).astype(np.int64)
    return d, big_d


@lru_cache(maxsize=8)
def _ma_polys(m: int, seasonal: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid of moving-average polynomials: coefficients ``(K, m + 3)``, ``q`` and ``Q``."""
    nonseasonal: list[tuple[float, ...]] = [(), *[(a,) for a in MA1], *MA2]
    seasons: list[float | None] = [None, *SMA] if seasonal else [None]
    width = (m + 3) if seasonal else 3
    polys, qs, big_qs = [], [], []
    for theta, season in itertools.product(nonseasonal, seasons):
        base = np.zeros(width)
        base[0] = 1.0
        base[1 : 1 + len(theta)] = theta
        if season is not None:
            base = base + season * np.r_[np.zeros(m), base[: width - m]]
        polys.append(base)
        qs.append(len(theta))
        big_qs.append(int(season is not None))
    return np.array(polys), np.array(qs), np.array(big_qs)


@lru_cache(maxsize=128)  # one per series length: (n, K), about 0.1 MB each
def _ma_inverse(m: int, seasonal: bool, n: int) -> np.ndarray:
    """Impulse responses ``(n, K)`` of ``1 / M(B)`` over the grid of :func:`_ma_polys`."""
    polys, _, _ = _ma_polys(m, seasonal)
    k, width = polys.shape
    h = np.zeros((n, k))
    h[0] = 1.0
    for t in range(1, n):
        lo = max(0, t - width + 1)
        h[t] = -np.einsum("jk,kj->k", h[lo:t][::-1], polys[:, 1 : t - lo + 1])
    return h


def _ar_lags(p: int, big_p: int, m: int) -> list[int]:
    """Lags of the autoregressive part (the seasonal factor's product terms left free)."""
    return list(range(1, p + 1)) + ([m + i for i in range(p + 1)] if big_p else [])


def _is_seasonal(n: int, m: int) -> bool:
    """Whether a differenced series of ``n`` points gets seasonal ARMA terms."""
    return m > 1 and n >= 3 * m + 10


@dataclass(frozen=True)
class ArimaFit:
    """The chosen ARIMA of each series of a batch (:func:`arima_fit`).

    Attributes
    ----------
    order : ndarray of int
        ``(S, 7)``: ``p, d, q, P, D, Q`` and whether there is a constant.
    ar : ndarray
        ``(S, L)``: ``A(B)`` as coefficients of ``B^0 .. B^(L-1)`` (``A_0 = 1``).
    ma : ndarray
        ``(S, L)``: ``M(B)`` likewise.
    const : ndarray
        ``(S,)``: the constant ``c``.
    sigma2 : ndarray
        ``(S,)``: variance of the errors.
    aicc : ndarray
        ``(S,)``: AICc of the chosen order (conditional likelihood; inf: none fitted).
    errors : ndarray
        ``(S, N)``: one-step errors of the differenced series, left-aligned, 0 past its end.
    lengths : ndarray
        ``(S,)``: lengths of the differenced series.
    """

    order: np.ndarray
    ar: np.ndarray
    ma: np.ndarray
    const: np.ndarray
    sigma2: np.ndarray
    aicc: np.ndarray
    errors: np.ndarray
    lengths: np.ndarray


def _grams(
    w: np.ndarray, m: int, seasonal: bool, ends: list[int], t0s: list[int]
) -> list[np.ndarray]:
    """Cross products ``(S, K, c, c)`` of the regression of every grid point, per end.

    Columns: ``u_t``, its lags ``1, 2`` (and ``m, m + 1, m + 2`` when ``t0 > 2``), and
    ``kappa_t``; sums over ``t0 <= t < end``. ``u`` is each series filtered by every
    ``1 / M(B)`` of the grid, by the recursion ``u_t = w_t - sum_j M_j u_(t-j)`` run for the
    whole grid and batch at once.
    """
    s, n = w.shape
    polys, _, _ = _ma_polys(m if seasonal else 1, seasonal)
    k = len(polys)
    lags = np.flatnonzero(np.any(polys[:, 1:] != 0, axis=0)) + 1
    kappa = _ma_inverse(m if seasonal else 1, seasonal, n).cumsum(axis=0).T  # (K, n)
    lag_sets = [[0, 1, 2] + ([m, m + 1, m + 2] if t0 > 2 else []) for t0 in t0s]
    out = [np.empty((s, k, len(ls) + 1, len(ls) + 1)) for ls in lag_sets]
    chunk = max(1, _BLOCK // (n * k))
    for a in range(0, s, chunk):
        wc = w[a : a + chunk]
        c = len(wc)
        # u = w / M(B) for every grid polynomial: u_t = w_t - sum_j M_j u_(t-j)
        u = np.zeros((n, k, c))
        for t in range(n):
            acc = np.broadcast_to(wc[:, t], (k, c)).copy()
            for j in lags[lags <= t]:
                acc -= polys[:, j, None] * u[t - j]
            u[t] = acc
        u = u.transpose(1, 2, 0)  # (K, c, n)
        for e, (end, t0) in enumerate(zip(ends, t0s, strict=True)):
            g = out[e]
            top = len(lag_sets[e])
            span = [u[:, :, t0 - j : end - j] for j in lag_sets[e]]
            kap = kappa[:, t0:end]
            for i in range(top):
                for j in range(i, top):
                    val = np.einsum("kct,kct->ck", span[i], span[j])
                    g[a : a + c, :, i, j] = g[a : a + c, :, j, i] = val
                val = np.einsum("kct,kt->ck", span[i], kap)
                g[a : a + c, :, i, top] = g[a : a + c, :, top, i] = val
            g[a : a + c, :, top, top] = np.einsum("kt,kt->k", kap, kap)[None, :]
    return out


def _choose(
    gram: np.ndarray, m: int, seasonal: bool, n_eff: np.ndarray | int, with_const: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best order of each series by AICc from its cross products: AICc, AR, MA, c, order.

    ``n_eff`` is the number of errors each series' sum of squares runs over (one for all, or
    one per series): an order with too many parameters for a series is not fitted to it.
    """
    s, _, ncol, _ = gram.shape
    n_eff = np.broadcast_to(np.asarray(n_eff), (s,))
    polys, qs, big_qs = _ma_polys(m if seasonal else 1, seasonal)
    lag_set = [1, 2] + ([m, m + 1, m + 2] if seasonal else [])
    width = m + 3 if m > 1 else 3
    best = np.full(s, np.inf)
    out_ar = np.zeros((s, width))
    out_ma = np.zeros((s, width))
    out_ar[:, 0] = out_ma[:, 0] = 1.0
    out_c = np.zeros(s)
    out_order = np.zeros((s, 5), dtype=np.int64)  # p, q, P, Q, const
    floor = TINY * (1.0 + gram[:, 0, 0, 0])
    rows = np.arange(s)
    for p, big_p, const in itertools.product((0, 1, 2), (0, 1) if seasonal else (0,), (0, 1)):
        if const and not with_const.any():
            continue
        lags = _ar_lags(p, big_p, m)
        sel = [lag_set.index(j) + 1 for j in lags] + ([ncol - 1] if const else [])
        ks = np.flatnonzero(qs + p <= 2)
        npar_k = p + big_p * (p + 1) + qs[ks] + big_qs[ks] + const + 1
        fits = n_eff[:, None] - npar_k[None, :] - 1 > 0  # (S, K'): enough errors
        keep = fits.any(axis=0)
        ks, fits = ks[keep], fits[:, keep]
        if not len(ks):
            continue
        total = gram[:, ks, 0, 0]
        if sel:
            idx = np.array(sel)
            g = gram[:, ks[:, None, None], idx[None, :, None], idx[None, None, :]]
            g = g + 1e-10 * np.eye(len(sel))
            r = gram[:, ks[:, None], idx[None, :], 0]
            coef = np.linalg.solve(g, r[..., None])[..., 0]  # (S, K', r)
            sse = total - np.einsum("skr,skr->sk", coef, r)
        else:
            coef = np.zeros((s, len(ks), 0))
            sse = total
        sse = np.where(fits, np.maximum(sse, floor[:, None]), np.inf)
        j = np.argmin(sse, axis=1)
        kb = ks[j]
        npar = p + big_p * (p + 1) + qs[kb] + big_qs[kb] + const + 1
        val = sse[rows, j]
        ok = fits.any(axis=1) & (with_const | (const == 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            aicc = (
                n_eff * np.log(2 * np.pi * val / n_eff)
                + n_eff
                + 2 * npar
                + 2 * npar * (npar + 1) / (n_eff - npar - 1)
            )
        aicc = np.where(ok, aicc, np.inf)
        better = aicc < best
        if not better.any():
            continue
        ar = np.zeros((s, width))
        ar[:, 0] = 1.0
        for i, lag in enumerate(lags):
            ar[:, lag] = -coef[rows, j, i]
        better[better] = _stationary(ar[better])
        best = np.where(better, aicc, best)
        out_ar[better] = ar[better]
        out_ma[better, : polys.shape[1]] = polys[kb][better]
        out_c[better] = coef[rows, j, -1][better] if const else 0.0
        out_order[better] = np.column_stack(
            [np.full(s, p), qs[kb], np.full(s, big_p), big_qs[kb], np.full(s, const)]
        )[better]
    return best, out_ar, out_ma, out_c, out_order


def _stationary(ar: np.ndarray) -> np.ndarray:
    """Tell whether each ``A(B)`` (rows of coefficients, ``A_0 = 1``) is not explosive.

    Its companion matrix must have no eigenvalue beyond :data:`STATIONARY` in modulus.
    """
    deg = np.max(np.nonzero(np.any(ar[:, 1:] != 0, axis=0))[0], initial=-1) + 1
    if deg == 0:
        return np.ones(len(ar), dtype=bool)
    comp = np.zeros((len(ar), deg, deg))
    comp[:, 0, :] = -ar[:, 1 : deg + 1]
    comp[:, np.arange(1, deg), np.arange(deg - 1)] = 1.0
    return np.max(np.abs(np.linalg.eigvals(comp)), axis=1) < STATIONARY


def _poly_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Products of polynomial rows ``a`` (S, i) and ``b`` (S, j) -> (S, i + j - 1)."""
    out = np.zeros((len(a), a.shape[1] + b.shape[1] - 1))
    for j in range(b.shape[1]):
        out[:, j : j + a.shape[1]] += a * b[:, j : j + 1]
    return out


def _diff_poly(d: np.ndarray, big_d: np.ndarray, m: int) -> np.ndarray:
    """``(1 - B)^d (1 - B^m)^D`` as rows of coefficients ``(S, 3 + m)``."""
    out = np.zeros((len(d), 3 + m))
    out[:, 0] = 1.0
    for dd, bd in set(zip(d.tolist(), big_d.tolist(), strict=True)):
        poly = np.array([1.0])
        for _ in range(int(dd)):
            poly = np.convolve(poly, [1.0, -1.0])
        if bd:
            poly = np.convolve(poly, np.r_[1.0, np.zeros(m - 1), -1.0])
        out[(d == dd) & (big_d == bd), : len(poly)] = poly
    return out


def arima_fit(
    zs: list[np.ndarray],
    m: int,
    holdouts: tuple[int, ...] = (0,),
    refit: tuple[int, ...] | None = None,
) -> list[ArimaFit]:
    """Choose and fit an ARIMA for each series of ``zs`` (any lengths; see the module notes).

    Parameters
    ----------
    zs : list of ndarray
        The series on the scale they are modelled on.
    m : int
        Season length.
    holdouts : tuple of int
        Fit on each series without its last ``b`` points, for each ``b`` (0: all of it). The
        orders of differencing come from the whole series; everything else is refitted.
        The filtering is shared by all of them.
    refit : tuple of int, optional
        The holdouts whose orders and coefficients are chosen afresh (all by default). Any
        other holdout ``b`` keeps the model chosen at the next larger holdout of ``refit``
        (its older origin) and only runs it over its longer window (errors, variance and
        forecasts from its own end; see :func:`forecasting.kernels.ets.refresh_sources`).

    Returns
    -------
    list of ArimaFit
        One per holdout, series in the order of ``zs``.
    """
    s = len(zs)
    d, big_d = differences(zs, m)
    ws = []
    for z, dd, bd in zip(zs, d, big_d, strict=True):
        w = z[m:] - z[:-m] if bd else z
        ws.append(np.diff(w, n=int(dd)) if dd else w)
    lw = np.array([len(w) for w in ws])
    width = m + 3 if m > 1 else 3
    with_const = (d + big_d) <= 1
    res = []
    for _ in holdouts:
        ar, ma = np.zeros((s, width)), np.zeros((s, width))
        ar[:, 0] = ma[:, 0] = 1.0
        res.append([np.full(s, np.inf), ar, ma, np.zeros(s), np.zeros((s, 5), dtype=np.int64)])
    # the orders are chosen for many series lengths at once: the cross products of every
    # length and window with the same regressors wait in ``pending`` until there are many
    pending: dict[tuple[bool, tuple[int, ...]], list[tuple[int, np.ndarray, np.ndarray, int]]]
    pending = {}
    copies: list[tuple[int, int, np.ndarray]] = []

    def choose(key: tuple[bool, tuple[int, ...]]) -> None:
        """Choose the orders of the series waiting in ``pending[key]`` and store them."""
        items = pending.pop(key)
        every = np.concatenate([r for _, r, _, _ in items])
        n_eff = np.concatenate([np.full(len(r), ne) for _, r, _, ne in items])
        gram = np.concatenate([g for _, _, g, _ in items])
        chosen = _choose(gram, m, key[0], n_eff, with_const[every])
        start = 0
        for i, r, _, _ in items:
            part = slice(start, start + len(r))
            for slot, val in zip(res[i], chosen, strict=True):
                slot[r] = val[part] if slot.ndim == 1 else val[part, : slot.shape[1]]
            start += len(r)

    for n in np.unique(lw):
        rows = np.flatnonzero(lw == n)
        lengths = [int(n) - b for b in holdouts]

        def same(b: int, a: int, n: int = int(n)) -> bool:
            """Whether the windows without the last b and a points allow the same models."""
            return min(n - a, n - b) >= 8 and _is_seasonal(n - a, m) == _is_seasonal(n - b, m)

        source = refresh_sources(holdouts, refit, same)
        live = [i for i, nb in enumerate(lengths) if nb >= 8 and source[i] == i]
        if not live:
            continue
        w = np.stack([ws[i] for i in rows])
        seasonal = _is_seasonal(int(n), m)
        t0s = [m + 2 if _is_seasonal(lengths[i], m) else 2 for i in live]
        grams = _grams(w, m, seasonal, [lengths[i] for i in live], t0s)
        for i, gram, t0 in zip(live, grams, t0s, strict=True):
            season_b = _is_seasonal(lengths[i], m)
            if seasonal and not season_b:  # a shorter window: no seasonal terms
                _, _, big_qs = _ma_polys(m, True)
                gram = gram[:, big_qs == 0]
            key = (season_b, gram.shape[1:])
            pending.setdefault(key, []).append((i, rows, gram, lengths[i] - t0))
            if sum(g.size for _, _, g, _ in pending[key]) > _BLOCK:
                choose(key)
        copies += [(i, src, rows) for i, src in enumerate(source) if src != i]
    for key in list(pending):
        choose(key)
    for i, src, rows in copies:  # the others keep the model of an older origin
        for slot, val in zip(res[i], res[src], strict=True):
            slot[rows] = val[rows]
    fits = []
    for b, (aicc_b, ar_b, ma_b, const_b, o) in zip(holdouts, res, strict=True):
        order = np.column_stack([o[:, 0], d, o[:, 1], o[:, 2], big_d, o[:, 3], o[:, 4]])
        nb = np.maximum(lw - b, 0)
        err = _errors(ws, nb, ar_b, ma_b, const_b)
        start = np.array([m + 2 if _is_seasonal(int(v), m) else 2 for v in nb])
        idx = np.arange(err.shape[1])[None, :]
        used = (idx >= start[:, None]) & (idx < nb[:, None])
        npar = o[:, 0] + o[:, 2] * (o[:, 0] + 1) + o[:, 1] + o[:, 3] + o[:, 4]
        sigma2 = np.einsum("sn,sn->s", err * used, err) / np.maximum(used.sum(axis=1) - npar, 1)
        fits.append(ArimaFit(order, ar_b, ma_b, const_b, sigma2, aicc_b, err, nb))
    return fits


def _errors(
    ws: list[np.ndarray], lengths: np.ndarray, ar: np.ndarray, ma: np.ndarray, const: np.ndarray
) -> np.ndarray:
    """Compute the one-step errors ``e_t = A(B) w_t - c - sum_j M_j e_(t-j)``.

    Over each series' first ``lengths`` points, zeros before the start (conditional sum of
    squares).
    """
    s, width = ar.shape
    top = int(max(lengths.max(), 1))
    wp = np.zeros((s, top))
    for i, w in enumerate(ws):
        k = min(len(w), top)
        wp[i, :k] = w[:k]
    err = np.zeros_like(wp)
    for t in range(top):
        lo = max(0, t - width + 1)
        span = t - lo
        past_w = np.einsum("sj,sj->s", wp[:, lo:t][:, ::-1], ar[:, 1 : span + 1])
        past_e = np.einsum("sj,sj->s", err[:, lo:t][:, ::-1], ma[:, 1 : span + 1])
        err[:, t] = np.where(t < lengths, wp[:, t] + past_w - const - past_e, 0.0)
    return err


def arima_forecast(
    fit: ArimaFit, zs: list[np.ndarray], m: int, h: int
) -> tuple[np.ndarray, np.ndarray]:
    """Point forecasts and standard deviations ``(S, h)`` of fitted models (see the notes).

    ``zs`` are the series the models were fitted on (as long as the fit's window).
    """
    s = len(zs)
    top = fit.ar.shape[1]
    delta = _diff_poly(fit.order[:, 1], fit.order[:, 4], m)
    full_ar = _poly_mul(fit.ar, delta)  # (S, L): A(B) (1 - B)^d (1 - B^m)^D
    width = full_ar.shape[1]
    # recursions on the series itself: full_ar(B) y_t = c + M(B) e_t, future errors 0
    hist = np.zeros((s, width - 1 + h))  # newest last
    ehist = np.zeros((s, top - 1 + h))
    for i, z in enumerate(zs):
        k = min(len(z), width - 1)
        hist[i, width - 1 - k : width - 1] = z[len(z) - k :]
        n = int(fit.lengths[i])
        ke = min(n, top - 1)
        ehist[i, top - 1 - ke : top - 1] = fit.errors[i, n - ke : n]
    for j in range(h):
        past_y = np.einsum("sj,sj->s", hist[:, j : j + width - 1][:, ::-1], full_ar[:, 1:])
        past_e = np.einsum("sj,sj->s", ehist[:, j : j + top - 1][:, ::-1], fit.ma[:, 1:])
        hist[:, width - 1 + j] = fit.const - past_y + past_e
    loc = hist[:, width - 1 :]
    psi = np.zeros((s, h))
    psi[:, 0] = 1.0
    for j in range(1, h):
        ma_j = fit.ma[:, j] if j < top else 0.0
        k = min(j, width - 1)
        psi[:, j] = ma_j - np.einsum("sk,sk->s", full_ar[:, 1 : k + 1], psi[:, j - 1 :: -1][:, :k])
    return loc, np.sqrt(fit.sigma2[:, None] * np.cumsum(psi**2, axis=1))


def arima(
    us: list[np.ndarray],
    h: int,
    m: int,
    probs: np.ndarray,
    sc: Scale,
    holdouts: tuple[int, ...] = (0,),
    refit: tuple[int, ...] | None = None,
    **_: Any,
) -> list[Result]:
    """ARIMA forecasts of a batch, one result per holdout (see the notes and :func:`arima_fit`)."""
    zs = to_scale_each(us, sc)
    out = []
    for b, fit in zip(holdouts, arima_fit(zs, m, holdouts, refit), strict=True):
        cut = [z[: max(len(z) - b, 1)] for z in zs]
        loc, sd = arima_forecast(fit, cut, m, h)
        out.append(normal_quantiles(loc, sd, probs, sc))
    return out


def select_arima(z: np.ndarray, season_length: int) -> dict[str, Any]:
    """Choose and fit the ARIMA of one series (on its own scale; see the module notes).

    Parameters
    ----------
    z : array of float
        The series on the scale it is modelled on.
    season_length : int
        Seasonal period (1 for none).

    Returns
    -------
    dict
        ``order`` ``(p, d, q)``, ``seasonal_order`` ``(P, D, Q, m)``, ``constant`` (bool),
        ``ar`` and ``ma`` (the polynomials ``A(B)`` and ``M(B)`` as coefficient lists from
        ``B^0``), ``const``, ``sigma2`` and ``aicc``.

    Examples
    --------
    >>> z = np.random.default_rng(0).normal(size=40)
    >>> select_arima(z, 1)["order"][1]
    0
    """
    [fit] = arima_fit([np.asarray(z, dtype=np.float64)], season_length)
    p, d, q, big_p, big_d, big_q, c = (int(v) for v in fit.order[0])
    return {
        "order": (p, d, q),
        "seasonal_order": (big_p, big_d, big_q, season_length),
        "constant": bool(c),
        "ar": fit.ar[0].tolist(),
        "ma": fit.ma[0].tolist(),
        "const": float(fit.const[0]),
        "sigma2": float(fit.sigma2[0]),
        "aicc": float(fit.aicc[0]),
    }
