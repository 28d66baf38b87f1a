"""The data contract: canonical columns, type normalisation and value validation.

Canonical event columns (the output of :func:`attribution.read_events`):

========== ========================= ===============================================
column     dtype                     meaning
========== ========================= ===============================================
user_id    Int64 or String           the person, cookie or account (UInt64 for integer
                                     ids from 2**63 up; see :func:`user_id_expr`)
timestamp  Datetime("us", "UTC")     when the event happened (time zones normalised)
channel    String                    channel of a touch (may be null on other rows)
event      String                    ``touch``, ``conversion`` or a CRM stage name
revenue    Float64                   value of a conversion (0.0 on other rows)
campaign   String (optional)         campaign name, kept when present
cost       Float64 (optional)        cost of the touch, kept when present
========== ========================= ===============================================

Validation follows STYLE.md §6: the schema is checked without reading data
(``collect_schema``), then a single aggregate pass counts every value rule's violations; only
when one fails is a second, small query run to quote offending rows.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from attribution._base.errors import EmptyInputError, SchemaError, ValidationError, describe_rows
from attribution._base.frames import (
    ROW,
    bad_rows,
    check_columns,
    is_text,
    numeric_expr,
    source_path,
)
from attribution._base.periods import FREQS, Freq, Period, as_period
from attribution._base.time import EpochUnit, check_time_zone, parse_times

__all__ = [
    "CRM_STAGES",
    "EVENT_COLUMNS",
    "FREQS",
    "FREQ_STEP",
    "PATH_SEPARATOR",
    "EventColumns",
    "Freq",
    "bad_channel_names",
    "canonical_columns",
    "check_columns",
    "check_freq",
    "mark_canonical",
    "normalise_events",
    "user_id_expr",
    "validate_events",
]

#: One period as a calendar step for ``pl.date_range`` / ``dt.offset_by`` (a quarter is 3mo).
FREQ_STEP: dict[str, str] = {f: Period.parse(f).step for f in FREQS}


def check_freq(freq: object, *, optional: bool = False) -> None:
    """Raise a ValidationError unless ``freq`` is a period (see :class:`Period`) or None.

    Examples
    --------
    >>> check_freq("1mo"), check_freq("MS")
    (None, None)
    >>> check_freq("monthly-ish")
    Traceback (most recent call last):
    ...
    attribution.ValidationError: freq 'monthly-ish' is not a period; expected a count and ...
    """
    as_period(freq, optional=optional)  # type: ignore[call-overload]


#: Lifecycle stages of the CRM contract, in funnel order.
CRM_STAGES: tuple[str, ...] = (
    "subscriber",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "customer",
    "evangelist",
)

#: Canonical event column names, in output order.
EVENT_COLUMNS: tuple[str, ...] = ("user_id", "timestamp", "channel", "event", "revenue")

_OPTIONAL = ("campaign", "cost")
_ROW = ROW


@dataclass(frozen=True)
class EventColumns:
    """Where each contract column lives in the user's data, and how to read it.

    Parameters
    ----------
    user, time, channel : str
        Names of the user id, timestamp and channel columns.
    event : str or None
        Name of the event-type column. ``None`` when conversions are flagged instead
        (see ``conversion_flag``).
    revenue : str or None
        Name of the revenue column; ``None`` gives every conversion a value of 0.
    conversion_flag : str or None
        A 0/1 or boolean column marking rows that are *both* a touch and a conversion
        (session logs such as DP6's ``is_conversion``). Each flagged row becomes a touch
        and a conversion at the same timestamp, so the converting session is the last touch
        of its journey.
    touch_events, conversion_events : sequence of str
        Values of ``event`` that count as a touch or a conversion; they are renamed to
        ``touch`` and ``conversion``. CRM stage names are also accepted and kept as they are.
    time_zone : str
        Zone in which naive timestamps are read before being converted to UTC.
    epoch_unit : {"s", "ms", "us", "ns"} or None
        Unit of numeric timestamps; None detects it from their magnitude (see
        :mod:`attribution._base.time`).
    time_format : str or None
        A strftime format for text timestamps (``"%d/%m/%Y %H:%M"``); None reads ISO-8601 and
        the other shapes of :mod:`attribution._base.time`.
    """

    user: str = "user_id"
    time: str = "timestamp"
    channel: str = "channel"
    event: str | None = "event"
    revenue: str | None = "revenue"
    conversion_flag: str | None = None
    touch_events: tuple[str, ...] = ("touch",)
    conversion_events: tuple[str, ...] = ("conversion",)
    time_zone: str = "UTC"
    epoch_unit: EpochUnit | str | None = None
    time_format: str | None = None

    @classmethod
    def from_params(
        cls,
        *,
        user_col: str,
        time_col: str,
        channel_col: str,
        event_col: str | None,
        revenue_col: str | None,
        conversion_flag_col: str | None,
        touch_events: str | Sequence[str],
        conversion_events: str | Sequence[str],
        time_zone: str,
        epoch_unit: EpochUnit | str | None,
        time_format: str | None = None,
    ) -> EventColumns:
        """Build the mapping from the readers' keyword parameters (strings become tuples)."""

        def as_tuple(v: str | Sequence[str]) -> tuple[str, ...]:
            return (v,) if isinstance(v, str) else tuple(v)

        return cls(
            user=user_col,
            time=time_col,
            channel=channel_col,
            event=None if conversion_flag_col is not None else event_col,
            revenue=revenue_col,
            conversion_flag=conversion_flag_col,
            touch_events=as_tuple(touch_events),
            conversion_events=as_tuple(conversion_events),
            time_zone=time_zone,
            epoch_unit=epoch_unit,
            time_format=time_format,
        )

    def required(self) -> list[str]:
        """Columns that must exist in the source."""
        cols = [self.user, self.time, self.channel]
        if self.conversion_flag is not None:
            cols.append(self.conversion_flag)
        elif self.event is not None:
            cols.append(self.event)
        else:
            raise SchemaError(
                "Either an event column (event_col) or a conversion flag column "
                "(conversion_flag_col) is needed to tell touches from conversions."
            )
        return cols


# Event frames that read_events returned: normalised (and, unless asked not to, validated).
# Keyed by id(); the weak reference tells a live frame from a new one that reused the id.
_CANONICAL: dict[int, tuple[weakref.ref[pl.LazyFrame], bool]] = {}


def mark_canonical(lf: pl.LazyFrame, *, validated: bool) -> pl.LazyFrame:
    """Remember ``lf`` as canonical events, so that later steps do not read it again."""
    key = id(lf)
    _CANONICAL[key] = (weakref.ref(lf, lambda _: _CANONICAL.pop(key, None)), validated)
    return lf


def canonical_columns(lf: object) -> bool | None:
    """Whether ``lf`` came from :func:`attribution.read_events` validated (None: it did not)."""
    entry = _CANONICAL.get(id(lf))
    if entry is None or entry[0]() is not lf:
        return None
    return entry[1]


#: Integer types whose every value fits Int64.
_INT64_SAFE = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def user_id_expr(lf: pl.LazyFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    """Return the canonical user id of a column: exact, whatever its type.

    Integers that fit Int64 by their type become Int64. UInt64, Int128, UInt128 and
    whole-number decimals become Int64 when their values fit, else UInt64 when they fit that
    (ids from 2**63 up are common for hashed ids), else their decimal text; this reads the
    column's minimum and maximum. Text stays text, so leading zeros count: ``"007"`` and
    ``"7"`` are two users (a CSV file's id column is read as text for this reason, see
    :func:`attribution.io.read_events`).

    Floats are read as Int64 when every value is whole and below 2**53 (pandas makes an
    integer column with a missing value float: ``123.0``); otherwise they are refused.

    Raises
    ------
    SchemaError
        Floats that are not all whole ids, or any other type (dates...).

    Examples
    --------
    >>> lf = pl.LazyFrame({"id": [2**70, 5]}, schema={"id": pl.Int128})
    >>> lf.select(user_id_expr(lf, "id", pl.Int128)).collect()["id"].to_list()
    ['1180591620717411303424', '5']
    """
    col = pl.col(name)
    if dtype in _INT64_SAFE:
        return col.cast(pl.Int64)
    wide = dtype in (pl.UInt64, pl.Int128, pl.UInt128)
    if wide or (isinstance(dtype, pl.Decimal) and dtype.scale == 0):
        lo, hi = lf.select(lo=col.min(), hi=col.max()).collect().row(0)
        if lo is None or (lo >= -(2**63) and hi < 2**63):
            return col.cast(pl.Int64)
        if lo >= 0 and hi < 2**64:
            return col.cast(pl.UInt64)
        return col.cast(pl.String)
    if is_text(dtype):
        return col.cast(pl.String)
    if dtype.is_float():
        return _whole_float_ids(lf, name, dtype)
    raise SchemaError(
        f"Column {name!r} has type {dtype}; expected user ids as integers or strings."
    )


#: Floats hold every integer exactly only below 2**53.
_EXACT_FLOAT = 2**53


def _whole_float_ids(lf: pl.LazyFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    """Read float ids as the Int64 ids they are when every value is whole (reads the column).

    pandas makes an integer column with a missing value float (``123.0``). A fraction, NaN or
    infinity, or a magnitude from 2**53 up (where floats have lost digits) is refused by row;
    nulls are left to the rule on null ids.
    """
    col = pl.col(name)
    bad = col.is_not_null() & (
        ~col.is_finite() | (col.abs() >= _EXACT_FLOAT) | (col != col.round(0))
    ).fill_null(True)
    sample = bad_rows(lf, bad, col)
    if sample.height:
        shown = describe_rows(sample[_ROW].to_list(), values=sample["v"].to_list())
        raise SchemaError(
            f"Column {name!r} has type {dtype} and {sample['n'][0]} ids that are not whole "
            f"numbers below 2**53 ({shown}); "
            "expected user ids as integers or strings (pandas makes an integer column with a "
            "missing value float: read the ids as text, or as df[col].astype('Int64'))."
        )
    return col.cast(pl.Int64)


def _channel_type_message(lf: pl.LazyFrame, name: str, dtype: pl.DataType, what: str) -> str:
    """Say that a channel column is not text, naming the file it was read from (if any).

    A CSV reader guesses a column of ``01``, ``02`` or ``1.0`` as numbers, so the names the
    file holds are not the ones it would show (``1``): the message shows a few values as read
    and how to read the column as text.
    """
    path = source_path(lf)
    where = f" of the {what} file {str(path)!r}" if path is not None else ""
    message = f"Column {name!r}{where} has type {dtype}; expected channel names (text)."
    if not (dtype.is_numeric() or dtype == pl.Boolean):
        return message
    try:  # a few values to show; the error stands without them (a row may not parse)
        seen = lf.select(pl.col(name).drop_nulls().unique(maintain_order=True).head(3)).collect()
        values = f" ({', '.join(str(v) for v in seen.to_series().to_list())})"
    except pl.exceptions.PolarsError:
        values = ""
    if path is not None and path.suffix.lower() in (".csv", ".tsv", ".txt"):
        return (
            f"{message} Its values were read as numbers{values}, and a CSV reader drops what "
            "made them names (01 becomes 1): read the file with that column as text "
            f"(pl.read_csv(..., schema_overrides={{{name!r}: pl.String}})) and pass the frame."
        )
    return (
        f"{message} Its values are numbers{values}: map them to the channel names they stand "
        f"for, or cast them (pl.col({name!r}).cast(pl.String))."
    )


def normalise_events(
    lf: pl.LazyFrame, cols: EventColumns, *, what: str = "event log", keep_categories: bool = False
) -> pl.LazyFrame:
    """Map a user's event frame onto the canonical columns.

    Reads no data, except one column when numbers arrive as text (see :func:`numeric_expr`)
    or when a conversion flag column has to be checked for nulls.

    ``keep_categories=True`` leaves Categorical and Enum channel and event columns as they
    are instead of casting them to String (journeys use their codes; the canonical frame of
    :func:`attribution.read_events` has String columns).

    Raises
    ------
    SchemaError
        A required column is missing or has a type that cannot become the contract's type.
    """
    schema = lf.collect_schema()
    check_columns(schema, cols.required(), what)
    used = [*cols.required(), *([cols.revenue] if cols.revenue else []), *_OPTIONAL]
    twice = [c for c in used if f"{c}_duplicated_0" in schema]
    if twice:
        # a CSV header that names a column twice: polars renames the second copy
        raise SchemaError(
            f"The header of the {what} names {', '.join(repr(c) for c in twice)} more than "
            "once, so which column holds the data is ambiguous; name each column once."
        )
    check_time_zone(cols.time_zone)
    if is_text(schema[cols.time]) and cols.time_format is None and _epoch_text(lf, cols.time):
        text = pl.col(cols.time).cast(pl.String).str.strip_chars()
        lf = lf.with_columns(pl.when(text != "").then(text).cast(pl.Int64, strict=False))

    user = user_id_expr(lf, cols.user, schema[cols.user])

    chan_t = schema[cols.channel]
    if not (is_text(chan_t) or chan_t == pl.Null):
        raise SchemaError(_channel_type_message(lf, cols.channel, chan_t, what))

    if cols.revenue is not None and cols.revenue in schema:
        revenue = numeric_expr(lf, cols.revenue, schema[cols.revenue], "revenue ≥ 0")
    else:
        revenue = pl.lit(None, dtype=pl.Float64)

    exprs = [
        pl.col(_ROW),
        user.alias("user_id"),
        parse_times(
            lf,
            cols.time,
            what=what,
            time_zone=cols.time_zone,
            epoch_unit=cols.epoch_unit,
            format=cols.time_format,
            format_name="time_format",
        ).alias("timestamp"),
        _text(cols.channel, schema[cols.channel], keep_categories).alias("channel"),
    ]
    if cols.conversion_flag is not None:
        exprs += [_flag(lf, cols.conversion_flag, schema).alias("__flag"), revenue.alias("revenue")]
    else:
        assert cols.event is not None
        ev_t = schema[cols.event]
        if not is_text(ev_t):
            raise SchemaError(
                f"Column {cols.event!r} has type {ev_t}; expected event names such as "
                "'touch' and 'conversion'."
            )
        ev = _text(cols.event, ev_t, keep_categories)
        if cols.touch_events != ("touch",) or cols.conversion_events != ("conversion",):
            ev = ev.cast(pl.String)
            ev = (
                pl.when(ev.is_in(list(cols.touch_events)))
                .then(pl.lit("touch"))
                .when(ev.is_in(list(cols.conversion_events)))
                .then(pl.lit("conversion"))
                .otherwise(ev)
            )
        exprs += [ev.alias("event"), revenue.alias("revenue")]
    optional = []
    for name in _OPTIONAL:
        if name in schema:
            if name == "cost":
                optional.append(numeric_expr(lf, name, schema[name], "cost ≥ 0").alias(name))
            else:
                optional.append(pl.col(name).cast(pl.String).alias(name))
    exprs += optional

    out = lf.with_row_index(_ROW).select(exprs)
    if cols.conversion_flag is not None:
        # a flagged row's revenue goes to its conversion; on other rows it stays on the
        # touch, where validate_events refuses it
        touches = out.with_columns(
            pl.lit("touch").alias("event"),
            pl.when(pl.col("__flag") > 0).then(0.0).otherwise(pl.col("revenue")).alias("revenue"),
        ).drop("__flag")
        convs = out.filter(pl.col("__flag") > 0).drop("__flag")
        convs = convs.with_columns(
            pl.lit("conversion").alias("event"), pl.col("revenue").fill_null(0.0)
        )
        cols_out = touches.collect_schema().names()
        out = pl.concat([touches, convs.select(cols_out)], how="vertical")
    order = [_ROW, *EVENT_COLUMNS, *(o.meta.output_name() for o in optional)]
    return out.select(order)


#: Epoch times written as text (BigQuery's JSON writes INT64 so): seconds, milliseconds,
#: microseconds or nanoseconds of the years 2001-2286 have 10, 13, 16 or 19 digits.
_EPOCH_TEXT = r"^\s*(\d{10}|\d{13}|\d{16}|\d{19})\s*$"


def _epoch_text(lf: pl.LazyFrame, name: str) -> bool:
    """Whether a text time column holds only epoch digits (its first rows, then all of it)."""
    text = pl.col(name).cast(pl.String).str.strip_chars()
    blank = text.is_null() | (text == "")
    first = lf.select(text).head(100).collect().to_series()
    first = first.filter(first.is_not_null() & (first != ""))
    if first.is_empty() or not first.str.contains(_EPOCH_TEXT).all():
        return False
    every = lf.select((blank | text.str.contains(_EPOCH_TEXT)).all()).collect().item()
    return bool(every)


def _text(name: str, dtype: pl.DataType, keep_categories: bool) -> pl.Expr:
    """Return a text column as String, or as it is if Categorical/Enum and that is asked."""
    keep = keep_categories and isinstance(dtype, pl.Categorical | pl.Enum)
    return pl.col(name) if keep else pl.col(name).cast(pl.String)


#: Text conversion flags, read case-insensitively after stripping spaces.
_TEXT_FLAGS = {"true": 1, "1": 1, "yes": 1, "false": 0, "0": 0, "no": 0}


def _flag(lf: pl.LazyFrame, name: str, schema: pl.Schema) -> pl.Expr:
    """Read the conversion flag as Int8 0/1 from 0/1, true/false or null (null: no conversion).

    Reads the flag column once unless it is boolean. Text flags are read case-insensitively:
    ``true``/``false``, ``1``/``0``, ``yes``/``no`` (blank: null); other words are refused.
    """
    dtype = schema[name]
    raw = pl.col(name)
    bad: pl.Expr | None = None
    if is_text(dtype):
        text = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        value = text.replace_strict(_TEXT_FLAGS, default=None, return_dtype=pl.Int8)
        bad = text.is_not_null() & (text != "") & value.is_null()
        expected = "0 or 1, true or false, yes or no (any case), or null (no conversion)"
    elif dtype == pl.Boolean or dtype.is_numeric() or dtype == pl.Null:
        value = raw.cast(pl.Boolean).cast(pl.Int8)
        if dtype.is_numeric():
            bad = raw.is_not_null() & ~raw.cast(pl.Float64).is_in([0.0, 1.0]).fill_null(False)
        expected = "0 or 1, true or false, or null (no conversion)"
    else:
        raise SchemaError(
            f"Column {name!r} has type {dtype}; expected 0/1 or true/false marking converting "
            "rows (null: no conversion)."
        )
    if bad is not None:
        sample = bad_rows(lf, bad, raw, limit=6)
        if sample.height:
            raise ValidationError(
                f"Column {name!r} has {sample['n'][0]} values that are not conversion flags "
                f"({describe_rows(sample[_ROW].to_list(), values=sample['v'].to_list())}); "
                f"expected {expected}."
            )
    return value.fill_null(0)


#: What a channel name may not contain: the separator of the path format (``a > b``), which
#: :func:`attribution.read_paths` splits on.
PATH_SEPARATOR = ">"


def bad_channel_names(names: Sequence[str | None]) -> list[str]:
    """List the channel names that could not round-trip through a path table, in order.

    A channel name must have a visible character, no surrounding spaces and no
    :data:`PATH_SEPARATOR` (paths are written ``a > b``, and read back by splitting on ``>``
    and stripping spaces).

    Examples
    --------
    >>> bad_channel_names(["email", "", " ", "Paid > Search", " seo", "seo"])
    ['', ' ', 'Paid > Search', ' seo']
    """
    return [
        n
        for n in names
        if n is not None and (n.strip() == "" or PATH_SEPARATOR in n or n != n.strip())
    ]


def _empty_ids(lf: pl.LazyFrame) -> pl.Expr:
    """Count the empty text ids (``""``; 0 for number ids)."""
    if lf.collect_schema()["user_id"] != pl.String:
        return pl.lit(0, dtype=pl.UInt32)
    return (pl.col("user_id").str.len_bytes() == 0).sum()


def _examples(
    lf: pl.LazyFrame, bad: pl.Expr, value: str | None, limit: int = 5
) -> tuple[list[int], list[object] | None, list[object]]:
    sel = [pl.col(_ROW), pl.col("user_id")]
    if value is not None:
        sel.append(pl.col(value))
        sel[-1] = sel[-1].alias("__value")
    rows = lf.filter(bad).select(sel).head(limit + 1).collect()
    vals = rows["__value"].to_list() if value is not None else None
    return rows[_ROW].to_list(), vals, rows["user_id"].to_list()


def validate_events(
    lf: pl.LazyFrame, cols: EventColumns, *, source_time: pl.DataType | None = None
) -> None:
    """Check every value rule of the contract in one aggregate pass.

    Parameters
    ----------
    lf : LazyFrame
        Output of :func:`normalise_events` (still carrying the row index).
    cols : EventColumns
        Column mapping, used to name the user's own columns in messages.
    source_time : DataType, optional
        Unused: unreadable timestamps are refused when they are parsed
        (:func:`attribution._base.time.parse_times`); kept for callers that pass it.

    Raises
    ------
    EmptyInputError
        The log has no rows.
    ValidationError
        A rule is broken; the message names the column, the rule, up to five rows and the count.
    """
    time_src = cols.time
    touch = pl.col("event") == "touch"
    checks: dict[str, pl.Expr] = {
        "rows": pl.len(),
        "user_null": pl.col("user_id").is_null().sum(),
        "user_empty": _empty_ids(lf),
        "time_null": pl.col("timestamp").is_null().sum(),
        "rev_neg": (pl.col("revenue") < 0).sum(),
        "rev_nan": (~pl.col("revenue").is_finite()).sum(),
        "chan_null": ((pl.col("event") == "touch") & pl.col("channel").is_null()).sum(),
        "rev_touch": ((pl.col("event") == "touch") & (pl.col("revenue") != 0)).sum(),
        "rev_total": pl.col("revenue").sum(),
        # the names only (few): a rule on every row's text would cost more than the rest
        "touch_channels": pl.col("channel").filter(touch).unique().implode(),
        "bad_event": (~pl.col("event").is_in(["touch", "conversion", *CRM_STAGES])).sum(),
        "event_null": pl.col("event").is_null().sum(),
        "conversions": (pl.col("event") == "conversion").sum(),
    }
    counts = lf.select(**checks).collect().row(0, named=True)

    if counts["rows"] == 0:
        raise EmptyInputError(
            "The event log is empty (0 rows); expected at least one touch or conversion."
        )
    if counts["user_null"]:
        rows, _, _ = _examples(lf, pl.col("user_id").is_null(), None)
        raise ValidationError(
            f"Column {cols.user!r} has {counts['user_null']} nulls "
            f"({describe_rows(rows)}); user ids must be non-null."
        )
    if counts["user_empty"]:
        rows, _, _ = _examples(lf, pl.col("user_id") == "", None)
        raise ValidationError(
            f"Column {cols.user!r} has {counts['user_empty']} empty ids "
            f"({describe_rows(rows)}); user ids must be non-empty: an empty id names no one "
            "(a missing id written as ''), and its rows would be taken for one user."
        )
    if counts["time_null"]:
        rows, _, ids = _examples(lf, pl.col("timestamp").is_null(), None)
        raise ValidationError(
            f"Column {time_src!r} has {counts['time_null']} nulls "
            f"({describe_rows(rows, ids=ids)}); timestamps must be non-null."
        )
    if counts["event_null"] and cols.event is not None and cols.conversion_flag is None:
        rows, _, ids = _examples(lf, pl.col("event").is_null(), None)
        raise ValidationError(
            f"Column {cols.event!r} has {counts['event_null']} nulls "
            f"({describe_rows(rows, ids=ids)}); every row needs an event type."
        )
    if counts["bad_event"] - counts["event_null"] > 0:
        bad = lf.filter(
            pl.col("event").is_not_null()
            & ~pl.col("event").is_in(["touch", "conversion", *CRM_STAGES])
        )
        top = (
            bad.group_by("event")
            .agg(pl.len().alias("n"), pl.col(_ROW).min().alias("first_row"))
            .sort(["n", "event"], descending=[True, False])
            .head(5)
            .collect()
        )
        listed = ", ".join(
            f"{v!r} ×{n} (first at row {r})"
            for v, n, r in zip(top["event"], top["n"], top["first_row"], strict=True)
        )
        accepted = ", ".join(repr(v) for v in (*cols.touch_events, *cols.conversion_events))
        raise ValidationError(
            f"Column {cols.event!r} has {counts['bad_event'] - counts['event_null']} rows with "
            f"unknown event values ({listed}); expected {accepted} or a CRM stage "
            f"({', '.join(CRM_STAGES)}). Map other names with touch_events= or "
            "conversion_events=."
        )
    rev = cols.revenue or "revenue"
    if counts["rev_nan"]:
        rows, vals, ids = _examples(lf, ~pl.col("revenue").is_finite(), "revenue")
        raise ValidationError(
            f"Column {rev!r} has {counts['rev_nan']} values that are NaN or infinite "
            f"({describe_rows(rows, values=vals, ids=ids)}); revenue must be a finite number ≥ 0."
        )
    if counts["rev_neg"]:
        rows, vals, ids = _examples(lf, pl.col("revenue") < 0, "revenue")
        raise ValidationError(
            f"Column {rev!r} has {counts['rev_neg']} negative values "
            f"({describe_rows(rows, values=vals, ids=ids)}); revenue must be ≥ 0."
        )
    if counts["rev_touch"]:
        on_touch = (pl.col("event") == "touch") & (pl.col("revenue") != 0)
        rows, vals, ids = _examples(lf, on_touch, "revenue")
        where = (
            f"rows whose flag {cols.conversion_flag!r} is 0 or null"
            if cols.conversion_flag is not None
            else "touch rows"
        )
        raise ValidationError(
            f"Column {rev!r} has {counts['rev_touch']} non-zero values on {where} "
            f"({describe_rows(rows, values=vals, ids=ids)}); revenue belongs on conversion rows "
            "(0 or null elsewhere). Put each value on the conversion it belongs to."
        )
    if not math.isfinite(counts["rev_total"] or 0.0):
        raise ValidationError(
            f"Column {rev!r} sums to more than the largest 64-bit float (about 1.8e308), so "
            "totals and shares cannot be computed; scale the values down (e.g. to thousands)."
        )
    if counts["chan_null"]:
        no_channel = (pl.col("event") == "touch") & pl.col("channel").is_null()
        rows, _, ids = _examples(lf, no_channel, None)
        raise ValidationError(
            f"Column {cols.channel!r} has {counts['chan_null']} nulls on touch rows "
            f"({describe_rows(rows, ids=ids)}); every touch needs a channel."
        )
    if bad_channel_names(counts["touch_channels"]):
        _refuse_channel_names(lf, cols)


def _refuse_channel_names(lf: pl.LazyFrame, cols: EventColumns) -> None:
    """Name the rows of the first kind of channel name that cannot round-trip."""
    channel = pl.col("channel")
    touch = pl.col("event") == "touch"
    rules = (
        (
            "chan_blank",
            channel.str.strip_chars() == "",
            "empty or blank channel names",
            "every touch needs a channel name",
        ),
        (
            "chan_sep",
            channel.str.contains(PATH_SEPARATOR, literal=True),
            f"channel names containing {PATH_SEPARATOR!r}",
            f"{PATH_SEPARATOR!r} separates the channels of a path (a > b), so a name holding it "
            "would read back as two channels; replace it (e.g. with '/')",
        ),
        (
            "chan_padded",
            channel != channel.str.strip_chars(),
            "channel names with spaces around them",
            "paths are read back with the spaces around each name stripped; strip them",
        ),
    )
    counts = (
        lf.select(**{key: (touch & breaks.fill_null(False)).sum() for key, breaks, _, _ in rules})
        .collect()
        .row(0, named=True)
    )
    for key, breaks, noun, rule in rules:
        if counts[key]:
            on_touch = touch & breaks.fill_null(False)
            rows, vals, ids = _examples(lf, on_touch, "channel")
            raise ValidationError(
                f"Column {cols.channel!r} has {counts[key]} {noun} on touch rows "
                f"({describe_rows(rows, values=vals, ids=ids)}); {rule}."
            )
