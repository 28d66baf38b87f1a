"""Customer lifetime value as value per purchase × purchases × time: the two formulas.

CLV is one product, value per purchase × purchases per unit of time × time, computed two ways
that answer different questions:

* :func:`clv` -- the seed formula, CLV = average purchase value × purchase frequency ×
  lifespan, from averages over a transaction log and a lifespan the user gives (e.g. 1 / yearly
  churn). A descriptive KPI per log or per group (acquisition channel, cohort); undiscounted.
  The seed example: 100 € a year for 5 years is worth 500 €.
* :func:`customer_lifetime_value` -- the model forecast, per customer: expected purchases per
  future period from a fitted :class:`~attribution.clv.bg_nbd.BGNBD` times the expected value
  per purchase from a fitted :class:`~attribution.clv.gamma_gamma.GammaGamma`, discounted
  period by period (:func:`~attribution.clv.frames.clv_probabilistic` runs it on a log).

One implementation of each. The seed formula used to live in :mod:`attribution.kpis` (as
``kpis.clv``), the model formula in ``attribution.clv_models``. The two are not merged: they
take different inputs (a log and a lifespan, against fitted models and a horizon), give
different outputs (one row per group, against one value per customer) and do not agree in
value, so neither can stand for the other. ``attribution.kpis.clv`` is this module's
:func:`clv`, the same function under its KPI name (a re-export, without a warning: the
meaning is the same), and ``attribution.clv_models.customer_lifetime_value`` forwards here
with a ``DeprecationWarning`` like every name of that old module.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import polars as pl

from attribution._base.errors import ValidationError
from attribution._base.frames import (
    ROW,
    FrameLike,
    Rule,
    check_columns,
    check_rules,
    numeric_expr,
    to_lazy,
)
from attribution._base.time import parse_times
from attribution.clv.bg_nbd import BGNBD
from attribution.clv.fitting import ArrayLike, as_float, same_length
from attribution.clv.gamma_gamma import GammaGamma

__all__ = ["clv", "customer_lifetime_value"]


def clv(
    transactions: FrameLike,
    *,
    lifespan_years: float,
    customer_col: str = "user_id",
    time_col: str = "timestamp",
    amount_col: str = "revenue",
    by: str | None = None,
) -> pl.DataFrame:
    """Compute customer lifetime value by the seed formula: value × frequency × lifespan.

    ``average purchase value`` = amount / purchases; ``purchase frequency`` = purchases per
    customer per year over the observed span of the log (first to last transaction, at least
    one year is assumed when the log is shorter, so a single year of data is read as a yearly
    rate); ``lifespan_years`` is given (e.g. 1 / yearly churn).

    Parameters
    ----------
    transactions
        One row per purchase: customer, time and amount.
    lifespan_years : float
        Expected customer lifespan in years (a finite number > 0).
    customer_col, time_col, amount_col : str
        Column names (times as :func:`attribution._base.time.parse_times` reads them:
        datetimes, dates, ISO-8601 text, ``YYYY-MM``, ``YYYYMMDD`` or epoch numbers).
    by : str, optional
        A grouping column (acquisition channel, cohort): one row per group.

    Returns
    -------
    DataFrame
        ``[by,] customers, purchases, average_purchase_value, purchase_frequency``
        (per customer per year), ``lifespan_years``, ``clv``.

    Raises
    ------
    SchemaError
        A column is missing, or the time column holds no times.
    ValidationError
        ``lifespan_years`` is not a finite number above 0; a null customer or time, times that
        cannot be read, or a value that is null, NaN, infinite, negative or not a number (the
        rows are quoted).
    EmptyInputError
        The log has no rows.

    Examples
    --------
    The seed example: 100 € a year for 5 years is worth 500 €.

    >>> import polars as pl
    >>> tx = pl.DataFrame({"user_id": [1, 2], "timestamp": ["2024-01-01", "2024-06-01"],
    ...                    "revenue": [100.0, 100.0]})
    >>> clv(tx, lifespan_years=5)["clv"].to_list()
    [500.0]
    """
    if (
        isinstance(lifespan_years, bool)
        or not isinstance(lifespan_years, Real)
        or not (math.isfinite(lifespan_years) and lifespan_years > 0)
    ):
        raise ValidationError(
            f"lifespan_years must be a finite number > 0; got {lifespan_years!r}."
        )
    lf = to_lazy(transactions, what="transaction log", value_columns=[amount_col])
    schema = lf.collect_schema()
    needed = [customer_col, time_col, amount_col, *([by] if by else [])]
    check_columns(schema, needed, "transaction log")
    amount = numeric_expr(lf, amount_col, schema[amount_col], "purchase values ≥ 0")
    lf = lf.with_columns(
        parse_times(lf, time_col, what="transaction log").alias("__t"),
        amount.alias(amount_col),
    )
    v = pl.col(amount_col)
    check_rules(
        lf.with_row_index(ROW),
        [
            Rule(
                customer_col,
                pl.col(customer_col).is_null(),
                "nulls",
                "every purchase needs a customer",
                False,
            ),
            Rule(time_col, pl.col("__t").is_null(), "nulls", "every purchase needs a time", False),
            Rule(
                amount_col,
                v.is_null() | v.is_nan() | v.is_infinite() | (v < 0),
                "null, NaN, infinite or negative values",
                "every purchase value must be a finite number ≥ 0",
            ),
        ],
        "transaction log",
    )
    span = lf.select(
        ((pl.col("__t").max() - pl.col("__t").min()).dt.total_days() / 365.25).alias("y")
    ).collect()["y"][0]
    years = max(float(span or 0.0), 1.0)
    keys = [by] if by else []
    agg = [
        pl.col(customer_col).n_unique().alias("customers"),
        pl.len().cast(pl.Int64).alias("purchases"),
        pl.col(amount_col).cast(pl.Float64).sum().alias("__amount"),
    ]
    grouped = lf.group_by(keys).agg(agg) if keys else lf.select(agg)
    out = (
        grouped.with_columns(
            (pl.col("__amount") / pl.col("purchases")).alias("average_purchase_value"),
            (pl.col("purchases") / pl.col("customers") / years).alias("purchase_frequency"),
            pl.lit(float(lifespan_years)).alias("lifespan_years"),
        )
        .with_columns(
            (
                pl.col("average_purchase_value")
                * pl.col("purchase_frequency")
                * pl.col("lifespan_years")
            ).alias("clv")
        )
        .drop("__amount")
        .sort(keys or "customers")
        .collect()
    )
    if not out["clv"].is_finite().all():
        raise ValidationError(
            f"Column {amount_col!r} of the transaction log sums to more than the largest 64-bit "
            "float (about 1.8e308), so the averages cannot be computed; scale the values down "
            "(e.g. to thousands)."
        )
    return out


def customer_lifetime_value(
    purchases: BGNBD,
    values: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    periods: int = 12,
    period_length: float,
    discount_rate: float,
) -> np.ndarray:
    """Discounted expected value of each customer's purchases over the next ``periods``.

    ``CLV = E[Z | x, m_x] * sum_k (E[Y(k L)] - E[Y((k-1) L)]) / (1 + d)^k`` for
    ``k = 1..periods``, where ``E[Y(t)]`` is the BG/NBD conditional expectation, ``L`` the
    period length in the model's time unit and ``d`` the discount rate per period: purchases
    of period ``k`` are discounted from its end (the convention of lifetimes'
    ``customer_lifetime_value``).

    Parameters
    ----------
    purchases : BGNBD
        A fitted purchase model.
    values : GammaGamma
        A fitted value model.
    frequency, recency, T, monetary_value : array-like
        One value per customer (``monetary_value`` may be null where frequency is 0).
    periods : int
        Number of future periods (>= 1).
    period_length : float
        Length of a period in the unit of ``recency`` and ``T`` (e.g. ``365.25 / 12 / 7`` for
        months when the summary is in weeks).
    discount_rate : float
        Discount rate per period (>= 0).

    Returns
    -------
    ndarray
        One CLV per customer.

    Examples
    --------
    >>> bg, gg = BGNBD(), GammaGamma()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> clv = customer_lifetime_value(bg, gg, [0], [0], [38.86], [None],
    ...                               period_length=4.35, discount_rate=0.01)
    >>> bool(clv[0] > 0)
    True
    """
    if isinstance(periods, bool) or not isinstance(periods, int | np.integer) or periods < 1:
        raise ValidationError(f"periods must be a whole number >= 1; got {periods!r}.")
    if not (np.isfinite(period_length) and period_length > 0):
        raise ValidationError(f"period_length must be > 0; got {period_length!r}.")
    if not (np.isfinite(discount_rate) and discount_rate >= 0):
        raise ValidationError(f"discount_rate must be >= 0; got {discount_rate!r}.")
    x = np.atleast_1d(as_float(frequency, "frequency"))
    tx = np.atleast_1d(as_float(recency, "recency"))
    T_ = np.atleast_1d(as_float(T, "T"))
    m = np.atleast_1d(as_float(monetary_value, "monetary_value"))
    same_length(("frequency", "recency", "T", "monetary_value"), (x, tx, T_, m))
    value = values.expected_value(x, m)
    grid = period_length * np.arange(periods + 1, dtype=float)[:, None]
    cumulative = purchases.expected_purchases(grid, x[None, :], tx[None, :], T_[None, :])
    per_period = np.diff(cumulative, axis=0)
    discount = (1.0 + discount_rate) ** -np.arange(1, periods + 1, dtype=float)
    out: np.ndarray = value * (discount @ per_period)
    return out
