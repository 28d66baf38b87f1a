"""Readers for event logs, path tables and spend, and atomic writers for outputs."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from attribution._base.errors import EmptyInputError, SchemaError, ValidationError, describe_rows
from attribution._base.frames import (
    FrameLike,
    check_columns,
    is_empty,
    is_text,
    numeric_expr,
    reads,
    remember_source,
    source_path,
    to_lazy,
)
from attribution._base.output import atomic_path, write_frame
from attribution._base.time import EpochUnit, parse_dates
from attribution.channels import Rules, channel_group
from attribution.schema import EventColumns, mark_canonical, normalise_events, validate_events

__all__ = [
    "FrameLike",
    "atomic_path",
    "read_events",
    "read_spend",
    "to_lazy",
    "write_frame",
]


@reads(source="event log", conversions="conversions table")
def read_events(
    source: FrameLike,
    *,
    user_col: str = "user_id",
    time_col: str = "timestamp",
    channel_col: str = "channel",
    event_col: str | None = "event",
    revenue_col: str | None = "revenue",
    conversion_flag_col: str | None = None,
    touch_events: str | Sequence[str] = ("touch",),
    conversion_events: str | Sequence[str] = ("conversion",),
    time_zone: str = "UTC",
    epoch_unit: EpochUnit | str | None = None,
    time_format: str | None = None,
    conversions: FrameLike | None = None,
    conversion_user_col: str | None = None,
    conversion_time_col: str | None = None,
    validate: bool = True,
    source_col: str | None = None,
    medium_col: str | None = None,
    campaign_col: str | None = None,
    channel_rules: Rules = "ga4",
) -> pl.LazyFrame:
    """Read an event log, map it onto the contract's columns and validate it.

    Parameters
    ----------
    source
        Parquet, CSV or NDJSON path, a directory of Parquet files, or a Polars/pandas frame.
    user_col, time_col, channel_col : str
        The user's names for the user id, timestamp and channel columns.
    event_col : str or None
        Column holding the event type (``touch``, ``conversion`` or a CRM stage).
    revenue_col : str or None
        Column holding conversion value; missing or ``None`` means every conversion is worth 0.
    conversion_flag_col : str or None
        Instead of ``event_col``: a 0/1 column on session rows; a flagged row is a touch *and* a
        conversion at the same time (the session that buys counts toward the purchase).
    touch_events, conversion_events : str or sequence of str
        Values of ``event_col`` meaning a touch or a conversion (e.g. ``"purchase"``).
    time_zone : str
        Zone of naive timestamps; everything is converted to UTC.
    epoch_unit : {"s", "ms", "us", "ns"}, optional
        Unit of numeric (epoch) timestamps; by default detected from their magnitude (below
        1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds).
    time_format : str, optional
        A strftime format for text timestamps, e.g. ``"%d/%m/%Y %H:%M"``. Without it, text is
        read as ISO-8601 (with or without an offset), ``YYYY-MM``, ``YYYYMMDD``, day/month
        text whose order the column decides (text that reads both ways is refused), or epoch
        numbers written as text when every value has 10, 13, 16 or 19 digits (as BigQuery's
        JSON writes them; read as numbers are, see ``epoch_unit``).
    conversions
        Optional separate conversions table (e.g. orders beside sessions). When given, every
        row of ``source`` is a touch (``event_col`` is not used) and every row of
        ``conversions`` is a conversion, read with ``conversion_user_col`` /
        ``conversion_time_col`` (default: the same names as the touches) and ``revenue_col``.
    conversion_user_col, conversion_time_col : str, optional
        Column names in ``conversions``.
    validate : bool
        Check every value rule now (one aggregate pass over the data). With ``False`` only the
        schema is checked; :func:`attribution.build_journeys` validates when it reads.
    source_col, medium_col, campaign_col : str, optional
        In place of ``channel_col``: the traffic source, medium and (optionally) campaign
        columns, as in GA's ``utm_source`` / ``utm_medium`` / ``utm_campaign``. The channel
        is then their channel group (:func:`attribution.channel_group`), by ``channel_rules``.
        ``source_col`` and ``medium_col`` go together; ``campaign_col`` also becomes the
        ``campaign`` column when the log has none of that name. With ``conversions=``, they
        are columns of the touch table.
    channel_rules : "ga4" or rule table
        The rules that turn source, medium and campaign into a channel: GA4's default channel
        groups, or an ordered table of your own (see :mod:`attribution.channels`).

    Returns
    -------
    LazyFrame
        Columns ``user_id, timestamp, channel, event, revenue`` (+ ``campaign``, ``cost`` when
        present), described in :mod:`attribution.schema`. Nothing has been collected.

    Raises
    ------
    SchemaError
        A column is missing or of an unusable type.
    ValidationError
        A value rule is broken (null ids or timestamps, negative revenue, unknown event,
        touch without channel); :class:`EmptyInputError` for an empty log.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> raw = pl.DataFrame({"uid": [1, 1], "ts": ["2024-01-01T10:00:00Z", "2024-01-02"],
    ...                     "src": ["email", None], "kind": ["touch", "conversion"],
    ...                     "value": [None, 30.0]})
    >>> ev = at.read_events(raw, user_col="uid", time_col="ts", channel_col="src",
    ...                     event_col="kind", revenue_col="value").collect()
    >>> ev.columns
    ['user_id', 'timestamp', 'channel', 'event', 'revenue']
    >>> ev["revenue"].to_list()
    [0.0, 30.0]
    >>> utm = pl.DataFrame({"uid": [1, 1, 1], "ts": ["2024-01-01", "2024-01-02", "2024-01-03"],
    ...                     "utm_source": ["google", "newsletter", None],
    ...                     "utm_medium": ["cpc", "email", None],
    ...                     "kind": ["touch", "touch", "conversion"]})
    >>> at.read_events(utm, user_col="uid", time_col="ts", source_col="utm_source",
    ...                medium_col="utm_medium", event_col="kind", revenue_col=None
    ...                ).collect()["channel"].to_list()
    ['Paid Search', 'Email', 'Direct']
    """
    if source_col is not None or medium_col is not None or campaign_col is not None:
        source = _with_channel_group(
            source,
            source_col,
            medium_col,
            campaign_col,
            channel_rules,
            what="touch table" if conversions is not None else "event log",
            id_columns=[user_col],
            value_columns=["cost"] if conversions is not None else [revenue_col, "cost"],
        )
        channel_col = _GROUP
    if conversions is not None:
        return _read_two_tables(
            source,
            conversions,
            EventColumns(
                user=user_col,
                time=time_col,
                channel=channel_col,
                event="__event",
                revenue=None,
                time_zone=time_zone,
                epoch_unit=epoch_unit,
                time_format=time_format,
            ),
            EventColumns(
                user=conversion_user_col or user_col,
                time=conversion_time_col or time_col,
                channel="__channel",
                event="__event",
                revenue=revenue_col,
                time_zone=time_zone,
                epoch_unit=epoch_unit,
                time_format=time_format,
            ),
            validate=validate,
        )
    cols = EventColumns.from_params(
        user_col=user_col,
        time_col=time_col,
        channel_col=channel_col,
        event_col=event_col,
        revenue_col=revenue_col,
        conversion_flag_col=conversion_flag_col,
        touch_events=touch_events,
        conversion_events=conversion_events,
        time_zone=time_zone,
        epoch_unit=epoch_unit,
        time_format=time_format,
    )
    return _read_events(source, cols, validate=validate)


_GROUP = "__channel_group"


def _with_channel_group(
    source: FrameLike,
    source_col: str | None,
    medium_col: str | None,
    campaign_col: str | None,
    rules: Rules,
    *,
    what: str,
    id_columns: Sequence[str],
    value_columns: Sequence[str | None],
) -> pl.LazyFrame:
    """Add the channel group of source, medium and campaign as a column of its own.

    The file is read as :func:`_read_events` reads it (ids as written, ``"007"`` is not
    ``7``; numbers in value columns), since that reader gets the frame built here.
    """
    if source_col is None or medium_col is None:
        raise SchemaError(
            f"The channel group is read from a source and a medium column: pass both "
            f"source_col= and medium_col= (got source_col={source_col!r}, "
            f"medium_col={medium_col!r}; campaign_col= is optional)."
        )
    lf = to_lazy(source, what=what, id_columns=id_columns, value_columns=value_columns)
    schema = lf.collect_schema()
    names = [c for c in (source_col, medium_col, campaign_col) if c is not None]
    # channel_group is an expression and cannot see the frame: its columns are checked here,
    # so that a missing one is named with the file, not by polars' ColumnNotFoundError
    path = source_path(lf)
    check_columns(schema, names, what if path is None else f"{what} file {str(path)!r}")
    for name in names:
        # campaign ids are often numbers: a CSV reader types such a column as integers
        if not (is_text(schema[name]) or schema[name] == pl.Null or schema[name].is_integer()):
            where = "" if path is None else f" of the {what} file {str(path)!r}"
            raise SchemaError(
                f"Column {name!r}{where} has type {schema[name]}; expected text (a traffic "
                "source, medium or campaign name)."
            )
    extra = [channel_group(source_col, medium_col, campaign_col, rules=rules).alias(_GROUP)]
    if campaign_col is not None and "campaign" not in schema:
        extra.append(pl.col(campaign_col).cast(pl.String).alias("campaign"))
    return remember_source(lf.with_columns(extra), source)


def _read_events(
    source: FrameLike, cols: EventColumns, *, validate: bool, what: str = "event log"
) -> pl.LazyFrame:
    lf = to_lazy(source, what=what, id_columns=[cols.user], value_columns=[cols.revenue, "cost"])
    source_time = lf.collect_schema().get(cols.time)
    try:
        normal = normalise_events(lf, cols, what=what)
    except SchemaError as exc:
        # a header-only CSV types every column as text: say it is empty, not mistyped
        if "missing" not in str(exc) and is_empty(lf):
            raise EmptyInputError(f"The {what} is empty (0 rows).") from None
        raise
    if validate:
        if what != "event log" and is_empty(lf):
            raise EmptyInputError(f"The {what} is empty (0 rows).")
        validate_events(normal, cols, source_time=source_time)
    internal = [c for c in normal.collect_schema().names() if c.startswith("__")]
    out = normal.drop(internal).with_columns(pl.col("revenue").fill_null(0.0))
    return mark_canonical(remember_source(out, source), validated=validate)


def _read_two_tables(
    touches: FrameLike,
    conversions: FrameLike,
    touch_cols: EventColumns,
    conv_cols: EventColumns,
    *,
    validate: bool,
) -> pl.LazyFrame:
    """Touches and conversions from two tables, each normalised and validated on its own."""
    t = to_lazy(touches, what="touch table", id_columns=[touch_cols.user], value_columns=["cost"])
    # the derived frames still name their files in errors
    t = remember_source(t.with_columns(pl.lit("touch").alias("__event")), touches)
    c = to_lazy(
        conversions,
        what="conversions table",
        id_columns=[conv_cols.user],
        value_columns=[conv_cols.revenue],
    )
    c = remember_source(
        c.with_columns(
            pl.lit("conversion").alias("__event"), pl.lit(None, pl.String).alias("__channel")
        ),
        conversions,
    )
    parts = []
    for lf, cols, what in ((t, touch_cols, "touch table"), (c, conv_cols, "conversions table")):
        frame = _read_events(lf, cols, validate=validate, what=what)
        parts.append(frame.select("user_id", "timestamp", "channel", "event", "revenue"))
    t_user = parts[0].collect_schema()["user_id"]
    c_user = parts[1].collect_schema()["user_id"]
    if {t_user, c_user} == {pl.String(), pl.Int64()} and any(
        _from_text_file(x) for x, u in ((touches, t_user), (conversions, c_user)) if u == pl.Int64
    ):
        # a CSV's ids are text, read as Int64 when every value is a canonical integer: the
        # other table's text ids ("007" beside "8") are compared with that same text
        parts = [p.with_columns(pl.col("user_id").cast(pl.String)) for p in parts]
        t_user = c_user = pl.String()
    if t_user != c_user:
        raise SchemaError(
            f"User ids are {t_user} in the touch table ({touch_cols.user!r}) but {c_user} in the "
            f"conversions table ({conv_cols.user!r}); they must have the same type to be matched."
        )
    return mark_canonical(pl.concat(parts, how="vertical"), validated=validate)


def _from_text_file(source: FrameLike) -> bool:
    """Whether ``source`` is a CSV (or TSV) file, whose ids are text before they are read."""
    return isinstance(source, str | os.PathLike) and Path(source).suffix.lower() in (
        ".csv",
        ".tsv",
        ".txt",
    )


@reads(source="spend table")
def read_spend(
    source: FrameLike,
    *,
    date_col: str = "date",
    channel_col: str = "channel",
    spend_col: str = "spend",
    campaign_col: str | None = None,
) -> pl.DataFrame:
    """Read a spend table (one row per period and channel, optionally campaign).

    Returns
    -------
    DataFrame
        ``date`` (Date, null when the table has no date column), ``channel``, ``spend``
        (Float64 ≥ 0) and ``campaign`` when ``campaign_col`` is given. A date written with
        a UTC offset keeps the day written in it (``2024-03-01T00:00:00+02:00`` is 1 March).

    Raises
    ------
    SchemaError, ValidationError
        Missing columns, non-numeric spend, null channels or negative / non-finite spend.
    """
    lf = to_lazy(source, what="spend table", value_columns=[spend_col])
    schema = lf.collect_schema()
    needed = [channel_col, spend_col] + ([campaign_col] if campaign_col else [])
    missing = [c for c in needed if c not in schema]
    if missing:
        raise SchemaError(
            f"Column {missing[0]!r} is missing from the spend table; found columns: "
            f"{', '.join(repr(c) for c in schema.names())}."
        )
    if is_empty(lf):
        raise EmptyInputError("The spend table is empty (0 rows).")
    exprs = [
        (
            parse_dates(lf, date_col, what="spend table", local_date=True)
            if date_col in schema
            else pl.lit(None, pl.Date)
        ).alias("date"),
        pl.col(channel_col).cast(pl.String).alias("channel"),
        numeric_expr(lf, spend_col, schema[spend_col], "spend ≥ 0").alias("spend"),
    ]
    if campaign_col:
        exprs.append(pl.col(campaign_col).cast(pl.String).alias("campaign"))
    df = lf.select(exprs).collect().with_row_index("__row")
    if df.height == 0:
        raise EmptyInputError("The spend table is empty (0 rows).")
    if df["spend"].is_finite().all() and not math.isfinite(df["spend"].sum()):
        raise ValidationError(
            f"Column {spend_col!r} sums to more than the largest 64-bit float (about 1.8e308), "
            "so totals and ratios cannot be computed; scale the values down (e.g. to thousands)."
        )
    for rule, bad, text in (
        ("null", df["channel"].is_null(), f"Column {channel_col!r} has {{n}} nulls"),
        (
            "finite",
            ~df["spend"].is_finite() | df["spend"].is_null(),
            f"Column {spend_col!r} has {{n}} null, NaN or infinite values",
        ),
        ("negative", df["spend"] < 0, f"Column {spend_col!r} has {{n}} negative values"),
    ):
        bad = bad.fill_null(False)
        if bad.any():
            rows = df.filter(bad)
            desc = describe_rows(
                rows["__row"].to_list(),
                values=rows["spend"].to_list() if rule != "null" else None,
            )
            rule_text = (
                "spend must be a finite number ≥ 0"
                if rule != "null"
                else "every row needs a channel"
            )
            raise ValidationError(f"{text.format(n=int(bad.sum()))} ({desc}); {rule_text}.")
    return df.drop("__row")
