"""Dated series in the long format: from any dated frame, or from an attribution result.

The long format follows statsforecast: one row per series and period, with columns
``series_id`` (String), ``date`` (Date) and ``value`` (Float64); every column name is a
parameter. Periods with no rows are **filled explicitly** (0 by default: no conversions that
month), so a series has one row per period from its start to its end.

Dates and periods are read by the base layer, as everywhere in the project: date columns by
:func:`read_dates` (Date, Datetime, ISO text with ``Z`` or offsets, which keeps the date
written in it, ``YYYY-MM``, ``YYYYMMDD``...), periods by
:func:`attribution._base.periods.as_period` (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``,
multiples such as ``"2w"``, and the pandas aliases ``"D"``, ``"W"``, ``"MS"``, ``"M"``,
``"ME"``, ``"QS"``, ``"Y"``). A date belongs to the period that starts at its truncation
(weeks start on Monday, months on the 1st).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from attribution._base.errors import EmptyInputError, ModelError, ValidationError
from attribution._base.frames import (
    ROW,
    FrameLike,
    Rule,
    check_columns,
    check_rules,
    numeric_expr,
    to_lazy,
)
from attribution._base.periods import FreqLike, as_period
from attribution._base.time import calendar_numbers, parse_date, parse_dates

if TYPE_CHECKING:
    from attribution.journeys import Journeys

__all__ = [
    "period_numbers",
    "read_dates",
    "read_periods",
    "season_length",
    "series_from_attribution",
    "to_series",
]


#: Integer times below this are period numbers, not epoch seconds (1973-03-03 in seconds,
#: the earliest the time reader takes for an epoch second) when they are no calendar shape.
_NUMBERED_BELOW = 100_000_000


def period_numbers(lf: pl.LazyFrame, time_col: str, dtype: pl.DataType) -> bool:
    """Whether an integer time column holds period numbers (1, 2, 3...), not dates.

    Competition data and statsforecast's examples number the periods of each series
    (``ds`` = 1 .. n). Whole numbers (of any numeric type) are dates when every value is a
    calendar shape the time reader knows (``2019``, ``202401``, ``20240131``) and epoch
    times when they are as large as epoch times are; smaller ones are period numbers.

    Examples
    --------
    >>> lf = pl.LazyFrame({"ds": [1, 2, 3], "year": [2019, 2020, 2021]})
    >>> period_numbers(lf, "ds", pl.Int64()), period_numbers(lf, "year", pl.Int64())
    (True, False)
    """
    if not (dtype.is_integer() or dtype.is_float()):
        return False
    x = pl.col(time_col).cast(pl.Float64)
    shapes = calendar_numbers(x.cast(pl.Int64, strict=False))
    ok = lf.select(
        (x.is_finite() & (x.round(0) == x) & (x.abs() < _NUMBERED_BELOW)).all().alias("small"),
        shapes.is_year.all().alias("years"),
        shapes.is_ym.all().alias("months"),
        shapes.is_ymd.all().alias("days"),
    ).collect()
    small, years, months, days = ok.row(0)
    return bool(small) and not (years or months or days)


def read_dates(lf: pl.LazyFrame, name: str, *, what: str) -> pl.Expr:
    """Read the date column ``name`` of ``lf`` with the base layer's parser, as ``Date``.

    :func:`attribution._base.time.parse_dates` reads it (unreadable values raise, naming
    rows; nulls stay null). Every value keeps the calendar date it is written in: a column
    of aware datetimes takes each date in the column's time zone, so midnight in Paris stays
    that day, and text with a UTC offset keeps the date written before the offset
    (``2024-03-01T00:00:00+02:00`` is 1 March, not 29 February in UTC).

    Examples
    --------
    >>> lf = pl.LazyFrame({"d": ["2024-01-31T00:00:00Z", "2024-03-01T00:00:00+02:00"]})
    >>> lf.select(read_dates(lf, "d", what="series")).collect()["d"].to_list()
    [datetime.date(2024, 1, 31), datetime.date(2024, 3, 1)]
    """
    dates, numbered = read_periods(lf, name, what=what)
    if numbered:
        raise ValidationError(
            f"Column {name!r} of the {what} holds period numbers (whole numbers such as 1, 2, "
            "3), not dates: there is no calendar to read from them. Give dates (2024-01-31, "
            "2024-01), or whole-number years (2019), months (202401) or days (20240131); "
            "forecasting.forecast and backtest also take period numbers."
        )
    return dates


def read_periods(lf: pl.LazyFrame, name: str, *, what: str) -> tuple[pl.Expr, bool]:
    """Read the time column ``name`` as :func:`read_dates` does, or as period numbers.

    Returns the expression and whether the column holds period numbers
    (:func:`period_numbers`); those are given as the dates that many days after
    1970-01-01, so that the forecasting engine steps through them as days.

    Examples
    --------
    >>> lf = pl.LazyFrame({"ds": [1, 2]})
    >>> expr, numbered = read_periods(lf, "ds", what="series")
    >>> numbered, lf.select(expr).collect()["ds"].to_list()
    (True, [datetime.date(1970, 1, 2), datetime.date(1970, 1, 3)])
    """
    dtype = lf.collect_schema().get(name)
    if dtype is not None and period_numbers(lf, name, dtype):
        return pl.col(name).cast(pl.Int32).cast(pl.Date), True
    zone = dtype.time_zone if isinstance(dtype, pl.Datetime) else None
    return parse_dates(lf, name, what=what, time_zone=zone or "UTC", local_date=True), False


def season_length(freq: FreqLike) -> int:
    """Usual seasonal period of a frequency: 7 for days, 52 weeks, 12 months, 4 quarters.

    Parameters
    ----------
    freq : str or Period
        A period such as ``"1mo"`` or ``"MS"``; multiples such as ``"2w"`` have no season (1).

    Examples
    --------
    >>> season_length("1mo"), season_length("1q"), season_length("2w"), season_length("MS")
    (12, 4, 1, 12)
    """
    return as_period(freq).season_length


def to_series(
    frame: FrameLike,
    *,
    freq: FreqLike = "1mo",
    id_col: str | None = "series_id",
    time_col: str = "date",
    value_col: str = "value",
    fill: float | None = 0.0,
    span: Literal["global", "series"] = "global",
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> pl.DataFrame:
    """Aggregate any dated frame into long series, one row per series and period.

    Values are summed within each period; periods without rows get ``fill``.

    Parameters
    ----------
    frame
        A Polars or pandas frame, or a file path, with a time column (Date, Datetime, ISO
        text such as ``2024-01-31``, ``2024-01-31T10:00:00Z`` or ``2024-01``; see
        :func:`read_dates`), a numeric value column and optionally a series id column.
    freq : str or Period
        Period: ``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, a multiple (``"2w"``) or a
        pandas alias (``"D"``, ``"W"``, ``"MS"``, ``"M"``, ``"QS"``, ``"Y"``). Each period is
        labelled by its first day, whatever the spelling (``"M"`` and ``"MS"`` alike).
    id_col : str or None
        Column naming the series; ``None`` makes one series called ``"total"``.
    time_col, value_col : str
        Time and value columns. The output uses the same three names.
    fill : float or None
        Value of periods without any row (``None`` leaves them null).
    span : {"global", "series"}
        ``"global"``: every series covers the same periods, from the earliest to the latest
        period in the frame (a channel with no sales in January gets a 0 there);
        ``"series"``: each series from its own first to its own last period.
    start, end : str or date, optional
        Dates widening (or cutting) the range; they are truncated to their period.

    Returns
    -------
    DataFrame
        ``id_col`` (String), ``time_col`` (Date, start of the period), ``value_col``
        (Float64); sorted by series and date, with no missing period.

    Raises
    ------
    SchemaError
        A column is missing or is not a date / number.
    ValidationError
        Null or unreadable dates, null series ids, a bad ``freq``; :class:`EmptyInputError`
        for no rows.

    Examples
    --------
    >>> import polars as pl
    >>> sales = pl.DataFrame({"shop": ["a", "a", "b"], "date": ["2024-01-05", "2024-03-09",
    ...                       "2024-01-20"], "value": [10.0, 5.0, 2.0]})
    >>> to_series(sales, id_col="shop").rows()  # doctest: +NORMALIZE_WHITESPACE
    [('a', datetime.date(2024, 1, 1), 10.0), ('a', datetime.date(2024, 2, 1), 0.0),
     ('a', datetime.date(2024, 3, 1), 5.0), ('b', datetime.date(2024, 1, 1), 2.0),
     ('b', datetime.date(2024, 2, 1), 0.0), ('b', datetime.date(2024, 3, 1), 0.0)]
    """
    period = as_period(freq)
    if span not in ("global", "series"):
        raise ValidationError(f"span must be 'global' or 'series'; got {span!r}.")
    what = "series frame"
    lf = to_lazy(frame, what=what, series=(time_col, value_col, id_col))
    schema = lf.collect_schema()
    check_columns(schema, [c for c in (id_col, time_col, value_col) if c], what)
    amount = numeric_expr(lf, value_col, schema[value_col], "numbers")
    date = read_dates(lf, time_col, what=what)
    rules = [Rule(time_col, date.is_null(), "null dates", "every row needs a date", False)]
    if id_col:
        rules.append(Rule(id_col, pl.col(id_col).is_null(), "nulls", "every row needs a series id"))
    check_rules(lf.with_row_index(ROW), rules, what)
    ident = pl.col(id_col).cast(pl.String) if id_col else pl.lit("total")
    df = lf.select(
        ident.alias("__id"),
        period.truncate(date).alias("__date"),
        amount.alias("__value"),
    ).collect()
    agg = df.group_by("__id", "__date").agg(pl.col("__value").sum())
    bounds = agg.group_by("__id").agg(
        pl.col("__date").min().alias("lo"), pl.col("__date").max().alias("hi")
    )
    if span == "global":
        bounds = bounds.with_columns(pl.col("lo").min().alias("lo"), pl.col("hi").max().alias("hi"))
    for value, name in ((start, "lo"), (end, "hi")):
        if value is not None:
            when = parse_date(value, name="start" if name == "lo" else "end", local_date=True)
            bounds = bounds.with_columns(period.truncate(pl.lit(when)).alias(name))
    grid = (
        bounds.filter(pl.col("lo") <= pl.col("hi"))
        .select("__id", pl.date_ranges("lo", "hi", period.step).alias("__date"))
        .explode("__date")
    )
    out = grid.join(agg, on=["__id", "__date"], how="left")
    if fill is not None:
        out = out.with_columns(pl.col("__value").fill_null(float(fill)))
    out = out.sort("__id", "__date").rename(
        {"__id": id_col or "series_id", "__date": time_col, "__value": value_col}
    )
    return out


def series_from_attribution(
    result: object,
    journeys: Journeys,
    *,
    freq: FreqLike = "1mo",
    what: Literal["revenue", "conversions"] = "revenue",
    by: Literal["channel", "total", "both"] = "channel",
    id_col: str = "series_id",
    time_col: str = "date",
    value_col: str = "value",
    fill: float | None = 0.0,
    start: str | dt.date | None = None,
    end: str | dt.date | None = None,
) -> pl.DataFrame:
    """Revenue or conversions credited per channel (and/or in total) per period.

    Each touch's credit (``result.touchpoints``) is dated at its journey's conversion time
    (``journeys.conversion_time``, UTC) and valued at ``credit x journey revenue`` for
    ``what="revenue"`` or ``credit`` for ``"conversions"`` (as the models compute channel
    revenue). Converting journeys without touches count under ``"(no touch)"``, so the total
    series sums to the journeys' revenue (or conversions) in each period. Every series covers
    the same periods (from the first to the last conversion month, widened by ``start`` and
    ``end``), with empty periods filled by ``fill``.

    Parameters
    ----------
    result : Attribution
        Output of :func:`attribution.attribute` on these journeys, from a model that credits
        touches (``first_touch``, ``last_touch``, ``linear``, ``time_decay``...).
    journeys : Journeys
        The journeys the result was computed from (they carry the conversion times).
    freq : str or Period
        Period, as for :func:`to_series`.
    what : {"revenue", "conversions"}
        Credited revenue or credited (fractional) conversions.
    by : {"channel", "total", "both"}
        One series per channel, one ``"total"`` series, or both.
    id_col, time_col, value_col : str
        Names of the output columns.
    fill : float or None
        Value of periods without conversions.
    start, end : str or date, optional
        Dates widening the range of periods.

    Returns
    -------
    DataFrame
        ``id_col`` (channel name or ``"total"``), ``time_col`` (Date, period start),
        ``value_col`` (Float64); sorted by series and date.

    Raises
    ------
    ModelError
        The result comes from a path table (no dates) or from a model without per-touch
        credit (``markov``, ``shapley``), or the journeys do not match it.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 10.0, 0.0, 4.0],
    ...     "timestamp": ["2024-01-03", "2024-01-09", "2024-02-01", "2024-03-02"]})
    >>> j = at.build_journeys(ev)
    >>> s = series_from_attribution(at.attribute(j, "linear"), j, by="total")
    >>> s["value"].to_list()
    [10.0, 0.0, 4.0]
    """
    if what not in ("revenue", "conversions"):
        raise ValidationError(f"what must be 'revenue' or 'conversions'; got {what!r}.")
    if by not in ("channel", "total", "both"):
        raise ValidationError(f"by must be 'channel', 'total' or 'both'; got {by!r}.")
    from attribution.journeys import NO_TOUCH, Journeys  # only when a result is turned into series

    if not isinstance(journeys, Journeys):
        raise ModelError(
            "series_from_attribution needs the Journeys the result was computed from "
            f"(conversion times); got a {type(journeys).__name__}."
        )
    if getattr(result, "source", "journeys") != "journeys":
        raise ModelError(
            "This attribution result was computed from a path table, which has no dates; "
            "attribute the journeys to build dated series."
        )
    touch = result.touchpoints  # type: ignore[attr-defined]
    jid = touch["journey_id"].to_numpy().astype(np.int64)
    if len(jid) and (jid.max() >= journeys.n_journeys or not journeys.converted[jid].all()):
        raise ModelError(
            "The attribution result does not match these journeys (journey ids out of range or "
            "not converting); pass the journeys the result was computed from."
        )
    credit = touch["credit"].to_numpy()
    empty = np.flatnonzero(journeys.converted & (np.diff(journeys.indptr) == 0))
    jids = np.concatenate([jid, empty])
    weight = np.concatenate([credit, np.ones(len(empty))])
    if what == "revenue":
        weight = weight * journeys.revenue[jids]
    channel = pl.concat(
        [touch["channel"], pl.Series("channel", [NO_TOUCH] * len(empty), dtype=pl.String)]
    )
    times = pl.Series("t", journeys.conversion_time[jids]).cast(pl.Datetime("us", "UTC"))
    long = pl.DataFrame({"channel": channel, "t": times, "v": weight})
    if long.height == 0:
        raise EmptyInputError("The journeys have no conversions, so there is nothing to date.")
    parts = []
    if by in ("channel", "both"):
        parts.append(long)
    if by in ("total", "both"):
        parts.append(long.with_columns(pl.lit("total").alias("channel")))
    return to_series(
        pl.concat(parts),
        freq=freq,
        id_col="channel",
        time_col="t",
        value_col="v",
        fill=fill,
        span="global",
        start=start,
        end=end,
    ).rename({"channel": id_col, "t": time_col, "v": value_col})
