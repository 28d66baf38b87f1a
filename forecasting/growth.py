"""Growth figures: CAGR (two values, a series, a forecast), period-over-period growth, targets.

Conventions shared by every function here
-----------------------------------------
* Series are long frames, one row per series and period: ``series_id, date, value`` by default
  (every column name is a parameter). Dates may be ``Date``, ``Datetime`` or text the base
  layer reads (``2024-03-01``, ``2024-03-01T00:00:00Z``, ``2024-03``; see
  :func:`forecasting.series.read_dates`); a date labels the *start* of its period
  (``2024-03-01`` is March 2024), as ``dt.truncate`` gives.
* Time is measured in *calendar years*: a date's position is its decimal year
  ``year + (month − 1 + (day − 1) / days_in_month) / 12``, so month, quarter and year starts
  are exactly 1/12, 1/4 and 1 apart (a monthly series from 2020-01-01 to 2023-01-01 spans
  exactly 3 years) and days within a month are spread evenly.
* The period length (``freq``: ``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, multiples,
  or pandas aliases such as ``"MS"``) is inferred from the most common step between
  consecutive dates (:func:`attribution._base.periods.infer_freq`) when it is not given; it is
  needed only where a period's end matters (full years, trailing-year windows).
* Undefined rates (a start or end value ≤ 0, a span of 0 years, too few points) are null, never
  infinite or NaN; bad input (missing columns, dates that are not dates, duplicated periods)
  raises the package's own errors.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from attribution._base.errors import ValidationError, describe_rows
from attribution._base.frames import (
    ROW,
    FrameLike,
    as_list,
    check_columns,
    numeric_expr,
    to_lazy,
)
from attribution._base.periods import FreqLike, Period, as_period, infer_freq
from attribution._base.time import parse_date
from forecasting.series import read_dates

__all__ = [
    "cagr",
    "cagr_forecast",
    "cagr_series",
    "pop",
    "target_progress",
    "yoy",
]

_D = "__date"
_V = "__value"


def cagr(start: float, end: float, years: float) -> float:
    """Compound annual growth rate: ``(end / start) ** (1 / years) - 1``.

    Parameters
    ----------
    start, end : float
        Values at the start and the end of the span; both must be > 0.
    years : float
        Length of the span in years (> 0; fractions allowed).

    Returns
    -------
    float
        The yearly rate as a fraction (0.26 is 26 % a year).

    Raises
    ------
    ValidationError
        A non-positive value or span, where the rate is undefined.

    Examples
    --------
    Sales from 1,000 € to 2,000 € in three years (the seed example):

    >>> round(cagr(1000, 2000, years=3), 4)
    0.2599
    """
    for name, v in (("start", start), ("end", end), ("years", years)):
        number = isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
        if not (number and math.isfinite(v) and v > 0):
            raise ValidationError(f"cagr: {name} must be a finite number > 0; got {v!r}.")
    start, end, years = float(start), float(end), float(years)
    try:
        rate = (end / start) ** (1.0 / years) - 1.0
    except OverflowError:
        rate = math.inf
    if not math.isfinite(rate):
        raise ValidationError(
            f"cagr: growing from {start!r} to {end!r} in {years!r} years is a rate beyond the "
            "largest float; check the values and the span."
        )
    return float(rate)


# ---------------------------------------------------------------------------------------------
# shared helpers


def _prepare(
    frame: FrameLike,
    *,
    what: str,
    keys: list[str],
    date_col: str,
    values: dict[str, str],
) -> pl.LazyFrame:
    """Select ``keys``, ``__date`` and the value columns (renamed) with checked types.

    Null or unreadable dates raise; duplicated ``(keys, date)`` rows raise. Values stay
    nullable (callers decide what a null means).
    """
    one = (date_col, next(iter(values)), None) if not keys and len(values) == 1 else None
    lf = to_lazy(frame, what=what, series=one)
    schema = lf.collect_schema()
    check_columns(schema, [*keys, date_col, *values], what)
    exprs = [pl.col(k) for k in keys]
    exprs.append(read_dates(lf, date_col, what=what).alias(_D))
    for src, dst in values.items():
        rule = "a number"
        exprs.append(numeric_expr(lf, src, schema[src], rule).alias(dst))
    out = lf.select(*exprs)
    bad = (
        out.with_row_index(ROW)
        .filter(pl.col(_D).is_null())
        .select(ROW, pl.len().alias("n"))
        .head(6)
        .collect()
    )
    if bad.height:
        rows = describe_rows(bad[ROW].to_list(), total=bad["n"][0])
        raise ValidationError(
            f"Column {date_col!r} of the {what} has {bad['n'][0]} null dates ({rows}); every "
            "row needs a date."
        )
    dup = (
        out.group_by([*keys, _D])
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") > 1)
        .with_columns(pl.len().alias("total"))
        .sort([*keys, _D])
        .head(3)
        .collect()
    )
    if dup.height:
        keyname = ", ".join([*keys, date_col])
        shown = ", ".join(
            "(" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in r) + ")"
            for r in dup.select([*keys, _D]).rows()
        )
        hint = "" if keys else " (pass by= / id_col= when the frame holds several series)"
        raise ValidationError(
            f"The {what} has {dup['total'][0]} duplicated ({keyname}) pairs: {shown}; each "
            f"series needs one row per period{hint}."
        )
    return out


def decimal_year(date: pl.Expr) -> pl.Expr:
    """Position of a date in calendar years (see the module notes); a pure expression."""
    days = date.dt.month_end().dt.day().cast(pl.Float64)
    frac = date.dt.month().cast(pl.Float64) - 1.0 + (date.dt.day().cast(pl.Float64) - 1.0) / days
    return date.dt.year().cast(pl.Float64) + frac / 12.0


def _period(freq: FreqLike | None, lf: pl.LazyFrame, keys: list[str]) -> Period:
    """Read ``freq``, or infer the period from the dates of each series."""
    if freq is not None:
        return as_period(freq)
    dates = lf.select(*keys, _D).collect()
    ids = dates.select(pl.struct(keys)).to_series() if keys else None
    return infer_freq(dates[_D], ids)


def _rate(end: pl.Expr, start: pl.Expr, years: pl.Expr) -> pl.Expr:
    """``(end / start) ** (1 / years) - 1``, null where undefined or beyond the largest float."""
    ok = (start > 0) & (end > 0) & (years > 0)
    rate = (end / start).pow(1.0 / years) - 1.0
    return pl.when(ok & rate.is_finite()).then(rate).otherwise(None)


def _group(lf: pl.LazyFrame, keys: list[str], *aggs: pl.Expr) -> pl.LazyFrame:
    if keys:
        return lf.group_by(keys).agg(*aggs)
    return lf.select(*aggs)


# ---------------------------------------------------------------------------------------------
# CAGR of a series


def cagr_series(
    frame: FrameLike,
    *,
    date_col: str = "date",
    value_col: str = "value",
    by: str | Sequence[str] | None = None,
    method: Literal["endpoints", "annual", "loglinear"] = "endpoints",
    freq: FreqLike | None = None,
) -> pl.DataFrame:
    """Compound annual growth rate of each series over its whole span.

    Parameters
    ----------
    frame
        Long frame (or path) with a date column, a value column and optionally ``by`` columns.
        Rows with a null value are ignored.
    date_col, value_col : str
        Column names.
    by : str or sequence of str, optional
        Columns identifying a series (e.g. ``"series_id"`` or ``["market", "channel"]``);
        ``None`` treats the frame as one series.
    method : {"endpoints", "annual", "loglinear"}
        * ``"endpoints"``: first and last period's values, years between their dates.
        * ``"annual"``: totals of the first and last *full* calendar years, years between
          them (whole years). A year is full when it holds at least the periods a year has
          (12 months, 4 quarters, 52 weeks, 365 days) and the data reach within one period of
          both of its ends. Seasonal or noisy periods matter less than with endpoints.
        * ``"loglinear"``: ordinary least squares of ``log(value)`` on time in years; the rate
          is ``exp(slope) - 1``, using every period, so one unusual endpoint moves it little.
          Null when any value is ≤ 0.
    freq : str or Period, optional
        Period length (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, ``"MS"``...), used by
        ``"annual"``; inferred from the dates when not given.

    Returns
    -------
    DataFrame
        One row per series: the ``by`` columns, ``method``, ``start_date``, ``end_date``,
        ``years`` (Float64), ``start_value``, ``end_value`` (observed values for endpoints,
        yearly totals for annual with dates the 1st of January of those years, fitted values
        for loglinear), ``n_periods`` (points used: periods, or full years for annual) and
        ``cagr`` = ``(end_value / start_value) ** (1 / years) - 1``, null where undefined.

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.DataFrame({"date": ["2021-01-01", "2022-01-01", "2023-01-01", "2024-01-01"],
    ...                   "value": [1000.0, 1100.0, 1400.0, 2000.0]})
    >>> round(cagr_series(s)["cagr"][0], 4)
    0.2599
    >>> round(cagr_series(s, method="loglinear")["cagr"][0], 4)
    0.2612
    """
    keys = as_list(by)
    if method not in ("endpoints", "annual", "loglinear"):
        raise ValidationError(
            f"method must be 'endpoints', 'annual' or 'loglinear'; got {method!r}."
        )
    lf = _prepare(frame, what="series", keys=keys, date_col=date_col, values={value_col: _V})
    lf = lf.filter(pl.col(_V).is_not_null())
    t = decimal_year(pl.col(_D))
    if method == "endpoints":
        out = _group(
            lf.sort(_D),
            keys,
            pl.col(_D).first().alias("start_date"),
            pl.col(_D).last().alias("end_date"),
            pl.col(_V).first().alias("start_value"),
            pl.col(_V).last().alias("end_value"),
            pl.len().cast(pl.Int64).alias("n_periods"),
        ).with_columns(
            (decimal_year(pl.col("end_date")) - decimal_year(pl.col("start_date"))).alias("years")
        )
    elif method == "annual":
        period = _period(freq, lf, keys)
        step = period.step
        years = (
            lf.with_columns(pl.col(_D).dt.year().alias("__year"))
            .group_by([*keys, "__year"])
            .agg(
                pl.col(_V).sum().alias("__total"),
                pl.len().alias("__n"),
                pl.col(_D).min().alias("__lo"),
                pl.col(_D).max().alias("__hi"),
            )
            .with_columns(
                pl.date(pl.col("__year"), 1, 1).alias("__jan1"),
                pl.date(pl.col("__year") + 1, 1, 1).alias("__next"),
            )
            .filter(
                (pl.col("__n") >= period.per_year)
                & (pl.col("__lo") < pl.col("__jan1").dt.offset_by(step))
                & (pl.col("__hi").dt.offset_by(step) > pl.col("__next").dt.offset_by(f"-{step}"))
            )
            .sort("__year")
        )
        out = _group(
            years,
            keys,
            pl.col("__jan1").first().alias("start_date"),
            pl.col("__jan1").last().alias("end_date"),
            pl.col("__total").first().alias("start_value"),
            pl.col("__total").last().alias("end_value"),
            pl.len().cast(pl.Int64).alias("n_periods"),
            (pl.col("__year").last() - pl.col("__year").first()).cast(pl.Float64).alias("years"),
        )
        if keys:  # series without any full year still get a row (null rate)
            out = lf.select(keys).unique().join(out, on=keys, how="left", nulls_equal=True)
            out = out.with_columns(pl.col("n_periods").fill_null(0))
    else:
        y = pl.when(pl.col(_V) > 0).then(pl.col(_V).log()).otherwise(None)
        pts = lf.with_columns(t.alias("__t"), y.alias("__y"))
        tc = pl.col("__t") - pl.col("__t").mean()
        yc = pl.col("__y") - pl.col("__y").mean()
        fit = _group(
            pts,
            keys,
            pl.col(_D).min().alias("start_date"),
            pl.col(_D).max().alias("end_date"),
            pl.len().cast(pl.Int64).alias("n_periods"),
            pl.col("__y").null_count().alias("__bad"),
            pl.col("__t").min().alias("__t0"),
            pl.col("__t").max().alias("__t1"),
            pl.col("__t").mean().alias("__tm"),
            pl.col("__y").mean().alias("__ym"),
            (tc * yc).sum().alias("__sxy"),
            (tc * tc).sum().alias("__sxx"),
        )
        slope = pl.col("__sxy") / pl.col("__sxx")
        ok = (pl.col("__bad") == 0) & (pl.col("n_periods") >= 2) & (pl.col("__sxx") > 0)
        at = [
            (pl.col("__ym") + slope * (pl.col(c) - pl.col("__tm"))).exp() for c in ("__t0", "__t1")
        ]
        out = fit.with_columns(
            pl.when(ok).then(at[0]).otherwise(None).alias("start_value"),
            pl.when(ok).then(at[1]).otherwise(None).alias("end_value"),
            (pl.col("__t1") - pl.col("__t0")).alias("years"),
            pl.when(ok & slope.exp().is_finite())
            .then(slope.exp() - 1.0)
            .otherwise(None)
            .alias("__slope_rate"),
        )
    out = out.with_columns(
        pl.lit(method).alias("method"),
        (
            pl.col("__slope_rate")
            if method == "loglinear"
            else _rate(pl.col("end_value"), pl.col("start_value"), pl.col("years"))
        ).alias("cagr"),
    )
    cols = [
        *keys,
        "method",
        "start_date",
        "end_date",
        "years",
        "start_value",
        "end_value",
        "n_periods",
        "cagr",
    ]
    result = out.select(cols).collect()
    return result.sort(keys, nulls_last=True) if keys else result


# ---------------------------------------------------------------------------------------------
# CAGR of a forecast


def cagr_forecast(
    forecast: FrameLike,
    history: FrameLike,
    *,
    window: int = 12,
    paths: FrameLike | None = None,
    id_col: str = "series_id",
    date_col: str = "date",
    model_col: str = "model",
    mean_col: str = "mean",
    value_col: str = "value",
    sample_col: str = "sample",
    levels: Sequence[int] | None = None,
) -> pl.DataFrame:
    """CAGR from the last ``window`` periods of history to the last ``window`` forecast periods.

    With monthly data and ``window=12`` this is the growth from the last 12 observed months
    to the last 12 forecast months (with a 24-month forecast: two years of growth). The span
    in years runs from the first period of the history window to the first period of the
    forecast window.

    Parameters
    ----------
    forecast
        Forecast frame ``series_id, date, model, mean, lo-80, hi-80, lo-95, hi-95`` (one
        ``lo-L``/``hi-L`` pair per level), as :func:`forecasting.forecast` returns. Without a
        ``model`` column the frame is one model.
    history
        Observed series ``series_id, date, value``.
    window : int
        Periods summed at each end (12 for months: annual totals; 1: single periods).
    paths : frame, optional
        Simulated sample paths of the forecast, ``series_id, [model,] date, sample, value``
        (``sample`` numbers a path). When given, the interval comes from the quantiles of the
        CAGR over paths, which accounts for how errors of different periods co-move.
    id_col, date_col, model_col, mean_col, value_col, sample_col : str
        Column names (``value_col`` is used by ``history`` and ``paths``).
    levels : sequence of int, optional
        Interval levels; by default every ``lo-L``/``hi-L`` pair found in ``forecast`` (with
        ``paths``: 80 and 95 when the forecast has no bounds).

    Returns
    -------
    DataFrame
        One row per series and model: ``series_id``, ``model``, ``base_start``,
        ``forecast_start`` (first dates of both windows), ``years``, ``base_value`` (history
        total), ``forecast_value`` (total of ``mean``), ``cagr`` and for each level ``L``
        ``cagr-lo-L`` and ``cagr-hi-L``, plus ``interval`` (``"summed_bounds"`` or
        ``"paths"``). Rates are null where a total is ≤ 0.

    Notes
    -----
    Without paths the bounds are the CAGR of the *summed* per-period bounds. That is
    conservative (too wide) whenever each bound is mean ∓ z·sd: the standard deviation of a
    sum is at most the sum of the standard deviations (equal only when the errors of all
    periods are perfectly correlated), so the summed bounds contain the interval of the total.
    For skewed per-period intervals this is a good approximation rather than a guarantee.
    Sample paths give the interval of the total directly.

    Examples
    --------
    >>> import polars as pl
    >>> hist = pl.DataFrame({"series_id": "a", "date": ["2024-01-01"], "value": [100.0]})
    >>> fc = pl.DataFrame({"series_id": "a", "date": ["2025-01-01"], "model": "ets",
    ...     "mean": [110.0], "lo-80": [100.0], "hi-80": [121.0]})
    >>> cagr_forecast(fc, hist, window=1).select("years", "cagr", "cagr-lo-80", "cagr-hi-80").row(0)
    (1.0, 0.10000000000000009, 0.0, 0.20999999999999996)
    """
    if not (isinstance(window, int) and window >= 1):
        raise ValidationError(f"window must be a whole number of periods ≥ 1; got {window!r}.")
    f_lf = to_lazy(forecast, what="forecast")
    f_schema = f_lf.collect_schema()
    has_model = model_col in f_schema
    if levels is None:
        found = sorted(
            int(c[3:])
            for c in f_schema.names()
            if c.startswith("lo-") and c[3:].isdigit() and f"hi-{c[3:]}" in f_schema
        )
        levels = found if (found or paths is None) else [80, 95]
    levels = [int(v) for v in levels]
    for lv in levels:
        if not 0 < lv < 100:
            raise ValidationError(f"levels must be between 0 and 100; got {lv!r}.")
    keys = [id_col, *([model_col] if has_model else [])]
    bound_cols = (
        {}
        if paths is not None
        else {f"{b}-{lv}": f"{b}-{lv}" for lv in levels for b in "lo hi".split()}
    )
    fc = _prepare(
        f_lf,
        what="forecast",
        keys=keys,
        date_col=date_col,
        values={mean_col: "mean", **bound_cols},
    )
    hist = _prepare(
        history, what="history", keys=[id_col], date_col=date_col, values={value_col: _V}
    )

    def last_window(lf: pl.LazyFrame, by: list[str], what: str) -> pl.LazyFrame:
        ranked = lf.with_columns(
            pl.col(_D).rank("ordinal", descending=True).over(by).alias("__rank"),
            pl.len().over(by).alias("__n"),
        )
        short = ranked.filter(pl.col("__n") < window).select(*by, "__n").unique().sort(by)
        short_df = short.head(4).collect()
        if short_df.height:
            shown = ", ".join(f"{r[0]!r} ({r[-1]} periods)" for r in short_df.rows())
            raise ValidationError(
                f"The {what} is shorter than window={window} periods for {shown}; pass a "
                "smaller window or a longer series."
            )
        return ranked.filter(pl.col("__rank") <= window)

    base = _group(
        last_window(hist, [id_col], "history"),
        [id_col],
        pl.col(_D).min().alias("base_start"),
        pl.col(_V).sum().alias("base_value"),
    )
    sums = [pl.col(c).sum() for c in bound_cols]
    ahead = _group(
        last_window(fc, keys, "forecast"),
        keys,
        pl.col(_D).min().alias("forecast_start"),
        pl.col("mean").sum().alias("forecast_value"),
        *sums,
    )
    missing = ahead.join(base, on=id_col, how="anti").select(id_col).unique().head(4).collect()
    if missing.height:
        raise ValidationError(
            f"The history has no rows for series {', '.join(map(repr, missing[id_col]))} of the "
            "forecast; CAGR needs both."
        )
    out = ahead.join(base, on=id_col, how="inner").with_columns(
        (decimal_year(pl.col("forecast_start")) - decimal_year(pl.col("base_start"))).alias("years")
    )
    rate = {"cagr": _rate(pl.col("forecast_value"), pl.col("base_value"), pl.col("years"))}
    if paths is None:
        for lv in levels:
            for s in ("lo", "hi"):
                rate[f"cagr-{s}-{lv}"] = _rate(
                    pl.col(f"{s}-{lv}"), pl.col("base_value"), pl.col("years")
                )
        out = out.with_columns(**rate, interval=pl.lit("summed_bounds"))
    else:
        out = out.with_columns(**rate)
        out = _path_intervals(out, paths, keys, levels, date_col, value_col, sample_col)
    if not has_model:
        out = out.with_columns(pl.lit(None, pl.String).alias("model"))
        model_col_out = "model"
    else:
        model_col_out = model_col
    cols = [
        id_col,
        model_col_out,
        "base_start",
        "forecast_start",
        "years",
        "base_value",
        "forecast_value",
        "cagr",
        *[f"cagr-{s}-{lv}" for lv in levels for s in ("lo", "hi")],
        "interval",
    ]
    return out.select(cols).sort(id_col, model_col_out).collect()


def _path_intervals(
    out: pl.LazyFrame,
    paths: FrameLike,
    keys: list[str],
    levels: list[int],
    date_col: str,
    value_col: str,
    sample_col: str,
) -> pl.LazyFrame:
    """Quantiles of the CAGR over sample paths, summed over each forecast window."""
    p_lf = to_lazy(paths, what="sample paths")
    p_keys = [k for k in keys if k in p_lf.collect_schema()] + [sample_col]
    p = _prepare(p_lf, what="sample paths", keys=p_keys, date_col=date_col, values={value_col: _V})
    win = out.select(*keys, "forecast_start", "base_value", "years")
    join_on = [k for k in keys if k in p_keys]
    totals = (
        p.join(win, on=join_on, how="inner")
        .filter(pl.col(_D) >= pl.col("forecast_start"))
        .group_by([*keys, sample_col])
        .agg(
            pl.col(_V).sum().alias("__s"),
            pl.col("base_value").first(),
            pl.col("years").first(),
        )
        .with_columns(
            # a total ≤ 0 is a loss of everything: the rate's limit, −100 %
            pl.when(pl.col("__s") > 0)
            .then(_rate(pl.col("__s"), pl.col("base_value"), pl.col("years")))
            .otherwise(pl.when(pl.col("base_value") > 0).then(-1.0))
            .alias("__r")
        )
    )
    qs = []
    for lv in levels:
        a = (1 - lv / 100) / 2
        qs.append(pl.col("__r").quantile(a, interpolation="linear").alias(f"cagr-lo-{lv}"))
        qs.append(pl.col("__r").quantile(1 - a, interpolation="linear").alias(f"cagr-hi-{lv}"))
    q = totals.group_by(keys).agg(*qs)
    return out.join(q, on=keys, how="left").with_columns(interval=pl.lit("paths"))


# ---------------------------------------------------------------------------------------------
# period-over-period growth


def pop(
    frame: FrameLike,
    *,
    offset: FreqLike | None = None,
    id_col: str | Sequence[str] | None = "series_id",
    date_col: str = "date",
    value_col: str = "value",
) -> pl.DataFrame | pl.LazyFrame:
    """Period-over-period growth: each value against the previous period's.

    Parameters
    ----------
    frame
        Long series frame ``series_id, date, value`` (a LazyFrame gives a LazyFrame back).
    offset : str or Period, optional
        Calendar distance to the compared period, a period (``"1mo"``, ``"3mo"``, ``"1w"``,
        ``"1y"``, or an alias such as ``"MS"``; a leading ``-`` compares with a later
        period). The period at exactly ``date − offset`` is looked up, so a
        missing period gives null. ``None`` compares with the series' previous row.
    id_col : str or sequence of str, optional
        Column(s) identifying a series; ``None`` for a frame holding a single series.
    date_col, value_col : str
        Column names.

    Returns
    -------
    DataFrame or LazyFrame
        ``series_id, date, value, previous, growth`` sorted by series and date, where
        ``growth = (value − previous) / |previous|`` (``value / previous − 1`` for positive
        values) and null where the previous value is 0, null or missing.

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.DataFrame({"series_id": "a", "value": [100.0, 110.0, 0.0, 5.0],
    ...     "date": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]})
    >>> pop(s)["growth"].to_list()
    [None, 0.1, -1.0, None]
    """
    keys = as_list(id_col)
    lazy = isinstance(frame, pl.LazyFrame)
    lf = _prepare(frame, what="series", keys=keys, date_col=date_col, values={value_col: _V})
    if offset is None:
        prev = pl.col(_V).shift(1)
        with_prev = lf.sort([*keys, _D]).with_columns(
            (prev.over(keys) if keys else prev).alias("previous")
        )
    else:
        back = _back(offset)
        earlier = lf.select(*keys, pl.col(_D).alias("__prev_date"), pl.col(_V).alias("previous"))
        with_prev = (
            lf.with_columns(pl.col(_D).dt.offset_by(back).alias("__prev_date"))
            .join(earlier, on=[*keys, "__prev_date"], how="left", nulls_equal=True)
            .sort([*keys, _D])
        )
    p = pl.col("previous")
    growth = pl.when(p.is_not_null() & (p != 0)).then((pl.col(_V) - p) / p.abs()).otherwise(None)
    out = with_prev.select(
        *keys,
        pl.col(_D).alias(date_col),
        pl.col(_V).alias(value_col),
        p,
        growth.alias("growth"),
    )
    return out if lazy else out.collect()


def _back(offset: FreqLike) -> str:
    """Spell the Polars duration from a period back to the one ``offset`` earlier."""
    later = isinstance(offset, str) and offset.strip().startswith("-")
    spelled = offset.strip().removeprefix("-") if isinstance(offset, str) else offset
    try:
        step = as_period(spelled).step
    except ValidationError:
        raise ValidationError(
            f"offset {offset!r} is not a period; expected one such as '1d', '1w', '1mo', "
            "'3mo', '1y' (or 'MS', 'W', 'month'), or None."
        ) from None
    return step if later else f"-{step}"


def yoy(
    frame: FrameLike,
    *,
    id_col: str | Sequence[str] | None = "series_id",
    date_col: str = "date",
    value_col: str = "value",
) -> pl.DataFrame | pl.LazyFrame:
    """Year-over-year growth: each value against the same period one calendar year earlier.

    :func:`pop` with ``offset="1y"``: works for daily, weekly-by-date, monthly and quarterly
    series alike; a period whose year-earlier period is absent, zero or null gets null.

    Returns
    -------
    DataFrame or LazyFrame
        ``series_id, date, value, previous, growth`` (see :func:`pop`).

    Examples
    --------
    >>> import polars as pl
    >>> s = pl.DataFrame({"series_id": "a", "value": [100.0, 50.0, 120.0],
    ...     "date": ["2023-01-01", "2023-02-01", "2024-01-01"]})
    >>> yoy(s)["growth"].to_list()
    [None, None, 0.2]
    """
    return pop(frame, offset="1y", id_col=id_col, date_col=date_col, value_col=value_col)


# ---------------------------------------------------------------------------------------------
# progress toward a growth target


def target_progress(
    actual: FrameLike,
    *,
    target_growth: float,
    years: int,
    start: str | dt.date,
    baseline: float | None = None,
    forecast: FrameLike | None = None,
    by: str | Sequence[str] | None = None,
    date_col: str = "date",
    value_col: str = "value",
    forecast_col: str = "mean",
    freq: FreqLike | None = None,
) -> pl.DataFrame:
    """Progress toward a growth target such as "sales +20 % in a market within three years".

    The target compares yearly totals: the *baseline* year is the year before ``start``
    (``[start − 1y, start)``) and the *target* year is the last year of the horizon
    (``[start + years − 1y, start + years)``); the target is met when the target year's total
    reaches ``baseline × (1 + target_growth)``. Progress so far compares the trailing year of
    actuals (the last 12 months, 4 quarters... up to the last actual period) with the baseline.

    Parameters
    ----------
    actual
        Observed series (``[by...,] date, value``), periods labelled by their start date.
    target_growth : float
        Growth of the yearly total over the horizon (0.2 for +20 %); > −1.
    years : int
        Horizon in years (≥ 1).
    start : date or ISO text
        First day of the horizon (the day after the baseline year ends).
    baseline : float, optional
        Baseline yearly total; by default the total of the actuals in the baseline year.
    forecast : frame, optional
        Forecast of the same series (``[by...,] date, mean``); its periods after the last
        actual one extend the actuals to project the target year.
    by : str or sequence of str, optional
        Columns identifying a series (e.g. market); ``None`` for a single series.
    date_col, value_col, forecast_col : str
        Column names (``forecast_col`` in ``forecast``).
    freq : str or Period, optional
        Period length (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, ``"MS"``...);
        inferred from the actual dates when not given.

    Returns
    -------
    DataFrame
        One row per series: ``by`` columns, ``baseline``, ``target_value``
        (baseline × (1 + target_growth)), ``required_cagr`` ((1 + g)^(1/years) − 1), ``as_of``
        (last actual period), ``elapsed_years`` (from the end of the baseline year to the end
        of the trailing year), ``current_value`` (trailing-year total), ``achieved_growth``
        (current / baseline − 1), ``achieved_cagr`` (that growth per year, null until time has
        elapsed), ``required_value_now`` (baseline × (1 + required_cagr)^elapsed),
        ``on_track`` (current_value ≥ required_value_now), ``projection`` (``"actual"`` when
        the target year has been observed, ``"forecast"`` when actuals plus forecast cover
        it, otherwise ``"extrapolation"`` at the achieved CAGR), ``projected_value``,
        ``projected_growth``, ``attainment`` (projected_growth / target_growth: 1.0 meets the
        target exactly; null when the target growth is 0) and ``projected_on_track``
        (projected_value ≥ target_value).

    Examples
    --------
    Baseline 2023: 1,000; target +20 % by 2026; 2024 closed at 1,080 (8 % in one year, above
    the 6.27 % a year required):

    >>> import polars as pl
    >>> s = pl.DataFrame({"date": ["2023-01-01", "2024-01-01"], "value": [1000.0, 1080.0]})
    >>> r = target_progress(s, target_growth=0.2, years=3, start="2024-01-01")
    >>> r.select("required_cagr", "achieved_cagr", "on_track").row(0)  # doctest: +ELLIPSIS
    (0.0626..., 0.08..., True)
    >>> round(r["projected_value"][0], 1), round(r["attainment"][0], 3)
    (1259.7, 1.299)
    """
    if not (isinstance(target_growth, int | float) and math.isfinite(target_growth)):
        raise ValidationError(f"target_growth must be a finite number; got {target_growth!r}.")
    if target_growth <= -1:
        raise ValidationError(
            f"target_growth must be > -1 (a fall of less than 100 %); got {target_growth!r}."
        )
    if not (isinstance(years, int) and not isinstance(years, bool) and years >= 1):
        raise ValidationError(f"years must be a whole number ≥ 1; got {years!r}.")
    if baseline is not None and not (
        isinstance(baseline, int | float) and math.isfinite(baseline) and baseline > 0
    ):
        raise ValidationError(f"baseline must be a finite number > 0 or None; got {baseline!r}.")
    start_d = parse_date(start, name="start")
    keys = as_list(by)
    act = _prepare(
        actual, what="actual series", keys=keys, date_col=date_col, values={value_col: _V}
    )
    act = act.filter(pl.col(_V).is_not_null())
    period = _period(freq, act, keys)
    step = period.step
    g = float(target_growth)
    required = (1.0 + g) ** (1.0 / years) - 1.0
    base_lo = pl.lit(start_d).dt.offset_by("-1y")
    end_d = pl.lit(start_d).dt.offset_by(f"{years}y")
    target_lo = end_d.dt.offset_by("-1y")

    last = _group(act, keys, pl.col(_D).max().alias("as_of"))
    a = (
        act.join(last, on=keys, how="inner", nulls_equal=True)
        if keys
        else act.join(last, how="cross")
    )
    window_lo = pl.col("as_of").dt.offset_by(step).dt.offset_by("-1y")
    in_base = (pl.col(_D) >= base_lo) & (pl.col(_D) < pl.lit(start_d))
    in_trail = (pl.col(_D) >= window_lo) & (pl.col(_D) <= pl.col("as_of"))
    summary = _group(
        a,
        keys,
        pl.col("as_of").first(),
        pl.col(_V).filter(in_base).sum().alias("__base_obs"),
        pl.col(_V).filter(in_base).len().alias("__base_n"),
        pl.col(_V).filter(in_trail).sum().alias("current_value"),
    )
    if baseline is None:
        base_expr = pl.when(pl.col("__base_n") > 0).then(pl.col("__base_obs")).otherwise(None)
    else:
        base_expr = pl.lit(float(baseline))

    # the target year's total from actuals, extended by forecast periods after the last actual
    combined = a.select(*keys, _D, _V, "as_of")
    if forecast is not None:
        fc = _prepare(
            forecast, what="forecast", keys=keys, date_col=date_col, values={forecast_col: _V}
        )
        fc = (
            fc.join(last, on=keys, how="inner", nulls_equal=True)
            if keys
            else fc.join(last, how="cross")
        )
        combined = pl.concat([combined, fc.filter(pl.col(_D) > pl.col("as_of"))], how="diagonal")
    in_target = (pl.col(_D) >= target_lo) & (pl.col(_D) < end_d)
    target_year = _group(
        combined.filter(in_target),
        keys,
        pl.col(_V).sum().alias("__target_total"),
        pl.len().alias("__target_n"),
        pl.col(_D).min().alias("__target_min"),
        pl.col(_D).max().alias("__target_max"),
    )
    covered = (
        (pl.col("__target_n") >= period.per_year)
        & (pl.col("__target_min") < target_lo.dt.offset_by(step))
        & (pl.col("__target_max").dt.offset_by(step) > end_d.dt.offset_by(f"-{step}"))
    ).fill_null(False)
    if keys:
        s = summary.join(target_year, on=keys, how="left", nulls_equal=True)
    else:
        s = summary.join(target_year, how="cross")
    elapsed = decimal_year(pl.col("as_of").dt.offset_by(step)) - decimal_year(pl.lit(start_d))
    s = s.with_columns(base_expr.alias("baseline"), elapsed.alias("elapsed_years")).with_columns(
        (pl.col("baseline") * (1.0 + g)).alias("target_value"),
        pl.lit(required).alias("required_cagr"),
        (pl.col("current_value") / pl.col("baseline") - 1.0).alias("achieved_growth"),
        _rate(pl.col("current_value"), pl.col("baseline"), pl.col("elapsed_years")).alias(
            "achieved_cagr"
        ),
        (pl.col("baseline") * (1.0 + required) ** pl.col("elapsed_years")).alias(
            "required_value_now"
        ),
    )
    observed = pl.col("as_of").dt.offset_by(step) >= end_d
    s = s.with_columns(
        (pl.col("current_value") >= pl.col("required_value_now")).alias("on_track"),
        pl.when(covered & observed)
        .then(pl.lit("actual"))
        .when(covered)
        .then(pl.lit("forecast"))
        .otherwise(pl.lit("extrapolation"))
        .alias("projection"),
    ).with_columns(
        pl.when(pl.col("projection") != "extrapolation")
        .then(pl.col("__target_total"))
        .otherwise(pl.col("baseline") * (1.0 + pl.col("achieved_cagr")) ** years)
        .alias("projected_value")
    )
    s = s.with_columns(
        (pl.col("projected_value") / pl.col("baseline") - 1.0).alias("projected_growth"),
    ).with_columns(
        (pl.col("projected_growth") / g if g != 0 else pl.lit(None, pl.Float64)).alias(
            "attainment"
        ),
        (pl.col("projected_value") >= pl.col("target_value")).alias("projected_on_track"),
    )
    cols = [
        *keys,
        "baseline",
        "target_value",
        "required_cagr",
        "as_of",
        "elapsed_years",
        "current_value",
        "achieved_growth",
        "achieved_cagr",
        "required_value_now",
        "on_track",
        "projection",
        "projected_value",
        "projected_growth",
        "attainment",
        "projected_on_track",
    ]
    out = s.select(cols).collect()
    return out.sort(keys, nulls_last=True) if keys else out
