"""Targets for the trends section: per period and metric, or one per metric for every period."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from attribution._base.errors import EmptyInputError, ValidationError, describe_rows
from attribution._base.frames import (
    ROW,
    FrameLike,
    Rule,
    check_columns,
    check_rules,
    numeric_expr,
    reads,
    to_lazy,
)
from attribution._base.periods import FreqLike, as_period
from attribution._base.time import parse_dates

__all__ = ["TREND_METRICS", "read_targets"]

#: Metrics the trends section follows (and that targets may name).
TREND_METRICS: tuple[str, ...] = ("conversions", "revenue")


def _number(metric: object, value: object) -> float:
    """Read one target of a ``{metric: target}`` mapping as a float (text like ``"100"`` too)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(
            f"The target of {metric!r} is {value!r}; targets must be finite numbers ≥ 0."
        ) from None


@reads(source="targets table")
def read_targets(
    source: FrameLike | Mapping[str, float],
    *,
    freq: FreqLike = "1mo",
    period_col: str = "period",
    metric_col: str = "metric",
    target_col: str = "target",
) -> pl.DataFrame:
    """Read targets for the trends section: per period and metric, or one per metric.

    Parameters
    ----------
    source
        A table (path or frame) with a period, a metric and a target column, or a mapping
        ``{metric: target}`` that applies to every period.
    freq : str or Period
        Period length (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, or a pandas alias
        such as ``"MS"``, ``"W"``, ``"QS"``); each period is moved to the start of its period
        (``2024-01-15`` is January with ``"1mo"``).
    period_col, metric_col, target_col : str
        Column names in ``source``. Periods are read as dates by the package's one date reader
        (dates, datetimes, ISO text with or without ``Z`` or an offset, ``YYYY-MM``,
        ``YYYYMMDD``); a null period means "every period without its own target".

    Returns
    -------
    DataFrame
        ``period`` (Date, null for every period), ``metric`` (one of :data:`TREND_METRICS`),
        ``target`` (Float64 ≥ 0).

    Raises
    ------
    SchemaError
        A column is missing, the period column holds no dates, or the target column holds
        neither numbers nor text.
    ValidationError
        An unknown metric, a null, negative or non-finite target, a target that is not a
        number (numbers written as text are read), a period that is not a date, or two
        targets for the same period and metric.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"period": ["2024-01-15", None], "metric": ["revenue", "conversions"],
    ...                   "target": [5000, 40]})
    >>> read_targets(t).rows()
    [(datetime.date(2024, 1, 1), 'revenue', 5000.0), (None, 'conversions', 40.0)]
    >>> read_targets(pl.DataFrame({"period": ["2024-03"], "metric": ["revenue"],
    ...                            "target": [10]}), freq="QS").rows()
    [(datetime.date(2024, 1, 1), 'revenue', 10.0)]
    """
    period = as_period(freq)
    assert period is not None  # None only when optional
    if isinstance(source, Mapping):
        metrics = [str(k) for k in source]
        frame = pl.DataFrame(
            {
                "period": pl.Series([None] * len(metrics), dtype=pl.Date),
                "metric": metrics,
                "target": pl.Series([_number(k, v) for k, v in source.items()], dtype=pl.Float64),
            }
        )
        what, metric_name, target_name = "targets", "metric", "target"
    else:
        lf = to_lazy(source, what="targets table", value_columns=[target_col])
        schema = lf.collect_schema()
        check_columns(schema, [period_col, metric_col, target_col], "targets table")
        target = numeric_expr(lf, target_col, schema[target_col], "targets: numbers ≥ 0")
        frame = lf.select(
            parse_dates(lf, period_col, what="targets table").alias("period"),
            pl.col(metric_col).cast(pl.String).alias("metric"),
            target.alias("target"),
        ).collect()
        if frame.height == 0:
            raise EmptyInputError("The targets table is empty (0 rows).")
        what, metric_name, target_name = "targets table", metric_col, target_col
    if frame.height:
        named = frame.lazy().select(
            pl.col("metric").alias(metric_name), pl.col("target").alias(target_name)
        )
        named = named.with_row_index(ROW)
        m, t = pl.col(metric_name), pl.col(target_name)
        known = Rule(
            metric_name,
            ~m.is_in(list(TREND_METRICS)) | m.is_null(),
            "unknown metrics",
            f"expected one of {', '.join(TREND_METRICS)}",
        )
        check_rules(named, [known], what)
        valid = Rule(
            target_name,
            t.is_null() | ~t.is_finite() | (t < 0),
            "null, negative or non-finite values",
            "targets must be finite numbers ≥ 0",
        )
        check_rules(named, [valid], "targets")
    out = frame.with_columns(period.truncate(pl.col("period"))).select("period", "metric", "target")
    dup = out.with_row_index("row").filter(pl.struct("period", "metric").is_duplicated())
    if dup.height:
        desc = describe_rows(
            dup["row"].to_list(),
            values=[f"{p} {m}" for p, m in zip(dup["period"], dup["metric"], strict=True)],
        )
        raise ValidationError(
            f"The targets have {dup.height} rows sharing a period and metric ({desc}); give "
            f"one target per {period.name} and metric."
        )
    return out
