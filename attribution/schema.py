"""The data contract: canonical columns, type normalisation and value validation.

Canonical event columns (the output of :func:`attribution.read_events`):

========== ========================= ===============================================
column     dtype                     meaning
========== ========================= ===============================================
user_id    Int64 or String           the person, cookie or account
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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from attribution._errors import EmptyInputError, SchemaError, ValidationError, describe_rows

__all__ = [
    "CRM_STAGES",
    "EVENT_COLUMNS",
    "FREQS",
    "FREQ_STEP",
    "EventColumns",
    "Freq",
    "check_columns",
    "check_freq",
    "normalise_events",
    "validate_events",
]

#: Period lengths of every per-period figure (Polars ``dt.truncate`` strings).
Freq = Literal["1d", "1w", "1mo", "1q", "1y"]
FREQS: tuple[str, ...] = ("1d", "1w", "1mo", "1q", "1y")
#: One period as a calendar step for ``pl.date_range`` / ``dt.offset_by`` (a quarter is 3mo).
FREQ_STEP: dict[str, str] = {"1d": "1d", "1w": "1w", "1mo": "1mo", "1q": "3mo", "1y": "1y"}


def check_freq(freq: object, *, optional: bool = False) -> None:
    """Raise a ValidationError unless ``freq`` is one of :data:`FREQS` (or None if optional).

    Examples
    --------
    >>> check_freq("1mo")
    >>> check_freq("monthly")
    Traceback (most recent call last):
    ...
    attribution._errors.ValidationError: freq must be one of 1d, 1w, 1mo, 1q, 1y; got 'monthly'.
    """
    if (freq is None and optional) or freq in FREQS:
        return
    extra = " or None" if optional else ""
    raise ValidationError(f"freq must be one of {', '.join(FREQS)}{extra}; got {freq!r}.")


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
_TZ_SUFFIX = r"\d\d:\d\d(:\d\d)?(\.\d+)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"
_ROW = "__row"
_RAW_TIME = "__raw_time"
_EPOCH_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1}


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
    epoch_unit : {"s", "ms", "us"}
        Unit of numeric timestamps.
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
    epoch_unit: str = "s"

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
        epoch_unit: str,
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


def check_columns(schema: pl.Schema, needed: Sequence[str], what: str) -> None:
    """Raise a SchemaError naming missing columns and listing the ones found."""
    missing = [c for c in needed if c not in schema]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in schema.names() if not c.startswith("__"))
        noun = "Column" if len(missing) == 1 else "Columns"
        verb = "is" if len(missing) == 1 else "are"
        raise SchemaError(
            f"{noun} {names} {verb} missing from the {what}; found columns: {found or 'none'}. "
            "Pass the right name with the matching *_col parameter."
        )


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical)


def check_time_zone(tz: str) -> None:
    """Refuse a time zone name that is not in the IANA database."""
    try:
        pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(tz)
    except Exception:  # polars raises ComputeError, older versions others
        raise SchemaError(
            f"time_zone {tz!r} is not a known IANA time zone (e.g. 'UTC', 'Europe/Paris')."
        ) from None


def _localise(col: pl.Expr, tz: str) -> pl.Expr:
    """Naive local times to UTC; times in a DST gap become null (reported by validation)."""
    return col.dt.replace_time_zone(
        tz, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def _timestamp_expr(name: str, dtype: pl.DataType, cols: EventColumns) -> pl.Expr:
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        col = col.cast(pl.Datetime("us", dtype.time_zone))
        if dtype.time_zone is None:
            return _localise(col, cols.time_zone)
        return col.dt.convert_time_zone("UTC")
    if dtype == pl.Date:
        # a date is its first instant: midnight, or 01:00 where midnight falls in a DST gap
        midnight = col.cast(pl.Datetime("us"))
        return pl.coalesce(
            _localise(midnight, cols.time_zone),
            _localise(midnight + pl.duration(hours=1), cols.time_zone),
        )
    if dtype.is_numeric():
        if cols.epoch_unit not in _EPOCH_UNITS:
            raise SchemaError(
                f"epoch_unit must be one of {sorted(_EPOCH_UNITS)}; got {cols.epoch_unit!r}."
            )
        micros = (col.cast(pl.Float64) * _EPOCH_UNITS[cols.epoch_unit]).round(0).cast(pl.Int64)
        return micros.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if _is_text(dtype):
        text = col.cast(pl.String).str.strip_chars()
        has_tz = text.str.contains(_TZ_SUFFIX)
        aware = (
            pl.when(has_tz)
            .then(text)
            .str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
        )
        naive = pl.when(~has_tz).then(text).str.to_datetime(time_unit="us", strict=False)
        return pl.coalesce(aware, _localise(naive, cols.time_zone))
    raise SchemaError(
        f"Column {name!r} has type {dtype}; expected a datetime, a date, an ISO-8601 string "
        f"or epoch {cols.epoch_unit} (a number)."
    )


def numeric_expr(lf: pl.LazyFrame, name: str, dtype: pl.DataType, rule: str) -> pl.Expr:
    """Build a Float64 expression for a numeric column, accepting numbers written as text.

    CSV readers type an all-empty column, or one with a stray word, as text. Text is parsed
    here; values that are not numbers raise a :class:`ValidationError` naming them (this reads
    that one column).
    """
    col = pl.col(name)
    if dtype.is_numeric() or dtype == pl.Null:
        return col.cast(pl.Float64)
    if not _is_text(dtype):
        raise SchemaError(f"Column {name!r} has type {dtype}; expected a number ({rule}).")
    text = col.cast(pl.String).str.strip_chars()
    parsed = pl.when(text != "").then(text).cast(pl.Float64, strict=False)
    bad = text.is_not_null() & (text != "") & parsed.is_null()
    sample = (
        lf.with_row_index(_ROW)
        .filter(bad)
        .select(pl.col(_ROW), text.alias("v"), pl.len().alias("n"))
        .head(6)
        .collect()
    )
    if sample.height:
        raise ValidationError(
            f"Column {name!r} has {sample['n'][0]} values that are not numbers "
            f"({describe_rows(sample[_ROW].to_list(), values=sample['v'].to_list())}); "
            f"expected {rule}."
        )
    return parsed


def normalise_events(
    lf: pl.LazyFrame, cols: EventColumns, *, what: str = "event log"
) -> pl.LazyFrame:
    """Map a user's event frame onto the canonical columns.

    Reads no data, except one column when numbers arrive as text (see :func:`numeric_expr`)
    or when a conversion flag column has to be checked for nulls.

    Raises
    ------
    SchemaError
        A required column is missing or has a type that cannot become the contract's type.
    """
    schema = lf.collect_schema()
    check_columns(schema, cols.required(), what)
    check_time_zone(cols.time_zone)

    user_t = schema[cols.user]
    if user_t.is_integer():
        user = pl.col(cols.user).cast(pl.Int64)
    elif _is_text(user_t):
        user = pl.col(cols.user).cast(pl.String)
    else:
        raise SchemaError(
            f"Column {cols.user!r} has type {user_t}; expected user ids as integers or strings."
        )

    chan_t = schema[cols.channel]
    if not (_is_text(chan_t) or chan_t == pl.Null):
        raise SchemaError(f"Column {cols.channel!r} has type {chan_t}; expected channel names.")

    if cols.revenue is not None and cols.revenue in schema:
        revenue = numeric_expr(lf, cols.revenue, schema[cols.revenue], "revenue ≥ 0")
    else:
        revenue = pl.lit(None, dtype=pl.Float64)

    time_t = schema[cols.time]
    exprs = [
        pl.col(_ROW),
        user.alias("user_id"),
        _timestamp_expr(cols.time, time_t, cols).alias("timestamp"),
        pl.col(cols.channel).cast(pl.String).alias("channel"),
    ]
    if _is_text(time_t):
        exprs.append(pl.col(cols.time).alias(_RAW_TIME))
    if cols.conversion_flag is not None:
        flag_t = schema[cols.conversion_flag]
        if not (flag_t == pl.Boolean or flag_t.is_integer()):
            raise SchemaError(
                f"Column {cols.conversion_flag!r} has type {flag_t}; expected 0/1 or booleans "
                "marking converting rows."
            )
        nulls = lf.with_row_index(_ROW).filter(pl.col(cols.conversion_flag).is_null())
        sample = nulls.select(pl.col(_ROW), pl.len().alias("n")).head(6).collect()
        if sample.height:
            raise ValidationError(
                f"Column {cols.conversion_flag!r} has {sample['n'][0]} nulls "
                f"({describe_rows(sample[_ROW].to_list())}); expected 0/1 on every row."
            )
        flag = pl.col(cols.conversion_flag).cast(pl.Int8)
        exprs += [flag.alias("__flag"), revenue.alias("revenue")]
    else:
        assert cols.event is not None
        ev_t = schema[cols.event]
        if not _is_text(ev_t):
            raise SchemaError(
                f"Column {cols.event!r} has type {ev_t}; expected event names such as "
                "'touch' and 'conversion'."
            )
        ev = pl.col(cols.event).cast(pl.String)
        if cols.touch_events != ("touch",) or cols.conversion_events != ("conversion",):
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
        touches = out.drop("__flag").with_columns(
            pl.lit("touch").alias("event"), pl.lit(0.0).alias("revenue")
        )
        convs = out.filter(pl.col("__flag") > 0).drop("__flag")
        convs = convs.with_columns(
            pl.lit("conversion").alias("event"), pl.col("revenue").fill_null(0.0)
        )
        cols_out = touches.collect_schema().names()
        out = pl.concat([touches, convs.select(cols_out)], how="vertical")
    order = [_ROW, *EVENT_COLUMNS, *(o.meta.output_name() for o in optional)]
    if _is_text(time_t):
        order.append(_RAW_TIME)
    return out.select(order)


def _examples(
    lf: pl.LazyFrame, bad: pl.Expr, value: str | None, limit: int = 5
) -> tuple[list[int], list[object] | None, list[object]]:
    sel = [pl.col(_ROW), pl.col("user_id")]
    if value is not None:
        sel.append(pl.col(value).cast(pl.String) if value == _RAW_TIME else pl.col(value))
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
        Type of the user's timestamp column, to tell unparseable strings from nulls.

    Raises
    ------
    EmptyInputError
        The log has no rows.
    ValidationError
        A rule is broken; the message names the column, the rule, up to five rows and the count.
    """
    time_src = cols.time
    checks: dict[str, pl.Expr] = {
        "rows": pl.len(),
        "user_null": pl.col("user_id").is_null().sum(),
        "time_null": pl.col("timestamp").is_null().sum(),
        "rev_neg": (pl.col("revenue") < 0).sum(),
        "rev_nan": (~pl.col("revenue").is_finite()).sum(),
        "chan_null": ((pl.col("event") == "touch") & pl.col("channel").is_null()).sum(),
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
    if counts["time_null"]:
        is_text = source_time is not None and _is_text(source_time)
        naive = (isinstance(source_time, pl.Datetime) and source_time.time_zone is None) or (
            source_time == pl.Date
        )
        if is_text:
            noun, rule = "null or unparseable values", "timestamps must be ISO-8601 datetimes"
        elif naive and cols.time_zone != "UTC":
            noun = "nulls or local times that do not exist in " + repr(cols.time_zone)
            rule = "timestamps must be non-null (a daylight-saving gap skips some local times)"
        else:
            noun, rule = "nulls", "timestamps must be non-null"
        has_raw = _RAW_TIME in lf.collect_schema().names()
        rows, vals, ids = _examples(
            lf, pl.col("timestamp").is_null(), _RAW_TIME if has_raw else None
        )
        raise ValidationError(
            f"Column {time_src!r} has {counts['time_null']} {noun} "
            f"({describe_rows(rows, values=vals, ids=ids)}); {rule}."
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
    if counts["chan_null"]:
        no_channel = (pl.col("event") == "touch") & pl.col("channel").is_null()
        rows, _, ids = _examples(lf, no_channel, None)
        raise ValidationError(
            f"Column {cols.channel!r} has {counts['chan_null']} nulls on touch rows "
            f"({describe_rows(rows, ids=ids)}); every touch needs a channel."
        )
