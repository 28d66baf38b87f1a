"""Funnel and SLA figures from CRM lifecycle rows, and attribution to a funnel stage.

The CRM lifecycle log has one row per stage change (see ``ARCHITECTURE.md``): ``user_id``,
``timestamp``, ``stage`` in :data:`attribution.schema.CRM_STAGES` (subscriber -> lead -> mql ->
sql -> opportunity -> customer -> evangelist), optional ``source`` (marketing or sales) and
``amount`` on customer rows. Sales activities have ``user_id``, ``timestamp``, ``activity``.
Read them with :func:`read_crm` and :func:`read_activities`; every other function accepts their
output or anything they accept with the default column names.

Rules used throughout (each stated again where it matters):

- **Order.** A contact's rows are ordered by time; rows at the same instant by funnel order.
- **Entering** a stage is a row with that stage whose previous row (of the same contact) had
  another stage; a row repeating the previous stage is a *repeat*, not an entry.
- **Passing** a stage ``s``: a contact passes ``s`` at the first row that is at ``s`` or later
  while the contact has been at ``s`` or earlier at some point up to that row. So a skip
  (lead -> sql) passes the skipped stage (mql) at the time of the later stage, while a contact
  created directly at a later stage (its first row is sql) did not pass the earlier ones and is
  left out of their rates. Why: a contact that jumps over mql has progressed, so counting it as
  lost at mql would understate every rate it skipped; a contact that never was at or before a
  stage is not part of that stage's cohort (otherwise the subscriber -> lead rate would count
  every contact created as a lead as a converted subscriber).
- **Converting** from ``s`` to a later stage ``e``: the first row at or after the row where the
  contact passed ``s`` whose stage is ``e`` or later. Days between stages are measured between
  those two rows, so a skip books its whole time to the first pair and 0 days to the pairs it
  jumped over, and one contact's days add up along the funnel.
- **Periods** are calendar periods in UTC (``freq`` one of ``"1d"``, ``"1w"``, ``"1mo"``,
  ``"1q"``, ``"1y"``), labelled by their first day (weeks start on Monday). Rates by period
  are cohort rates: contacts are grouped by the period in which they passed the starting
  stage (so recent cohorts are still maturing).
- Ratios with a zero denominator are null, never infinite.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import polars as pl

from attribution._api import attribute
from attribution._base.errors import EmptyInputError, SchemaError, ValidationError, describe_rows
from attribution._base.frames import is_text, numeric_expr
from attribution._base.periods import Period
from attribution._base.time import check_time_zone, parse_times
from attribution.io import FrameLike, is_empty, read_events, to_lazy
from attribution.journeys import build_journeys
from attribution.models import Attribution
from attribution.schema import (
    CRM_STAGES,
    Freq,
    check_columns,
    check_freq,
)

__all__ = [
    "ACTIVITY_COLUMNS",
    "CRM_COLUMNS",
    "SalesCycle",
    "attribute_stage",
    "close_rate",
    "conversion_rate",
    "funnel",
    "lead_conversion_rate",
    "opportunity_win_rate",
    "read_activities",
    "read_crm",
    "sales_cycle",
    "sla_attainment",
    "sourcing",
    "stage_conversion",
    "transition_counts",
    "transitions",
]

#: Canonical columns of :func:`read_crm`, in order.
CRM_COLUMNS: tuple[str, ...] = ("user_id", "timestamp", "stage", "source", "amount")
#: Canonical columns of :func:`read_activities`, in order.
ACTIVITY_COLUMNS: tuple[str, ...] = ("user_id", "timestamp", "activity")

_RANK = {s: i for i, s in enumerate(CRM_STAGES)}
_ROW = "__row"
_RAW = "__raw_time"
_US_PER_DAY = 86_400_000_000
_CRM = "CRM lifecycle log"
_ACT = "sales activity log"
_KINDS = ("forward", "skip", "fallback", "repeat")


# ----------------------------------------------------------------------------------------------
# reading and validation


def _user_expr(schema: pl.Schema, name: str) -> pl.Expr:
    dtype = schema[name]
    if dtype.is_integer():
        return pl.col(name).cast(pl.Int64)
    if is_text(dtype):
        return pl.col(name).cast(pl.String)
    raise SchemaError(
        f"Column {name!r} has type {dtype}; expected user ids as integers or strings."
    )


def _label_expr(schema: pl.Schema, name: str, what: str) -> pl.Expr:
    """Text labels, stripped and lower-cased (an all-null column is accepted)."""
    dtype = schema[name]
    if not (is_text(dtype) or dtype == pl.Null):
        raise SchemaError(f"Column {name!r} has type {dtype}; expected {what} as text.")
    return pl.col(name).cast(pl.String).str.strip_chars().str.to_lowercase()


def _sample(lf: pl.LazyFrame, bad: pl.Expr, value: str | None) -> tuple[list[int], Any, Any]:
    sel = [pl.col(_ROW), pl.col("user_id")]
    if value is not None:
        sel.append(pl.col(value).cast(pl.String) if value == _RAW else pl.col(value))
        sel[-1] = sel[-1].alias("__value")
    rows = lf.filter(bad).select(sel).head(6).collect()
    values = rows["__value"].to_list() if value is not None else None
    return rows[_ROW].to_list(), values, rows["user_id"].to_list()


def _check_common(
    lf: pl.LazyFrame,
    counts: dict[str, int],
    *,
    user_col: str,
    time_col: str,
    text_time: bool,
    what: str,
) -> None:
    if counts["rows"] == 0:
        raise EmptyInputError(f"The {what} is empty (0 rows).")
    if counts["user_null"]:
        rows, _, _ = _sample(lf, pl.col("user_id").is_null(), None)
        raise ValidationError(
            f"Column {user_col!r} of the {what} has {counts['user_null']} nulls "
            f"({describe_rows(rows, total=counts['user_null'])}); user ids must be non-null."
        )
    if counts["time_null"]:
        noun = "null or unparseable values" if text_time else "nulls"
        rows, vals, ids = _sample(lf, pl.col("timestamp").is_null(), _RAW if text_time else None)
        raise ValidationError(
            f"Column {time_col!r} of the {what} has {counts['time_null']} {noun} "
            f"({describe_rows(rows, values=vals, ids=ids, total=counts['time_null'])}); "
            "timestamps must be non-null ISO-8601 datetimes."
        )


def _normalise(
    source: FrameLike,
    *,
    what: str,
    user_col: str,
    time_col: str,
    label_col: str,
    label_what: str,
    time_zone: str,
    epoch_unit: str | None,
) -> tuple[pl.LazyFrame, pl.Schema, list[pl.Expr], bool]:
    lf = to_lazy(source, what=what)
    schema = lf.collect_schema()
    check_columns(schema, [user_col, time_col, label_col], what)
    check_time_zone(time_zone)
    if is_empty(lf):
        raise EmptyInputError(f"The {what} is empty (0 rows).")
    text_time = is_text(schema[time_col])
    exprs = [
        pl.col(_ROW),
        _user_expr(schema, user_col).alias("user_id"),
        parse_times(lf, time_col, what=what, time_zone=time_zone, epoch_unit=epoch_unit).alias(
            "timestamp"
        ),
        _label_expr(schema, label_col, label_what).alias("__label"),
    ]
    if text_time:
        exprs.append(pl.col(time_col).alias(_RAW))
    return lf, schema, exprs, text_time


def read_crm(
    source: FrameLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    stage_col: str = "stage",
    source_col: str | None = "source",
    amount_col: str | None = "amount",
    stage_map: Mapping[str, str] | None = None,
    time_zone: str = "UTC",
    epoch_unit: str | None = None,
) -> pl.LazyFrame:
    """Read a CRM lifecycle log (one row per stage change), map and validate its columns.

    Parameters
    ----------
    source
        Parquet, CSV or NDJSON path, a directory of Parquet files, or a Polars/pandas frame.
    user_col, time_col, stage_col : str
        The contact id, the time of the stage change and the new stage.
    source_col : str or None
        Who sourced the contact (``marketing`` or ``sales``; other labels are kept). Optional:
        when the column is absent or ``None``, ``source`` is null.
    amount_col : str or None
        Deal value on customer rows. Optional like ``source_col``.
    stage_map : mapping, optional
        Renames stage labels before they are checked, e.g. HubSpot's
        ``{"marketingqualifiedlead": "mql", "salesqualifiedlead": "sql"}``. Labels are compared
        after stripping spaces and lower-casing (``"MQL"`` is ``"mql"``).
    time_zone : str
        Zone of naive timestamps; everything is converted to UTC.
    epoch_unit : {"s", "ms", "us"}
        Unit of numeric (epoch) timestamps.

    Returns
    -------
    LazyFrame
        ``user_id`` (Int64 or String), ``timestamp`` (Datetime("us", "UTC")), ``stage``
        (String, one of :data:`~attribution.schema.CRM_STAGES`), ``source`` (String, lower-case,
        may be null), ``amount`` (Float64, may be null).

    Raises
    ------
    SchemaError
        A required column is missing or has an unusable type.
    ValidationError
        Null ids, null or unparseable timestamps, null or unknown stages (the message lists
        the unknown values with their counts), negative or non-finite amounts;
        :class:`~attribution.EmptyInputError` for an empty log.

    Examples
    --------
    >>> import polars as pl
    >>> raw = pl.DataFrame({"id": [7, 7], "when": ["2024-01-02", "2024-01-05T10:00:00Z"],
    ...                     "lifecycle": ["Lead", "MQL"]})
    >>> crm = read_crm(raw, user_col="id", time_col="when", stage_col="lifecycle").collect()
    >>> crm.columns
    ['user_id', 'timestamp', 'stage', 'source', 'amount']
    >>> crm["stage"].to_list()
    ['lead', 'mql']
    """
    return _read_crm(
        source,
        user_col=user_col,
        time_col=time_col,
        stage_col=stage_col,
        source_col=source_col,
        amount_col=amount_col,
        stage_map=stage_map,
        time_zone=time_zone,
        epoch_unit=epoch_unit,
    )


def _read_crm(
    source: FrameLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    stage_col: str = "stage",
    source_col: str | None = "source",
    amount_col: str | None = "amount",
    stage_map: Mapping[str, str] | None = None,
    time_zone: str = "UTC",
    epoch_unit: str | None = None,
    in_memory: bool = False,
) -> pl.LazyFrame:
    """Do the work of :func:`read_crm`; ``in_memory`` reads the data once, then validates."""
    lf, schema, exprs, text_time = _normalise(
        source,
        what=_CRM,
        user_col=user_col,
        time_col=time_col,
        label_col=stage_col,
        label_what="stage names",
        time_zone=time_zone,
        epoch_unit=epoch_unit,
    )
    if stage_map:
        lower = {str(k).strip().lower(): str(v).strip().lower() for k, v in stage_map.items()}
        exprs[3] = pl.col(stage_col).cast(pl.String).str.strip_chars().str.to_lowercase()
        exprs[3] = exprs[3].replace(lower).alias("__label")
    if source_col is not None and source_col in schema:
        src = _label_expr(schema, source_col, "source labels")
    else:
        src = pl.lit(None, pl.String)
    if amount_col is not None and amount_col in schema:
        amount = numeric_expr(lf, amount_col, schema[amount_col], "amount ≥ 0")
    else:
        amount = pl.lit(None, pl.Float64)
    exprs += [src.alias("source"), amount.alias("amount")]
    normal = lf.with_row_index(_ROW).select(exprs)
    if in_memory:
        normal = normal.collect().lazy()
    stage = pl.col("__label")
    known = stage.is_in(list(CRM_STAGES))
    counts = normal.select(
        rows=pl.len(),
        user_null=pl.col("user_id").is_null().sum(),
        time_null=pl.col("timestamp").is_null().sum(),
        stage_null=stage.is_null().sum(),
        stage_bad=(stage.is_not_null() & ~known).sum(),
        amount_nan=(~pl.col("amount").is_finite()).sum(),
        amount_neg=(pl.col("amount") < 0).sum(),
    ).collect()
    c = counts.row(0, named=True)
    _check_common(normal, c, user_col=user_col, time_col=time_col, text_time=text_time, what=_CRM)
    if c["stage_null"]:
        rows, _, ids = _sample(normal, stage.is_null(), None)
        raise ValidationError(
            f"Column {stage_col!r} of the {_CRM} has {c['stage_null']} nulls "
            f"({describe_rows(rows, ids=ids, total=c['stage_null'])}); every row needs a stage."
        )
    if c["stage_bad"]:
        top = (
            normal.filter(stage.is_not_null() & ~known)
            .group_by("__label")
            .agg(pl.len().alias("n"), pl.col(_ROW).min().alias("first_row"))
            .sort(["n", "__label"], descending=[True, False])
            .head(5)
            .collect()
        )
        listed = ", ".join(
            f"{v!r} ×{n} (first at row {r})"
            for v, n, r in zip(top["__label"], top["n"], top["first_row"], strict=True)
        )
        raise ValidationError(
            f"Column {stage_col!r} of the {_CRM} has {c['stage_bad']} rows with unknown stages "
            f"({listed}); expected one of {', '.join(CRM_STAGES)}. Rename others with "
            "stage_map=."
        )
    amount_name = amount_col or "amount"
    for key, bad, rule in (
        ("amount_nan", ~pl.col("amount").is_finite(), "values that are NaN or infinite"),
        ("amount_neg", pl.col("amount") < 0, "negative values"),
    ):
        if c[key]:
            rows, vals, ids = _sample(normal, bad.fill_null(False), "amount")
            raise ValidationError(
                f"Column {amount_name!r} of the {_CRM} has {c[key]} {rule} "
                f"({describe_rows(rows, values=vals, ids=ids, total=c[key])}); "
                "amounts must be finite and ≥ 0."
            )
    return normal.select(
        "user_id", "timestamp", pl.col("__label").alias("stage"), "source", "amount"
    )


def read_activities(
    source: FrameLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    activity_col: str = "activity",
    time_zone: str = "UTC",
    epoch_unit: str | None = None,
) -> pl.LazyFrame:
    """Read a sales activity log (one row per call, email, meeting...) and validate it.

    Parameters
    ----------
    source
        Parquet, CSV or NDJSON path, a directory of Parquet files, or a Polars/pandas frame.
    user_col, time_col, activity_col : str
        The contact id, the time of the activity and its type. Types are stripped and
        lower-cased; any label is accepted (``call``, ``email``, ``meeting``, ``sms``...).
    time_zone, epoch_unit : str
        As for :func:`read_crm`.

    Returns
    -------
    LazyFrame
        ``user_id`` (Int64 or String), ``timestamp`` (Datetime("us", "UTC")), ``activity``
        (String).

    Raises
    ------
    SchemaError, ValidationError
        Missing columns, null ids, null or unparseable timestamps, null activity types;
        :class:`~attribution.EmptyInputError` for an empty log.

    Examples
    --------
    >>> import polars as pl
    >>> acts = read_activities(pl.DataFrame({"user_id": [1], "timestamp": ["2024-01-02 09:00"],
    ...                                      "activity": [" Call"]})).collect()
    >>> acts.row(0)[2]
    'call'
    """
    _, _, exprs, text_time = _normalise(
        source,
        what=_ACT,
        user_col=user_col,
        time_col=time_col,
        label_col=activity_col,
        label_what="activity types",
        time_zone=time_zone,
        epoch_unit=epoch_unit,
    )
    normal = to_lazy(source, what=_ACT).with_row_index(_ROW).select(exprs)
    c = normal.select(
        rows=pl.len(),
        user_null=pl.col("user_id").is_null().sum(),
        time_null=pl.col("timestamp").is_null().sum(),
        label_null=pl.col("__label").is_null().sum(),
    ).collect()
    counts = c.row(0, named=True)
    _check_common(
        normal, counts, user_col=user_col, time_col=time_col, text_time=text_time, what=_ACT
    )
    if counts["label_null"]:
        rows, _, ids = _sample(normal, pl.col("__label").is_null(), None)
        raise ValidationError(
            f"Column {activity_col!r} of the {_ACT} has {counts['label_null']} nulls "
            f"({describe_rows(rows, ids=ids, total=counts['label_null'])}); every activity "
            "needs a type."
        )
    return normal.select("user_id", "timestamp", pl.col("__label").alias("activity"))


# ----------------------------------------------------------------------------------------------
# shared kernels


def _load(crm: FrameLike) -> pl.DataFrame:
    """Read and validate the CRM rows, sorted per contact, with ranks and per-contact helpers.

    Extra columns: ``rank`` (funnel position, Int8), ``g`` (contact number, increasing down the
    sorted frame), ``first`` (first row of its contact), ``k`` (row number within the contact),
    ``low`` (lowest rank so far), ``prev`` (rank of the previous row, null on the first).
    Rows of a contact are contiguous, so these are whole-column expressions, not windows.
    """
    df = _read_crm(crm, in_memory=True).collect()
    rank = pl.col("stage").replace_strict(_RANK, return_dtype=pl.Int8)
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


def _stage_rank(stage: str, name: str = "stage") -> int:
    if stage not in _RANK:
        raise ValidationError(f"{name} must be one of {', '.join(CRM_STAGES)}; got {stage!r}.")
    return _RANK[stage]


def _period(col: str | pl.Expr, freq: str) -> pl.Expr:
    expr = pl.col(col) if isinstance(col, str) else col
    return expr.dt.truncate(freq).dt.date()


def _period_grid(first: dt.date, last: dt.date, freq: str) -> pl.Series:
    return pl.date_range(first, last, Period.parse(freq).step, eager=True).alias("period")


def _pass_and_reach(df: pl.DataFrame, start: int, end: int | None) -> pl.DataFrame:
    """Per contact that passed ``start``: when, and the first row at ``end`` or later after it.

    Columns: ``user_id``, ``start_time``, ``start_rank`` (stage of the row where ``start`` was
    passed), ``end_time`` / ``end_rank`` (null when ``end`` was never reached after; absent
    when ``end`` is None). A contact passes ``start`` at its first row with rank ≥ ``start``
    and lowest rank so far ≤ ``start`` (see the module notes).
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


def _days(a: str, b: str) -> pl.Expr:
    return (pl.col(b) - pl.col(a)).dt.total_microseconds() / _US_PER_DAY


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def _cohort_rate(
    crm: FrameLike,
    start: int,
    end: int,
    freq: str | None,
    names: tuple[str, str, str],
) -> pl.DataFrame:
    check_freq(freq, optional=True)
    reach = _pass_and_reach(_load(crm), start, end)
    keys = []
    if freq is not None:
        reach = reach.with_columns(_period("start_time", freq).alias("period"))
        keys = ["period"]
    agg = [
        pl.len().cast(pl.Int64).alias(names[0]),
        pl.col("end_time").is_not_null().sum().cast(pl.Int64).alias(names[1]),
    ]
    out = reach.group_by(keys).agg(agg).sort(keys) if keys else reach.select(agg)
    return out.with_columns(_ratio(names[1], names[0]).alias(names[2]))


# ----------------------------------------------------------------------------------------------
# funnel, transitions, conversion between stages


def funnel(crm: FrameLike, *, freq: Freq = "1mo") -> pl.DataFrame:
    """Count the contacts entering each stage, per period.

    A contact enters a stage with a row at that stage whose previous row had another stage
    (a repeated row is not a new entry); a contact entering a stage twice in one period counts
    once. Skipped stages are not entered (see :func:`stage_conversion` for rates that count a
    skip as passing).

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    freq : {"1d", "1w", "1mo", "1q", "1y"}
        Period length (calendar periods in UTC).

    Returns
    -------
    DataFrame
        ``period`` (Date, first day), ``stage`` (String), ``contacts`` (Int64, distinct contacts
        entering the stage in the period). Every period from the first to the last of the log
        times every stage, zeros included; sorted by period, then funnel order.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2], "stage": ["lead", "mql", "lead"],
    ...                     "timestamp": ["2024-01-03", "2024-02-01", "2024-01-09"]})
    >>> f = funnel(crm)
    >>> f.filter(pl.col("contacts") > 0).rows()
    [(datetime.date(2024, 1, 1), 'lead', 2), (datetime.date(2024, 2, 1), 'mql', 1)]
    """
    check_freq(freq, optional=True)
    df = _load(crm)
    entries = df.filter(pl.col("prev").is_null() | (pl.col("prev") != pl.col("rank")))
    counts = (
        entries.with_columns(_period("timestamp", freq).alias("period"))
        .group_by("period", "rank")
        .agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("contacts"))
    )
    bounds = df.select(
        _period(pl.col("timestamp").min(), freq).alias("a"),
        _period(pl.col("timestamp").max(), freq).alias("b"),
    ).row(0)
    grid = (
        _period_grid(bounds[0], bounds[1], freq)
        .to_frame()
        .join(pl.DataFrame({"rank": pl.Series(range(len(CRM_STAGES)), dtype=pl.Int8)}), how="cross")
    )
    names = dict(enumerate(CRM_STAGES))
    return (
        grid.join(counts, on=["period", "rank"], how="left")
        .sort("period", "rank")
        .select(
            "period",
            pl.col("rank").replace_strict(names, return_dtype=pl.String).alias("stage"),
            pl.col("contacts").fill_null(0),
        )
    )


def transitions(crm: FrameLike) -> pl.DataFrame:
    """List each contact's consecutive stage changes and classify them.

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.

    Returns
    -------
    DataFrame
        One row per pair of consecutive rows of a contact: ``user_id``, ``from_stage``,
        ``to_stage``, ``from_time``, ``to_time``, ``days`` (Float64), ``kind`` (``forward``: to
        the next stage; ``skip``: further down the funnel, over at least one stage;
        ``fallback``: back to an earlier stage; ``repeat``: the same stage again) and
        ``stages_skipped`` (List[String], the stages jumped over by a skip, else empty).
        Sorted by contact and time. A contact with a single row has no transitions.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 1], "stage": ["lead", "sql", "mql"],
    ...     "timestamp": ["2024-01-01", "2024-01-03", "2024-01-04"]})
    >>> transitions(crm).select("from_stage", "to_stage", "kind", "stages_skipped").rows()
    [('lead', 'sql', 'skip', ['mql']), ('sql', 'mql', 'fallback', [])]
    """
    df = _load(crm)
    user = "user_id"
    pairs = df.with_columns(
        pl.col("timestamp").shift(1).alias("from_time"),
        pl.col("stage").shift(1).alias("from_stage"),
    ).filter(~pl.col("first"))
    n = len(CRM_STAGES)
    table = pl.DataFrame(
        {
            "prev": [i for i in range(n) for _ in range(n)],
            "rank": [j for _ in range(n) for j in range(n)],
            "stages_skipped": [list(CRM_STAGES[i + 1 : j]) for i in range(n) for j in range(n)],
        },
        schema={"prev": pl.Int8, "rank": pl.Int8, "stages_skipped": pl.List(pl.String)},
    )
    step = pl.col("rank").cast(pl.Int64) - pl.col("prev").cast(pl.Int64)
    kind = (
        pl.when(step == 1)
        .then(pl.lit("forward"))
        .when(step > 1)
        .then(pl.lit("skip"))
        .when(step < 0)
        .then(pl.lit("fallback"))
        .otherwise(pl.lit("repeat"))
    )
    return pairs.join(table, on=["prev", "rank"], how="left").select(
        user,
        "from_stage",
        pl.col("stage").alias("to_stage"),
        "from_time",
        pl.col("timestamp").alias("to_time"),
        _days("from_time", "timestamp").alias("days"),
        kind.alias("kind"),
        "stages_skipped",
    )


def transition_counts(crm: FrameLike) -> pl.DataFrame:
    """Count transitions by origin and destination stage (the flows of a Sankey chart).

    Returns
    -------
    DataFrame
        ``from_stage``, ``to_stage``, ``kind``, ``transitions`` (Int64, number of changes),
        ``contacts`` (Int64, distinct contacts making them), ``median_days``; sorted in funnel
        order of ``from_stage`` then ``to_stage``.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2], "stage": ["lead", "mql"] * 2,
    ...     "timestamp": ["2024-01-01", "2024-01-03", "2024-01-01", "2024-01-02"]})
    >>> transition_counts(crm).rows()
    [('lead', 'mql', 'forward', 2, 2, 1.5)]
    """
    t = transitions(crm)
    order = pl.col("from_stage").replace_strict(_RANK), pl.col("to_stage").replace_strict(_RANK)
    return (
        t.group_by("from_stage", "to_stage", "kind")
        .agg(
            pl.len().cast(pl.Int64).alias("transitions"),
            pl.col("user_id").n_unique().cast(pl.Int64).alias("contacts"),
            pl.col("days").median().alias("median_days"),
        )
        .sort(*order)
    )


def stage_conversion(crm: FrameLike) -> pl.DataFrame:
    """Conversion rate and time between each pair of adjacent funnel stages.

    A contact counts for ``from -> to`` when it passed ``from`` (entered it, or skipped over it
    from an earlier stage; a contact created directly at a later stage is not counted) and it
    converts when it is later at ``to`` or a further stage. So a contact going lead -> sql
    counts as passing mql for the mql -> sql rate: it progressed past mql, and counting it as
    lost at mql would understate both rates. Days run from the row that passed ``from`` to the
    first row at ``to`` or later after it; the skipper above books its lead -> sql time to
    lead -> mql and 0 days to mql -> sql, so a contact's days add up along the funnel.

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.

    Returns
    -------
    DataFrame
        One row per adjacent pair, in funnel order: ``from_stage``, ``to_stage``,
        ``reached_from`` (contacts that passed ``from``), ``reached_to_after`` (of those, the
        ones at ``to`` or later afterwards), ``rate`` (their ratio, null when none passed),
        ``median_days``, ``mean_days`` (over converting contacts), ``via_skip`` (converting
        contacts that skipped ``from`` or ``to``).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2, 3], "stage": ["lead", "mql", "lead",
    ...     "sql", "lead"], "timestamp": ["2024-01-01", "2024-01-03", "2024-01-01",
    ...     "2024-01-02", "2024-01-05"]})
    >>> sc = stage_conversion(crm)
    >>> sc.filter(pl.col("from_stage") == "lead").select("reached_from", "reached_to_after",
    ...     "median_days", "via_skip").row(0)
    (3, 2, 1.5, 1)
    """
    df = _load(crm)
    rows = []
    for s in range(len(CRM_STAGES) - 1):
        r = _pass_and_reach(df, s, s + 1)
        won = r.filter(pl.col("end_time").is_not_null())
        stats = won.select(
            _days("start_time", "end_time").median().alias("median_days"),
            _days("start_time", "end_time").mean().alias("mean_days"),
            ((pl.col("start_rank") != s) | (pl.col("end_rank") != s + 1))
            .sum()
            .cast(pl.Int64)
            .alias("via_skip"),
        ).row(0)
        rows.append((CRM_STAGES[s], CRM_STAGES[s + 1], r.height, won.height, *stats))
    schema = {
        "from_stage": pl.String,
        "to_stage": pl.String,
        "reached_from": pl.Int64,
        "reached_to_after": pl.Int64,
        "median_days": pl.Float64,
        "mean_days": pl.Float64,
        "via_skip": pl.Int64,
    }
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.select(
        "from_stage",
        "to_stage",
        "reached_from",
        "reached_to_after",
        _ratio("reached_to_after", "reached_from").alias("rate"),
        "median_days",
        "mean_days",
        "via_skip",
    )


# ----------------------------------------------------------------------------------------------
# cycle length, close rate, win rate, lead conversion, sourcing


class SalesCycle(NamedTuple):
    """Result of :func:`sales_cycle`: per-contact days and a summary (unpacks as a pair)."""

    contacts: pl.DataFrame
    summary: pl.DataFrame


def sales_cycle(
    crm: FrameLike,
    *,
    start: str = "lead",
    end: str = "customer",
    freq: Freq | None = None,
) -> SalesCycle:
    """Measure the sales cycle: days from passing ``start`` to first reaching ``end``.

    Passing and reaching follow the module's rules: a skip over ``start`` passes it at the
    later stage's time; reaching ``end`` means the first row at ``end`` or a later stage after
    that (a new customer that goes straight to evangelist closes then).

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    start, end : str
        Stages from :data:`~attribution.schema.CRM_STAGES`, ``start`` before ``end``.
    freq : {"1d", "1w", "1mo", "1q", "1y"}, optional
        Summarise per cohort: contacts grouped by the period in which they passed ``start``.

    Returns
    -------
    SalesCycle
        ``contacts``: ``user_id``, ``start_time``, ``end_time`` (null while open), ``days``
        (Float64, null while open), one row per contact that passed ``start``.
        ``summary``: ``[period,] contacts, closed, median_days, mean_days, min_days,
        max_days`` (days over closed contacts).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2], "stage": ["lead", "customer"] * 2,
    ...     "timestamp": ["2024-01-01", "2024-01-11", "2024-01-01", "2024-01-31"]})
    >>> per_contact, summary = sales_cycle(crm)
    >>> per_contact["days"].to_list(), summary["median_days"].to_list()
    ([10.0, 30.0], [20.0])
    """
    s, e = _stage_rank(start, "start"), _stage_rank(end, "end")
    if not s < e:
        raise ValidationError(
            f"start must come before end in the funnel ({' -> '.join(CRM_STAGES)}); "
            f"got start={start!r}, end={end!r}."
        )
    check_freq(freq, optional=True)
    r = _pass_and_reach(_load(crm), s, e)
    contacts = r.select(
        "user_id", "start_time", "end_time", _days("start_time", "end_time").alias("days")
    )
    keys: list[str] = []
    base = contacts
    if freq is not None:
        base = contacts.with_columns(_period("start_time", freq).alias("period"))
        keys = ["period"]
    days = pl.col("days")
    agg = [
        pl.len().cast(pl.Int64).alias("contacts"),
        days.is_not_null().sum().cast(pl.Int64).alias("closed"),
        days.median().alias("median_days"),
        days.mean().alias("mean_days"),
        days.min().alias("min_days"),
        days.max().alias("max_days"),
    ]
    summary = base.group_by(keys).agg(agg).sort(keys) if keys else base.select(agg)
    return SalesCycle(contacts, summary)


def conversion_rate(
    crm: FrameLike, *, start: str, end: str, freq: Freq | None = None
) -> pl.DataFrame:
    """Share of contacts passing ``start`` that later reach ``end`` (or a later stage).

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    start, end : str
        Stages, ``start`` before ``end``.
    freq : {"1d", "1w", "1mo", "1q", "1y"}, optional
        Cohorts by the period in which contacts passed ``start``.

    Returns
    -------
    DataFrame
        ``[period,] contacts, converted, rate`` (rate null when no contact passed ``start``).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2], "stage": ["mql", "sql", "mql"],
    ...                     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01"]})
    >>> conversion_rate(crm, start="mql", end="sql").row(0)
    (2, 1, 0.5)
    """
    s, e = _stage_rank(start, "start"), _stage_rank(end, "end")
    if not s < e:
        raise ValidationError(
            f"start must come before end in the funnel; got start={start!r}, end={end!r}."
        )
    return _cohort_rate(crm, s, e, freq, ("contacts", "converted", "rate"))


def close_rate(crm: FrameLike, *, freq: Freq | None = None) -> pl.DataFrame:
    """Close rate: customers / opportunities (25 won of 100 proposals is 25%).

    Opportunities are contacts that passed the opportunity stage; customers are those of them
    that became customers (or evangelists) afterwards. Open opportunities count as not closed;
    see :func:`opportunity_win_rate` for the rate over decided opportunities only.

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    freq : {"1d", "1w", "1mo", "1q", "1y"}, optional
        Cohorts by the period in which the opportunity was opened.

    Returns
    -------
    DataFrame
        ``[period,] opportunities, customers, close_rate``.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": list(range(100)) + list(range(25)),
    ...     "stage": ["opportunity"] * 100 + ["customer"] * 25,
    ...     "timestamp": ["2024-01-01"] * 100 + ["2024-02-01"] * 25})
    >>> close_rate(crm).row(0)
    (100, 25, 0.25)
    """
    return _cohort_rate(
        crm,
        _RANK["opportunity"],
        _RANK["customer"],
        freq,
        ("opportunities", "customers", "close_rate"),
    )


def lead_conversion_rate(crm: FrameLike, *, freq: Freq | None = None) -> pl.DataFrame:
    """Lead conversion: customers / leads (10 buyers of 100 leads is 10%).

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    freq : {"1d", "1w", "1mo", "1q", "1y"}, optional
        Cohorts by the period in which contacts became leads.

    Returns
    -------
    DataFrame
        ``[period,] leads, customers, lead_conversion_rate``.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": list(range(100)) + list(range(10)),
    ...     "stage": ["lead"] * 100 + ["customer"] * 10,
    ...     "timestamp": ["2024-01-01"] * 100 + ["2024-03-01"] * 10})
    >>> lead_conversion_rate(crm).row(0)
    (100, 10, 0.1)
    """
    return _cohort_rate(
        crm, _RANK["lead"], _RANK["customer"], freq, ("leads", "customers", "lead_conversion_rate")
    )


def opportunity_win_rate(
    crm: FrameLike,
    *,
    freq: Freq | None = None,
    stale_after_days: float | None = None,
    as_of: dt.datetime | None = None,
) -> pl.DataFrame:
    """Opportunity-to-win rate: won / (won + lost), over decided opportunities only.

    Each contact that passed the opportunity stage is *won* when it later reaches customer (or
    evangelist); otherwise *lost* when it fell back to a stage before opportunity after it
    (a recycled deal), or when it has been open longer than ``stale_after_days`` at ``as_of``;
    otherwise *open*, and left out of the rate (unlike :func:`close_rate`, which counts open
    opportunities as not closed).

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    freq : {"1d", "1w", "1mo", "1q", "1y"}, optional
        Cohorts by the period in which the opportunity was opened.
    stale_after_days : float, optional
        Count open opportunities older than this as lost.
    as_of : datetime, optional
        The date open opportunities are aged at (naive means UTC); default the last
        timestamp of the log.

    Returns
    -------
    DataFrame
        ``[period,] opportunities, won, lost, open, win_rate`` (null when none is decided).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2, 3], "stage": ["opportunity", "customer",
    ...     "opportunity", "mql", "opportunity"], "timestamp": ["2024-01-01", "2024-01-05",
    ...     "2024-01-01", "2024-01-09", "2024-01-02"]})
    >>> opportunity_win_rate(crm).row(0)
    (3, 1, 1, 1, 0.5)
    """
    check_freq(freq, optional=True)
    if stale_after_days is not None and not stale_after_days > 0:
        raise ValidationError(f"stale_after_days must be > 0 or None; got {stale_after_days!r}.")
    df = _load(crm)
    opp = _RANK["opportunity"]
    r = _pass_and_reach(df, opp, _RANK["customer"])
    fell = (
        df.join(r.select("user_id", "start_time"), on="user_id")
        .filter((pl.col("timestamp") > pl.col("start_time")) & (pl.col("rank") < opp))
        .select("user_id")
        .unique()
        .with_columns(pl.lit(True).alias("fell_back"))
    )
    r = r.join(fell, on="user_id", how="left")
    if as_of is None:
        ref = df["timestamp"].max()
    else:
        ref = as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.timezone.utc)
    won = pl.col("end_time").is_not_null()
    lost = ~won & pl.col("fell_back").fill_null(False)
    if stale_after_days is not None:
        age = (pl.lit(ref, pl.Datetime("us", "UTC")) - pl.col("start_time")).dt.total_microseconds()
        lost = lost | (~won & (age > stale_after_days * _US_PER_DAY))
    r = r.with_columns(won.alias("__won"), lost.alias("__lost"))
    keys: list[str] = []
    if freq is not None:
        r = r.with_columns(_period("start_time", freq).alias("period"))
        keys = ["period"]
    agg = [
        pl.len().cast(pl.Int64).alias("opportunities"),
        pl.col("__won").sum().cast(pl.Int64).alias("won"),
        pl.col("__lost").sum().cast(pl.Int64).alias("lost"),
    ]
    out = r.group_by(keys).agg(agg).sort(keys) if keys else r.select(agg)
    decided = pl.col("won") + pl.col("lost")
    return out.with_columns(
        (pl.col("opportunities") - decided).alias("open"),
        pl.when(decided > 0).then(pl.col("won") / decided).otherwise(None).alias("win_rate"),
    )


def sourcing(crm: FrameLike, *, freq: Freq | None = None) -> pl.DataFrame:
    """Leads, customers and revenue by the team that sourced the contact (marketing vs sales).

    A contact's source is the first non-null ``source`` among its rows in time order (null when
    it has none). Here a lead is any contact that reached lead or a later stage, however it
    entered (sourcing counts what each team brought in, including contacts created directly as
    sql or customer), at the time of its first such row; a customer is a contact that reached
    customer or evangelist, at the time of its first such row; revenue is the sum of
    ``amount`` over customer rows, at their time.

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    freq : {"1d", "1w", "1mo", "1q", "1y"}, optional
        Count per period (leads in the period they became leads, customers and revenue in the
        period they were won).

    Returns
    -------
    DataFrame
        ``[period,] source, leads, customers, revenue, lead_share, customer_share,
        revenue_share`` (shares of the period's totals, null when the total is 0); sorted by
        period and source, null source last.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 3], "stage": ["lead", "customer", "lead",
    ...     "lead"], "source": ["marketing", None, "sales", "marketing"], "amount": [None,
    ...     90.0, None, None], "timestamp": ["2024-01-01", "2024-01-09", "2024-01-02",
    ...     "2024-01-03"]})
    >>> sourcing(crm).select("source", "leads", "customers", "revenue").rows()
    [('marketing', 2, 1, 90.0), ('sales', 1, 0, 0.0)]
    """
    check_freq(freq, optional=True)
    df = _load(crm)
    src = (
        df.filter(pl.col("source").is_not_null())
        .filter(pl.col("g").is_first_distinct())
        .select("g", pl.col("source").alias("__src"))
    )
    df = df.join(src, on="g", how="left", maintain_order="left")
    keys = ["__src"]
    if freq is not None:
        df = df.with_columns(_period("timestamp", freq).alias("period"))
        keys = ["period", "__src"]

    def first_at(rank: int, name: str) -> pl.DataFrame:
        firsts = df.filter(pl.col("rank") >= rank).filter(pl.col("g").is_first_distinct())
        return firsts.group_by(keys).agg(pl.len().cast(pl.Int64).alias(name))

    leads = first_at(_RANK["lead"], "leads")
    customers = first_at(_RANK["customer"], "customers")
    revenue = (
        df.filter(pl.col("rank") == _RANK["customer"])
        .group_by(keys)
        .agg(pl.col("amount").sum().alias("revenue"))
    )
    out = (
        leads.join(customers, on=keys, how="full", coalesce=True, nulls_equal=True)
        .join(revenue, on=keys, how="full", coalesce=True, nulls_equal=True)
        .with_columns(
            pl.col("leads").fill_null(0),
            pl.col("customers").fill_null(0),
            pl.col("revenue").fill_null(0.0),
        )
    )
    over = "period" if freq is not None else None

    def share(col: str) -> pl.Expr:
        total = pl.col(col).sum().over(over) if over else pl.col(col).sum()
        return pl.when(total > 0).then(pl.col(col) / total).otherwise(None)

    out = out.with_columns(
        share("leads").alias("lead_share"),
        share("customers").alias("customer_share"),
        share("revenue").alias("revenue_share"),
    )
    order = [*keys[:-1], pl.col("__src").is_null(), "__src"]
    return out.sort(order).select(
        *keys[:-1],
        pl.col("__src").alias("source"),
        "leads",
        "customers",
        "revenue",
        "lead_share",
        "customer_share",
        "revenue_share",
    )


# ----------------------------------------------------------------------------------------------
# SLA between marketing and sales

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)\s*$")
_UNIT_US = {"s": 1e6, "sec": 1e6, "m": 6e7, "min": 6e7, "h": 3.6e9, "d": 8.64e10}


def _duration(value: str | dt.timedelta) -> tuple[str, int]:
    """Parse a follow-up window into (label, microseconds): ``"24h"``, ``"5m"``, or a timedelta."""
    if isinstance(value, dt.timedelta):
        us = round(value.total_seconds() * 1e6)
        secs = us // 1_000_000
        if us <= 0:
            raise ValidationError(f"follow_up windows must be positive; got {value!r}.")
        if us % 1_000_000 == 0 and secs % 86_400 == 0:
            label = f"{secs // 86_400}d"
        elif us % 1_000_000 == 0 and secs % 3_600 == 0:
            label = f"{secs // 3_600}h"
        elif us % 1_000_000 == 0 and secs % 60 == 0:
            label = f"{secs // 60}m"
        else:
            label = f"{us / 1e6:g}s"
        return label, us
    m = _DURATION.match(str(value))
    if not m or float(m.group(1)) <= 0:
        raise ValidationError(
            f"follow_up windows must be positive durations such as '24h', '5m', '90s' or '2d' "
            f"(s, m, h, d); got {value!r}."
        )
    return str(value).strip(), round(float(m.group(1)) * _UNIT_US[m.group(2)])


def _to_period(value: Any, freq: str, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            raise ValidationError(
                f"{what} periods must be dates (YYYY-MM-DD) or datetimes; got {value!r}."
            ) from None
    return pl.Series([day]).dt.truncate(freq).item()


def _commitments(commitment: Any, freq: str) -> pl.DataFrame | float | None:
    """Normalise the MQL commitment to a number, or a frame ``period, target`` at period starts."""
    what = "mql_commitment"
    if commitment is None:
        return None
    if isinstance(commitment, int | float) and not isinstance(commitment, bool):
        if not commitment >= 0:
            raise ValidationError(f"{what} must be ≥ 0; got {commitment!r}.")
        return float(commitment)
    if isinstance(commitment, pl.DataFrame | pl.LazyFrame):
        frame = to_lazy(commitment).collect()
        check_columns(frame.schema, ["period", "target"], "mql_commitment frame")
        keys, values = frame["period"].to_list(), frame["target"].to_list()
    elif isinstance(commitment, Mapping):
        keys, values = list(commitment.keys()), list(commitment.values())
    else:
        raise ValidationError(
            f"{what} must be a number, a dict {{period: number}} or a frame with columns "
            f"'period' and 'target'; got a {type(commitment).__name__}."
        )
    periods = [_to_period(k, freq, what) for k in keys]
    out = pl.DataFrame(
        {"period": periods, "target": values}, schema={"period": pl.Date, "target": pl.Float64}
    )
    bad = out.filter(~(pl.col("target") >= 0))
    if bad.height:
        raise ValidationError(
            f"{what} has {bad.height} targets that are null, negative or NaN "
            f"(periods {', '.join(str(p) for p in bad['period'].head(5).to_list())}); targets "
            "must be ≥ 0."
        )
    dup = out.group_by("period").len().filter(pl.col("len") > 1)
    if dup.height:
        raise ValidationError(
            f"{what} gives {dup.height} periods more than one target once dates are moved to "
            f"the start of their {freq} period ({', '.join(str(p) for p in dup['period'])})."
        )
    return out


def sla_attainment(
    crm: FrameLike,
    activities: FrameLike | None = None,
    *,
    mql_commitment: float | Mapping[Any, float] | pl.DataFrame | None = None,
    freq: Freq = "1mo",
    follow_up: Sequence[str | dt.timedelta] | str | dt.timedelta = ("24h", "5m"),
    follow_up_target: float | Mapping[str, float] = 1.0,
    max_attempts: int | None = None,
) -> pl.DataFrame:
    """SLA attainment per period and team: MQLs delivered, SQL follow-up time and attempts.

    Metrics (``team`` in brackets):

    - ``mqls_delivered`` (marketing): contacts that passed the mql stage in the period for the
      first time (a skip from lead to sql passes mql; contacts created beyond mql do not);
      target ``mql_commitment``; attained when actual ≥ target.
    - ``sql_followed_up_within_<window>`` (sales), one per ``follow_up`` window: share of the
      period's SQLs whose follow-up came within the window (inclusive). An SQL is each entry
      to the sql stage (a fall-back and a new entry is a new SQL; a repeated sql row is not).
      Its follow-up is the contact's first activity at or after the SQL time; an SQL without
      one is not followed up and counts against the share. Target ``follow_up_target``
      (default 1.0: the SLA promises to follow up *each* SQL; use e.g. 0.9 for a 90% goal);
      attained when share ≥ target.
    - ``attempts_per_lead`` (sales), when ``max_attempts`` is given: the largest number of
      activities on one of the period's SQLs, counted from the SQL time until the contact's
      next stage change (or the end of the log); attained when that maximum ≤ ``max_attempts``.

    With ``activities=None`` only the marketing metric is reported.

    Parameters
    ----------
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    activities
        Output of :func:`read_activities`, or anything it accepts with the default names.
    mql_commitment : float, dict or DataFrame, optional
        MQLs marketing commits to per period: one number for every period, a dict
        ``{period: number}`` (dates, datetimes or ISO strings, moved to the start of their
        period) or a frame with columns ``period`` and ``target``. Periods without a target
        (or ``None``) get a null target and null ``attained``.
    freq : {"1d", "1w", "1mo", "1q", "1y"}
        Period length. Periods run from the first to the last of the CRM log (plus any period
        with a commitment).
    follow_up : str, timedelta or sequence of them
        Follow-up windows such as ``"24h"`` and ``"5m"`` (units s, m, h, d).
    follow_up_target : float or dict
        Required share of SQLs followed up in time, one for all windows or per window label
        (``{"24h": 1.0, "5m": 0.5}``).
    max_attempts : int, optional
        Agreed maximum number of attempts per SQL.

    Returns
    -------
    DataFrame
        Long format: ``period`` (Date), ``team`` (``marketing`` or ``sales``), ``metric``,
        ``actual`` (Float64; a share in [0, 1] for follow-ups, null when the period has no
        SQL), ``target`` (Float64), ``attained`` (Boolean, null when the target or actual is
        null), ``base`` (Int64: the number of SQLs a sales figure is measured over; null for
        ``mqls_delivered``). Sorted by period, team, then metric in the order above.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 2, 2], "stage": ["mql", "mql", "sql"],
    ...     "timestamp": ["2024-01-02", "2024-01-03", "2024-01-04T10:00:00"]})
    >>> acts = pl.DataFrame({"user_id": [2], "timestamp": ["2024-01-04T12:00:00"],
    ...                      "activity": ["call"]})
    >>> sla = sla_attainment(crm, acts, mql_commitment=3, follow_up="24h")
    >>> sla.select("team", "metric", "actual", "target", "attained").rows()
    [('marketing', 'mqls_delivered', 2.0, 3.0, False), ('sales', 'sql_followed_up_within_24h', 1.0, 1.0, True)]
    """  # noqa: E501
    check_freq(freq, optional=True)
    windows = [follow_up] if isinstance(follow_up, str | dt.timedelta) else list(follow_up)
    parsed = [_duration(w) for w in windows]
    labels = [label for label, _ in parsed]
    if len(set(labels)) != len(labels):
        raise ValidationError(f"follow_up has repeated windows: {labels}.")
    targets = _follow_up_targets(follow_up_target, labels)
    if max_attempts is not None and (int(max_attempts) != max_attempts or max_attempts < 0):
        raise ValidationError(
            f"max_attempts must be a whole number ≥ 0 or None; got {max_attempts!r}."
        )
    commitment = _commitments(mql_commitment, freq)

    df = _load(crm)
    first, last = df["timestamp"].min(), df["timestamp"].max()
    lo = pl.Series([first]).dt.truncate(freq).dt.date().item()
    hi = pl.Series([last]).dt.truncate(freq).dt.date().item()
    if isinstance(commitment, pl.DataFrame) and commitment.height:
        lo = min(lo, commitment["period"].min())
        hi = max(hi, commitment["period"].max())
    grid = _period_grid(lo, hi, freq).to_frame()

    # marketing: MQLs delivered
    mql = _pass_and_reach(df, _RANK["mql"], None)
    mql_counts = mql.group_by(_period("start_time", freq).alias("period")).agg(
        pl.len().cast(pl.Float64).alias("actual")
    )
    marketing = grid.join(mql_counts, on="period", how="left").with_columns(
        pl.col("actual").fill_null(0.0)
    )
    if isinstance(commitment, pl.DataFrame):
        marketing = marketing.join(commitment, on="period", how="left")
    else:
        marketing = marketing.with_columns(pl.lit(commitment, pl.Float64).alias("target"))
    parts = [
        marketing.select(
            "period",
            pl.lit("marketing").alias("team"),
            pl.lit("mqls_delivered").alias("metric"),
            "actual",
            "target",
            (pl.col("actual") >= pl.col("target")).alias("attained"),
            pl.lit(None, pl.Int64).alias("base"),
        )
    ]

    if activities is not None:
        acts = read_activities(activities).collect()
        if acts["user_id"].dtype != df["user_id"].dtype:
            raise SchemaError(
                f"User ids are {df['user_id'].dtype} in the {_CRM} but "
                f"{acts['user_id'].dtype} in the {_ACT}; they must have the same type to be "
                "matched."
            )
        parts.append(_sales_metrics(df, acts, grid, freq, parsed, targets, max_attempts))

    order = {
        "mqls_delivered": 0,
        **{f"sql_followed_up_within_{lb}": i + 1 for i, lb in enumerate(labels)},
        "attempts_per_lead": len(labels) + 1,
    }
    out = pl.concat(parts, how="vertical")
    return out.sort("period", "team", pl.col("metric").replace_strict(order, return_dtype=pl.Int64))


def _follow_up_targets(target: float | Mapping[str, float], labels: list[str]) -> dict[str, float]:
    if isinstance(target, Mapping):
        missing = [lb for lb in labels if lb not in target]
        if missing:
            raise ValidationError(
                f"follow_up_target has no target for the window(s) {missing}; give one per "
                f"follow_up window ({labels}) or a single number."
            )
        out = {lb: float(target[lb]) for lb in labels}
    else:
        out = dict.fromkeys(labels, float(target))
    for lb, v in out.items():
        if not 0.0 <= v <= 1.0:
            raise ValidationError(
                f"follow_up_target must be a share in [0, 1]; got {v!r} for window {lb!r}."
            )
    return out


def _sales_metrics(
    df: pl.DataFrame,
    acts: pl.DataFrame,
    grid: pl.DataFrame,
    freq: str,
    windows: list[tuple[str, int]],
    targets: dict[str, float],
    max_attempts: int | None,
) -> pl.DataFrame:
    user = "user_id"
    sql = _RANK["sql"]
    entries = df.filter(pl.col("prev").is_null() | (pl.col("prev") != pl.col("rank")))
    same = pl.col("g").shift(-1) == pl.col("g")
    entries = entries.with_columns(
        pl.when(same).then(pl.col("timestamp").shift(-1)).otherwise(None).alias("__next")
    )
    sqls = (
        entries.filter(pl.col("rank") == sql)
        .select(user, pl.col("timestamp").alias("__t"), "__next")
        .with_row_index("__sql")
        .sort("__t")
    )
    first_act = sqls.join_asof(
        acts.select(user, pl.col("timestamp").alias("__a")).sort("__a"),
        left_on="__t",
        right_on="__a",
        by=user,
        strategy="forward",
        check_sortedness=False,  # sorted by time above; the check cannot see groups
    )
    delay = (pl.col("__a") - pl.col("__t")).dt.total_microseconds()
    per_sql = first_act.with_columns(
        _period("__t", freq).alias("period"),
        *[(delay <= us).fill_null(False).alias(f"__w{i}") for i, (_, us) in enumerate(windows)],
    )
    aggs = [pl.len().cast(pl.Int64).alias("base")]
    aggs += [pl.col(f"__w{i}").mean().alias(f"__w{i}") for i in range(len(windows))]
    if max_attempts is not None:
        attempts = (
            sqls.join(acts.select(user, pl.col("timestamp").alias("__a")), on=user)
            .filter(
                (pl.col("__a") >= pl.col("__t"))
                & (pl.col("__next").is_null() | (pl.col("__a") < pl.col("__next")))
            )
            .group_by("__sql")
            .agg(pl.len().cast(pl.Int64).alias("__attempts"))
        )
        per_sql = per_sql.join(attempts, on="__sql", how="left").with_columns(
            pl.col("__attempts").fill_null(0)
        )
        aggs.append(pl.col("__attempts").max().cast(pl.Float64).alias("__attempts"))
    stats = grid.join(per_sql.group_by("period").agg(aggs), on="period", how="left").with_columns(
        pl.col("base").fill_null(0)
    )
    rows = []
    for i, (label, _) in enumerate(windows):
        rows.append(
            stats.select(
                "period",
                pl.lit("sales").alias("team"),
                pl.lit(f"sql_followed_up_within_{label}").alias("metric"),
                pl.col(f"__w{i}").cast(pl.Float64).alias("actual"),
                pl.lit(targets[label], pl.Float64).alias("target"),
                (pl.col(f"__w{i}") >= targets[label]).alias("attained"),
                "base",
            )
        )
    if max_attempts is not None:
        rows.append(
            stats.select(
                "period",
                pl.lit("sales").alias("team"),
                pl.lit("attempts_per_lead").alias("metric"),
                pl.col("__attempts").alias("actual"),
                pl.lit(float(max_attempts), pl.Float64).alias("target"),
                (pl.col("__attempts") <= max_attempts).alias("attained"),
                "base",
            )
        )
    return pl.concat(rows, how="vertical")


# ----------------------------------------------------------------------------------------------
# attribution to a stage


def attribute_stage(
    events: FrameLike,
    crm: FrameLike,
    *,
    stage: str = "mql",
    model: str = "linear",
    lookback_days: float | None = None,
    **model_params: Any,
) -> Attribution:
    """Attribute a funnel stage (which channels produce MQLs, SQLs, customers...) to channels.

    Each contact's conversion is the moment it first passes ``stage`` (entering it, or
    skipping over it from an earlier stage, at the later stage's time). Contacts created
    directly beyond ``stage`` never passed it: they are neither conversions nor
    non-conversions, and their touches are left out. Touches of a converting contact after its
    conversion are left out too (they cannot have produced it; a touch at the very conversion
    time counts toward it). Touches of contacts that never reached the stage (including users
    absent from the CRM log) form non-converting journeys, which Markov and Shapley use.
    Journeys are built with :func:`attribution.build_journeys` and credited by
    :func:`attribution.attribute`.

    Parameters
    ----------
    events
        Touches: output of :func:`attribution.read_events` or any frame it accepts with the
        default names (``user_id``, ``timestamp``, ``channel``, ``event``); only ``touch`` rows
        are used (without an ``event`` column every row is a touch).
    crm
        Output of :func:`read_crm`, or anything it accepts with the default column names.
    stage : str
        The stage to attribute.
    model : str
        Model name, see :data:`attribution.MODELS`.
    lookback_days : float, optional
        Keep only touches at most this many days before the conversion.
    **model_params
        The model's own parameters.

    Returns
    -------
    Attribution
        Its revenue is the ``amount`` of the customer row that made the contact a customer
        when ``stage="customer"`` (0 when that row has none, e.g. a jump to evangelist), and 0
        for other stages.

    Raises
    ------
    SchemaError
        User ids have different types in the two logs.
    EmptyInputError
        No contact passed ``stage``.

    Examples
    --------
    >>> import polars as pl
    >>> touches = pl.DataFrame({"user_id": [1, 1, 2], "channel": ["seo", "email", "ads"],
    ...     "timestamp": ["2024-01-01", "2024-01-03", "2024-01-02"]})
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2], "stage": ["lead", "mql", "lead"],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-02"]})
    >>> res = attribute_stage(touches, crm, model="last_touch")
    >>> res.channels["channel", "conversions"].rows()
    [('ads', 0.0), ('seo', 1.0)]
    """
    s = _stage_rank(stage)
    df = _load(crm)
    reach = _pass_and_reach(df, s, None)
    if reach.height == 0:
        raise EmptyInputError(
            f"No contact in the {_CRM} passed the stage {stage!r}; there is nothing to attribute."
        )
    passed = reach["user_id"]
    beyond = (
        df.filter(pl.col("rank") >= s)
        .select("user_id")
        .unique()
        .filter(~pl.col("user_id").is_in(passed.implode()))
    )
    ev_lf = to_lazy(events, what="event log")
    if "event" not in ev_lf.collect_schema().names():
        ev_lf = ev_lf.with_columns(pl.lit("touch").alias("event"))
    touches = (
        read_events(ev_lf)
        .filter(pl.col("event") == "touch")
        .select("user_id", "timestamp", "channel")
        .collect()
    )
    if touches["user_id"].dtype != df["user_id"].dtype:
        raise SchemaError(
            f"User ids are {touches['user_id'].dtype} in the event log but "
            f"{df['user_id'].dtype} in the {_CRM}; they must have the same type to be matched."
        )
    if stage == "customer":
        amounts = (
            df.filter(pl.col("rank") == s)
            .select(
                "user_id",
                pl.col("timestamp").alias("start_time"),
                pl.col("amount").alias("revenue"),
            )
            .unique(["user_id", "start_time"], keep="first", maintain_order=True)
        )
        conv = reach.join(amounts, on=["user_id", "start_time"], how="left")
        revenue = pl.col("revenue").fill_null(0.0)
    else:
        conv, revenue = reach, pl.lit(0.0)
    conversions = conv.select(
        "user_id",
        pl.col("start_time").alias("timestamp"),
        pl.lit(None, pl.String).alias("channel"),
        pl.lit("conversion").alias("event"),
        revenue.cast(pl.Float64).alias("revenue"),
    )
    kept = (
        touches.join(beyond, on="user_id", how="anti")
        .join(reach.select("user_id", "start_time"), on="user_id", how="left")
        .filter(pl.col("start_time").is_null() | (pl.col("timestamp") <= pl.col("start_time")))
        .select(
            "user_id",
            "timestamp",
            "channel",
            pl.lit("touch").alias("event"),
            pl.lit(0.0).alias("revenue"),
        )
    )
    journeys = build_journeys(pl.concat([kept, conversions]), lookback_days=lookback_days)
    return attribute(journeys, model=model, **model_params)
