"""Lift-test calibration: hold attribution against incrementality experiments.

Path-based and observational models credit what is *correlated* with conversion; a randomised
experiment measures what a channel *causes*. This module

- analyses a user-level holdout experiment (treated and control users and their conversions)
  into a lift and incremental conversions with a confidence interval (:func:`holdout_lift`);
- reports how far a model's credit is from the experiments (:func:`compare_lift_tests`);
- offers a calibrated attribution that honours the experiments and keeps the model's
  proportions for the other channels (:func:`calibrate`).

Lift tests are a frame with one row per channel (and optionally per period): ``channel``,
``incremental_conversions`` (the experiment's estimate for the whole population and window the
attribution covers) and a confidence interval ``lower``, ``upper`` (without them, a test is
taken as exact). Several periods of one channel are summed (their intervals combined as
independent normal errors), so the periods together must cover the attribution's window;
attribute each period separately otherwise.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import polars as pl
from scipy import stats

from attribution._base.errors import ModelError, ValidationError
from attribution._base.frames import FrameLike, check_columns, to_lazy
from attribution.journeys import NO_TOUCH
from attribution.models.base import BASELINE, Attribution, credit_frame

__all__ = [
    "calibrate",
    "compare_lift_tests",
    "holdout_lift",
    "level_factor",
    "lift_tests_by_channel",
]

Remainder = Literal["auto", "level", "scaled", "proportional", "baseline"]

_Z95 = float(stats.norm.ppf(0.975))


def holdout_lift(
    experiments: FrameLike,
    *,
    level: float = 0.95,
    treated_users_col: str = "treated_users",
    treated_conversions_col: str = "treated_conversions",
    control_users_col: str = "control_users",
    control_conversions_col: str = "control_conversions",
) -> pl.DataFrame:
    """Analyse user-level holdout experiments into lift with confidence intervals.

    Per row: conversion rates ``r_t = treated_conversions / treated_users`` and ``r_c``;
    incremental conversions among the treated ``treated_users × (r_t − r_c)`` with a Wald
    interval from the variance of the difference of two proportions; relative lift
    ``r_t / r_c − 1`` with an interval from the log of the rate ratio (delta method).

    Parameters
    ----------
    experiments : frame
        One row per experiment (other columns, e.g. ``channel`` and ``period``, are kept).
    level : float
        Confidence level of the intervals.
    treated_users_col, treated_conversions_col, control_users_col, control_conversions_col : str
        Column names.

    Returns
    -------
    DataFrame
        The input's columns plus ``treated_rate``, ``control_rate``, ``lift``, ``lift_lower``,
        ``lift_upper``, ``incremental_conversions``, ``lower``, ``upper`` and ``p_value``
        (two-sided z-test of equal rates). Ratios with a zero denominator are null.

    Raises
    ------
    SchemaError
        A column is missing.
    ValidationError
        Users ≤ 0, conversions < 0 or more conversions than users.

    Examples
    --------
    >>> import polars as pl
    >>> exp = pl.DataFrame({"channel": ["Email"], "treated_users": [10_000],
    ...                     "treated_conversions": [600], "control_users": [10_000],
    ...                     "control_conversions": [500]})
    >>> row = holdout_lift(exp).row(0, named=True)
    >>> round(row["lift"], 3), round(row["incremental_conversions"], 6)
    (0.2, 100.0)
    """
    if not 0 < level < 1:
        raise ValidationError(f"level must be between 0 and 1; got {level!r}.")
    cols = [treated_users_col, treated_conversions_col, control_users_col, control_conversions_col]
    lf = to_lazy(experiments, what="experiments")
    check_columns(lf.collect_schema(), cols, "experiments")
    df = lf.collect()
    nt, xt, nc, xc = (df[c].cast(pl.Float64).to_numpy() for c in cols)
    for name, users in ((treated_users_col, nt), (control_users_col, nc)):
        bad = ~(users > 0)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValidationError(
                f"Column {name!r} has {int(bad.sum())} values ≤ 0 or null (rows "
                f"{rows[:5].tolist()}); each arm needs users."
            )
    for name, users, conv in (
        (treated_conversions_col, nt, xt),
        (control_conversions_col, nc, xc),
    ):
        bad = ~((conv >= 0) & (conv <= users))
        if bad.any():
            rows = np.flatnonzero(bad)
            raise ValidationError(
                f"Column {name!r} has {int(bad.sum())} values below 0 or above the arm's users "
                f"(rows {rows[:5].tolist()}); conversions must be between 0 and the users."
            )
    z = float(stats.norm.ppf(0.5 + level / 2))
    rt, rc = xt / nt, xc / nc
    var = rt * (1 - rt) / nt + rc * (1 - rc) / nc
    diff = rt - rc
    inc = nt * diff
    half = z * np.sqrt(var) * nt
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (xt > 0) & (xc > 0)
        lift = np.where(rc > 0, rt / rc - 1, np.nan)
        se_log = np.sqrt(
            np.where(ok, (1 - rt) / np.maximum(xt, 1) + (1 - rc) / np.maximum(xc, 1), np.nan)
        )
        log_ratio = np.where(ok, np.log(np.where(ok, rt / np.where(rc > 0, rc, 1), 1.0)), np.nan)
        pooled = (xt + xc) / (nt + nc)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / nt + 1 / nc))
        p_value = np.where(
            se0 > 0, 2 * stats.norm.sf(np.abs(diff) / np.where(se0 > 0, se0, 1)), np.nan
        )
    lo = np.where(ok, np.exp(log_ratio - z * se_log) - 1, np.nan)
    hi = np.where(ok, np.exp(log_ratio + z * se_log) - 1, np.nan)

    def col(name: str, values: np.ndarray) -> pl.Series:
        return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)

    return df.with_columns(
        col("treated_rate", rt),
        col("control_rate", rc),
        col("lift", lift),
        col("lift_lower", lo),
        col("lift_upper", hi),
        col("incremental_conversions", inc),
        col("lower", inc - half),
        col("upper", inc + half),
        col("p_value", p_value),
    )


def lift_tests_by_channel(
    tests: FrameLike,
    *,
    channel_col: str = "channel",
    estimate_col: str = "incremental_conversions",
    lower_col: str = "lower",
    upper_col: str = "upper",
) -> pl.DataFrame:
    """Validate lift tests and sum the periods of each channel.

    Periods of one channel are summed, their intervals combined as independent normal errors
    (half-widths added in quadrature on each side). Tests without both interval columns are
    taken as exact (``lower = upper = estimate``); one bound without the other is an error.

    Parameters
    ----------
    tests : frame
        Lift tests (module docstring).
    channel_col, estimate_col, lower_col, upper_col : str
        Column names.

    Returns
    -------
    DataFrame
        ``channel, periods, test, lower, upper``, one row per channel in order of appearance.

    Raises
    ------
    SchemaError
        A column is missing.
    ValidationError
        No rows, a row with a null or NaN estimate or bound, or with ``lower ≤ estimate ≤
        upper`` broken, or a test of ``"(baseline)"`` or ``"(no touch)"``.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"channel": ["a", "a"], "incremental_conversions": [10.0, 20.0],
    ...                   "lower": [7.0, 16.0], "upper": [13.0, 24.0]})
    >>> lift_tests_by_channel(t).row(0)
    ('a', 2, 30.0, 25.0, 35.0)
    """
    lf = to_lazy(tests, what="lift tests")
    names = lf.collect_schema().names()
    bounds = [lower_col, upper_col]
    if not any(b in names for b in bounds):  # no interval: the tests are taken as exact
        bounds = [estimate_col, estimate_col]
    check_columns(lf.collect_schema(), [channel_col, estimate_col, *bounds], "lift tests")
    df = lf.select(
        pl.col(channel_col).cast(pl.String).alias("channel"),
        pl.col(estimate_col).cast(pl.Float64).alias("test"),
        pl.col(bounds[0]).cast(pl.Float64).alias("lower"),
        pl.col(bounds[1]).cast(pl.Float64).alias("upper"),
    ).collect()
    if df.height == 0:
        raise ValidationError("The lift tests frame is empty (0 rows).")
    bad = (
        df["test"].is_null()
        | df["lower"].is_null()
        | df["upper"].is_null()
        | df["test"].is_nan()
        | df["lower"].is_nan()
        | df["upper"].is_nan()
        | (df["lower"] > df["test"])
        | (df["test"] > df["upper"])
    )
    if bad.any():
        rows = df.with_row_index("row").filter(bad)
        raise ValidationError(
            f"Lift tests have {int(bad.sum())} rows with a null or NaN estimate or bound, or "
            f"with {lower_col!r} ≤ {estimate_col!r} ≤ {upper_col!r} broken (rows "
            f"{rows['row'].head(5).to_list()}, channels {rows['channel'].head(5).to_list()})."
        )
    reserved = df.filter(pl.col("channel").is_in([BASELINE, NO_TOUCH]))
    if reserved.height:
        raise ValidationError(
            f"Lift tests name {reserved['channel'][0]!r}, the conversions credited to no "
            "channel, which no experiment on a channel measures; test channels only."
        )
    # periods: sum estimates, combine half-widths as independent normal errors
    return (
        df.with_columns(
            lo_w=(pl.col("test") - pl.col("lower")) ** 2,
            hi_w=(pl.col("upper") - pl.col("test")) ** 2,
        )
        .group_by("channel", maintain_order=True)
        .agg(
            pl.col("test").sum(),
            pl.len().alias("periods"),
            pl.col("lo_w").sum().sqrt().alias("lo_w"),
            pl.col("hi_w").sum().sqrt().alias("hi_w"),
        )
        .select(
            "channel",
            "periods",
            "test",
            lower=pl.col("test") - pl.col("lo_w"),
            upper=pl.col("test") + pl.col("hi_w"),
        )
    )


def _own_lift(result: Attribution | pl.DataFrame) -> pl.DataFrame | None:
    """``channel, model_lift`` from a result's ``effects`` table, or ``None`` without one.

    ``data_driven`` has it as ``removal_conversions``: the conversions its fitted model loses
    without the channel, the quantity a holdout experiment measures.
    """
    effects = result.tables.get("effects") if isinstance(result, Attribution) else None
    if effects is None or "removal_conversions" not in effects.columns:
        return None
    return effects.select("channel", model_lift=pl.col("removal_conversions").cast(pl.Float64))


def level_factor(
    test: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    model_lift: np.ndarray,
    *,
    spread: float = 0.5,
    level_spread: float = 0.3,
) -> float:
    """Return the common factor by which tests say a model's lifts are off, shrunk toward 1.

    Each informative test ``i`` (``lower > 0`` and ``model_lift > 0``: a channel found to have
    no effect says nothing about the others' level) gives a log ratio
    ``l_i = log(test_i / model_lift_i) = μ + δ_i + ε_i``: a common level ``μ`` (prior
    ``N(0, level_spread²)``), the channel's own error ``δ_i`` and the test's noise ``ε_i``
    (variance ``v_i`` from its interval, read as 95 % on the log scale). Channel errors are
    heavy-tailed: a channel that reaches people about to buy can be off many-fold while the
    others are right, so ``δ_i + ε_i`` is taken as Cauchy with scale
    ``sqrt(spread² + v_i)``. The factor is ``exp(E[μ | l])``, the posterior mean by
    quadrature on a grid. So one test far off moves the level *less* than one moderately off
    (it is more likely that channel's own error), tests that disagree cancel, and many
    agreeing tests give their common ratio.

    Parameters
    ----------
    test, lower, upper : ndarray
        The experiments' incremental conversions and confidence bounds.
    model_lift : ndarray
        The model's incremental conversions of the same channels.
    spread : float
        Scale of a channel's own log error around the common level (Cauchy).
    level_spread : float
        Prior standard deviation of the common log level.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> one = np.ones(2)
    >>> round(level_factor(60 * one, 54 * one, 66 * one, 100 * one), 3)  # agree: lower
    0.797
    >>> round(level_factor(np.array([50.0, 200.0]), np.array([45.0, 180.0]),
    ...                    np.array([55.0, 220.0]), 100 * one), 9)  # disagree: no level
    1.0
    """
    test, lower, upper, lift = (
        np.asarray(a, dtype=np.float64) for a in (test, lower, upper, model_lift)
    )
    use = (lower > 0) & (lift > 0) & (test > 0)
    if not use.any():
        return 1.0
    logs = np.log(test[use] / lift[use])
    var = ((np.log(upper[use]) - np.log(lower[use])) / (2 * _Z95)) ** 2
    scale = np.sqrt(spread**2 + var)
    grid = np.linspace(-12 * level_spread, 12 * level_spread, 4001)
    z = (logs[None, :] - grid[:, None]) / scale[None, :]
    log_post = -0.5 * (grid / level_spread) ** 2 - np.log1p(z * z).sum(axis=1)
    weight = np.exp(log_post - log_post.max())
    return float(np.exp(weight @ grid / weight.sum()))


def compare_lift_tests(
    result: Attribution | pl.DataFrame,
    tests: FrameLike,
    *,
    channels: Literal["tested", "all"] = "tested",
    channel_col: str = "channel",
    estimate_col: str = "incremental_conversions",
    lower_col: str = "lower",
    upper_col: str = "upper",
) -> pl.DataFrame:
    """How far a model's credit is from incrementality experiments, and both calibrated answers.

    Parameters
    ----------
    result : Attribution or DataFrame
        A model's result (or its ``channels`` frame: ``channel, conversions``). A
        ``data_driven`` result fitted with ``lift_tests`` is compared through what the log
        alone said (its ``log_only`` table), and its own credit is the in-fit answer.
    tests : frame
        Lift tests (module docstring); periods of a channel are summed.
    channels : {"tested", "all"}
        One row per tested channel, or per channel of the result (untested ones with null
        test columns), to see how the untested channels move.
    channel_col, estimate_col, lower_col, upper_col : str
        Column names of ``tests``.

    Returns
    -------
    DataFrame
        ``channel, periods, credit, test, lower, upper, difference`` (credit − test),
        ``ratio`` (credit / test; null when the test is 0), ``model_lift``,
        ``within_interval`` (``lower ≤ model_lift ≤ upper``), ``post_hoc`` (the channel's
        conversions after :func:`calibrate`) and ``in_fit`` and ``in_fit_lift`` (credit and
        removal effect of the model fitted with the tests; null for a result fitted without
        them).

        ``credit`` and ``model_lift`` are what the log says: the model's credit, and the
        conversions it loses without the channel, which is what the experiment measures. For
        ``data_driven`` that is its fitted model's removal effect (``tables["effects"]``),
        which differs from its Shapley credit when effects overlap or reinforce each other;
        for the other models it is the credit.

    Raises
    ------
    ModelError
        A tested channel does not occur in the result.

    Examples
    --------
    >>> import polars as pl
    >>> credit = pl.DataFrame({"channel": ["a", "b"], "conversions": [60.0, 40.0]})
    >>> tests = pl.DataFrame({"channel": ["a"], "incremental_conversions": [30.0],
    ...                       "lower": [20.0], "upper": [40.0]})
    >>> compare_lift_tests(credit, tests).select("channel", "difference", "ratio").rows()
    [('a', 30.0, 2.0)]
    """
    if channels not in ("tested", "all"):
        raise ModelError(f"channels must be 'tested' or 'all'; got {channels!r}.")
    credit, own = _log_answer(result)
    t = lift_tests_by_channel(
        tests,
        channel_col=channel_col,
        estimate_col=estimate_col,
        lower_col=lower_col,
        upper_col=upper_col,
    )
    _check_tested(t, credit)
    post = _calibrated(credit, own, t, "auto", 0.5, 0.3).select("channel", post_hoc="conversions")
    lift = credit.select("channel", model_lift="conversions") if own is None else own
    in_fit = pl.DataFrame(
        schema={"channel": pl.String, "in_fit": pl.Float64, "in_fit_lift": pl.Float64}
    )
    now = _own_lift(result)
    if isinstance(result, Attribution) and "log_only" in result.tables and now is not None:
        in_fit = (
            credit_frame(result)
            .select("channel", in_fit="conversions")
            .join(now.rename({"model_lift": "in_fit_lift"}), on="channel", how="left")
        )
    base = t if channels == "tested" else credit.select("channel").join(t, on="channel", how="left")
    return (
        base.join(credit.select("channel", credit="conversions"), on="channel", how="left")
        .join(lift, on="channel", how="left")
        .join(post, on="channel", how="left")
        .join(in_fit, on="channel", how="left")
        .with_columns(pl.col("model_lift").fill_null(0.0))
        .select(
            "channel",
            "periods",
            "credit",
            "test",
            "lower",
            "upper",
            difference=pl.col("credit") - pl.col("test"),
            ratio=pl.when(pl.col("test") != 0).then(pl.col("credit") / pl.col("test")),
            model_lift=pl.col("model_lift"),
            within_interval=(pl.col("model_lift") >= pl.col("lower"))
            & (pl.col("model_lift") <= pl.col("upper")),
            post_hoc=pl.col("post_hoc"),
            in_fit=pl.col("in_fit"),
            in_fit_lift=pl.col("in_fit_lift"),
        )
    )


def _log_answer(result: Attribution | pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Credit frame and own lift of what the log alone says.

    For a ``data_driven`` result fitted with lift tests that is its ``log_only`` table; for any
    other result, the result itself.
    """
    if isinstance(result, Attribution) and "log_only" in result.tables:
        log = result.tables["log_only"]
        credit = log.select("channel", "conversions", "revenue").with_columns(
            pl.col("conversions", "revenue").cast(pl.Float64)
        )
        own = log.filter(pl.col("channel") != BASELINE).select(
            "channel", model_lift=pl.col("removal_conversions").cast(pl.Float64)
        )
        return credit, own
    return credit_frame(result), _own_lift(result)


def calibrate(
    result: Attribution | pl.DataFrame,
    tests: FrameLike,
    *,
    remainder: Remainder = "auto",
    spread: float = 0.5,
    level_spread: float = 0.3,
    channel_col: str = "channel",
    estimate_col: str = "incremental_conversions",
    lower_col: str = "lower",
    upper_col: str = "upper",
) -> pl.DataFrame:
    """Calibrate an attribution: tested channels follow the experiments.

    Each tested channel is credited what the experiment says (its revenue scaled by the
    model's revenue per credited conversion of that channel). The conversions that remain go
    to the untested channels, in the model's proportions to each other, and to the baseline
    (conversions without touches plus, for ``data_driven``, the model's baseline). How much
    the untested channels get is the ``remainder`` rule:

    - ``remainder="level"`` (the default for ``data_driven``): an experiment measures the
      conversions lost without a channel, and the model has its own figure for that
      (:func:`compare_lift_tests`' ``model_lift``; for ``data_driven`` its removal effect,
      which is not its Shapley credit when effects overlap). A tested channel's credit is
      multiplied by ``test / model_lift``. The untested channels' credit is multiplied by the
      factor the tests agree on, :func:`level_factor`: the posterior mean of a common level
      under a prior centred on 1 (``level_spread``), each test's log ratio being that level
      plus the channel's own, heavy-tailed error (``spread``) and the test's noise. The
      untested channels move when the experiments agree that the model is off in level;
      tests that disagree cancel, and one test far off is read as that channel's own error;
    - ``remainder="scaled"`` (the default otherwise): tested channels get the test; the
      untested channels' credit is multiplied by the pooled ratio
      ``Σ tests / Σ model credit of the tested channels``. A path-based model gives the
      baseline conversions to channels, and the experiments show by how much;
    - ``remainder="proportional"``: tested channels get the test; the rest is shared in
      proportion to the model's credit, so the untested channels keep their proportions to
      each other *and* to the baseline;
    - ``remainder="baseline"``: tested channels get the test, untested channels keep the
      model's credit, and the baseline takes the difference.

    ``"level"``, ``"scaled"`` and ``"baseline"`` cap the untested channels at what remains
    (sharing it out in their proportions), and the baseline takes the rest.

    Parameters
    ----------
    result : Attribution or DataFrame
        A model's result or its ``channels`` frame.
    tests : frame
        Lift tests (module docstring).
    remainder : {"auto", "level", "scaled", "proportional", "baseline"}
        Where the conversions not fixed by tests go; ``"auto"`` is ``"level"`` for a result
        with a model lift of its own (``data_driven``), else ``"scaled"``.
    spread, level_spread : float
        ``"level"``: scale of a channel's own log error and prior standard deviation of the
        common log level (:func:`level_factor`).
    channel_col, estimate_col, lower_col, upper_col : str
        Column names of ``tests``.

    Returns
    -------
    DataFrame
        ``channel, conversions, revenue, share, model_conversions, calibrated`` (bool: set by a
        test), one row per channel plus ``"(baseline)"``; ``conversions`` sums to the model's
        total.

    Raises
    ------
    ModelError
        Tests name unknown channels, or the tested channels' calibrated credit adds up to more
        than all conversions.

    Examples
    --------
    >>> import polars as pl
    >>> credit = pl.DataFrame({"channel": ["a", "b", "c"], "conversions": [60.0, 30.0, 10.0]})
    >>> tests = pl.DataFrame({"channel": ["a"], "incremental_conversions": [20.0],
    ...                       "lower": [10.0], "upper": [30.0]})
    >>> calibrate(credit, tests)["conversions"].round(6).to_list()  # a, b, c, (baseline)
    [20.0, 10.0, 3.333333, 66.666667]
    >>> calibrate(credit, tests, remainder="proportional")["conversions"].to_list()
    [20.0, 60.0, 20.0, 0.0]
    """
    if remainder not in get_args(Remainder):
        raise ModelError(
            "remainder must be 'auto', 'level', 'scaled', 'proportional' or 'baseline'; got "
            f"{remainder!r}."
        )
    if not (spread > 0 and level_spread > 0):
        raise ModelError(
            f"spread and level_spread must be > 0; got {spread!r} and {level_spread!r}."
        )
    credit = credit_frame(result)
    t = lift_tests_by_channel(
        tests,
        channel_col=channel_col,
        estimate_col=estimate_col,
        lower_col=lower_col,
        upper_col=upper_col,
    )
    _check_tested(t, credit)
    return _calibrated(credit, _own_lift(result), t, remainder, spread, level_spread)


def _check_tested(t: pl.DataFrame, credit: pl.DataFrame) -> None:
    missing = sorted(set(t["channel"]) - set(credit["channel"]))
    if missing:
        raise ModelError(
            f"Lift tests name {len(missing)} channels the attribution does not have: {missing[:5]}."
        )


def _calibrated(
    credit: pl.DataFrame,
    own_lift: pl.DataFrame | None,
    t: pl.DataFrame,
    remainder: Remainder,
    spread: float,
    level_spread: float,
) -> pl.DataFrame:
    """:func:`calibrate` on a credit frame, the model's own lift (or none) and summed tests."""
    if remainder == "auto":
        remainder = "level" if own_lift is not None else "scaled"
    lift_frame = (
        credit.select("channel", model_lift="conversions") if own_lift is None else own_lift
    )
    df = credit.join(t.select("channel", "test", "lower", "upper"), on="channel", how="left").join(
        lift_frame, on="channel", how="left"
    )
    total = float(credit["conversions"].sum())
    t_mask = df["test"].is_not_null().to_numpy()
    model_conv = df["conversions"].to_numpy()
    model_rev = df["revenue"].to_numpy()
    test_vals = df["test"].fill_null(0.0).clip(lower_bound=0.0).to_numpy()
    lift = df["model_lift"].fill_null(0.0).to_numpy()
    is_base = (df["channel"] == BASELINE).to_numpy()
    conv = model_conv.copy()
    if remainder == "level":  # the test on the model's credit scale
        conv[t_mask] = np.where(
            lift[t_mask] > 0,
            model_conv[t_mask] * test_vals[t_mask] / np.maximum(lift[t_mask], 1e-300),
            test_vals[t_mask],
        )
    else:
        conv[t_mask] = test_vals[t_mask]
    fixed = float(conv[t_mask].sum())
    if fixed > total + 1e-9:
        raise ModelError(
            f"The lift tests add up to {fixed:g} incremental conversions (on the model's credit "
            f"scale), more than the {total:g} conversions attributed."
        )
    rest = max(total - fixed, 0.0)
    others = ~t_mask
    untested = others & ~is_base
    if remainder in ("level", "scaled", "baseline"):
        if remainder == "level":
            factor = level_factor(
                test_vals[t_mask],
                df["lower"].to_numpy()[t_mask],
                df["upper"].to_numpy()[t_mask],
                lift[t_mask],
                spread=spread,
                level_spread=level_spread,
            )
        elif remainder == "scaled":
            credited = model_conv[t_mask & ~is_base].sum()
            factor = fixed / credited if credited > 0 else 1.0
        else:
            factor = 1.0
        conv[untested] = model_conv[untested] * factor
        if conv[untested].sum() > rest:  # cannot exceed what is left: share it out
            conv[untested] *= rest / conv[untested].sum()
        conv[is_base] = rest - conv[untested].sum()
    else:  # proportional
        weight = model_conv[others].sum()
        conv[others] = (
            model_conv[others] * rest / weight if weight > 0 else rest / max(others.sum(), 1)
        )
    per_conv = np.divide(model_rev, model_conv, out=np.zeros_like(model_rev), where=model_conv > 0)
    rev = conv * per_conv
    return pl.DataFrame(
        {
            "channel": df["channel"],
            "conversions": conv,
            "revenue": rev,
            "share": conv / total if total > 0 else np.full(len(conv), np.nan),
            "model_conversions": model_conv,
            "calibrated": t_mask,
        }
    ).with_columns(pl.col("share").fill_nan(None))
