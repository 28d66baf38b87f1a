"""Coherent forecasts of a hierarchy: channel totals that add up, campaigns within channels.

Forecasting every series of a hierarchy on its own (the total, each channel, each campaign)
gives numbers that do not add up. :func:`reconcile` maps the base forecasts ``y`` of all nodes
to coherent ones ``S G y``, where ``S`` (nodes x bottom series) sums the bottom series into
every node and ``G`` depends on the method (Hyndman et al. 2011; Wickramasuriya,
Athanasopoulos & Hyndman 2019, "MinT"):

``bottom_up``
    ``G`` picks the bottom forecasts: aggregates are their sums.
``ols``
    ``G = (S'S)^-1 S'``: the orthogonal projection onto coherent forecasts.
``wls``
    ``G = (S' L^-1 S)^-1 S' L^-1`` with ``L`` the diagonal of the error covariance: weights by
    each node's own error variance.
``mint_shrink`` (default)
    ``G = (S' W^-1 S)^-1 S' W^-1`` with ``W`` the error covariance shrunk toward its diagonal
    with the Schäfer & Strimmer (2005) intensity, as R's ``hts``/``fable`` do. Of all linear
    unbiased reconciliations it has the smallest error variance when ``W`` is right.

``W`` comes from ``residuals``: forecast errors of every node at the same times, such as the
output of :func:`forecasting.backtest` (rolling-origin errors of the same model) or any frame
of one-step residuals. ``wls`` and ``mint_shrink`` need them; the other methods use them for
the intervals only (without them the nodes' errors are taken as uncorrelated).

**Intervals.** Each node's base interval is moved with its point forecast and scaled by the
ratio of the reconciled to the base standard deviation of its error: the base standard
deviations come from the interval widths (``(hi - lo) / (2 z)``), their correlations from
``W``, the reconciled covariance is ``S G Sigma G' S'``. The shape of each base interval (the
skew of a log-scale model) is kept; a bottom-up bottom node keeps its interval.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
from scipy import stats

from attribution._base.errors import SchemaError, ValidationError
from attribution._base.frames import FrameLike, check_columns, to_lazy
from forecasting.engine import FALLBACK

__all__ = [
    "METHODS",
    "Hierarchy",
    "hierarchy_matrix",
    "reconcile",
    "reconciliation_matrix",
    "shrink_covariance",
]

#: The reconciliation methods (see the module notes).
METHODS: tuple[str, ...] = ("bottom_up", "ols", "wls", "mint_shrink")
Method = Literal["bottom_up", "ols", "wls", "mint_shrink"]


@dataclass(frozen=True)
class Hierarchy:
    """The summing structure of a hierarchy (:func:`hierarchy_matrix`).

    Attributes
    ----------
    nodes : list of str
        Every node, aggregates first (the total, then each level top down), bottom last.
    bottom : list of str
        The bottom series, in the order of the columns of ``summing``.
    summing : ndarray
        ``S`` (nodes x bottom): 1 where a bottom series belongs to a node.
    """

    nodes: list[str]
    bottom: list[str]
    summing: np.ndarray


def hierarchy_matrix(hierarchy: FrameLike, total: str | None = "total") -> Hierarchy:
    """Build the summing matrix of a hierarchy given as a frame.

    Parameters
    ----------
    hierarchy
        One row per bottom series, one column per level from the top down: e.g. ``channel``
        then ``campaign``. The values name the nodes (as in the forecasts' series ids); each
        name may be used at one level only, and every node has one parent.
    total : str or None
        Name of the grand total node, or ``None`` for no grand total.

    Examples
    --------
    >>> h = hierarchy_matrix(pl.DataFrame({"channel": list("aab"), "campaign": list("xyz")}))
    >>> h.nodes
    ['total', 'a', 'b', 'x', 'y', 'z']
    >>> h.summing[:3].tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    df = to_lazy(hierarchy, what="hierarchy").collect()
    if df.width == 0 or df.height == 0:
        raise ValidationError("The hierarchy frame is empty; give one row per bottom series.")
    for name, dtype in df.schema.items():
        if not (dtype == pl.String or dtype.is_integer() or dtype == pl.Categorical):
            raise SchemaError(
                f"Column {name!r} of the hierarchy has type {dtype}; expected names (text)."
            )
    df = df.select(pl.all().cast(pl.String))
    nulls = [c for c in df.columns if df[c].null_count()]
    if nulls:
        raise ValidationError(f"Hierarchy columns {nulls} have nulls; every level needs a name.")
    levels = df.columns
    bottom_col = levels[-1]
    if df[bottom_col].is_duplicated().any():
        dup = df.filter(df[bottom_col].is_duplicated())[bottom_col].unique().head(5).to_list()
        raise ValidationError(
            f"Bottom series {dup} appear in more than one row of the hierarchy; each bottom "
            f"series ({bottom_col!r}) needs exactly one row."
        )
    seen: dict[str, str] = {}
    for col in levels:
        for v in df[col].unique(maintain_order=True).to_list():
            if v in seen and seen[v] != col:
                raise ValidationError(
                    f"Node {v!r} is named at two levels of the hierarchy ({seen[v]!r} and "
                    f"{col!r}); rename one, series ids must be unique."
                )
            seen[v] = col
    for upper, lower in itertools.pairwise(levels):
        parents = (
            df.group_by(lower).agg(pl.col(upper).n_unique().alias("k")).filter(pl.col("k") > 1)
        )
        if parents.height:
            raise ValidationError(
                f"{parents.height} nodes of {lower!r} sit under more than one {upper!r} "
                f"(e.g. {parents[lower][0]!r}); every node needs one parent."
            )
    if total is not None and total in seen:
        raise ValidationError(f"The total's name {total!r} is also a node of the hierarchy.")
    bottom = df[bottom_col].to_list()
    nodes: list[str] = [total] if total is not None else []
    rows: list[np.ndarray] = [np.ones(len(bottom))] if total is not None else []
    for col in levels[:-1]:
        for v in df[col].unique(maintain_order=True).to_list():
            nodes.append(v)
            rows.append((df[col] == v).to_numpy().astype(np.float64))
    nodes += bottom
    rows += list(np.eye(len(bottom)))
    return Hierarchy(nodes, bottom, np.array(rows))


def shrink_covariance(errors: np.ndarray) -> tuple[np.ndarray, float]:
    """Covariance of errors ``(T, n)`` shrunk toward its diagonal (Schäfer & Strimmer 2005).

    As ``hts::shrink.estim``: ``W = lambda D + (1 - lambda) W_hat`` with ``W_hat = E'E / T``,
    ``D`` its diagonal and ``lambda = sum Var(r_ij) / sum r_ij²`` over ``i != j`` (``r`` the
    correlations), clipped to [0, 1].

    Returns
    -------
    ndarray, float
        The shrunk covariance and ``lambda``.
    """
    t = errors.shape[0]
    cov = errors.T @ errors / t
    sd = np.sqrt(np.diag(cov))
    sd = np.where(sd > 0, sd, 1.0)
    xs = errors / sd
    corr = cov / np.outer(sd, sd)
    v = (xs**2).T @ (xs**2) - (xs.T @ xs) ** 2 / t
    v = v / (t * (t - 1)) if t > 1 else np.zeros_like(v)
    np.fill_diagonal(v, 0.0)
    d = corr**2
    np.fill_diagonal(d, 0.0)
    lam = float(np.clip(v.sum() / d.sum(), 0.0, 1.0)) if d.sum() > 0 else 1.0
    return lam * np.diag(np.diag(cov)) + (1 - lam) * cov, lam


def reconciliation_matrix(
    summing: np.ndarray, method: Method, cov: np.ndarray | None
) -> np.ndarray:
    """``G`` (bottom x nodes) of a method; ``cov`` is the error covariance ``W`` (nodes x nodes).

    Examples
    --------
    >>> s = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    >>> (s @ reconciliation_matrix(s, "ols", None) @ np.array([10.0, 4.0, 4.0])).round(6).tolist()
    [9.333333, 4.666667, 4.666667]
    """
    n, b = summing.shape
    if method == "bottom_up":
        return np.hstack([np.zeros((b, n - b)), np.eye(b)])
    if method == "ols":
        weights = np.eye(n)
    else:
        if cov is None:
            raise ValidationError(f"method {method!r} needs residuals (the error covariance).")
        weights = np.diag(np.diag(cov)) if method == "wls" else cov
    inv = np.linalg.pinv(weights)
    try:
        return np.linalg.solve(summing.T @ inv @ summing, summing.T @ inv)
    except np.linalg.LinAlgError:
        # errors of 0 (series forecast exactly in every window) leave W singular: a ridge of
        # rounding size keeps every node, and with W = 0 it is the OLS projection
        level = float(np.mean(np.diag(weights)))
        ridge = 1e-9 * level if level > 0 else 1.0
        inv = np.linalg.pinv(weights + ridge * np.eye(n))
        return np.linalg.solve(summing.T @ inv @ summing, summing.T @ inv)


def _levels(columns: Sequence[str]) -> list[str]:
    return [c[3:] for c in columns if c.startswith("lo-") and f"hi-{c[3:]}" in columns]


def _residual_matrix(
    residuals: pl.DataFrame, nodes: list[str], id_col: str, model: str | None
) -> np.ndarray:
    """Errors ``(T, nodes)`` at the times every node has one."""
    df = residuals
    if "model" in df.columns and model is not None:
        df = df.filter(pl.col("model") == model)
    if "residual" in df.columns:
        err = pl.col("residual")
    elif {"actual", "mean"} <= set(df.columns):
        err = pl.col("actual") - pl.col("mean")
    else:
        raise SchemaError(
            "residuals need a 'residual' column, or 'actual' and 'mean' (a backtest frame)."
        )
    keys = [
        c
        for c in df.columns
        if c not in (id_col, "model", "residual", "actual", "mean", "scale")
        and not c.startswith(("lo-", "hi-"))
    ]
    if not keys:
        raise SchemaError("residuals need a time column that matches errors across series.")
    wide = df.select(*keys, pl.col(id_col).cast(pl.String), err.alias("e")).pivot(
        on=id_col, index=keys, values="e", aggregate_function="first"
    )
    missing = [v for v in nodes if v not in wide.columns]
    if missing:
        raise ValidationError(
            f"residuals have no errors for {len(missing)} nodes ({', '.join(missing[:5])})."
        )
    mat = wide.select(nodes).to_numpy().astype(np.float64)
    mat = mat[np.isfinite(mat).all(axis=1)]
    if len(mat) < 2:
        raise ValidationError(
            "residuals hold fewer than 2 times at which every node has an error; the error "
            "covariance cannot be estimated."
        )
    return mat


def reconcile(
    forecasts: FrameLike,
    hierarchy: FrameLike,
    *,
    method: Method = "mint_shrink",
    residuals: FrameLike | None = None,
    total: str | None = "total",
    id_col: str = "series_id",
    time_col: str = "date",
) -> pl.DataFrame:
    """Make forecasts of a hierarchy coherent: every aggregate equals the sum of its parts.

    Parameters
    ----------
    forecasts
        Output of :func:`forecasting.forecast` for every node of the hierarchy (``id_col``,
        ``time_col``, ``model``, ``mean`` and ``lo-``/``hi-`` columns); each model is
        reconciled on its own. A node too short for a model (forecast by ``naive``, its
        fallback) takes part in that model's reconciliation with its ``naive`` forecast and is
        labelled with the model in the result.
    hierarchy
        One row per bottom series, one column per level from the top down (see
        :func:`hierarchy_matrix`); e.g. ``channel``, ``campaign``.
    method : {"bottom_up", "ols", "wls", "mint_shrink"}
        See the module notes.
    residuals
        Forecast errors of the nodes at common times: a :func:`forecasting.backtest` frame
        (``actual`` and ``mean``; ``cutoff`` and ``horizon`` match them) or any frame with
        ``id_col``, a time column and ``residual``. Filtered to each model when it has a
        ``model`` column. Needed by ``wls`` and ``mint_shrink``.
    total : str or None
        Name of the grand total series, or ``None`` when there is none.
    id_col, time_col : str
        Column names.

    Returns
    -------
    DataFrame
        The columns of ``forecasts``, coherent, sorted by series, model and date.

    Raises
    ------
    ValidationError
        A node without forecasts, a series id outside the hierarchy, a malformed hierarchy,
        missing residuals for ``wls``/``mint_shrink``, an unknown method.

    Examples
    --------
    >>> f = pl.DataFrame({"series_id": ["total", "a", "b"], "date": [1, 1, 1],
    ...     "model": "m", "mean": [10.0, 4.0, 4.0]})
    >>> out = reconcile(f, pl.DataFrame({"channel": ["a", "b"]}), method="ols")
    >>> out.select("series_id", pl.col("mean").round(6)).rows()
    [('a', 4.666667), ('b', 4.666667), ('total', 9.333333)]
    """
    if method not in METHODS:
        raise ValidationError(
            f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}."
        )
    tree = hierarchy_matrix(hierarchy, total)
    fc = to_lazy(forecasts, what="forecasts").collect()
    check_columns(fc.collect_schema(), [id_col, time_col, "mean"], "forecasts")
    if "model" not in fc.columns:
        fc = fc.with_columns(pl.lit("forecast").alias("model"))
    fc = fc.with_columns(pl.col(id_col).cast(pl.String))
    outside = sorted(set(fc[id_col].unique().to_list()) - set(tree.nodes))
    if outside:
        raise ValidationError(
            f"Column {id_col!r} has {len(outside)} series outside the hierarchy "
            f"({', '.join(outside[:5])}); the nodes are {', '.join(tree.nodes[:8])}..."
        )
    res = to_lazy(residuals, what="residuals").collect() if residuals is not None else None
    levels = _levels(fc.columns)
    # a series too short for a model is forecast by the fallback and labelled so
    # (forecasting.forecast): a model's reconciliation takes the fallback's rows for the
    # nodes it lacks, and the fallback's own group, when it does not hold every node (it was
    # not asked for), is none
    groups = fc["model"].unique(maintain_order=True).to_list()
    fallback = fc.filter(pl.col("model") == FALLBACK)
    partial = set(tree.nodes) - set(fallback[id_col]) if fallback.height else set()
    out = []
    for (model,), part in fc.group_by("model", maintain_order=True):
        if model == FALLBACK and partial and len(groups) > 1:
            continue
        if model != FALLBACK and fallback.height:
            lacking = [n for n in tree.nodes if n not in set(part[id_col])]
            extra = fallback.filter(pl.col(id_col).is_in(lacking))
            part = pl.concat([part, extra.with_columns(pl.lit(model).alias("model"))])
        wide = part.pivot(on=id_col, index=time_col, values="mean", aggregate_function="first")
        missing = [v for v in tree.nodes if v not in wide.columns]
        if missing:
            raise ValidationError(
                f"Model {model!r} has no forecasts for {len(missing)} nodes of the hierarchy "
                f"({', '.join(missing[:5])}); forecast every node, the total included."
            )
        wide = wide.sort(time_col)
        base = wide.select(tree.nodes).to_numpy().astype(np.float64)  # (h, nodes)
        if not np.isfinite(base).all():
            raise ValidationError(f"Model {model!r} has missing forecasts for some dates.")
        cov = _shrunk(res, tree.nodes, id_col, str(model)) if res is not None else None
        g = reconciliation_matrix(tree.summing, method, cov)
        proj = tree.summing @ g  # (nodes, nodes)
        coherent = base @ proj.T
        frame = pl.DataFrame({time_col: wide[time_col]})
        cols: dict[str, np.ndarray] = {"mean": coherent}
        corr = _correlation(cov, len(tree.nodes))
        for lv in levels:
            lo = _wide(part, id_col, time_col, f"lo-{lv}", tree.nodes, wide[time_col])
            hi = _wide(part, id_col, time_col, f"hi-{lv}", tree.nodes, wide[time_col])
            z = stats.norm.ppf(0.5 + float(lv) / 200)
            sd = (hi - lo) / (2 * z)  # (h, nodes)
            # a node without bounds (a one-point series) has an unknown spread: so has every
            # node whose reconciled forecast takes part of it
            unknown = np.isnan(sd)
            sd = np.where(unknown, 0.0, sd)
            blind = (unknown.astype(np.float64) @ (np.abs(proj) > 1e-12).T.astype(np.float64)) > 0
            scaled = proj[None, :, :] * sd[:, None, :]  # (h, nodes, nodes): P diag(sd_h)
            var = np.einsum("hij,jk,hik->hi", scaled, corr, scaled)  # diag(P Sigma_h P')
            var = np.where(blind, np.nan, var)
            sd_new = np.sqrt(np.maximum(var, 0.0))
            ratio = np.where(sd > 0, sd_new / np.where(sd > 0, sd, 1.0), np.nan)
            lo_new = np.where(sd > 0, coherent - (base - lo) * ratio, coherent - z * sd_new)
            hi_new = np.where(sd > 0, coherent + (hi - base) * ratio, coherent + z * sd_new)
            cols[f"lo-{lv}"], cols[f"hi-{lv}"] = lo_new, hi_new
        for j, node in enumerate(tree.nodes):
            rows = frame.with_columns(
                pl.lit(node).alias(id_col),
                pl.lit(model).alias("model"),
                *[pl.Series(name, arr[:, j]) for name, arr in cols.items()],
            )
            out.append(rows)
    result = pl.concat(out).select(fc.columns)
    bounds = [c for c in result.columns if c.startswith(("lo-", "hi-"))]
    result = result.with_columns(pl.col(bounds).fill_nan(None))  # unknown bounds stay null
    return result.sort(id_col, "model", time_col)


def _wide(
    part: pl.DataFrame, id_col: str, time_col: str, col: str, nodes: list[str], times: pl.Series
) -> np.ndarray:
    wide = part.pivot(on=id_col, index=time_col, values=col, aggregate_function="first")
    wide = pl.DataFrame({time_col: times}).join(wide, on=time_col, how="left")
    return wide.select(nodes).to_numpy().astype(np.float64)


def _shrunk(res: pl.DataFrame, nodes: list[str], id_col: str, model: str) -> np.ndarray:
    errors = _residual_matrix(res, nodes, id_col, model)
    return shrink_covariance(errors)[0]


def _correlation(cov: np.ndarray | None, n: int) -> np.ndarray:
    """Correlations of the nodes' errors (none known: uncorrelated)."""
    if cov is None:
        return np.eye(n)
    sd = np.sqrt(np.diag(cov))
    flat = sd <= 0  # a node whose errors were all 0: uncorrelated, its own width kept
    corr = cov / np.outer(np.where(flat, 1.0, sd), np.where(flat, 1.0, sd))
    corr[flat, flat] = 1.0
    return corr
