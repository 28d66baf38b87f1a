"""The lifecycle kernel shared by the funnel, SLA and stage-attribution figures.

The CRM rows sorted per contact with their funnel ranks (:func:`load_lifecycle`), and when each
contact passed one stage and first reached another (:func:`pass_and_reach`), by the rules of
:mod:`attribution.kpis.funnel`. Private to :mod:`attribution.kpis`; its names are public to the
modules of the package.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from attribution._base.errors import ValidationError
from attribution._base.frames import FrameLike
from attribution._base.periods import FreqLike, Period, as_period
from attribution.crm import collect_crm
from attribution.schema import CRM_STAGES

__all__ = [
    "RANK",
    "US_PER_DAY",
    "days_between",
    "load_lifecycle",
    "pass_and_reach",
    "period_grid",
    "required_period",
    "stage_rank",
]

#: Funnel position of each stage.
RANK: dict[str, int] = {s: i for i, s in enumerate(CRM_STAGES)}
#: Microseconds in a day.
US_PER_DAY = 86_400_000_000


def load_lifecycle(crm: FrameLike) -> pl.DataFrame:
    """Read and validate the CRM rows, sorted per contact, with ranks and per-contact helpers.

    Extra columns: ``rank`` (funnel position, Int8), ``g`` (contact number, increasing down the
    sorted frame), ``first`` (first row of its contact), ``k`` (row number within the contact),
    ``low`` (lowest rank so far), ``prev`` (rank of the previous row, null on the first).
    Rows of a contact are contiguous, so these are whole-column expressions, not windows.
    """
    df = collect_crm(crm)
    rank = pl.col("stage").replace_strict(RANK, return_dtype=pl.Int8)
    user = pl.col("user_id")
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    df = (
        df.with_columns(rank.alias("rank"))
        .sort(["user_id", "timestamp", "rank"])
        .with_columns((user != user.shift(1)).fill_null(True).alias("first"))
    )
    g = pl.col("first").cum_sum().cast(pl.Int64) - 1
    # lowest rank so far: offsetting each contact below all earlier ones makes one global
    # running minimum restart at every contact
    shift = pl.col("g") * len(CRM_STAGES)
    return df.with_columns(g.alias("g")).with_columns(
        (row - pl.when(pl.col("first")).then(row).forward_fill()).alias("k"),
        ((pl.col("rank").cast(pl.Int64) - shift).cum_min() + shift).cast(pl.Int8).alias("low"),
        pl.when(pl.col("first")).then(None).otherwise(pl.col("rank").shift(1)).alias("prev"),
    )


def stage_rank(stage: str, name: str = "stage") -> int:
    """Funnel position of ``stage``; an unknown stage raises naming the parameter ``name``."""
    if stage not in RANK:
        raise ValidationError(f"{name} must be one of {', '.join(CRM_STAGES)}; got {stage!r}.")
    return RANK[stage]


def required_period(freq: FreqLike) -> Period:
    """Read ``freq`` as whole days or longer (``"1mo"``, ``"MS"``, ``"W"``...); None is refused."""
    period = as_period(freq)
    assert period is not None  # as_period refuses None unless optional
    return period


def period_grid(first: dt.date, last: dt.date, period: Period) -> pl.DataFrame:
    """Every period start from ``first`` to ``last`` (both period starts): column ``period``."""
    return pl.date_range(first, last, period.step, eager=True).alias("period").to_frame()


def pass_and_reach(df: pl.DataFrame, start: int, end: int | None) -> pl.DataFrame:
    """Per contact that passed ``start``: when, and the first row at ``end`` or later after it.

    Columns: ``user_id``, ``start_time``, ``start_rank`` (stage of the row where ``start`` was
    passed), ``end_time`` / ``end_rank`` (null when ``end`` was never reached after; absent
    when ``end`` is None). A contact passes ``start`` at its first row with rank ≥ ``start``
    and lowest rank so far ≤ ``start`` (see :mod:`attribution.kpis.funnel`).
    """
    passes = (pl.col("low") <= start) & (pl.col("rank") >= start)
    first = pl.col("g").is_first_distinct()
    starts = (
        df.filter(passes)
        .filter(first)
        .select(
            "user_id",
            "g",
            pl.col("timestamp").alias("start_time"),
            pl.col("rank").alias("start_rank"),
        )
    )
    if end is None:
        return starts.drop("g")
    # rows at or after the contact's first passing row: a passing row has been seen in the
    # same contact (forward fill of its contact number)
    after = pl.when(passes).then(pl.col("g")).forward_fill() == pl.col("g")
    ends = (
        df.filter(after.fill_null(False) & (pl.col("rank") >= end))
        .filter(first)
        .select("g", pl.col("timestamp").alias("end_time"), pl.col("rank").alias("end_rank"))
    )
    return starts.join(ends, on="g", how="left", maintain_order="left").drop("g")


def days_between(a: str, b: str) -> pl.Expr:
    """Days from the times in column ``a`` to those in ``b`` (fractional)."""
    return (pl.col(b) - pl.col(a)).dt.total_microseconds() / US_PER_DAY
