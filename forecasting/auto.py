"""``auto``: a validated combination of the candidate models, with calibrated intervals.

Every candidate (by default ``theta``, ``ets``, ``arima`` and ``seasonal_naive``) is fitted
twice per validation window: to each series without its last ``b`` points (the window, ``h``
points long, sized to the horizon) and to the whole series. Forecasts are combined on the
scale the models work on (the log scale of positive series, so the combination is a
geometric mean there; see :mod:`forecasting.kernels.scale`), points and interval bounds with
the same weights (quantile averaging).

How the candidates are weighted (``combine``):

``"select"`` (default)
    The whole batch decides, which is far steadier than one series' few validation points.
    Each candidate's validation error is taken relative to seasonal naive's on the same
    series (``log(MAE / MAE_snaive)``, averaged over series: the log of the geometric mean
    relative absolute error, robust to outlying series). Candidates worse than seasonal
    naive are dropped; of the equal-weight combinations of the rest, the best is found, and
    the one with the most members among those within one standard error of it is used (the
    one-standard-error rule of cross-validation: a small, noisy batch keeps the broad
    combination, a large one follows the evidence).
``"equal"``
    Every candidate with equal weight.
``"weighted"``
    Per series, weights proportional to 1 / validation MAE, shrunk halfway toward equal.
``"best"``
    The candidate with the best validation error over the batch.

**Intervals.** The combined intervals are calibrated on validation windows, split conformal
style (Vovk et al. 2005; Romano et al. 2019), each side of each level on its own: a validation
point's signed distance from the combined median, in units of the interval's half-width on
that side, is a score; the quantile of the scores at ``(1 + level) / 2`` is the factor that
moves that bound, around the median on the model scale, so that each tail holds its share of
the points. Sides are separate because validation windows are often biased (a trend that
bent): one symmetric factor would widen both bounds for an error made on one side.

The windows pool every series of the batch (one pair of factors per level, so a series'
intervals keep the shape its models give it; a series whose recent volatility differs from
its past gets what its models' error variance says, estimated over its whole fit, so a recent
change counts by its share of the history) and several forecast origins: the
validation windows of the selection (the last ``h`` points, see ``n_windows``) and a later
origin, ``h // 2`` points before the end, whose window is its last ``h // 2`` points. The
later origin is the most recent evidence; pooling both halves the weight of one unusual
window. Its forecasts come from the models chosen at the validation origin, run on over the
``h - h // 2`` points between the origins (``ets`` and ``arima`` keep their form, orders and
coefficients, and re-estimate their states and variance; the cheap models are refitted):
a rolling origin that updates the models instead of choosing them again (Tashman 2000), so
it costs a filter, not a search. The factors are shrunk toward 1 when few series have a
window (weight ``S / (S + 20)``).

These rules were chosen on the M3 and M1 monthly series (80 % / 95 % intervals covering 81.1 /
95.8 % and 81.0 / 95.4 % of the held-out points, against 82.6 / 96.2 % and 84.3 / 96.0 % with
one symmetric factor on the last window) and checked on the Tourism monthly and quarterly and
M3 quarterly series (see the forecasting guide).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from forecasting.kernels.scale import (
    Result,
    Scale,
    from_scale,
    log_scale_each,
    series_scale_each,
)

__all__ = ["COMBINE", "Combination", "combine_forecasts", "model_scale", "validation_weights"]

#: How ``auto`` weights its candidates (see the module notes).
COMBINE: tuple[str, ...] = ("select", "equal", "weighted", "best")
Combine = Literal["select", "equal", "weighted", "best"]
#: Pseudo-count of series that shrinks the interval calibration toward the models' own.
PRIOR_SERIES = 20.0
#: Most candidates searched for the best subset (the best ones individually).
MAX_SUBSET = 6
#: Distances on the model scale (log or divided by the series' scale) below this are
#: rounding: an interval this narrow is an exact fit.
_ROUNDING = 1e-9


@dataclass(frozen=True)
class Combination:
    """Weights of the candidates per series and the interval factors of one batch.

    Attributes
    ----------
    weights : ndarray
        ``(S, C)``: weights of the candidates for each series (rows sum to 1).
    factors : ndarray
        ``(L, 2)``: factor of the lower and upper bound of each interval level (1: the
        models' own intervals).
    chosen : tuple of str
        Candidates with a positive weight somewhere.
    """

    weights: np.ndarray
    factors: np.ndarray
    chosen: tuple[str, ...]


def model_scale(values: Sequence[np.ndarray], transform: str) -> tuple[np.ndarray, Scale]:
    """Scale and transform of each series, as the kernels use them (see :mod:`.scale`)."""
    values = list(values)
    scale = series_scale_each(values)
    us = [v / s for v, s in zip(values, scale, strict=True)]
    return scale, log_scale_each(us, transform)  # type: ignore[arg-type]


def to_model(x: np.ndarray, scale: np.ndarray, sc: Scale) -> np.ndarray:
    """Forecasts ``x`` (S, ...) on the original scale to the model scale."""
    shape = (len(scale),) + (1,) * (x.ndim - 1)
    u = x / scale.reshape(shape)
    log = sc.log.reshape(shape)
    inner = np.maximum(np.where(log, u, 1.0) + sc.offset.reshape(shape), 1e-300)
    return np.where(log, np.log(inner), u)


def from_model(z: np.ndarray, scale: np.ndarray, sc: Scale) -> np.ndarray:
    """Back from the model scale to the original one."""
    shape = (len(scale),) + (1,) * (z.ndim - 1)
    with np.errstate(over="ignore", invalid="ignore"):
        return from_scale(z, sc) * scale.reshape(shape)


def _mae(actual: list[np.ndarray] | np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Mean absolute error of each series' validation window (nan where there is none)."""
    a = _padded(actual, mean.shape[1]) if isinstance(actual, list) else actual
    ok = np.isfinite(a)
    count = ok.sum(axis=1)
    total = np.where(ok, np.abs(np.where(ok, a, 0.0) - mean), 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _padded(actual: list[np.ndarray], h: int) -> np.ndarray:
    """Stack the validation windows ``(S, h)``, nan where a series has none."""
    out = np.full((len(actual), h), np.nan)
    for i, a in enumerate(actual):
        out[i, : len(a)] = a[:h]
    return out


def validation_weights(
    names: Sequence[str],
    actual: list[np.ndarray],
    val_mean: dict[str, np.ndarray],
    scale: np.ndarray,
    sc: Scale,
    combine: Combine,
    reference: str = "seasonal_naive",
) -> np.ndarray:
    """Weights ``(S, C)`` of the candidates ``names`` from their validation forecasts.

    Parameters
    ----------
    names : sequence of str
        The candidates.
    actual : list of ndarray
        The validation window of each series (empty where the series is too short).
    val_mean : dict
        Validation point forecasts ``(S, h)`` of each candidate and of ``reference``.
    scale, sc
        Scale and transform of the series (combinations are formed on the model scale).
    combine : str
        See the module notes.
    reference : str
        The benchmark of relative errors.
    """
    s, c = len(actual), len(names)
    equal = np.full((s, c), 1.0 / c)
    if combine == "equal" or c == 1:
        return equal
    actual_arr = _padded(actual, val_mean[names[0]].shape[1])
    err = np.column_stack([_mae(actual_arr, val_mean[n]) for n in names])  # (S, C)
    if combine == "weighted":
        inv = 1.0 / np.maximum(err, 1e-300)
        w = inv / inv.sum(axis=1, keepdims=True)
        w = 0.5 * w + 0.5 / c
        return np.where(np.isfinite(w).all(axis=1, keepdims=True), w, equal)
    # errors are compared in units of each series' scale; a floor keeps exact fits finite
    tiny = 1e-9 * scale
    ref = _mae(actual_arr, val_mean[reference])
    # a window every model forecasts exactly (a series of zeros, a constant), up to rounding,
    # tells the models apart no better than no window: its rounding errors would decide ties
    # (and with them the forecast would depend on the units)
    exact = (err <= tiny[:, None]).all(axis=1) & (ref <= tiny)
    err = err + tiny[:, None]
    ref = ref + tiny
    usable = np.isfinite(ref) & np.isfinite(err).all(axis=1) & ~exact
    if not usable.any():  # nothing to validate on: the models, not the benchmark
        keep = np.array([n != reference for n in names]) if c > 1 else np.ones(c, bool)
        keep = keep if keep.any() else np.ones(c, bool)
        return np.broadcast_to(keep / keep.sum(), (s, c)).copy()
    rows = np.flatnonzero(usable)
    logrel = np.log(err[rows] / ref[rows, None])  # (N, C)
    single = logrel.mean(axis=0)
    if combine == "best":
        w = np.zeros((s, c))
        w[:, int(np.argmin(single))] = 1.0
        return w
    allowed = [j for j in np.argsort(single) if single[j] <= 1e-12 or names[j] == reference]
    allowed = allowed[:MAX_SUBSET] or [int(np.argmin(single))]
    z_val = {n: to_model(val_mean[n][rows], scale[rows], sc.take(rows)) for n in names}
    subsets, scores = [], []
    for r in range(1, len(allowed) + 1):
        for sub in itertools.combinations(allowed, r):
            mean_z = np.mean([z_val[names[j]] for j in sub], axis=0)
            mean = from_model(mean_z, scale[rows], sc.take(rows))
            mae = _mae(actual_arr[rows], mean) + tiny[rows]
            subsets.append(sub)
            scores.append(np.log(mae / ref[rows]))
    table = np.array(scores)  # (subsets, N)
    means = table.mean(axis=1)
    best = int(np.argmin(means))
    diff = table - table[best]
    se = (
        diff.std(axis=1, ddof=1) / np.sqrt(len(rows))
        if len(rows) > 1
        else np.full(len(diff), np.inf)
    )
    # a tolerance of rounding size: a candidate that forecasts a window as another does
    # (arima as seasonal naive) puts a difference of 0 in the table, give or take rounding,
    # and the rule must not turn on that rounding (it moves with the units)
    close = np.flatnonzero(means - means[best] <= np.nan_to_num(se, nan=np.inf) + _ROUNDING)
    pick = max(close, key=lambda i: (len(subsets[i]), -means[i]))
    keep = np.zeros(c)
    keep[list(subsets[pick])] = 1.0
    return np.broadcast_to(keep / keep.sum(), (s, c)).copy()


def interval_factors(
    actual: list[np.ndarray],
    val: Result,
    scale: np.ndarray,
    sc: Scale,
    levels: Sequence[float],
    series: np.ndarray | None = None,
) -> np.ndarray:
    """Width factors ``(L, 2)`` of the lower and upper bound of each level (see the notes).

    ``val`` holds the combined validation median ``(W, h)`` and quantiles ``(W, h, 2L)``
    (a lower and an upper one per level) of ``W`` validation windows, ``actual`` their
    actual values (empty where a series has no window); ``levels`` are fractions (0.8 for
    80 %); ``series`` tells which series each window belongs to (by default one each), for
    the shrinkage toward 1.

    Examples
    --------
    Actuals twice as spread as the model says, and shifted up by one model standard
    deviation: the upper bound of the 80 % interval moves to ``(1 + 2 z) / z`` times its
    half-width and the lower one to ``(2 z - 1) / z``, with ``z = 1.2816``.

    >>> from forecasting.kernels.scale import Scale
    >>> rng = np.random.default_rng(0)
    >>> a = 1.0 + 2.0 * rng.standard_normal((4000, 1))
    >>> z = 1.2815515655446004
    >>> val = (np.zeros((4000, 1)), np.tile([-z, z], (4000, 1, 1)))
    >>> sc = Scale(np.zeros(4000, bool), np.zeros(4000))
    >>> f = interval_factors(list(a), val, np.ones(4000), sc, [0.8])
    >>> np.round(f / [(2 * z - 1) / z, (2 * z + 1) / z], 1).tolist()
    [[1.0, 1.0]]
    """
    n_levels = len(levels)
    if n_levels == 0:
        return np.ones((0, 2))
    rows = [i for i, a in enumerate(actual) if len(a)]
    if not rows:
        return np.ones((n_levels, 2))
    idx = np.array(rows)
    mid = to_model(val[0][idx], scale[idx], sc.take(idx))
    q = to_model(val[1][idx], scale[idx], sc.take(idx))
    a = np.full(mid.shape, np.nan)
    for k, i in enumerate(rows):
        a[k, : len(actual[i])] = to_model(
            actual[i][None], scale[i : i + 1], sc.take(idx[k : k + 1])
        )[0]
    ok = np.isfinite(a)
    factors = np.ones((n_levels, 2))
    n_series = len(np.unique(series[idx])) if series is not None else len(rows)
    owner = np.broadcast_to((series[idx] if series is not None else idx)[:, None], a.shape)
    weight = n_series / (n_series + PRIOR_SERIES)
    dist = np.where(ok, a, mid) - mid
    for lv in range(n_levels):
        for side, sign in enumerate((-1.0, 1.0)):
            half = sign * (q[..., 2 * lv + side] - mid)  # >= 0: the bound's distance
            out = sign * dist  # > 0: beyond the median on this side
            # an interval of width 0 (a constant series, fitted exactly) holding its actual:
            # distances of rounding size (the model scale is free of units) say nothing,
            # and their ratio would depend on the units
            flat = half <= _ROUNDING
            half = np.where(flat, 0.0, half)
            out = np.where(flat & (np.abs(out) <= _ROUNDING), 0.0, out)
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.where(
                    half > 0, out / np.where(half > 0, half, 1.0), np.sign(out) * np.inf
                )
            score = score[ok]
            score = np.where(np.isnan(score), 0.0, score)
            if not len(score):
                continue
            tail = (1.0 + levels[lv]) / 2  # share of the points inside this bound
            raw = _tail_quantile(score, tail, owner[ok])
            raw = max(raw, 0.0) if np.isfinite(raw) else 1.0
            factors[lv, side] = 1.0 + weight * (raw - 1.0)
    return factors


def _conformal(score: np.ndarray, tail: float) -> float:
    """Return the ``ceil((n + 1) tail)``-th smallest score (the largest if there are few)."""
    k = min(len(score) - 1, int(np.ceil((len(score) + 1) * tail)) - 1)
    return float(np.sort(score)[max(k, 0)])


def _tail_quantile(score: np.ndarray, tail: float, owner: np.ndarray) -> float:
    """:func:`_conformal` of the pooled scores, robust to one series holding the tail.

    In a small batch the tail is a handful of points: one series with an outlier in its
    last periods (a spike of revenue) would hold all of them and widen every other series'
    intervals many times. When one series holds more than half of the points at or beyond
    the quantile, the quantile of the other series' points is used if it is lower. In large
    batches no series holds such a share, and the quantile is the plain one.
    """
    raw = _conformal(score, tail)
    beyond = owner[score >= raw]
    if not len(beyond):
        return raw
    ids, counts = np.unique(beyond, return_counts=True)
    top = int(np.argmax(counts))
    rest = owner != ids[top]
    if 2 * counts[top] <= len(beyond) or not rest.any():
        return raw
    return min(raw, _conformal(score[rest], tail))


def combine_forecasts(
    parts: list[Result], weights: np.ndarray, scale: np.ndarray, sc: Scale
) -> Result:
    """Weighted mean of the candidates' points and quantiles on the model scale.

    A candidate with weight 0 for a series takes no part in it, even where its forecast
    overflowed (``0 * inf`` would make the combination ``nan``).
    """

    def term(w: np.ndarray, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(w > 0, w * to_model(x, scale, sc), 0.0)

    mean_z = sum(term(weights[:, j, None], p[0]) for j, p in enumerate(parts))
    q_z = sum(term(weights[:, j, None, None], p[1]) for j, p in enumerate(parts))
    return from_model(np.asarray(mean_z), scale, sc), from_model(np.asarray(q_z), scale, sc)


def widen(res: Result, factors: np.ndarray, scale: np.ndarray, sc: Scale) -> Result:
    """Move each level's bounds around the median by their factors ``(L, 2)``, on the model scale.

    Levels ascend; each widened interval is made to contain the narrower ones.
    """
    if not len(factors):
        return res
    mid = to_model(res[0], scale, sc)
    q = to_model(res[1], scale, sc)
    out = q.copy()
    for lv in range(len(factors)):
        for side in (0, 1):
            j = 2 * lv + side
            with np.errstate(invalid="ignore", over="ignore"):  # overflow: refused later
                out[..., j] = mid + factors[lv, side] * (q[..., j] - mid)
    # levels ascend: keep the intervals nested, each containing the one before
    for lv in range(1, len(factors)):
        out[..., 2 * lv] = np.minimum(out[..., 2 * lv], out[..., 2 * lv - 2])
        out[..., 2 * lv + 1] = np.maximum(out[..., 2 * lv + 1], out[..., 2 * lv - 1])
    return res[0], from_model(out, scale, sc)
