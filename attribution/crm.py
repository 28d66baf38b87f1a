"""CRM reading: the lifecycle log (one row per stage change) and the sales activity log.

The CRM lifecycle log has one row per stage change: ``user_id``, ``timestamp``, ``stage`` in
:data:`attribution.schema.CRM_STAGES` (subscriber -> lead -> mql -> sql -> opportunity ->
customer -> evangelist), optional ``source`` (marketing or sales) and ``amount`` on customer
rows. Sales activities have ``user_id``, ``timestamp``, ``activity`` (call, email, meeting...).
:func:`read_crm` and :func:`read_activities` map the user's column names, read timestamps with
the base layer's one time parser (ISO text with ``Z`` or offsets, ``YYYY-MM``, epoch numbers;
a value that is not a time raises naming its rows) and validate every value rule, naming rows
and contact ids. The figures built on these logs are in :mod:`attribution.kpis.funnel`,
:mod:`attribution.kpis.sla` and :mod:`attribution.kpis.stage_attribution`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from attribution._base.errors import EmptyInputError, SchemaError, ValidationError, describe_rows
from attribution._base.frames import (
    ROW,
    FrameLike,
    check_columns,
    is_empty,
    is_text,
    numeric_expr,
    reads,
    to_lazy,
)
from attribution._base.time import EpochUnit, check_time_zone, parse_times
from attribution.schema import CRM_STAGES

__all__ = [
    "ACTIVITY_COLUMNS",
    "CRM_COLUMNS",
    "collect_crm",
    "read_activities",
    "read_crm",
]

#: Canonical columns of :func:`read_crm`, in order.
CRM_COLUMNS: tuple[str, ...] = ("user_id", "timestamp", "stage", "source", "amount")
#: Canonical columns of :func:`read_activities`, in order.
ACTIVITY_COLUMNS: tuple[str, ...] = ("user_id", "timestamp", "activity")
#: How the two logs are named in messages.
CRM_LOG = "CRM lifecycle log"
ACTIVITY_LOG = "sales activity log"


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
    """Rows (with their contact ids, and values of ``value``) where ``bad`` holds: up to 6."""
    sel = [pl.col(ROW), pl.col("user_id")]
    if value is not None:
        sel.append(pl.col(value).alias("__value"))
    rows = lf.filter(bad).select(sel).head(6).collect()
    values = rows["__value"].to_list() if value is not None else None
    return rows[ROW].to_list(), values, rows["user_id"].to_list()


def _check_common(
    lf: pl.LazyFrame,
    counts: dict[str, int],
    *,
    user_col: str,
    time_col: str,
    what: str,
) -> None:
    """Raise on an empty log, null contact ids or null timestamps (bad ones raised earlier)."""
    if counts["rows"] == 0:
        raise EmptyInputError(f"The {what} is empty (0 rows).")
    if counts["user_null"]:
        rows, _, _ = _sample(lf, pl.col("user_id").is_null(), None)
        raise ValidationError(
            f"Column {user_col!r} of the {what} has {counts['user_null']} nulls "
            f"({describe_rows(rows, total=counts['user_null'])}); user ids must be non-null."
        )
    if counts["time_null"]:
        rows, _, ids = _sample(lf, pl.col("timestamp").is_null(), None)
        raise ValidationError(
            f"Column {time_col!r} of the {what} has {counts['time_null']} nulls "
            f"({describe_rows(rows, ids=ids, total=counts['time_null'])}); every row needs a "
            "timestamp."
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
    epoch_unit: EpochUnit | str | None,
) -> tuple[pl.LazyFrame, pl.Schema, list[pl.Expr]]:
    """Check the source's columns and build the canonical ones; bad times raise here."""
    lf = to_lazy(source, what=what)
    schema = lf.collect_schema()
    check_columns(schema, [user_col, time_col, label_col], what)
    check_time_zone(time_zone)
    if is_empty(lf):
        raise EmptyInputError(f"The {what} is empty (0 rows).")
    exprs = [
        pl.col(ROW),
        _user_expr(schema, user_col).alias("user_id"),
        parse_times(lf, time_col, what=what, time_zone=time_zone, epoch_unit=epoch_unit).alias(
            "timestamp"
        ),
        _label_expr(schema, label_col, label_what).alias("__label"),
    ]
    return lf, schema, exprs


@reads(source="CRM table")
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
    epoch_unit: EpochUnit | str | None = None,
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
    epoch_unit : {"s", "ms", "us", "ns"}, optional
        Unit of numeric (epoch) timestamps; detected from their magnitude when not given.

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
        Null ids, null timestamps or values that are not times, null or unknown stages (the
        message lists the unknown values with their counts), negative or non-finite amounts;
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


def collect_crm(source: FrameLike) -> pl.DataFrame:
    """Read a CRM lifecycle log with the default column names into memory, validated.

    The same rows and checks as :func:`read_crm`, but the data is read once and then
    validated in memory (a file is not scanned again for each rule): what every figure of
    :mod:`attribution.kpis.funnel` and :mod:`attribution.kpis.sla` does with its ``crm``.

    Examples
    --------
    >>> import polars as pl
    >>> collect_crm(pl.DataFrame({"user_id": [1], "timestamp": ["2024-01"],
    ...                           "stage": ["Lead"]})).row(0)[1:3]
    (datetime.datetime(2024, 1, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC')), 'lead')
    """
    return _read_crm(source, in_memory=True).collect()


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
    epoch_unit: EpochUnit | str | None = None,
    in_memory: bool = False,
) -> pl.LazyFrame:
    """Do the work of :func:`read_crm`; ``in_memory`` reads the data once, then validates."""
    lf, schema, exprs = _normalise(
        source,
        what=CRM_LOG,
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
    normal = lf.with_row_index(ROW).select(exprs)
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
    _check_common(normal, c, user_col=user_col, time_col=time_col, what=CRM_LOG)
    if c["stage_null"]:
        rows, _, ids = _sample(normal, stage.is_null(), None)
        raise ValidationError(
            f"Column {stage_col!r} of the {CRM_LOG} has {c['stage_null']} nulls "
            f"({describe_rows(rows, ids=ids, total=c['stage_null'])}); every row needs a stage."
        )
    if c["stage_bad"]:
        top = (
            normal.filter(stage.is_not_null() & ~known)
            .group_by("__label")
            .agg(pl.len().alias("n"), pl.col(ROW).min().alias("first_row"))
            .sort(["n", "__label"], descending=[True, False])
            .head(5)
            .collect()
        )
        listed = ", ".join(
            f"{v!r} ×{n} (first at row {r})"
            for v, n, r in zip(top["__label"], top["n"], top["first_row"], strict=True)
        )
        raise ValidationError(
            f"Column {stage_col!r} of the {CRM_LOG} has {c['stage_bad']} rows with unknown stages "
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
                f"Column {amount_name!r} of the {CRM_LOG} has {c[key]} {rule} "
                f"({describe_rows(rows, values=vals, ids=ids, total=c[key])}); "
                "amounts must be finite and ≥ 0."
            )
    return normal.select(
        "user_id", "timestamp", pl.col("__label").alias("stage"), "source", "amount"
    )


@reads(source="activities table")
def read_activities(
    source: FrameLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    activity_col: str = "activity",
    time_zone: str = "UTC",
    epoch_unit: EpochUnit | str | None = None,
) -> pl.LazyFrame:
    """Read a sales activity log (one row per call, email, meeting...) and validate it.

    Parameters
    ----------
    source
        Parquet, CSV or NDJSON path, a directory of Parquet files, or a Polars/pandas frame.
    user_col, time_col, activity_col : str
        The contact id, the time of the activity and its type. Types are stripped and
        lower-cased; any label is accepted (``call``, ``email``, ``meeting``, ``sms``...).
    time_zone, epoch_unit
        As for :func:`read_crm`.

    Returns
    -------
    LazyFrame
        ``user_id`` (Int64 or String), ``timestamp`` (Datetime("us", "UTC")), ``activity``
        (String).

    Raises
    ------
    SchemaError, ValidationError
        Missing columns, null ids, null timestamps or values that are not times, null
        activity types;
        :class:`~attribution.EmptyInputError` for an empty log.

    Examples
    --------
    >>> import polars as pl
    >>> acts = read_activities(pl.DataFrame({"user_id": [1], "timestamp": ["2024-01-02 09:00"],
    ...                                      "activity": [" Call"]})).collect()
    >>> acts.row(0)[2]
    'call'
    """
    _, _, exprs = _normalise(
        source,
        what=ACTIVITY_LOG,
        user_col=user_col,
        time_col=time_col,
        label_col=activity_col,
        label_what="activity types",
        time_zone=time_zone,
        epoch_unit=epoch_unit,
    )
    normal = to_lazy(source, what=ACTIVITY_LOG).with_row_index(ROW).select(exprs)
    c = normal.select(
        rows=pl.len(),
        user_null=pl.col("user_id").is_null().sum(),
        time_null=pl.col("timestamp").is_null().sum(),
        label_null=pl.col("__label").is_null().sum(),
    ).collect()
    counts = c.row(0, named=True)
    _check_common(normal, counts, user_col=user_col, time_col=time_col, what=ACTIVITY_LOG)
    if counts["label_null"]:
        rows, _, ids = _sample(normal, pl.col("__label").is_null(), None)
        raise ValidationError(
            f"Column {activity_col!r} of the {ACTIVITY_LOG} has {counts['label_null']} nulls "
            f"({describe_rows(rows, ids=ids, total=counts['label_null'])}); every activity "
            "needs a type."
        )
    return normal.select("user_id", "timestamp", pl.col("__label").alias("activity"))
