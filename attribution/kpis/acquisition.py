"""Acquisition costs and customer value: CAC (with conversion lag), CPL, CLV.

Every function takes frames and returns a frame with documented columns; ratios whose
denominator is 0 are null, never infinite.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Literal

import numpy as np
import polars as pl

from attribution._base.errors import ValidationError
from attribution._base.frames import (
    ROW,
    FrameLike,
    Rule,
    check_columns,
    check_rules,
    is_empty,
    numeric_expr,
    ratio,
    to_lazy,
)
from attribution._base.periods import FreqLike, Period, as_period, step_dates
from attribution._base.time import parse_dates
from attribution.clv.formula import clv  # the seed formula's one home; the same function here
from attribution.journeys import Journeys

__all__ = ["cac", "clv", "conversion_lag", "cost_per", "cost_per_opportunity", "cpl"]


def _columns(lf: pl.LazyFrame, needed: list[str], what: str) -> None:
    check_columns(lf.collect_schema(), needed, what)


def _periods(lf: pl.LazyFrame, col: str, period: Period, what: str) -> pl.LazyFrame:
    """One column ``period``: the start date of each row's period.

    Dates are read by the base layer's parser: a value that is not a date raises naming its
    rows, and so does a missing one (every cost and every outcome needs a date).
    """
    day = parse_dates(lf, col, what=what)
    out = lf.select(period.truncate(day).alias("period"), pl.col(col))
    rule = Rule(col, pl.col("period").is_null(), "nulls", "every row needs a date", False)
    if not is_empty(lf):
        check_rules(out.with_row_index(ROW), [rule], what)
    return out.drop(col)


def _amounts(lf: pl.LazyFrame, col: str, what: str) -> pl.Expr:
    """Read the cost column as Float64, each value a finite number ≥ 0 (else name the rows).

    Numbers written as text are read; a null, NaN, infinite or negative cost raises rather than
    being left out of the sum (a null would silently lower the cost per outcome).
    """
    amount = numeric_expr(lf, col, lf.collect_schema()[col], "costs ≥ 0")
    if not is_empty(lf):
        v = pl.col(col)
        rule = Rule(
            col,
            v.is_null() | v.is_nan() | v.is_infinite() | (v < 0),
            "null, NaN, infinite or negative values",
            "every cost must be a finite number ≥ 0",
        )
        check_rules(lf.select(amount.alias(col)).with_row_index(ROW), [rule], what)
    return amount


def _lag_periods(lag: float, lag_unit: str, period: Period) -> int:
    """Return the lag in whole periods; refuse a lag that is not a finite number, or a bad unit."""
    if lag_unit not in ("periods", "days"):
        raise ValidationError(f"lag_unit must be 'periods' or 'days'; got {lag_unit!r}.")
    if isinstance(lag, bool) or not isinstance(lag, Real) or not math.isfinite(lag):
        raise ValidationError(f"lag must be a finite number of {lag_unit}; got {lag!r}.")
    if lag_unit == "days":
        periods = round(lag / period.days)
    elif lag != int(lag):
        raise ValidationError(
            f"lag is counted in whole periods ({period.name}); got {lag!r}. Pass "
            "lag_unit='days' for a lag in days (rounded to whole periods)."
        )
    else:
        periods = int(lag)
    if abs(periods) * period.days > 1000 * 365.25:
        raise ValidationError(
            f"lag {lag!r} {lag_unit} is more than 1000 years; expected a lag of at most 1000 years."
        )
    return periods


def conversion_lag(journeys: Journeys, *, stat: Literal["median", "mean"] = "median") -> float:
    """Measure days from first touch to conversion over converting journeys with touches.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 1.0, 0.0, 1.0],
    ...     "timestamp": ["2024-01-01", "2024-01-11", "2024-01-01", "2024-01-31"]})
    >>> conversion_lag(at.build_journeys(ev))
    20.0
    """
    lengths = np.diff(journeys.indptr)
    keep = journeys.converted & (lengths > 0)
    if not keep.any():
        raise ValidationError("conversion_lag needs converting journeys with at least one touch.")
    first = journeys.touch_time[journeys.indptr[:-1][keep]]
    days = (journeys.conversion_time[keep] - first) / 86_400_000_000
    return float(np.median(days) if stat == "median" else np.mean(days))


def cost_per(
    spend: FrameLike,
    outcomes: FrameLike,
    *,
    freq: FreqLike = "1mo",
    lag: int | float = 0,
    lag_unit: Literal["periods", "days"] = "periods",
    extra_costs: FrameLike | None = None,
    spend_date_col: str = "date",
    spend_col: str = "spend",
    outcome_time_col: str = "timestamp",
    name: str = "cost_per_outcome",
) -> pl.DataFrame:
    """Compute cost per outcome per period, counting outcomes ``lag`` periods after the spend.

    Spend of period ``P`` is divided by the outcomes (new customers, leads, opportunities)
    that happen in period ``P + lag``: with a 90-day average time to convert, February's
    spend is divided by May's customers (``freq="1mo", lag=3``, or ``lag=90,
    lag_unit="days"``, rounded to whole periods).

    Parameters
    ----------
    spend
        Frame or path with a date column and a spend column (any other columns, such as
        channel, are summed over).
    outcomes
        One row per outcome with its time (e.g. each new customer's acquisition time).
    freq : str
        Period length, a day or longer: ``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"`` or
        the pandas aliases (``"D"``, ``"W"``, ``"MS"``, ``"M"``, ``"QS"``, ``"Y"``).
    lag : int or float
        Shift between spend and outcomes, in whole periods or in days (``lag_unit``, one of
        ``"periods"`` and ``"days"``); days are rounded to whole periods.
    extra_costs
        Optional second cost table with the same columns (e.g. sales costs for CAC).
    spend_date_col, spend_col, outcome_time_col : str
        Column names.
    name : str
        Name of the ratio column.

    Returns
    -------
    DataFrame
        ``period`` (start date of the spend period), ``spend``, ``outcomes`` (counted in the
        lagged period), ``outcome_period``, ``lag_periods`` and ``name`` (spend / outcomes,
        null when there are none). One row per period with spend.

    Raises
    ------
    ValidationError
        A cost that is null, NaN, infinite, negative or not a number (the rows are named), a
        date that cannot be read, a lag that is not a finite number (or not whole in periods)
        or an unknown ``lag_unit``.
    """
    period = as_period(freq)
    assert period is not None  # not optional
    periods = _lag_periods(lag, lag_unit, period)
    costs = []
    for table, what in ((spend, "spend table"), (extra_costs, "extra cost table")):
        if table is None:
            continue
        lf = to_lazy(table, what=what, value_columns=[spend_col])
        _columns(lf, [spend_date_col, spend_col], what)
        amount = _amounts(lf, spend_col, what)
        costs.append(
            pl.concat(
                [
                    _periods(lf, spend_date_col, period, what),
                    lf.select(amount.alias("spend")),
                ],
                how="horizontal",
            )
        )
    cost = pl.concat(costs).group_by("period").agg(pl.col("spend").sum())
    out_lf = to_lazy(outcomes, what="outcome table")
    _columns(out_lf, [outcome_time_col], "outcome table")
    counts = (
        _periods(out_lf, outcome_time_col, period, "outcome table")
        .group_by("period")
        .agg(pl.len().cast(pl.Int64).alias("outcomes"))
    )
    return _finish(cost, counts, periods, period, name)


def _finish(
    cost: pl.LazyFrame, counts: pl.LazyFrame, periods: int, period: Period, name: str
) -> pl.DataFrame:
    joined = (
        cost.with_columns(step_dates(pl.col("period"), periods, period).alias("outcome_period"))
        .join(counts.rename({"period": "outcome_period"}), on="outcome_period", how="left")
        .with_columns(pl.col("outcomes").fill_null(0), pl.lit(periods).alias("lag_periods"))
        .with_columns(ratio("spend", "outcomes").alias(name))
    )
    out = (
        joined.select("period", "spend", "outcomes", "outcome_period", "lag_periods", name)
        .sort("period")
        .collect()
    )
    if not out["spend"].is_finite().all():
        raise ValidationError(
            "The costs of a period sum to more than the largest 64-bit float (about 1.8e308), "
            "so the ratio cannot be computed; scale the values down (e.g. to thousands)."
        )
    return out


def cac(
    spend: FrameLike,
    customers: FrameLike,
    *,
    freq: FreqLike = "1mo",
    lag: int | float = 0,
    lag_unit: Literal["periods", "days"] = "periods",
    sales_costs: FrameLike | None = None,
    spend_date_col: str = "date",
    spend_col: str = "spend",
    customer_time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute customer acquisition cost, (marketing + sales costs) / new customers, per period.

    See :func:`cost_per` for the lag (e.g. ``lag=conversion_lag(journeys), lag_unit="days"``
    matches spend with the customers it plausibly acquired). Column ``cac``.

    Examples
    --------
    The seed example: 5,000 € and 50 new customers give a CAC of 100 €.

    >>> import polars as pl
    >>> spend = pl.DataFrame({"date": ["2024-02-01"], "spend": [5000.0]})
    >>> customers = pl.DataFrame({"timestamp": ["2024-02-10"] * 50})
    >>> cac(spend, customers)["cac"].to_list()
    [100.0]
    """
    return cost_per(
        spend,
        customers,
        freq=freq,
        lag=lag,
        lag_unit=lag_unit,
        extra_costs=sales_costs,
        spend_date_col=spend_date_col,
        spend_col=spend_col,
        outcome_time_col=customer_time_col,
        name="cac",
    )


def cpl(
    spend: FrameLike,
    leads: FrameLike,
    *,
    freq: FreqLike = "1mo",
    lag: int | float = 0,
    spend_date_col: str = "date",
    spend_col: str = "spend",
    lead_time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute cost per lead, spend / new leads, per period (column ``cpl``).

    Examples
    --------
    The seed example: 1,000 € and 50 leads give 20 €.

    >>> import polars as pl
    >>> cpl(pl.DataFrame({"date": ["2024-03-01"], "spend": [1000.0]}),
    ...     pl.DataFrame({"timestamp": ["2024-03-05"] * 50}))["cpl"].to_list()
    [20.0]
    """
    return cost_per(
        spend,
        leads,
        freq=freq,
        lag=lag,
        spend_date_col=spend_date_col,
        spend_col=spend_col,
        outcome_time_col=lead_time_col,
        name="cpl",
    )


def cost_per_opportunity(
    spend: FrameLike,
    opportunities: FrameLike,
    *,
    freq: FreqLike = "1mo",
    lag: int | float = 0,
    spend_date_col: str = "date",
    spend_col: str = "spend",
    opportunity_time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute cost per opportunity, spend / new opportunities, per period."""
    return cost_per(
        spend,
        opportunities,
        freq=freq,
        lag=lag,
        spend_date_col=spend_date_col,
        spend_col=spend_col,
        outcome_time_col=opportunity_time_col,
        name="cost_per_opportunity",
    )
