"""Targets for the trends section: per period and metric, or one per metric for every period."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from attribution._base.errors import EmptyInputError, ValidationError, describe_rows
from attribution.io import FrameLike, to_lazy
from attribution.schema import Freq, check_columns, check_freq

__all__ = ["TREND_METRICS", "read_targets"]

#: Metrics the trends section follows (and that targets may name).
TREND_METRICS: tuple[str, ...] = ("conversions", "revenue")

_FREQ_NAMES = {"1d": "day", "1w": "week", "1mo": "month", "1q": "quarter", "1y": "year"}


def _as_date(col: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    if dtype == pl.String:
        return col.str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if dtype == pl.Null:
        return col.cast(pl.Date)
    return None


def read_targets(
    source: FrameLike | Mapping[str, float],
    *,
    freq: Freq = "1mo",
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
    freq : {"1d", "1w", "1mo", "1q", "1y"}
        Period length; each period is moved to the start of its period (``2024-01-15`` is
        January with ``"1mo"``).
    period_col, metric_col, target_col : str
        Column names in ``source``. A null period means "every period without its own target".

    Returns
    -------
    DataFrame
        ``period`` (Date, null for every period), ``metric`` (one of :data:`TREND_METRICS`),
        ``target`` (Float64 ≥ 0).

    Raises
    ------
    SchemaError
        A column is missing.
    ValidationError
        An unknown metric, a null, negative or non-finite target, a period that is not a date,
        or two targets for the same period and metric.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"period": ["2024-01-15", None], "metric": ["revenue", "conversions"],
    ...                   "target": [5000, 40]})
    >>> read_targets(t).rows()
    [(datetime.date(2024, 1, 1), 'revenue', 5000.0), (None, 'conversions', 40.0)]
    """
    check_freq(freq)
    if isinstance(source, Mapping):
        metrics = [str(k) for k in source]
        frame = pl.DataFrame(
            {
                "period": pl.Series([None] * len(metrics), dtype=pl.Date),
                "metric": metrics,
                "target": pl.Series([float(v) for v in source.values()], dtype=pl.Float64),
            }
        )
        what = "targets"
    else:
        lf = to_lazy(source, what="targets table")
        schema = lf.collect_schema()
        check_columns(schema, [period_col, metric_col, target_col], "targets table")
        period = _as_date(pl.col(period_col), schema[period_col])
        if period is None:
            raise ValidationError(
                f"Column {period_col!r} of the targets table has type {schema[period_col]}; "
                "expected dates (YYYY-MM-DD)."
            )
        if not (schema[target_col].is_numeric() or schema[target_col] == pl.Null):
            raise ValidationError(
                f"Column {target_col!r} of the targets table has type {schema[target_col]}; "
                "targets must be numbers ≥ 0."
            )
        raw = lf.select(
            period.alias("period"),
            pl.col(period_col).cast(pl.String).alias("__raw_period"),
            pl.col(metric_col).cast(pl.String).alias("metric"),
            pl.col(target_col).cast(pl.Float64).alias("target"),
        ).collect()
        if raw.height == 0:
            raise EmptyInputError("The targets table is empty (0 rows).")
        bad = raw.with_row_index("row").filter(
            pl.col("period").is_null() & pl.col("__raw_period").is_not_null()
        )
        if bad.height:
            desc = describe_rows(bad["row"].to_list(), values=bad["__raw_period"].to_list())
            raise ValidationError(
                f"Column {period_col!r} of the targets table has {bad.height} values that are "
                f"not dates ({desc}); expected YYYY-MM-DD."
            )
        frame = raw.drop("__raw_period")
        what = f"Column {metric_col!r} of the targets table"
    rows = frame.with_row_index("row")
    unknown = rows.filter(~pl.col("metric").is_in(list(TREND_METRICS)) | pl.col("metric").is_null())
    if unknown.height:
        desc = describe_rows(unknown["row"].to_list(), values=unknown["metric"].to_list())
        raise ValidationError(
            f"{what} has {unknown.height} unknown metrics ({desc}); expected one of "
            f"{', '.join(TREND_METRICS)}."
        )
    t = pl.col("target")
    bad_t = rows.filter(t.is_null() | ~t.is_finite() | (t < 0))
    if bad_t.height:
        desc = describe_rows(bad_t["row"].to_list(), values=bad_t["target"].to_list())
        name = repr(target_col) if what != "targets" else "'target'"
        raise ValidationError(
            f"Column {name} of the targets has {bad_t.height} null, negative or non-finite "
            f"values ({desc}); targets must be finite numbers ≥ 0."
        )
    out = frame.with_columns(
        pl.col("period").cast(pl.Datetime("us")).dt.truncate(freq).dt.date()
    ).select("period", "metric", "target")
    dup = out.with_row_index("row").filter(pl.struct("period", "metric").is_duplicated())
    if dup.height:
        desc = describe_rows(
            dup["row"].to_list(),
            values=[f"{p} {m}" for p, m in zip(dup["period"], dup["metric"], strict=True)],
        )
        raise ValidationError(
            f"The targets have {dup.height} rows sharing a period and metric ({desc}); give "
            f"one target per {_FREQ_NAMES[freq]} and metric."
        )
    return out
