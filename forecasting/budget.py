"""Budget scenarios: per-channel response curves, marginal ROI and the best split of a budget.

The model
---------
Revenue attributed to a channel in period ``t`` responds to its (optionally carried-over) spend
through a saturating curve, with additive Gaussian noise:

``revenue_t = f(a_t) + ε_t``, where ``a_t`` is the spend, or with carry-over its *normalised
geometric adstock* ``a_t = (1 − λ)·spend_t + λ·a_{t−1}`` (decay ``0 ≤ λ < 1``; the series
starts in steady state, ``a_{−1} = spend_0``). Normalising by ``1 − λ`` keeps ``a`` in spend
units: a constant spend ``x`` per period has adstock ``x``, so a budget of ``x`` per period held
steady earns ``f(x)`` per period whatever the decay. Budget scenarios compare such steady
states, so the decay matters for fitting, not for the reallocation.

Curves (``curve=``):

* ``"exponential"``: ``f(x) = β·(1 − exp(−x/θ))``; ``β`` the saturation revenue per period,
  ``θ`` the spend scale (at ``x = θ`` the channel earns 63 % of ``β``). Concave.
* ``"hill"``: ``f(x) = β·x^s / (x^s + K^s)``; ``K`` the half-saturation spend, ``s`` the shape
  (concave for ``s ≤ 1``, S-shaped for ``s > 1``).

Fits are nonlinear least squares (``scipy.optimize.least_squares``, several starts) on
``log β, log θ`` (or ``log β, log K, log s``) and ``λ``; standard errors come from the
Jacobian at the optimum, ``s²·(JᵀJ)⁻¹``, and are reported on the natural scale by the delta
method. Marginal return is ``f'(x)``: the revenue of one more unit of spend per period.
``marginal_roas = f'(x)`` and ``marginal_roi = f'(x) − 1`` (the package's ROI is
``(revenue − spend) / spend``, so 0 is break-even).

The best split of a total budget maximises ``Σ f_i(x_i)`` subject to ``Σ x_i = total`` and
``lower_i ≤ x_i ≤ upper_i``. For concave curves the optimum equalises marginal returns across
channels not held at a bound (the Karush-Kuhn-Tucker conditions), which water-filling finds
exactly: bisection on the common marginal return ``μ`` with ``x_i(μ) = clip(f_i'⁻¹(μ), lower_i,
upper_i)``. S-shaped curves fall back to SLSQP from several starts, one of them the global
optimum of the problem on a grid of 400 budget steps (dynamic programming).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import optimize, signal

from attribution._base.errors import EmptyInputError, ModelError, ValidationError, describe_rows
from attribution._base.frames import FrameLike, check_columns, numeric_expr, to_lazy
from forecasting.series import read_dates

__all__ = [
    "BudgetPlan",
    "ResponseCurves",
    "fit_response_curves",
    "geometric_adstock",
    "optimize_budget",
    "response",
    "response_marginal",
]

Curve = Literal["exponential", "hill"]
_PARAMS: dict[str, tuple[str, ...]] = {"exponential": ("beta", "theta"), "hill": ("beta", "k", "s")}
_DECAYS = (0.0, 0.3, 0.6, 0.85)
_MAX_DECAY = 0.99


# ---------------------------------------------------------------------------------------------
# kernels


def geometric_adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """Normalised geometric adstock ``a_t = (1 − λ)·x_t + λ·a_{t−1}``, starting in steady state.

    Parameters
    ----------
    spend : ndarray
        Spend per period, oldest first (1-D).
    decay : float
        Carry-over ``λ`` in ``[0, 1)``: the share of the adstock kept into the next period.

    Returns
    -------
    ndarray
        Adstock per period, in spend units (a constant spend is its own adstock).

    Examples
    --------
    >>> geometric_adstock(np.array([10.0, 0.0, 0.0]), 0.5).tolist()
    [10.0, 5.0, 2.5]
    """
    x = np.asarray(spend, dtype=float)
    if decay == 0.0 or x.size == 0:
        return x.copy()
    out, _ = signal.lfilter([1.0 - decay], [1.0, -decay], x, zi=[decay * x[0]])
    return np.asarray(out)


def response(curve: Curve, params: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """Revenue per period of steady spend ``spend`` on curves with natural-scale ``params``.

    Parameters
    ----------
    curve : {"exponential", "hill"}
        Curve family (see the module notes).
    params : ndarray
        Shape ``(..., k)``: ``beta, theta`` or ``beta, k, s`` in the last axis.
    spend : ndarray
        Spend, broadcast against ``params[..., 0]``.

    Examples
    --------
    >>> round(float(response("exponential", np.array([100.0, 50.0]), np.array(50.0))), 6)
    63.212056
    """
    p = np.asarray(params, dtype=float)
    x = np.maximum(np.asarray(spend, dtype=float), 0.0)
    if curve == "exponential":
        return np.asarray(p[..., 0] * -np.expm1(-x / p[..., 1]))
    beta, k, s = p[..., 0], p[..., 1], p[..., 2]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # x^s / (x^s + K^s) = 1 / (1 + (K/x)^s), stable for large and small x
        r = beta / (1.0 + np.power(k / x, s))
    return np.asarray(np.where(x > 0, r, 0.0))


def response_marginal(curve: Curve, params: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """Marginal revenue ``f'(x)`` of one more unit of steady spend per period.

    Examples
    --------
    >>> float(response_marginal("exponential", np.array([100.0, 50.0]), np.array(0.0)))  # β/θ
    2.0
    """
    p = np.asarray(params, dtype=float)
    x = np.maximum(np.asarray(spend, dtype=float), 0.0)
    if curve == "exponential":
        return np.asarray(p[..., 0] / p[..., 1] * np.exp(-x / p[..., 1]))
    beta, k, s = p[..., 0], p[..., 1], p[..., 2]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # f = β u / (1 + u) with u = (x/K)^s, f' = β s (x/K)^(s-1) / (K (1 + u)²): written
        # without u / x, which is 0 / x once x / K underflows (a subnormal spend) although
        # the limit is β / K for s = 1 and infinite for s < 1
        r = x / k
        u = np.power(r, s)
        d = beta * s / k * np.power(r, s - 1.0) / (1.0 + u) ** 2
        at0 = np.where(s < 1, np.inf, np.where(s == 1, beta / k, 0.0))
    return np.asarray(np.where(x > 0, np.nan_to_num(d, nan=0.0, posinf=np.inf), at0))


def _inverse_marginal(
    curve: Curve, params: np.ndarray, mu: float, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Spend at which each (concave) curve's marginal return is ``mu``, clipped to its bounds."""
    if curve == "exponential":
        beta, theta = params[:, 0], params[:, 1]
        with np.errstate(divide="ignore"):
            x = theta * np.log(beta / (theta * mu))
        return np.clip(x, lo, hi)
    a, b = lo.copy(), hi.copy()  # f' decreasing: bisection for f'(x) = mu on [lo, hi]
    for _ in range(200):
        if np.all(b - a <= 1e-15 * np.maximum(b, 1e-300)):
            break
        mid = 0.5 * (a + b)
        above = response_marginal(curve, params, mid) > mu
        a = np.where(above, mid, a)
        b = np.where(above, b, mid)
    x = 0.5 * (a + b)
    x = np.where(response_marginal(curve, params, lo) <= mu, lo, x)
    return np.where(response_marginal(curve, params, hi) >= mu, hi, x)


def _is_concave(curve: Curve, params: np.ndarray) -> bool:
    return curve == "exponential" or bool(np.all(params[:, 2] <= 1.0 + 1e-12))


def _water_fill(
    curve: Curve, params: np.ndarray, total: float, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Equal-marginal-return split of ``total`` within bounds (exact for concave curves)."""
    if np.isclose(total, lo.sum(), rtol=1e-15, atol=0):
        return lo.copy()
    finite_hi = np.where(np.isfinite(hi), hi, total)
    # bracket the common marginal return on a log scale
    m_lo = float(np.min(response_marginal(curve, params, finite_hi)))
    m_hi = float(np.max(response_marginal(curve, params, lo)))
    m_lo = max(m_lo, 1e-300) if np.isfinite(m_lo) else 1e-300
    if not np.isfinite(m_hi):
        m_hi = 1e300
    a, b = np.log(m_lo) - 1.0, np.log(m_hi) + 1.0
    for _ in range(200):  # Σ x(μ) falls as μ rises
        mid = 0.5 * (a + b)
        if _inverse_marginal(curve, params, float(np.exp(mid)), lo, finite_hi).sum() > total:
            a = mid
        else:
            b = mid
        if b - a < 1e-14:
            break
    x = _inverse_marginal(curve, params, float(np.exp(0.5 * (a + b))), lo, finite_hi)
    return _fix_total(x, total, lo, finite_hi)


def _fix_total(x: np.ndarray, total: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Spread a rounding residual over channels inside their bounds so that Σx = total."""
    for _ in range(len(x) + 1):
        gap = total - x.sum()
        if abs(gap) <= 1e-13 * max(total, 1.0):
            break
        room = (hi - x) if gap > 0 else (x - lo)
        free = room > 0
        if not free.any():
            break
        x = np.clip(x + np.where(free, gap / free.sum(), 0.0), lo, hi)
    return x


def _slsqp(
    curve: Curve,
    params: np.ndarray,
    total: float,
    lo: np.ndarray,
    hi: np.ndarray,
    starts: Sequence[np.ndarray],
) -> np.ndarray:
    """Best of SLSQP runs (on spend scaled by the total) from the given feasible starts.

    Channels whose bounds pin them (lower = upper) are left out of the search, since an
    infinite marginal return at a pinned zero would wreck the problem's scaling; a start that
    SLSQP only made worse is kept itself.
    """
    scale = max(total, 1e-12)
    hi_f = np.minimum(np.where(np.isfinite(hi), hi, total), total)
    free = hi_f > lo + 1e-15 * scale
    # a channel with room below the budget's rounding is set at its upper bound: spend is
    # worth something there (without limit at 0 for an S-shape below 1) and costs the others
    # nothing that a float can hold
    held = np.where(free, lo, np.maximum(hi_f, lo))
    pinned = float(held[~free].sum())
    fscale = float(np.sum(params[:, 0])) or 1.0  # revenue in units of total saturation
    best, best_val = None, -np.inf
    for x0 in starts:
        candidates = [x0]
        if free.any():
            sub = params[free]
            bounds = list(zip(lo[free] / scale, hi_f[free] / scale, strict=True))
            left = (total - pinned) / scale

            def neg(z: np.ndarray, sub: np.ndarray = sub) -> float:
                return -float(response(curve, sub, z * scale).sum()) / fscale

            def grad(z: np.ndarray, sub: np.ndarray = sub) -> np.ndarray:
                g = response_marginal(curve, sub, np.maximum(z * scale, 1e-12 * scale))
                return np.asarray(-np.minimum(g, 1e12) * scale / fscale)

            cons = {
                "type": "eq",
                "fun": lambda z, left=left: np.array([z.sum() - left]),
                "jac": lambda z: np.ones((1, z.size)),
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = optimize.minimize(
                    neg,
                    x0[free] / scale,
                    jac=grad,
                    bounds=bounds,
                    constraints=[cons],
                    method="SLSQP",
                    options={"maxiter": 300, "ftol": 1e-13},
                )
            polished = held.copy()
            polished[free] = res.x * scale
            candidates.insert(0, _fix_total(np.clip(polished, lo, hi_f), total, lo, hi_f))
        for x in candidates:  # SLSQP can end worse than it started; keep the start then
            val = float(response(curve, params, x).sum())
            if val > best_val and abs(x.sum() - total) <= 1e-9 * max(total, 1.0):
                best, best_val = x, val
    assert best is not None
    return best


def _grid_start(
    curve: Curve, params: np.ndarray, total: float, lo: np.ndarray, hi: np.ndarray, steps: int = 400
) -> np.ndarray:
    """Best split on a grid of ``steps`` equal parts of the budget above the lower bounds.

    Exact dynamic programming over the separable sum, so it finds the grid's global optimum
    even for S-shaped curves, where local searches stop at the first hump they meet; SLSQP then
    polishes it. Grid points above a channel's upper bound are not allowed.
    """
    free = total - float(lo.sum())
    h = free / steps
    levels = lo[:, None] + h * np.arange(steps + 1)[None, :]  # (n, steps + 1)
    value = response(curve, params[:, None, :], levels)
    value = np.where(levels <= hi[:, None] * (1 + 1e-12) + 1e-300, value, -np.inf)
    k = np.arange(steps + 1)
    j_of = k[:, None] - k[None, :]  # units left for the earlier channels
    best = value[0].copy()
    choice = []
    for i in range(1, len(lo)):
        cand = np.where(j_of >= 0, best[np.clip(j_of, 0, steps)] + value[i][None, :], -np.inf)
        pick = np.argmax(cand, axis=1)
        choice.append(pick)
        best = cand[k, pick]
    units = np.zeros(len(lo), dtype=np.int64)
    left = steps
    for i in range(len(lo) - 1, 0, -1):
        units[i] = choice[i - 1][left]
        left -= units[i]
    units[0] = left
    x = np.minimum(lo + h * units, np.where(np.isfinite(hi), hi, total))
    return _fix_total(x, total, lo, np.where(np.isfinite(hi), hi, total))


def _feasible_start(
    total: float, lo: np.ndarray, hi: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Build a feasible split: lower bounds plus the rest in proportion to ``weights``."""
    hi_f = np.where(np.isfinite(hi), hi, total)
    x = lo.copy()
    w = np.maximum(weights, 0) + 1e-12
    for _ in range(len(x) + 1):
        gap = total - x.sum()
        room = hi_f - x
        free = room > 1e-15 * max(total, 1.0)
        if gap <= 1e-13 * max(total, 1.0) or not free.any():
            break
        share = np.where(free, w, 0.0)
        share = share / share.max()  # fractions first: gap * weight overflows near 1e300
        x = np.minimum(x + gap * (share / share.sum()), hi_f)
    return x


# ---------------------------------------------------------------------------------------------
# fitted curves


@dataclass(frozen=True)
class ResponseCurves:
    """Fitted (or given) response curves, one per channel.

    Attributes
    ----------
    curve : {"exponential", "hill"}
        Curve family.
    channels : tuple of str
        Channel names, in the order of the arrays.
    params : ndarray
        ``(n_channels, k)`` curve parameters on the natural scale (``beta, theta`` or
        ``beta, k, s``).
    cov_log : ndarray
        ``(n_channels, k, k)`` covariance of the *log* curve parameters (zeros when unknown);
        used to sample curves for the uncertainty of a scenario.
    decay, decay_se : ndarray
        Adstock decay per channel and its standard error (0 when carry-over is off).
    current_spend : ndarray
        Mean spend per period (over the last ``current_periods`` periods of the fit).
    sigma : ndarray
        Residual standard deviation of revenue per period.
    n_periods : ndarray
        Periods used in each fit.
    """

    curve: Curve
    channels: tuple[str, ...]
    params: np.ndarray
    cov_log: np.ndarray
    decay: np.ndarray
    decay_se: np.ndarray
    current_spend: np.ndarray
    sigma: np.ndarray
    n_periods: np.ndarray

    @classmethod
    def from_params(
        cls,
        curve: Curve,
        params: Mapping[str, Sequence[float]],
        *,
        current_spend: Mapping[str, float] | None = None,
        cov_log: Mapping[str, np.ndarray] | None = None,
    ) -> ResponseCurves:
        """Build curves from known parameters, e.g. ``{"search": (beta, theta), ...}``.

        Examples
        --------
        >>> rc = ResponseCurves.from_params("exponential", {"a": (100.0, 50.0)})
        >>> rc.channels, rc.params.tolist()
        (('a',), [[100.0, 50.0]])
        """
        if curve not in _PARAMS:
            raise ValidationError(f"curve must be one of {sorted(_PARAMS)}; got {curve!r}.")
        names = tuple(params)
        if not names:
            raise EmptyInputError("from_params needs at least one channel.")
        k = len(_PARAMS[curve])
        p = np.array([list(params[c]) for c in names], dtype=float)
        if p.shape != (len(names), k):
            raise ValidationError(
                f"A {curve} curve takes {k} parameters {_PARAMS[curve]}; got rows of shape "
                f"{p.shape[1:] if p.ndim == 2 else p.shape}."
            )
        bad = [
            c for c, row in zip(names, p, strict=True) if not np.all(np.isfinite(row) & (row > 0))
        ]
        if bad:
            raise ValidationError(
                f"Curve parameters must be finite and > 0; {len(bad)} channels break it: "
                f"{', '.join(map(repr, bad[:5]))}."
            )
        cov = np.zeros((len(names), k, k))
        if cov_log is not None:
            for i, c in enumerate(names):
                if c in cov_log:
                    cov[i] = np.asarray(cov_log[c], dtype=float)
        cur = np.array([(current_spend or {}).get(c, 0.0) for c in names], dtype=float)
        zeros = np.zeros(len(names))
        return cls(curve, names, p, cov, zeros, zeros, cur, zeros.copy(), zeros.astype(int))

    def std_errors(self) -> np.ndarray:
        """Return standard errors of the natural-scale parameters (delta method from log scale)."""
        var = np.diagonal(self.cov_log, axis1=1, axis2=2)
        return np.asarray(self.params * np.sqrt(np.maximum(var, 0.0)))

    def table(self) -> pl.DataFrame:
        """Parameters as a frame.

        Returns
        -------
        DataFrame
            ``channel, parameter, estimate, std_error`` with parameters ``beta, theta`` (or
            ``beta, k, s``), ``decay`` and ``sigma`` (residual sd, no standard error), one row
            each per channel.
        """
        names = _PARAMS[self.curve]
        se = self.std_errors()
        rows: list[tuple[str, str, float, float | None]] = []
        for i, ch in enumerate(self.channels):
            for j, name in enumerate(names):
                rows.append((ch, name, float(self.params[i, j]), float(se[i, j])))
            rows.append((ch, "decay", float(self.decay[i]), float(self.decay_se[i])))
            rows.append((ch, "sigma", float(self.sigma[i]), None))
        return pl.DataFrame(
            rows,
            schema={
                "channel": pl.String,
                "parameter": pl.String,
                "estimate": pl.Float64,
                "std_error": pl.Float64,
            },
            orient="row",
        )

    def predict(self, spend: Mapping[str, float] | np.ndarray) -> np.ndarray:
        """Steady-state revenue per period of each channel at ``spend`` per period."""
        return response(self.curve, self.params, self._spend(spend))

    def marginal(self, spend: Mapping[str, float] | np.ndarray) -> np.ndarray:
        """Marginal revenue per extra unit of spend (``f'``) of each channel at ``spend``."""
        return response_marginal(self.curve, self.params, self._spend(spend))

    def _spend(self, spend: Mapping[str, float] | np.ndarray) -> np.ndarray:
        if isinstance(spend, Mapping):
            unknown = [c for c in spend if c not in self.channels]
            if unknown:
                raise ValidationError(
                    f"Unknown channels {', '.join(map(repr, unknown[:5]))}; the curves cover "
                    f"{', '.join(map(repr, self.channels))}."
                )
            return np.array([float(spend.get(c, 0.0)) for c in self.channels])
        return np.asarray(spend, dtype=float)


def _fit_one(
    curve: Curve, spend: np.ndarray, revenue: np.ndarray, adstock: bool, channel: str = ""
) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Least-squares fit of one channel: natural params, cov of (log params, decay), ..."""
    k = len(_PARAMS[curve])
    n = spend.size
    pos = spend[spend > 0]
    scale_x = float(np.median(pos)) if pos.size else 1.0
    scale_y = float(np.max(np.abs(revenue))) or 1.0

    def resid(z: np.ndarray) -> np.ndarray:
        p = np.exp(z[:k])
        a = geometric_adstock(spend, z[k]) if adstock else spend
        return (response(curve, p, a) - revenue) / scale_y

    lo = [-np.inf] * k + ([0.0] if adstock else [])
    hi = [np.inf] * k + ([_MAX_DECAY] if adstock else [])
    shapes = [np.log(0.5), np.log(1.0)] if curve == "hill" else [None]
    best = None
    for decay in _DECAYS if adstock else (0.0,):
        for mult in (0.5, 1.0, 3.0):
            for s in shapes:
                x0 = [np.log(scale_y * 1.2), np.log(scale_x * mult)]
                if s is not None:
                    x0.append(s)
                if adstock:
                    x0.append(decay)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = optimize.least_squares(
                        resid,
                        np.array(x0),
                        bounds=(lo, hi),
                        method="trf",
                        x_scale="jac",
                        max_nfev=2000,
                    )
                if best is None or res.cost < best.cost:
                    best = res
    assert best is not None
    z = best.x
    params = np.exp(z[:k])
    if not (np.all(np.isfinite(z)) and np.all(np.isfinite(params)) and np.all(params > 0)):
        raise ModelError(
            f"The {curve} curve of channel {channel!r} could not be fitted: its parameters "
            f"overflow ({', '.join(f'{v:.3g}' for v in params)}). Rescale its spend and "
            "revenue (e.g. to thousands) and fit again."
        )
    dof = max(n - z.size, 1)
    # in units of scale_y: the covariance of the log parameters and decay does not depend on
    # the unit of revenue, and revenue near 1e300 would overflow jac.T @ jac and the sum of
    # squares
    s2 = float(np.sum(best.fun**2)) / dof
    cov = np.full((z.size, z.size), np.nan)
    if np.all(np.isfinite(best.jac)):
        try:
            cov = np.linalg.pinv(best.jac.T @ best.jac) * s2
        except np.linalg.LinAlgError:  # no standard errors, as when they are not finite
            pass
    if not np.all(np.isfinite(cov)):
        cov = np.full_like(cov, np.nan)
    decay = float(z[k]) if adstock else 0.0
    decay_se = float(np.sqrt(max(cov[k, k], 0.0))) if adstock else 0.0
    return params, cov[:k, :k], decay, decay_se, scale_y * float(np.sqrt(s2))


def fit_response_curves(
    frame: FrameLike,
    *,
    curve: Curve = "exponential",
    adstock: bool = True,
    current_periods: int | None = None,
    date_col: str = "date",
    channel_col: str = "channel",
    spend_col: str = "spend",
    revenue_col: str = "revenue",
) -> ResponseCurves:
    """Fit a saturating response curve (with optional carry-over) per channel.

    Parameters
    ----------
    frame
        Long frame (or path) ``date, channel, spend, revenue``: spend per period and channel
        (e.g. :func:`attribution.read_spend`) joined with the revenue attributed to the channel
        in the period. Periods should be consecutive (one per day, week or month); a channel
        without a row in a period of the frame is taken to have spent and earned nothing.
    curve : {"exponential", "hill"}
        Curve family (see the module notes).
    adstock : bool
        Fit a geometric carry-over decay per channel (otherwise decay is 0).
    current_periods : int, optional
        Number of latest periods whose mean spend is the *current* spend of the channel
        (default: all periods).
    date_col, channel_col, spend_col, revenue_col : str
        Column names.

    Returns
    -------
    ResponseCurves
        Parameters with standard errors (``.table()``), residual sd, current spend.

    Raises
    ------
    SchemaError, ValidationError, EmptyInputError
        Missing columns, null/negative/non-finite spend, null or non-finite revenue, duplicated
        ``(date, channel)`` rows, an empty frame.
    ModelError
        A channel with fewer periods than parameters plus two, or that never spends.

    Examples
    --------
    >>> import polars as pl
    >>> x = np.tile([0.0, 50.0, 100.0, 200.0, 400.0], 4)
    >>> df = pl.DataFrame({"date": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 1, 20),
    ...     eager=True), "channel": "a", "spend": x, "revenue": 1000 * (1 - np.exp(-x / 100))})
    >>> fit = fit_response_curves(df, adstock=False)
    >>> np.round(fit.params, 3).tolist()
    [[1000.0, 100.0]]
    """
    if curve not in _PARAMS:
        raise ValidationError(f"curve must be one of {sorted(_PARAMS)}; got {curve!r}.")
    lf = to_lazy(frame, what="spend and revenue table")
    what = "spend and revenue table"
    schema = lf.collect_schema()
    check_columns(schema, [date_col, channel_col, spend_col, revenue_col], what)
    df = (
        lf.select(
            read_dates(lf, date_col, what=what).alias("date"),
            pl.col(channel_col).cast(pl.String).alias("channel"),
            numeric_expr(lf, spend_col, schema[spend_col], "spend ≥ 0").alias("spend"),
            numeric_expr(lf, revenue_col, schema[revenue_col], "a number").alias("revenue"),
        )
        .collect()
        .with_row_index("__row")
    )
    if df.height == 0:
        raise EmptyInputError(f"The {what} is empty (0 rows).")
    checks = (
        (date_col, df["date"].is_null(), "null", "every row needs a date"),
        (channel_col, df["channel"].is_null(), "null", "every row needs a channel"),
        (
            spend_col,
            df["spend"].is_null() | ~df["spend"].is_finite() | (df["spend"] < 0),
            "null, negative or non-finite",
            "spend must be a finite number ≥ 0",
        ),
        (
            revenue_col,
            df["revenue"].is_null() | ~df["revenue"].is_finite(),
            "null or non-finite",
            "revenue must be a finite number",
        ),
    )
    for col, bad, kind, rule in checks:
        bad = bad.fill_null(True)
        if bad.any():
            rows = df.filter(bad)
            vals = (
                None
                if col == channel_col
                else rows[
                    {date_col: "date", spend_col: "spend", revenue_col: "revenue"}.get(col, "date")
                ].to_list()
            )
            raise ValidationError(
                f"Column {col!r} has {int(bad.sum())} values that are {kind} "
                f"({describe_rows(rows['__row'].to_list(), values=vals)}); {rule}."
            )
    dup = df.group_by("date", "channel").agg(pl.len().alias("n")).filter(pl.col("n") > 1)
    if dup.height:
        shown = ", ".join(
            f"({d}, {c!r})"
            for d, c in dup.sort("date", "channel").select("date", "channel").head(3).rows()
        )
        raise ValidationError(
            f"The {what} has {dup.height} duplicated ({date_col}, {channel_col}) pairs: {shown}; "
            "sum them to one row per period and channel first."
        )
    if current_periods is not None and not (
        isinstance(current_periods, int) and current_periods >= 1
    ):
        raise ValidationError(f"current_periods must be an integer ≥ 1; got {current_periods!r}.")
    channels = sorted(df["channel"].unique().to_list())
    dates = df["date"].unique().sort()
    grid = (
        pl.DataFrame({"date": dates})
        .join(pl.DataFrame({"channel": channels}), how="cross")
        .join(df.drop("__row"), on=["date", "channel"], how="left")
        .with_columns(pl.col("spend", "revenue").fill_null(0.0))
        .sort("channel", "date")
    )
    n = dates.len()
    spend = grid["spend"].to_numpy().reshape(len(channels), n)
    revenue = grid["revenue"].to_numpy().reshape(len(channels), n)
    k = len(_PARAMS[curve])
    need = k + (1 if adstock else 0) + 2
    if n < need:
        raise ModelError(
            f"Fitting a {curve} curve{' with adstock' if adstock else ''} needs at least {need} "
            f"periods; the {what} has {n}."
        )
    idle = [c for c, s in zip(channels, spend, strict=True) if not np.any(s > 0)]
    if idle:
        raise ModelError(
            f"{len(idle)} channels never spend ({', '.join(map(repr, idle[:5]))}); a response "
            "curve needs spend that varies. Drop them before fitting."
        )
    fits = [
        _fit_one(curve, s, r, adstock, c) for c, s, r in zip(channels, spend, revenue, strict=True)
    ]
    last = n if current_periods is None else min(current_periods, n)
    return ResponseCurves(
        curve=curve,
        channels=tuple(channels),
        params=np.array([f[0] for f in fits]),
        cov_log=np.array([f[1] for f in fits]),
        decay=np.array([f[2] for f in fits]),
        decay_se=np.array([f[3] for f in fits]),
        current_spend=spend[:, n - last :].mean(axis=1),
        sigma=np.array([f[4] for f in fits]),
        n_periods=np.full(len(channels), n),
    )


# ---------------------------------------------------------------------------------------------
# reallocation


@dataclass(frozen=True)
class BudgetPlan:
    """A budget scenario: the best split of a total budget and its predicted revenue.

    Attributes
    ----------
    channels : DataFrame
        One row per channel: ``channel``, ``lower``, ``upper`` (bounds; upper null when
        unbounded), ``current_spend``, ``optimal_spend`` (per period), ``current_revenue``,
        ``optimal_revenue`` (steady-state revenue per period at the fitted parameters),
        ``optimal_revenue_lo``, ``optimal_revenue_hi`` (interval over parameter draws),
        ``marginal_roas_current``, ``marginal_roas_optimal`` (``f'``: revenue per extra unit of
        spend), ``marginal_roi_current``, ``marginal_roi_optimal`` (``f' − 1``).
    summary : DataFrame
        One row: ``method`` (``"waterfill"`` or ``"slsqp"``), ``level``, ``current_spend``,
        ``optimal_spend`` (the total), ``current_revenue``, ``optimal_revenue``, ``uplift``
        (optimal − current revenue), ``uplift_pct`` (null when current revenue is 0), and
        ``_lo``/``_hi`` bounds of ``current_revenue``, ``optimal_revenue`` and ``uplift``.
    """

    channels: pl.DataFrame
    summary: pl.DataFrame


def _per_channel(
    value: float | Mapping[str, float] | None, channels: tuple[str, ...], default: float, name: str
) -> np.ndarray:
    if value is None:
        return np.full(len(channels), default)
    if isinstance(value, Mapping):
        unknown = [c for c in value if c not in channels]
        if unknown:
            raise ValidationError(
                f"{name} names unknown channels {', '.join(map(repr, unknown[:5]))}; the curves "
                f"cover {', '.join(map(repr, channels))}."
            )
        out = np.array([float(value.get(c, default)) for c in channels])
    else:
        out = np.full(len(channels), float(value))
    bad = [f"{c!r} ({v:g})" for c, v in zip(channels, out, strict=True) if np.isnan(v) or v < 0]
    if bad:
        raise ValidationError(
            f"{name} must be ≥ 0 (upper may be inf); {len(bad)} channels break it: "
            f"{', '.join(bad[:5])}."
        )
    return out


def optimize_budget(
    curves: ResponseCurves,
    total: float | None = None,
    *,
    lower: float | Mapping[str, float] | None = None,
    upper: float | Mapping[str, float] | None = None,
    current: Mapping[str, float] | None = None,
    method: Literal["auto", "waterfill", "slsqp"] = "auto",
    level: float = 95,
    n_samples: int = 2000,
    seed: int | None = 0,
) -> BudgetPlan:
    """Split a total budget across channels to maximise predicted revenue.

    Parameters
    ----------
    curves : ResponseCurves
        From :func:`fit_response_curves` or :meth:`ResponseCurves.from_params`.
    total : float, optional
        Budget per period to split; by default the current total (a pure reallocation).
    lower, upper : float or mapping of channel to float, optional
        Bounds per channel (a single number applies to all); default 0 and unbounded.
    current : mapping of channel to float, optional
        Current spend per period; by default the curves' ``current_spend``.
    method : {"auto", "waterfill", "slsqp"}
        ``"waterfill"`` equalises marginal returns (exact for concave curves; refused for
        S-shaped Hill curves); ``"slsqp"`` runs scipy's SLSQP from several starts; ``"auto"``
        water-fills concave curves, checks the result against SLSQP started from it and from
        the current split and keeps the better, and uses SLSQP for S-shaped curves.
    level : float
        Interval level in percent for the revenue bounds.
    n_samples : int
        Parameter draws for the bounds: curve parameters are drawn from a normal on the log
        scale with the fit's covariance, and both splits are evaluated on every draw. This
        covers parameter uncertainty (the expected revenue), not the period-to-period noise.
        0 skips the bounds (they are then null).
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    BudgetPlan
        ``channels`` and ``summary`` frames (see :class:`BudgetPlan`).

    Raises
    ------
    ValidationError
        Negative or unknown-channel bounds, lower above upper, or bounds that cannot hold the
        total (the lower bounds sum to more, or the upper bounds to less).

    Examples
    --------
    Two channels with ``f(x) = β(1 − e^{−x/θ})``; equal marginal returns give the split in
    closed form, ``x₁ − x₂ = θ·log(β₁/β₂)`` when the θ are equal:

    >>> rc = ResponseCurves.from_params("exponential", {"a": (200.0, 100.0), "b": (100.0, 100.0)},
    ...                                 current_spend={"a": 100.0, "b": 100.0})
    >>> plan = optimize_budget(rc)
    >>> np.round(plan.channels["optimal_spend"].to_numpy(), 3).tolist()  # 100 ± 50·log 2
    [134.657, 65.343]
    """
    ch = curves.channels
    cur = (
        _per_channel(current, ch, np.nan, "current")
        if current is not None
        else np.asarray(curves.current_spend, dtype=float)
    )
    if np.any(np.isnan(cur)):
        missing = [c for c, v in zip(ch, cur, strict=True) if np.isnan(v)]
        raise ValidationError(
            f"current spend is missing for {len(missing)} channels: "
            f"{', '.join(map(repr, missing[:5]))}; give every channel."
        )
    lo = _per_channel(lower, ch, 0.0, "lower")
    hi = _per_channel(upper, ch, np.inf, "upper")
    budget = float(cur.sum()) if total is None else total
    if not (isinstance(budget, int | float) and np.isfinite(budget) and budget >= 0):
        raise ValidationError(f"total must be a finite number ≥ 0; got {total!r}.")
    budget = float(budget)
    crossed = [i for i in range(len(ch)) if lo[i] > hi[i]]
    if crossed:
        raise ValidationError(
            f"lower is above upper for {len(crossed)} channels: "
            + ", ".join(f"{ch[i]!r} ({lo[i]:g} > {hi[i]:g})" for i in crossed[:5])
            + "."
        )
    tol = 1e-12 * max(budget, 1.0)
    if lo.sum() > budget + tol:
        raise ValidationError(
            f"Infeasible bounds: the lower bounds sum to {lo.sum():g}, more than the total "
            f"{budget:g}; lower the bounds or raise the total."
        )
    if hi.sum() < budget - tol:
        raise ValidationError(
            f"Infeasible bounds: the upper bounds sum to {hi.sum():g}, less than the total "
            f"{budget:g}; raise the bounds or lower the total."
        )
    if method not in ("auto", "waterfill", "slsqp"):
        raise ValidationError(f"method must be 'auto', 'waterfill' or 'slsqp'; got {method!r}.")
    if not 0 < level < 100:
        raise ValidationError(f"level must be between 0 and 100; got {level!r}.")
    concave = _is_concave(curves.curve, curves.params)
    if method == "waterfill" and not concave:
        raise ModelError(
            "Water-filling needs concave curves; some Hill curves have shape s > 1 (S-shaped). "
            "Use method='slsqp' or 'auto'."
        )
    p = curves.params
    hi_f = np.minimum(hi, budget)
    used = "waterfill"
    if concave and method in ("auto", "waterfill"):
        x = _water_fill(curves.curve, p, budget, lo, hi_f)
        if method == "auto":
            check = _slsqp(
                curves.curve, p, budget, lo, hi_f, [x, _feasible_start(budget, lo, hi_f, cur)]
            )
            gain = response(curves.curve, p, check).sum() - response(curves.curve, p, x).sum()
            if gain > 1e-9 * max(abs(response(curves.curve, p, x).sum()), 1.0):
                x, used = check, "slsqp"
    else:
        used = "slsqp"
        n = len(ch)
        room = np.where(np.isfinite(hi_f), hi_f, budget) - lo
        weights = (cur, np.ones(n), p[:, 0], room)
        starts = [_feasible_start(budget, lo, hi_f, w) for w in weights]
        starts += [_feasible_start(budget, lo, hi_f, np.eye(n)[i]) for i in range(n)]
        starts.append(_grid_start(curves.curve, p, budget, lo, hi_f))
        x = _slsqp(curves.curve, p, budget, lo, hi_f, starts)
    return _plan(curves, cur, x, lo, hi, used, level, n_samples, seed)


def _plan(
    curves: ResponseCurves,
    cur: np.ndarray,
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    method: str,
    level: float,
    n_samples: int,
    seed: int | None,
) -> BudgetPlan:
    c, p = curves.curve, curves.params
    rev_cur, rev_opt = response(c, p, cur), response(c, p, x)
    a = (1 - level / 100) / 2
    nan = np.full(len(x), np.nan)
    bounds = {k: np.nan for k in ("cur_lo", "cur_hi", "opt_lo", "opt_hi", "up_lo", "up_hi")}
    ch_lo, ch_hi = nan, nan
    cov = np.nan_to_num(curves.cov_log, nan=0.0)
    if n_samples > 0 and np.any(cov != 0):
        rng = np.random.default_rng(seed)
        k = p.shape[1]
        # draws of log-parameters per channel: z = log p + L e, with L a Cholesky-like factor
        w, v = np.linalg.eigh(cov)
        factor = v * np.sqrt(np.maximum(w, 0.0))[:, None, :]
        e = rng.standard_normal((n_samples, len(x), k))
        draws = np.exp(np.log(p)[None] + np.einsum("cij,scj->sci", factor, e))
        r_cur = response(c, draws, cur[None]).sum(axis=1)
        r_opt_ch = response(c, draws, x[None])
        r_opt = r_opt_ch.sum(axis=1)
        qs = [a, 1 - a]
        bounds.update(zip(("cur_lo", "cur_hi"), np.quantile(r_cur, qs), strict=True))
        bounds.update(zip(("opt_lo", "opt_hi"), np.quantile(r_opt, qs), strict=True))
        bounds.update(zip(("up_lo", "up_hi"), np.quantile(r_opt - r_cur, qs), strict=True))
        ch_lo, ch_hi = np.quantile(r_opt_ch, qs, axis=0)
    m_cur, m_opt = response_marginal(c, p, cur), response_marginal(c, p, x)

    def col(v: np.ndarray) -> pl.Series:
        return pl.Series(np.where(np.isfinite(v), v, np.nan)).fill_nan(None)

    channels = pl.DataFrame(
        {
            "channel": list(curves.channels),
            "lower": lo,
            "upper": col(hi),
            "current_spend": cur,
            "optimal_spend": x,
            "current_revenue": rev_cur,
            "optimal_revenue": rev_opt,
            "optimal_revenue_lo": col(ch_lo),
            "optimal_revenue_hi": col(ch_hi),
            "marginal_roas_current": col(m_cur),
            "marginal_roas_optimal": col(m_opt),
            "marginal_roi_current": col(m_cur - 1.0),
            "marginal_roi_optimal": col(m_opt - 1.0),
        }
    )
    total_cur, total_opt = float(rev_cur.sum()), float(rev_opt.sum())

    def num(v: float) -> float | None:
        return float(v) if np.isfinite(v) else None

    summary = pl.DataFrame(
        {
            "method": [method],
            "level": [float(level)],
            "current_spend": [float(cur.sum())],
            "optimal_spend": [float(x.sum())],
            "current_revenue": [total_cur],
            "current_revenue_lo": [num(bounds["cur_lo"])],
            "current_revenue_hi": [num(bounds["cur_hi"])],
            "optimal_revenue": [total_opt],
            "optimal_revenue_lo": [num(bounds["opt_lo"])],
            "optimal_revenue_hi": [num(bounds["opt_hi"])],
            "uplift": [total_opt - total_cur],
            "uplift_lo": [num(bounds["up_lo"])],
            "uplift_hi": [num(bounds["up_hi"])],
            "uplift_pct": [(total_opt - total_cur) / total_cur if total_cur != 0 else None],
        },
        schema_overrides={
            k: pl.Float64
            for k in (
                "current_revenue_lo",
                "current_revenue_hi",
                "optimal_revenue_lo",
                "optimal_revenue_hi",
                "uplift_lo",
                "uplift_hi",
                "uplift_pct",
            )
        },
    )
    return BudgetPlan(channels=channels, summary=summary)
