"""Customer value on frames: transaction log -> per-customer summary -> CLV -> totals.

* :func:`rfm_summary` -- a transaction log to one row per customer: ``frequency, recency, T,
  monetary_value`` (Fader, Hardie & Lee 2005; lifetimes' ``summary_data_from_transaction_data``);
* :func:`clv_probabilistic` -- the summary, a :class:`~attribution.clv.bg_nbd.BGNBD` and a
  :class:`~attribution.clv.gamma_gamma.GammaGamma` to each customer's CLV over the next
  months (:func:`~attribution.clv.formula.customer_lifetime_value`);
* :func:`summarise_clv` -- per-customer CLV added up by acquisition channel or cohort.

Times are read by :func:`attribution._base.time.parse_times` (datetimes, dates, ISO-8601 text
with or without offsets, ``YYYY-MM``, ``YYYYMMDD``, epoch numbers), ``observation_end`` by
:func:`~attribution._base.time.parse_time`, and the grain and time unit are periods of
:mod:`attribution._base.periods` (``"1d"``/``"D"``, ``"1w"``/``"W"``, ``"1h"``/``"h"``,
``"1mo"``/``"MS"``/``"M"`` ...). A time that cannot be read raises an error naming its rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from attribution._base.errors import (
    EmptyInputError,
    SchemaError,
    ValidationError,
    describe_rows,
)
from attribution._base.frames import ROW, FrameLike, Rule, check_columns, check_rules, to_lazy
from attribution._base.periods import FreqLike, Period
from attribution._base.time import parse_time, parse_times
from attribution.clv.bg_nbd import BGNBD
from attribution.clv.formula import customer_lifetime_value
from attribution.clv.gamma_gamma import GammaGamma

__all__ = ["clv_probabilistic", "rfm_summary", "summarise_clv"]

_LOG = "transaction log"
_MONTH = Period(1, "mo")


def _period(name: str, value: FreqLike) -> Period:
    """Read ``freq`` or ``time_unit`` as a period, naming the argument when it is not one."""
    try:
        return Period.parse(value)
    except ValidationError:
        raise ValidationError(
            f"{name} {value!r} is not a period; expected one such as '1d' (or 'D'), '1w' "
            "(or 'W'), '1h' (or 'h'), '1mo' (or 'MS', 'M') or '1y' (or 'Y')."
        ) from None


def _period_index(instants: pl.Expr, zone: str, period: Period) -> pl.Expr:
    """Whole periods since a fixed origin (consecutive periods differ by 1), for UTC instants.

    Hours are counted on the UTC clock; days and longer periods on the calendar of ``zone``
    (weeks start on Monday).
    """
    if period.unit == "h":
        hours = period.truncate(instants.dt.replace_time_zone(None)).dt.epoch("us")
        return hours // (3_600_000_000 * period.n)
    wall = instants.dt.convert_time_zone(zone).dt.replace_time_zone(None)
    start = period.truncate(wall)  # the Date of the first day of each period
    if period.months is None:
        return start.cast(pl.Int64) // round(period.days)
    month = start.dt.year().cast(pl.Int64) * 12 + start.dt.month().cast(pl.Int64) - 1
    return month // period.months


def _check_rules(lf: pl.LazyFrame, rules: Sequence[Rule], user_col: str) -> None:
    """Count every rule's rows in one pass; raise on the first broken one, naming customers.

    :func:`attribution._base.frames.check_rules` quotes rows; these messages also give the
    customer of each row (``-2 at row 1 (user_id 2)``). ``lf`` carries the row index ``ROW``.
    """
    counts = lf.select(
        pl.len().alias("__n"), *[r.bad.sum().alias(f"__{i}") for i, r in enumerate(rules)]
    ).collect()
    if counts["__n"][0] == 0:
        raise EmptyInputError(f"The {_LOG} has no rows.")
    for i, r in enumerate(rules):
        n = int(counts[f"__{i}"][0])
        if not n:
            continue
        rows = (
            lf.filter(r.bad)
            .select(ROW, pl.col(r.column).alias("__shown"), pl.col(user_col).alias("__id"))
            .head(5)
            .collect()
        )
        quoted = describe_rows(
            rows[ROW].to_list(),
            values=rows["__shown"].to_list() if r.show_values else None,
            ids=rows["__id"].to_list(),
            id_name=user_col,
            total=n,
        )
        noun = "row" if n == 1 else "rows"
        raise ValidationError(
            f"Column {r.column!r} of the {_LOG} has {n} {noun} {r.noun} ({quoted}); {r.rule}."
        )


def _rfm(
    transactions: FrameLike,
    *,
    user_col: str,
    time_col: str,
    value_col: str,
    observation_end: Any,
    freq: FreqLike,
    time_unit: FreqLike | None,
) -> pl.DataFrame:
    grain = _period("freq", freq)
    unit = grain if time_unit is None else _period("time_unit", time_unit)
    lf = to_lazy(transactions, what=_LOG)
    schema = lf.collect_schema()
    check_columns(schema, [user_col, time_col, value_col], _LOG)
    if not schema[value_col].is_numeric():
        raise SchemaError(
            f"Column {value_col!r} of the {_LOG} has type {schema[value_col]}; "
            "expected numbers (the value of each purchase)."
        )
    dtype = schema[time_col]
    timed = isinstance(dtype, pl.Datetime) or dtype == pl.Date
    # days are the calendar days of an aware column's own zone (of UTC otherwise)
    zone = dtype.time_zone if isinstance(dtype, pl.Datetime) and dtype.time_zone else "UTC"
    instant = parse_times(lf, time_col, what=_LOG)  # refuses values it cannot read, by row
    lf = lf.select(
        pl.col(user_col),
        pl.col(time_col),
        pl.col(value_col),
        instant.alias("__t"),
        # a date or datetime column keeps its type in first_purchase; text and numbers are UTC
        (pl.col(time_col) if timed else instant).alias("__first_t"),
        pl.col(value_col).cast(pl.Float64).alias("__v"),
    )
    _check_rules(
        lf.with_row_index(ROW),
        [
            Rule(
                user_col,
                pl.col(user_col).is_null(),
                "with null ids",
                "every purchase needs a customer",
            ),
            Rule(time_col, pl.col("__t").is_null(), "with null times", "times are required"),
            Rule(value_col, pl.col("__v").is_null(), "with null values", "values are required"),
            Rule(value_col, pl.col("__v") < 0, "with negative values", "values must be >= 0"),
        ],
        user_col,
    )
    lf = lf.with_columns(_period_index(pl.col("__t"), zone, grain).alias("__p"))
    if observation_end is None:
        end = int(lf.select(pl.col("__p").max()).collect()[0, 0])
    else:
        end_t = parse_time(observation_end, name="observation_end", time_zone=zone)
        end_s = pl.Series("__t", [end_t], dtype=pl.Datetime("us", "UTC"))
        end = int(end_s.to_frame().select(_period_index(pl.col("__t"), zone, grain)).item())
        lf = lf.filter(pl.col("__p") <= end)
    scale = grain.days / unit.days
    # sorted once, so that every sum adds the same numbers in the same order whatever the row
    # order of the input (maintain_order keeps the sort from being optimised away)
    per_period = (
        lf.sort(user_col, "__p", "__v")
        .group_by(user_col, "__p", maintain_order=True)
        .agg(pl.col("__v").sum(), pl.col("__first_t").min().alias("__first"))
    )
    out = (
        per_period.group_by(user_col, maintain_order=True)
        .agg(
            (pl.len() - 1).cast(pl.Int64).alias("frequency"),
            pl.col("__p").min().alias("__p0"),
            pl.col("__p").max().alias("__p1"),
            pl.col("__v").sort_by("__p").slice(1).mean().alias("__repeat"),
            pl.col("__first").min().alias("first_purchase"),
        )
        .select(
            pl.col(user_col),
            pl.col("first_purchase"),
            pl.col("frequency"),
            ((pl.col("__p1") - pl.col("__p0")) * scale).cast(pl.Float64).alias("recency"),
            ((end - pl.col("__p0")) * scale).cast(pl.Float64).alias("T"),
            pl.col("__repeat").alias("monetary_value"),
        )
        .sort(user_col)
        .collect()
    )
    if out.height == 0:
        raise EmptyInputError(
            f"No purchase of the {_LOG} is on or before observation_end {observation_end!r}."
        )
    return out


def rfm_summary(
    transactions: FrameLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    value_col: str = "revenue",
    observation_end: str | dt.date | dt.datetime | None = None,
    freq: FreqLike = "1d",
    time_unit: FreqLike | None = None,
) -> pl.DataFrame:
    """Summarise a transaction log per customer as frequency, recency, age and mean value.

    Purchases in the same period of length ``freq`` (a calendar day by default) count as one
    purchase whose value is their sum. Then, per customer: ``frequency`` = periods with a
    purchase - 1 (repeat purchases); ``recency`` = last minus first purchase period;
    ``T`` = the period holding ``observation_end`` minus the first purchase period;
    ``monetary_value`` = mean value of the repeat purchases (the first is left out; null when
    there are none). Times are whole periods expressed in ``time_unit``. These are the
    definitions of Fader, Hardie & Lee (2005) and of lifetimes'
    ``summary_data_from_transaction_data`` (``freq="D", time_unit="W"`` is its
    ``freq_multiplier=7``, which reproduces the CDNOW summary).

    Parameters
    ----------
    transactions
        One row per purchase (path, Polars or pandas frame): customer, time and value.
    user_col, time_col, value_col : str
        Column names (times may be datetimes, dates, ISO-8601 text, ``YYYY-MM`` or
        ``YYYYMMDD`` text, or epoch numbers; values numbers >= 0).
    observation_end : str, date or datetime, optional
        End of the observation period; purchases in later periods are ignored. Default: the
        latest purchase. Naive values are read in the time column's zone.
    freq : str or Period
        Grain at which purchases merge: ``"1d"`` (or ``"D"``, a calendar day in the column's
        time zone, UTC for naive times), ``"1w"`` (or ``"W"``, Monday to Sunday), ``"1h"``
        (or ``"h"``, an hour of the UTC clock), or any period of
        :class:`~attribution._base.periods.Period` (``"1mo"``, ``"MS"``, ``"2w"`` ...).
    time_unit : str or Period, optional
        Unit of ``recency`` and ``T``: a period as for ``freq`` (``"M"`` is a month of
        365.25 / 12 days, ``"Y"`` a year of 365.25 days). Default: ``freq``.

    Returns
    -------
    DataFrame
        ``user_col`` (sorted), ``frequency`` (Int64), ``recency``, ``T``, ``monetary_value``
        (Float64).

    Raises
    ------
    SchemaError
        A column is missing or has an unusable type.
    ValidationError
        Null ids, times or values, unreadable times, negative values (rows quoted); a
        ``freq``, ``time_unit`` or ``observation_end`` that cannot be read.
    EmptyInputError
        No rows, or none on or before ``observation_end``.

    Examples
    --------
    >>> import polars as pl
    >>> tx = pl.DataFrame({"user_id": [1, 1, 1, 2],
    ...     "timestamp": ["2024-01-01", "2024-01-01", "2024-01-11", "2024-01-05"],
    ...     "revenue": [5.0, 5.0, 30.0, 7.0]})
    >>> rfm_summary(tx, observation_end="2024-01-31").rows()
    [(1, 1, 10.0, 30.0, 30.0), (2, 0, 0.0, 26.0, None)]
    """
    return _rfm(
        transactions,
        user_col=user_col,
        time_col=time_col,
        value_col=value_col,
        observation_end=observation_end,
        freq=freq,
        time_unit=time_unit,
    ).drop("first_purchase")


def clv_probabilistic(
    transactions: FrameLike,
    *,
    horizon_months: int = 12,
    discount_rate_annual: float = 0.1,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    value_col: str = "revenue",
    observation_end: str | dt.date | dt.datetime | None = None,
    freq: FreqLike = "1d",
    time_unit: FreqLike = "1w",
    penalizer: float = 0.0,
    purchase_model: BGNBD | None = None,
    value_model: GammaGamma | None = None,
    acquisition: FrameLike | None = None,
    channel_col: str = "channel",
) -> pl.DataFrame:
    """Compute each customer's CLV over the next months with BG/NBD and Gamma-Gamma.

    The log is summarised with :func:`rfm_summary`, a
    :class:`~attribution.clv.bg_nbd.BGNBD` and a :class:`~attribution.clv.gamma_gamma.GammaGamma`
    are fitted on it (unless fitted ones are passed), and
    :func:`~attribution.clv.formula.customer_lifetime_value` adds up expected purchases per
    month (months of 365.25 / 12 days) times the expected value per purchase, discounted
    monthly at ``(1 + discount_rate_annual) ** (1 / 12) - 1``.

    Parameters
    ----------
    transactions
        One row per purchase: customer, time and value.
    horizon_months : int
        Months ahead (>= 1).
    discount_rate_annual : float
        Yearly discount rate (>= 0).
    user_col, time_col, value_col, observation_end, freq, time_unit
        As in :func:`rfm_summary` (the models are fitted in ``time_unit``, weeks by default).
    penalizer : float
        L2 penalty passed to both models when they are fitted here.
    purchase_model, value_model : BGNBD, GammaGamma, optional
        Already fitted models (e.g. on an earlier calibration period, in the same time unit).
    acquisition : frame, optional
        One row per customer with ``user_col`` and ``channel_col`` (the acquisition channel);
        adds a ``channel`` column (null for customers it does not list).
    channel_col : str
        Channel column of ``acquisition``.

    Returns
    -------
    DataFrame
        ``user_col``, ``first_purchase`` (time of the first purchase, for cohorts: of the
        column's own type for dates and datetimes, a UTC datetime for text and numbers),
        ``frequency``, ``recency``, ``T``, ``monetary_value``, ``p_alive``,
        ``expected_purchases`` (over the horizon, undiscounted), ``expected_value`` (per
        purchase), ``clv`` [, ``channel``]. One row per customer, sorted by ``user_col``.

    Examples
    --------
    >>> import polars as pl
    >>> rng = __import__("numpy").random.default_rng(0)
    >>> n = 300
    >>> tx = pl.DataFrame({"user_id": rng.integers(0, 80, n),
    ...     "timestamp": pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 12, 31),
    ...                                eager=True).sample(n, with_replacement=True, seed=1),
    ...     "revenue": rng.gamma(4.0, 10.0, n)})
    >>> out = clv_probabilistic(tx, penalizer=0.01)
    >>> out.columns[-3:], bool((out["clv"] > 0).all())
    (['expected_purchases', 'expected_value', 'clv'], True)
    """
    if (
        isinstance(horizon_months, bool)
        or not isinstance(horizon_months, int | np.integer)
        or horizon_months < 1
    ):
        raise ValidationError(
            f"horizon_months must be a whole number >= 1; got {horizon_months!r}."
        )
    if not (np.isfinite(discount_rate_annual) and discount_rate_annual >= 0):
        raise ValidationError(f"discount_rate_annual must be >= 0; got {discount_rate_annual!r}.")
    unit = _period("time_unit", time_unit)
    summary = _rfm(
        transactions,
        user_col=user_col,
        time_col=time_col,
        value_col=value_col,
        observation_end=observation_end,
        freq=freq,
        time_unit=unit,
    )
    x = summary["frequency"].cast(pl.Float64).to_numpy()
    tx = summary["recency"].to_numpy()
    T_ = summary["T"].to_numpy()
    m = summary["monetary_value"].to_numpy()
    bg = purchase_model if purchase_model is not None else BGNBD(penalizer).fit(x, tx, T_)
    gg = value_model if value_model is not None else GammaGamma(penalizer).fit(x, m)
    month = _MONTH.days / unit.days
    rate = (1.0 + discount_rate_annual) ** (1 / 12) - 1
    clv = customer_lifetime_value(
        bg, gg, x, tx, T_, m, periods=int(horizon_months), period_length=month, discount_rate=rate
    )
    out = summary.with_columns(
        pl.Series("p_alive", bg.p_alive(x, tx, T_)),
        pl.Series("expected_purchases", bg.expected_purchases(horizon_months * month, x, tx, T_)),
        pl.Series("expected_value", gg.expected_value(x, m)).fill_nan(None),
        pl.Series("clv", clv).fill_nan(None),
    )
    if acquisition is None:
        return out
    return out.join(
        _channels(acquisition, user_col, channel_col, out.schema[user_col]), on=user_col, how="left"
    )


def _channels(
    acquisition: FrameLike, user_col: str, channel_col: str, id_type: pl.DataType
) -> pl.DataFrame:
    lf = to_lazy(acquisition, what="acquisition table")
    schema = lf.collect_schema()
    check_columns(schema, [user_col, channel_col], "acquisition table")
    if schema[user_col] != id_type:
        raise SchemaError(
            f"Column {user_col!r} of the acquisition table has type {schema[user_col]} but the "
            f"{_LOG}'s has type {id_type}; they must match."
        )
    table = lf.select(pl.col(user_col), pl.col(channel_col).alias("channel")).unique().collect()
    dup = table.group_by(user_col).len().filter(pl.col("len") > 1).sort(user_col)
    if dup.height:
        ids = ", ".join(str(v) for v in dup[user_col].head(5).to_list())
        more = ", ..." if dup.height > 5 else ""
        raise ValidationError(
            f"Column {channel_col!r} of the acquisition table gives {dup.height} customers more "
            f"than one channel ({user_col} {ids}{more}); each customer has one acquisition channel."
        )
    return table


def summarise_clv(
    per_customer: pl.DataFrame, *, by: str = "channel", clv_col: str = "clv"
) -> pl.DataFrame:
    """Add up a per-customer CLV frame by acquisition channel, cohort or any other column.

    Parameters
    ----------
    per_customer : DataFrame
        The output of :func:`clv_probabilistic` (or any frame with ``by`` and ``clv_col``).
    by : str
        Grouping column (``channel``; or a cohort such as
        ``pl.col("first_purchase").dt.truncate("1mo")`` added by the caller).
    clv_col : str
        CLV column.

    Returns
    -------
    DataFrame
        ``by``, ``customers``, ``clv_total``, ``clv_mean`` and, when present,
        ``expected_purchases_total`` and ``p_alive_mean``; sorted by ``by`` (nulls last).

    Raises
    ------
    SchemaError
        A column is missing, or the CLV column is not numeric.
    ValidationError
        A null, NaN or infinite CLV (the rows are named).

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"channel": ["a", "a", "b"], "clv": [10.0, 30.0, 5.0]})
    >>> summarise_clv(f).rows()
    [('a', 2, 40.0, 20.0), ('b', 1, 5.0, 5.0)]
    """
    what = "per-customer CLV frame"
    schema = per_customer.collect_schema()
    check_columns(schema, [by, clv_col], what)
    if not schema[clv_col].is_numeric():
        raise SchemaError(
            f"Column {clv_col!r} of the {what} has type {schema[clv_col]}; expected numbers."
        )
    if per_customer.height:  # a null or NaN would be counted as a customer but not summed
        v = pl.col(clv_col).cast(pl.Float64)
        rule = Rule(
            clv_col,
            v.is_null() | ~v.is_finite(),
            "null, NaN or infinite values",
            "every customer needs a finite CLV",
        )
        check_rules(per_customer.lazy().with_row_index(ROW), [rule], what)
    aggs = [
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col(clv_col).sum().alias("clv_total"),
        pl.col(clv_col).mean().alias("clv_mean"),
    ]
    if "expected_purchases" in per_customer.columns:
        aggs.append(pl.col("expected_purchases").sum().alias("expected_purchases_total"))
    if "p_alive" in per_customer.columns:
        aggs.append(pl.col("p_alive").mean().alias("p_alive_mean"))
    return per_customer.group_by(by).agg(aggs).sort(by, nulls_last=True)
