"""Trends: conversions and revenue per period, against targets or else the previous period."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import cast

import numpy as np
import polars as pl

from attribution._base.errors import EmptyInputError
from attribution._base.frames import FrameLike
from attribution._base.periods import FreqLike, as_period
from attribution.journeys import Journeys
from attribution.reporting.targets import read_targets

__all__ = ["trends"]


def trends(
    journeys: Journeys,
    *,
    targets: FrameLike | Mapping[str, float] | None = None,
    freq: FreqLike = "1mo",
) -> pl.DataFrame:
    """Conversions and revenue per period, against targets or else the previous period.

    Parameters
    ----------
    journeys : Journeys
        Converting journeys are counted in the period of their conversion time (UTC).
    targets
        Optional targets, anything :func:`read_targets` accepts (a frame ``period, metric,
        target`` or a mapping ``{metric: target}``).
    freq : str or Period
        Period length (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, or a pandas alias
        such as ``"MS"``, ``"W"``, ``"QS"``); each period is labelled by its first day.
        Periods from the first to the last conversion are all listed, with zeros where
        nothing converted.

    Returns
    -------
    DataFrame
        ``period`` (Date), ``metric`` (``conversions`` or ``revenue``), ``actual``,
        ``target`` (null without one), ``previous`` (the previous period's actual; null for the
        first), ``basis`` (``"target"`` where a target exists, else ``"previous"``, null when
        neither), ``delta`` (actual − basis), ``delta_pct`` (delta / basis; null when the basis
        is 0 or missing) and ``attained`` (actual ≥ target; null without a target). Sorted by
        metric, then period.

    Raises
    ------
    EmptyInputError
        No journey converted.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 10.0, 0.0, 30.0],
    ...     "timestamp": ["2024-01-03", "2024-01-05", "2024-02-01", "2024-02-02"]})
    >>> tr = trends(at.build_journeys(ev), targets={"revenue": 20})
    >>> tr.filter(pl.col("metric") == "revenue").select("actual", "basis", "delta").rows()
    [(10.0, 'target', -10.0), (30.0, 'target', 10.0)]
    """
    period = as_period(freq)
    assert period is not None  # None only when optional
    conv = journeys.converted
    if not conv.any():
        raise EmptyInputError("The journeys have no conversions; trends need at least one.")
    utc = pl.Datetime("us", "UTC")
    df = pl.DataFrame(
        {
            "t": pl.Series(journeys.conversion_time[conv]).cast(pl.Datetime("us")),
            "revenue": np.asarray(journeys.revenue[conv], dtype=np.float64),
        }
    ).with_columns(pl.col("t").dt.replace_time_zone("UTC").cast(utc))
    per = df.group_by(period.truncate(pl.col("t")).alias("period")).agg(
        pl.len().cast(pl.Float64).alias("conversions"), pl.col("revenue").sum()
    )
    first, last = cast(date, per["period"].min()), cast(date, per["period"].max())
    span = pl.date_range(first, last, interval=period.step, eager=True)
    full = (
        pl.DataFrame({"period": span})
        .join(per, on="period", how="left")
        .fill_null(0.0)
        .unpivot(index="period", variable_name="metric", value_name="actual")
        .sort("metric", "period")
        .with_columns(pl.col("actual").shift(1).over("metric").alias("previous"))
    )
    if targets is None:
        full = full.with_columns(pl.lit(None, pl.Float64).alias("target"))
    else:
        tg = read_targets(targets, freq=period)
        dated = tg.filter(pl.col("period").is_not_null())
        flat = tg.filter(pl.col("period").is_null()).select(
            "metric", pl.col("target").alias("__flat")
        )
        full = (
            full.join(dated, on=["period", "metric"], how="left")
            .join(flat, on="metric", how="left")
            .with_columns(pl.coalesce("target", "__flat").alias("target"))
            .drop("__flat")
        )
    basis_value = pl.coalesce("target", "previous")
    delta = pl.col("actual") - basis_value
    return full.select(
        "period",
        "metric",
        "actual",
        "target",
        "previous",
        pl.when(pl.col("target").is_not_null())
        .then(pl.lit("target"))
        .when(pl.col("previous").is_not_null())
        .then(pl.lit("previous"))
        .alias("basis"),
        delta.alias("delta"),
        pl.when(basis_value != 0).then(delta / basis_value).alias("delta_pct"),
        (pl.col("actual") >= pl.col("target")).alias("attained"),
    ).sort("metric", "period")
