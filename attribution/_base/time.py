"""One reading of time for both packages: columns and single values to instants or dates.

Every column that holds a time (event timestamps, spend dates, CRM stage changes, series
dates, transaction dates) goes through :func:`parse_times` (instants) or :func:`parse_dates`
(calendar dates), and every single value (``start=``, ``observation_end=``, a target's date)
through :func:`parse_time` or :func:`parse_date`. So one input means one thing everywhere.

What is accepted
----------------
========================== ============================================================
source                     reading
========================== ============================================================
Datetime, aware            the instant it names
Datetime, naive            wall-clock time in ``time_zone`` (default UTC)
Date                       the first instant of that day in ``time_zone``
ISO-8601 text              ``2024-01-31``, ``2024-01-31T10:00``, ``2024-01-31 10:00:00.25``,
                           with ``Z``, ``UTC``, ``+01``, ``+0100`` or ``+01:00`` (then the
                           instant it names) or without (wall-clock time in ``time_zone``);
                           ``2024/01/31`` alike; ``T`` and ``Z`` also in lower case
                           (RFC 3339)
``YYYY-MM`` text           the first day of that month
``YYYYMMDD`` text          that day (also ``YYYYMMDDTHHMMSS[Z]``)
``DD/MM/YYYY`` text        read day-first or month-first only when the column decides it (a
(also ``.`` or ``-``)      first field above 12 means day-first, a second one month-first);
                           a column that reads both ways is refused: pass ``format=``
integer ``YYYYMMDD``       that day, when every value is a valid date of years 1900-2199
                           and no ``epoch_unit`` is given
integer ``YYYYMM``         calendar dates only (:func:`parse_dates`): the first day of that
                           month, when every value is a month of years 1900-2199 and no
                           ``epoch_unit`` is given
integer ``YYYY``           calendar dates only: 1 January of that year, when every value is
                           in 1000-9999 and no ``epoch_unit`` is given
numbers                    epoch time in ``epoch_unit``; when it is not given, the unit is
                           detected from the largest magnitude: below 1e11 seconds, below
                           1e14 milliseconds, below 1e17 microseconds, else nanoseconds
                           (milliseconds before 1973-03-03 would read as seconds: pass it);
                           a column with values of two of these ranges is refused
other text                 with ``format=`` (a strftime format), that format; else refused
========================== ============================================================

"Integer" means whole numbers of any numeric type: ``2019.0`` in a float column (a pandas
integer column with a gap, a spreadsheet's numbers) reads as ``2019``.

Time zones are handled one way: every instant is returned in UTC (``Datetime("us", "UTC")``),
naive times are read in ``time_zone``, and the date of an instant is its calendar date in
``time_zone``. Date-only text and naive times keep their own calendar date. Readers of
period labels (a day, week or month per row: series dates, spend dates) pass
``local_date=True`` to :func:`parse_dates`: text with a UTC offset then keeps the calendar
date written in it (``2024-03-01T00:00:00+02:00`` is 1 March, the local midnight that starts
that day), not its date in ``time_zone``. A naive time that
does not exist in ``time_zone`` (a daylight-saving gap) is refused by name; one that exists
twice (the hour repeated in autumn) is read as the earlier.

A value that is present but cannot be read never becomes a null: it raises
:class:`~attribution.ValidationError` naming the column, up to five rows with their values and
how many there are. Nulls (and empty text) stay null; whether they are allowed is the
caller's rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import polars as pl

from attribution._base.errors import SchemaError, ValidationError, describe_rows
from attribution._base.frames import ROW, bad_rows, is_text

__all__ = [
    "EPOCH_UNITS",
    "TZ_SUFFIX",
    "CalendarNumbers",
    "EpochUnit",
    "calendar_numbers",
    "check_time_zone",
    "detect_epoch_unit",
    "parse_date",
    "parse_dates",
    "parse_time",
    "parse_times",
]

EpochUnit = Literal["s", "ms", "us", "ns"]
#: Epoch units and their length in microseconds.
EPOCH_UNITS: dict[str, float] = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}
#: Upper bounds of the largest magnitude for each detected unit (year 5138 in each).
_EPOCH_LIMITS = (("s", 1e11), ("ms", 1e14), ("us", 1e17))
#: The smallest magnitude of each detected unit; a column whose largest value is in a unit
#: and that holds values below its floor mixes units (refused unless the unit is given).
_EPOCH_FLOORS: dict[str, float] = {"s": 0.0, "ms": 1e11, "us": 1e14, "ns": 1e17}

#: Text that ends in a UTC offset or zone letter (for engines that parse text themselves).
TZ_SUFFIX = r"\d\d:\d\d(:\d\d)?([.,]\d+)?\s*(Z|z|UTC|GMT|[+-]\d\d(:?\d\d)?)$"
_TZ = r"(?P<z>Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_CLOCK = r"(?:(?:[Tt ]|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>[.,]\d{1,9})?)?)?"
_YMD = rf"^(?P<y>\d{{4}})[-/](?P<mo>\d{{1,2}})[-/](?P<d>\d{{1,2}}){_CLOCK}\s*{_TZ}$"
_YM = r"^(?P<y>\d{4})[-/](?P<mo>\d{1,2})$"
_COMPACT = (
    r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})"
    r"(?:[Tt](?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?(?P<f>[.,]\d{1,9})?)?(?P<z>[Zz])?$"
)
_DMY = rf"^(?P<a>\d{{1,2}})[/.\-](?P<b>\d{{1,2}})[/.\-](?P<y>\d{{4}}){_CLOCK}\s*{_TZ}$"
_NAIVE_FMT = "%Y-%m-%dT%H:%M:%S%.f"
_AWARE_FMT = "%Y-%m-%dT%H:%M:%S%.f%:z"


def check_time_zone(tz: str) -> None:
    """Refuse a time zone name that is not in the IANA database."""
    try:
        pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(tz)
    except Exception:  # polars raises ComputeError, older versions others
        raise SchemaError(
            f"time_zone {tz!r} is not a known IANA time zone (e.g. 'UTC', 'Europe/Paris')."
        ) from None


def detect_epoch_unit(max_abs: float) -> EpochUnit:
    """Epoch unit of numbers whose largest magnitude is ``max_abs``.

    Examples
    --------
    >>> [detect_epoch_unit(x) for x in (1.7e9, 1.7e12, 1.7e15, 1.7e18)]
    ['s', 'ms', 'us', 'ns']
    """
    for unit, limit in _EPOCH_LIMITS:
        if max_abs < limit:
            return unit  # type: ignore[return-value]
    return "ns"


# --------------------------------------------------------------------------------------------
# text


def _pad(e: pl.Expr, default: str = "00") -> pl.Expr:
    return e.fill_null(default).str.zfill(2)


def _offset(z: pl.Expr) -> pl.Expr:
    """``Z``/``UTC``/``+01``/``+0100``/``+01:00`` as ``+HH:MM`` (null when absent)."""
    digits = z.str.replace_all(":", "")
    return (
        pl.when(z.is_in(["Z", "z", "UTC", "GMT"]))
        .then(pl.lit("+00:00"))
        .when(z.is_not_null())
        .then(
            pl.format(
                "{}:{}",
                digits.str.slice(0, 3),
                pl.when(digits.str.len_chars() > 3)
                .then(digits.str.slice(3, 2))
                .otherwise(pl.lit("00")),
            )
        )
        .otherwise(None)
    )


@dataclass(frozen=True)
class _Text:
    """Canonical ``YYYY-MM-DDTHH:MM:SS[.f]`` wall time and ``+HH:MM`` offset of each value."""

    wall: pl.Expr  # null where the value is no known shape
    offset: pl.Expr  # null where naive
    date_only: pl.Expr  # the value names a day (or month) without a time


def _canonical(y: pl.Expr, mo: pl.Expr, d: pl.Expr, g: pl.Expr) -> pl.Expr:
    frac = g.struct.field("f").str.replace(",", ".").fill_null("")
    return pl.format(
        "{}-{}-{}T{}:{}:{}{}",
        y,
        _pad(mo),
        _pad(d),
        _pad(g.struct.field("H")),
        _pad(g.struct.field("M")),
        _pad(g.struct.field("S")),
        frac,
    )


def _text_parts(text: pl.Expr, dayfirst: bool | None) -> _Text:
    ymd = text.str.extract_groups(_YMD)
    ym = text.str.extract_groups(_YM)
    cpt = text.str.extract_groups(_COMPACT)
    dmy = text.str.extract_groups(_DMY)
    is_ymd = ymd.struct.field("y").is_not_null()
    is_ym = ym.struct.field("y").is_not_null()
    is_cpt = cpt.struct.field("y").is_not_null()
    is_dmy = dmy.struct.field("y").is_not_null()
    a, b = dmy.struct.field("a"), dmy.struct.field("b")
    day, month = (a, b) if dayfirst else (b, a)
    no_clock = pl.lit(None, pl.String)
    ym_wall = pl.format("{}-{}-01T00:00:00", ym.struct.field("y"), _pad(ym.struct.field("mo")))
    wall: Any = (
        pl.when(is_ymd)
        .then(_canonical(ymd.struct.field("y"), ymd.struct.field("mo"), ymd.struct.field("d"), ymd))
        .when(is_ym)
        .then(ym_wall)
        .when(is_cpt)
        .then(_canonical(cpt.struct.field("y"), cpt.struct.field("mo"), cpt.struct.field("d"), cpt))
    )
    if dayfirst is not None:
        wall = wall.when(is_dmy).then(_canonical(dmy.struct.field("y"), month, day, dmy))
    wall = wall.otherwise(no_clock)
    z = (
        pl.when(is_ymd)
        .then(ymd.struct.field("z"))
        .when(is_cpt)
        .then(cpt.struct.field("z"))
        .when(is_dmy)
        .then(dmy.struct.field("z"))
        .otherwise(no_clock)
    )
    date_only = (
        (is_ymd & ymd.struct.field("H").is_null())
        | is_ym
        | (is_cpt & cpt.struct.field("H").is_null())
        | (is_dmy & dmy.struct.field("H").is_null())
    )
    return _Text(wall=wall, offset=_offset(z), date_only=date_only)


def _localise(naive: pl.Expr, tz: str) -> pl.Expr:
    """Naive wall-clock times in ``tz`` to UTC; times in a DST gap become null."""
    return naive.dt.replace_time_zone(
        tz, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


@dataclass(frozen=True)
class _Parsed:
    """A parsed column: the result and what tells a bad value from a missing one."""

    value: pl.Expr  # Datetime("us", "UTC") or Date
    raw: pl.Expr  # the source value, quoted in messages
    present: pl.Expr  # the source holds a value (not null, not blank)
    noun: str  # the offending values, after their count
    rule: str  # what is expected
    gap: pl.Expr | None = None  # naive times inside a DST gap (their own message)


def _text_reading(
    lf: pl.LazyFrame,
    name: str,
    what: str | None,
    time_zone: str,
    format: str | None,
    dates: bool,
    format_name: str = "format",
    local_date: bool = False,
) -> _Parsed:
    text = pl.col(name).cast(pl.String).str.strip_chars()
    present = text.is_not_null() & (text != "")
    expected = "ISO-8601 dates or times (2024-01-31, 2024-01-31T10:00:00Z), YYYY-MM or YYYYMMDD"
    if format is not None:
        has_offset = "%z" in format or "%:z" in format or "%#z" in format
        parsed = text.str.to_datetime(
            format, time_unit="us", time_zone="UTC" if has_offset else None, strict=False
        )
        if has_offset:
            value = parsed.dt.convert_time_zone(time_zone).dt.date() if dates else parsed
            gap = None
        else:
            local = _localise(parsed, time_zone)
            value = parsed.dt.date() if dates else local
            gap = None if dates else parsed.is_not_null() & local.is_null()
        return _Parsed(
            value,
            text,
            present,
            "values that do not match the format",
            f"expected {format!r}",
            gap,
        )
    noun = "values that are not dates or times"
    # the other shapes need a format: the hint has the form cli_wording rewrites
    hint = (
        f"; for other shapes pass {format_name}= (e.g. '%m/%d/%Y %I:%M %p', or"
        " '%a, %d %b %Y %H:%M:%S %z' for e-mail times like 'Fri, 01 Mar 2024 10:00:00 +0000')"
    )
    rule = f"expected {expected}{hint}"
    # a column of one shape is read by that shape's format alone (see _uniform_shape)
    iso_year = text.str.slice(4, 1) == "-"  # four-digit years, as the general reading
    iso = _direct_reading(
        lf, text, present, _UNIFORM_SHAPES, iso_year, noun, rule, time_zone, dates, local_date
    )
    if iso is not None:
        return iso
    dayfirst = _decide_dayfirst(lf, name, text, what, format_name)
    if dayfirst is not None:
        shapes, dmy_year = _dmy_shapes(dayfirst), text.str.contains(_DMY_START)
        dmy = _direct_reading(
            lf, text, present, shapes, dmy_year, noun, rule, time_zone, dates, local_date
        )
        if dmy is not None:
            return dmy
    parts = _text_parts(text, dayfirst)
    naive = (
        pl.when(parts.offset.is_null())
        .then(parts.wall)
        .otherwise(None)
        .str.to_datetime(_NAIVE_FMT, time_unit="us", strict=False)
    )
    aware = (
        pl.when(parts.offset.is_not_null())
        .then(pl.concat_str(parts.wall, parts.offset))
        .otherwise(None)
        .str.to_datetime(_AWARE_FMT, time_unit="us", time_zone="UTC", strict=False)
    )
    written = parts.wall.str.to_datetime(_NAIVE_FMT, time_unit="us", strict=False)
    value, gap = _instants(naive, aware, written, time_zone, dates, local_date)
    return _Parsed(value, text, present, noun, rule, gap)


def _direct_reading(
    lf: pl.LazyFrame,
    text: pl.Expr,
    present: pl.Expr,
    shapes: tuple[tuple[str, str], ...],
    guard: pl.Expr,
    noun: str,
    rule: str,
    time_zone: str,
    dates: bool,
    local_date: bool,
) -> _Parsed | None:
    """Read a column of one of ``shapes`` directly, or ``None`` for the general reading.

    One pass tells whether the shape holds for every value (see :func:`_uniform_shape`) and
    whether any value is refused (then the usual check names the rows).
    """
    uniform = _uniform_shape(lf, text, present, shapes, guard)
    if uniform is None:
        return None
    naive, aware, written, misread = uniform
    value, gap = _instants(naive, aware, written, time_zone, dates, local_date)
    counts = lf.select(
        misread.sum().alias("misread"),
        (present & value.is_null()).sum().alias("bad"),
    ).collect()
    n_misread, n_bad = counts.row(0)
    if n_misread:
        return None
    if n_bad:  # only naive times in a daylight-saving gap can be left
        return _Parsed(value, text, present, noun, rule, gap)
    return _Parsed(value, text, present, "", "")


def _instants(
    naive: pl.Expr,
    aware: pl.Expr,
    written: pl.Expr,
    time_zone: str,
    dates: bool,
    local_date: bool,
) -> tuple[pl.Expr, pl.Expr | None]:
    """Return the reading of text times and the naive ones inside a daylight-saving gap.

    From the naive times (null where a value has an offset), the instants of the values with
    an offset (null elsewhere) and the wall-clock time written in every value.
    """
    if dates:
        if local_date:  # the date written before the offset (the offset must still be valid)
            day: pl.Expr = pl.when(aware.is_not_null()).then(written.dt.date())
        else:
            day = aware.dt.convert_time_zone(time_zone).dt.date()
        return pl.coalesce(naive.dt.date(), day), None
    local = _localise(naive, time_zone)
    return pl.coalesce(aware, local), naive.is_not_null() & local.is_null()


#: The ISO-8601 shapes most logs write every value in (fractions of a second optional), and
#: the offset each carries: ``"Z"``/``"UTC"`` (UTC), ``":z"`` (``+HH:MM``) or none (naive).
_UNIFORM_SHAPES = (
    ("%Y-%m-%dT%H:%M:%S%.fZ", "Z"),
    ("%Y-%m-%dT%H:%M:%S%.f%:z", ":z"),
    ("%Y-%m-%d %H:%M:%S%.f UTC", "UTC"),
    ("%Y-%m-%dT%H:%M:%S%.f", ""),
    ("%Y-%m-%d %H:%M:%S%.f", ""),
    ("%Y-%m-%d", ""),
)
#: The start of a day/month/year value (a year of four digits, as the general reading).
_DMY_START = r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{4}(?:\D|$)"


def _dmy_shapes(dayfirst: bool) -> tuple[tuple[str, str], ...]:
    """Day/month/year shapes in the order the column was decided to be read (all naive)."""
    first, second = ("%d", "%m") if dayfirst else ("%m", "%d")
    dates = [f"{first}{sep}{second}{sep}%Y" for sep in "/.-"]
    clocks = ("T%H:%M:%S%.f", " %H:%M:%S%.f", " %H:%M", "")
    return tuple((d + c, "") for d in dates for c in clocks)


#: Values looked at to guess a column's shape before the whole column is checked.
_SHAPE_SAMPLE = 1_000


def _uniform_shape(
    lf: pl.LazyFrame,
    text: pl.Expr,
    present: pl.Expr,
    shapes: tuple[tuple[str, str], ...],
    guard: pl.Expr,
) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr] | None:
    """Read a column of one ISO-8601 shape directly, or return ``None`` when it has none.

    The general reading (:func:`_text_parts`) takes every value apart with regular
    expressions and writes it again in one canonical shape, which costs about 30 times a
    direct parse; most logs write every value the same way (``2024-01-31T10:00:00.123Z``,
    BigQuery's ``2024-01-31 10:00:00 UTC``, or ``31/01/2024 10:00`` once the column is known
    to be day-first). A sample of the column picks the first of ``shapes`` (ISO ones are
    :data:`_UNIFORM_SHAPES`) that reads all of it; that format alone then reads the column.
    ``guard`` holds where a value has the shape's fields as the general reading wants them
    (a format's ``%Y`` takes more than four digits).
    Returns the expressions of the general reading (the naive times, null where a value has
    an offset; the instants of values with an offset, null elsewhere; the wall-clock time
    written in every value) and ``misread``: the present values the format does not read,
    which send the column to the general reading (the caller counts them in its one pass).
    """
    sample = lf.filter(present).select(text.alias("v")).head(_SHAPE_SAMPLE).collect()
    values = sample["v"]
    if not len(values):
        return None
    for fmt, offset in shapes:
        if values.str.to_datetime(fmt, time_unit="us", strict=False).null_count():
            continue
        if offset == ":z":  # the wall clock is what comes before the offset
            wall = text.str.slice(0, text.str.len_chars() - 6)
            written = wall.str.to_datetime(fmt[:-3], time_unit="us", strict=False)
        else:
            written = text.str.to_datetime(fmt, time_unit="us", strict=False)
        misread = present & (written.is_null() | ~guard)
        none = pl.lit(None, pl.Datetime("us"))
        if not offset:
            return written, none.dt.replace_time_zone("UTC"), written, misread
        aware = text.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
        return none, aware, written, misread
    return None


def _decide_dayfirst(
    lf: pl.LazyFrame, name: str, text: pl.Expr, what: str | None, format_name: str = "format"
) -> bool | None:
    """Read day/month text one way for the whole column, or refuse it (reads the column)."""
    dmy = text.str.extract_groups(_DMY)
    a = dmy.struct.field("a").cast(pl.Int64)
    b = dmy.struct.field("b").cast(pl.Int64)
    stats = lf.select(
        dmy.struct.field("y").is_not_null().sum().alias("n"),
        a.max().alias("a"),
        b.max().alias("b"),
    ).collect()
    n, max_a, max_b = stats.row(0)
    if not n:
        return None
    if (max_a or 0) > 12 and (max_b or 0) <= 12:
        return True
    if (max_b or 0) > 12 and (max_a or 0) <= 12:
        return False
    of = f" of the {what}" if what else ""
    sample = (
        lf.with_row_index(ROW)
        .filter(dmy.struct.field("y").is_not_null())
        .select(ROW, text.alias("v"))
        .head(5)
        .collect()
    )
    rows = describe_rows(sample[ROW].to_list(), values=sample["v"].to_list(), total=n)
    why = (
        "some read only day-first and others only month-first"
        if (max_a or 0) > 12
        else "every value reads both as day/month and as month/day"
    )
    raise ValidationError(
        f"Column {name!r}{of} has {n} dates written as day and month in an unknown order "
        f"({rows}): {why}; pass {format_name}= (e.g. '%d/%m/%Y' or '%m/%d/%Y')."
    )


# --------------------------------------------------------------------------------------------
# numbers


class CalendarNumbers(NamedTuple):
    """Whole numbers read as calendar dates, and whether each has that shape (expressions)."""

    ymd: pl.Expr  #: ``20240131`` as that day
    is_ymd: pl.Expr  #: a valid day of the years 1900-2199
    ym: pl.Expr  #: ``202401`` as the first day of that month
    is_ym: pl.Expr  #: a valid month of the years 1900-2199
    year: pl.Expr  #: ``2019`` as 1 January of that year
    is_year: pl.Expr  #: a year in 1000-9999


def calendar_numbers(day: pl.Expr) -> CalendarNumbers:
    """Read whole numbers ``day`` (an Int64 expression) as calendar shapes (the table above).

    Examples
    --------
    >>> s = calendar_numbers(pl.col("d"))
    >>> pl.DataFrame({"d": [20240131, 202401, 2019, 7]}).select(
    ...     s.is_ymd.alias("ymd"), s.is_ym.alias("ym"), s.is_year.alias("y")
    ... ).rows()
    [(True, False, False), (False, True, False), (False, False, True), (False, False, False)]
    """
    ymd = (
        (day // 10_000).cast(pl.String)
        + "-"
        + ((day // 100) % 100).cast(pl.String).str.zfill(2)
        + "-"
        + (day % 100).cast(pl.String).str.zfill(2)
    ).str.to_date("%Y-%m-%d", strict=False)
    ym = (
        (day // 100).cast(pl.String) + "-" + (day % 100).cast(pl.String).str.zfill(2) + "-01"
    ).str.to_date("%Y-%m-%d", strict=False)
    year = (day.cast(pl.String) + "-01-01").str.to_date("%Y-%m-%d", strict=False)
    return CalendarNumbers(
        ymd,
        # epoch seconds of 1970-08-09 .. 1970-09-12 read the same way: pass epoch_unit for them
        day.is_between(19_000_101, 21_991_231) & ymd.is_not_null(),
        ym,
        day.is_between(190_001, 219_912) & ym.is_not_null(),
        year,
        day.is_between(1_000, 9_999),
    )


def _number_reading(
    lf: pl.LazyFrame,
    name: str,
    dtype: pl.DataType,
    what: str | None,
    epoch_unit: str | None,
    dates: bool,
    time_zone: str,
) -> _Parsed:
    col = pl.col(name)
    if epoch_unit is not None and epoch_unit not in EPOCH_UNITS:
        raise SchemaError(
            f"epoch_unit must be one of {', '.join(EPOCH_UNITS)} (or None to detect it); "
            f"got {epoch_unit!r}."
        )
    x = col.cast(pl.Float64)
    finite = x.is_finite()
    # whole numbers stored as floats (a pandas integer column with a gap, a spreadsheet's
    # numbers) are read as the integers they are
    whole = dtype.is_integer() or (
        dtype.is_float()
        and bool(
            lf.select(((x.round(0) == x) & (x.abs() < 1e15)).filter(finite).all()).collect().item()
        )
    )
    if whole:
        day = x.cast(pl.Int64, strict=False) if dtype.is_float() else col.cast(pl.Int64)
        shapes = calendar_numbers(day)
        ymd, yyyymmdd = shapes.ymd, shapes.is_ymd
        # calendar dates only: years (2019) and months (202401) would be the first hours or
        # days of 1970 as epoch seconds, which no table of days or months holds
        ym, yyyymm = shapes.ym, shapes.is_ym & pl.lit(dates)
        year, yyyy = shapes.year, shapes.is_year & pl.lit(dates)
    else:
        ymd, yyyymmdd = pl.lit(None, pl.Date), pl.lit(False)
        ym, yyyymm, year, yyyy = ymd, yyyymmdd, ymd, yyyymmdd
    stats = lf.select(
        x.filter(finite).abs().max().alias("max"),
        x.filter(finite & (x != 0)).abs().min().alias("min"),
        (col.is_not_null() & ~finite).sum().alias("bad"),
        col.is_not_null().sum().alias("n"),
        yyyymmdd.sum().alias("ymd"),
        yyyymm.sum().alias("ym"),
        yyyy.sum().alias("y"),
    ).collect()
    max_abs, min_abs, n_bad, n, n_ymd, n_ym, n_y = stats.row(0)
    of = f" of the {what}" if what else ""
    if n_bad:
        sample = (
            lf.with_row_index(ROW)
            .filter(col.is_not_null() & ~finite)
            .select(ROW, col.alias("v"))
            .head(5)
            .collect()
        )
        rows = describe_rows(sample[ROW].to_list(), values=sample["v"].to_list(), total=n_bad)
        raise ValidationError(
            f"Column {name!r}{of} has {n_bad} NaN or infinite values ({rows}); epoch times "
            "must be finite numbers."
        )
    if epoch_unit is None and n and n_ymd == n:
        value = ymd if dates else _localise(ymd.cast(pl.Datetime("us")), time_zone)
        return _Parsed(value, col, col.is_not_null(), "", "")
    if epoch_unit is None and n and dates and (n_ym == n or n_y == n):
        return _Parsed(ym if n_ym == n else year, col, col.is_not_null(), "", "")
    unit = epoch_unit or detect_epoch_unit(float(max_abs or 0.0))
    floor = _EPOCH_FLOORS[unit]
    if epoch_unit is None and min_abs is not None and min_abs < floor:
        small = col.is_not_null() & (x != 0) & (x.abs() < floor)
        sample = bad_rows(lf, small, col)
        rows = describe_rows(
            sample[ROW].to_list(), values=sample["v"].to_list(), total=sample["n"][0]
        )
        raise ValidationError(
            f"Column {name!r}{of} mixes epoch units: its largest values are in {unit} "
            f"({max_abs:.0f}), but {sample['n'][0]} would fall before 1973-03-03 in {unit} "
            f"({rows}), so are in a smaller unit. Write every value in one unit, or pass "
            "epoch_unit= to read them all in one."
        )
    micros = x * EPOCH_UNITS[unit]
    # year 1 to 9999 in microseconds; outside it a Datetime cannot hold the value
    in_range = micros.abs() < 2.5e17
    instant = (
        pl.when(in_range)
        .then(micros.round(0))
        .otherwise(None)
        .cast(pl.Int64)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    value = instant.dt.convert_time_zone(time_zone).dt.date() if dates else instant
    return _Parsed(
        value,
        col,
        col.is_not_null(),
        f"epoch values out of range (read as {unit})",
        "epoch times must lie between the years 1 and 9999",
    )


# --------------------------------------------------------------------------------------------
# columns


def _reading(
    lf: pl.LazyFrame,
    name: str,
    *,
    what: str | None,
    time_zone: str,
    epoch_unit: str | None,
    format: str | None,
    dates: bool,
    format_name: str = "format",
    local_date: bool = False,
) -> _Parsed:
    check_time_zone(time_zone)
    schema = lf.collect_schema()
    if name not in schema:
        of = f" from the {what}" if what else ""
        raise SchemaError(f"Column {name!r} is missing{of}.")
    dtype = schema[name]
    col = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        col = col.cast(pl.Datetime("us", dtype.time_zone))
        if dtype.time_zone is None:
            value = col.dt.date() if dates else _localise(col, time_zone)
            gap = None if dates or time_zone == "UTC" else col.is_not_null() & value.is_null()
        else:
            inst = col.dt.convert_time_zone("UTC")
            value = inst.dt.convert_time_zone(time_zone).dt.date() if dates else inst
            gap = None
        return _Parsed(value, col, col.is_not_null(), "", "", gap)
    if dtype == pl.Date:
        if dates:
            return _Parsed(col, col, col.is_not_null(), "", "")
        # a date is its first instant: midnight, or 01:00 where midnight falls in a DST gap
        midnight = col.cast(pl.Datetime("us"))
        value = pl.coalesce(
            _localise(midnight, time_zone), _localise(midnight + pl.duration(hours=1), time_zone)
        )
        return _Parsed(value, col, col.is_not_null(), "", "")
    if dtype == pl.Null:
        value = col.cast(pl.Date) if dates else col.cast(pl.Datetime("us", "UTC"))
        return _Parsed(value, col, pl.lit(False), "", "")
    if is_text(dtype):
        return _text_reading(lf, name, what, time_zone, format, dates, format_name, local_date)
    if dtype.is_numeric():
        return _number_reading(lf, name, dtype, what, epoch_unit, dates, time_zone)
    of = f" of the {what}" if what else ""
    raise SchemaError(
        f"Column {name!r}{of} has type {dtype}; expected datetimes, dates, ISO-8601 text or "
        "epoch numbers."
    )


def _check(lf: pl.LazyFrame, name: str, p: _Parsed, what: str | None, time_zone: str) -> None:
    """Raise on values that are present but were not read (one pass; rows read only then)."""
    if not p.noun and p.gap is None:
        return
    bad = p.present & p.value.is_null()
    gap = p.gap if p.gap is not None else pl.lit(False)
    counts = lf.select(bad.sum().alias("bad"), gap.sum().alias("gap")).collect()
    n_bad, n_gap = counts.row(0)
    if not n_bad:
        return
    of = f" of the {what}" if what else ""
    if n_gap:
        noun = f"local times that do not exist in {time_zone!r} (a daylight-saving gap)"
        rule = "pass times with their UTC offset, or fix the clock change"
        bad, n_bad = gap, n_gap
    else:
        noun, rule = p.noun, p.rule
    sample = (
        lf.with_row_index(ROW)
        .filter(bad)
        .select(ROW, p.raw.cast(pl.String).alias("v"))
        .head(5)
        .collect()
    )
    rows = describe_rows(sample[ROW].to_list(), values=sample["v"].to_list(), total=n_bad)
    raise ValidationError(f"Column {name!r}{of} has {n_bad} {noun} ({rows}); {rule}.")


def parse_times(
    lf: pl.LazyFrame,
    name: str,
    *,
    what: str | None = None,
    time_zone: str = "UTC",
    epoch_unit: EpochUnit | str | None = None,
    format: str | None = None,
    format_name: str = "format",
) -> pl.Expr:
    """Read column ``name`` of ``lf`` as instants, ``Datetime("us", "UTC")``: an expression.

    Reads the column only where the type does not settle the reading (text, numbers); see the
    module notes for the rules. Nulls stay null.

    Parameters
    ----------
    lf : LazyFrame
        The frame holding the column.
    name : str
        The column.
    what : str, optional
        The frame's name in messages ("event log", "spend table").
    time_zone : str
        IANA zone of naive times (and of dates' first instants).
    epoch_unit : {"s", "ms", "us", "ns"}, optional
        Unit of epoch numbers; detected from their magnitude when not given.
    format : str, optional
        A strftime format for text; then every value must match it.
    format_name : str
        The caller's name for ``format`` in messages (``read_events`` calls it
        ``time_format``).

    Raises
    ------
    SchemaError
        The column is missing, or of a type that holds no time.
    ValidationError
        Values are present but cannot be read; the message names rows and values.

    Examples
    --------
    >>> lf = pl.LazyFrame({"t": ["2024-01-31T10:00:00Z", "2024-01-31 11:00", "2024-02"]})
    >>> t = lf.select(parse_times(lf, "t", time_zone="Europe/Paris")).collect()["t"]
    >>> t.dt.to_string("%Y-%m-%d %H:%M").to_list()
    ['2024-01-31 10:00', '2024-01-31 10:00', '2024-01-31 23:00']
    """
    p = _reading(
        lf,
        name,
        what=what,
        time_zone=time_zone,
        epoch_unit=epoch_unit,
        format=format,
        dates=False,
        format_name=format_name,
    )
    _check(lf, name, p, what, time_zone)
    return p.value.alias(name)


def parse_dates(
    lf: pl.LazyFrame,
    name: str,
    *,
    what: str | None = None,
    time_zone: str = "UTC",
    epoch_unit: EpochUnit | str | None = None,
    format: str | None = None,
    format_name: str = "format",
    local_date: bool = False,
) -> pl.Expr:
    """Read column ``name`` of ``lf`` as calendar dates (``Date``): an expression.

    Dates and date-only text keep their day; naive times keep their wall-clock day; aware
    times and epoch numbers take their day in ``time_zone``. Parameters and errors as
    :func:`parse_times`, and:

    Parameters
    ----------
    local_date : bool
        Text with a UTC offset (``Z``, ``+02:00``) keeps the calendar date written in it
        rather than its date in ``time_zone``: for columns that label periods (a series'
        days or months, a spend table's days), where ``2024-03-01T00:00:00+02:00`` is the
        local midnight that starts 1 March. The offset must still be valid. (Text read with
        ``format=`` and aware ``Datetime`` columns take their date as without it.)

    Examples
    --------
    >>> lf = pl.LazyFrame({"d": ["2024-01-31T23:30:00-02:00", "20240201", "2024-03"]})
    >>> lf.select(parse_dates(lf, "d")).collect()["d"].to_list()
    [datetime.date(2024, 2, 1), datetime.date(2024, 2, 1), datetime.date(2024, 3, 1)]
    >>> lf.select(parse_dates(lf, "d", local_date=True)).collect()["d"].to_list()
    [datetime.date(2024, 1, 31), datetime.date(2024, 2, 1), datetime.date(2024, 3, 1)]
    """
    p = _reading(
        lf,
        name,
        what=what,
        time_zone=time_zone,
        epoch_unit=epoch_unit,
        format=format,
        dates=True,
        format_name=format_name,
        local_date=local_date,
    )
    _check(lf, name, p, what, time_zone)
    return p.value.alias(name)


# --------------------------------------------------------------------------------------------
# single values


def _one(
    value: Any,
    name: str,
    dates: bool,
    time_zone: str,
    format: str | None,
    local_date: bool = False,
) -> Any:
    if isinstance(value, dt.datetime) and dates and (value.tzinfo is None or local_date):
        return value.date()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and dates:
        return value
    if value is None or isinstance(value, bool):
        raise ValidationError(f"{name} must be a date or time; got {value!r}.")
    try:
        series = pl.Series("value", [value])
    except Exception:
        raise ValidationError(
            f"{name} must be a date, a datetime or ISO-8601 text; got {value!r}."
        ) from None
    lf = series.to_frame().lazy()
    try:
        if dates:
            read = parse_dates(
                lf, "value", time_zone=time_zone, format=format, local_date=local_date
            )
        else:
            read = parse_times(lf, "value", time_zone=time_zone, format=format)
        out = lf.select(read).collect()["value"][0]
    except (SchemaError, ValidationError) as exc:
        reason = str(exc).split("; ", 1)[-1]
        raise ValidationError(f"{name} must be a date or time; got {value!r}: {reason}") from None
    if out is None:
        raise ValidationError(f"{name} must be a date or time; got {value!r}.")
    return out


def parse_time(
    value: Any, *, name: str = "value", time_zone: str = "UTC", format: str | None = None
) -> dt.datetime:
    """One value read as an instant (an aware ``datetime`` in UTC), by the column rules.

    Examples
    --------
    >>> parse_time("2024-01-31T10:00+01:00", name="start")
    datetime.datetime(2024, 1, 31, 9, 0, tzinfo=zoneinfo.ZoneInfo(key='UTC'))
    >>> parse_time("01/02/2024", name="start")
    Traceback (most recent call last):
    ...
    attribution.ValidationError: start must be a date or time; got '01/02/2024': pass format= ...
    """
    out: dt.datetime = _one(value, name, False, time_zone, format)
    return out


def parse_date(
    value: Any,
    *,
    name: str = "value",
    time_zone: str = "UTC",
    format: str | None = None,
    local_date: bool = False,
) -> dt.date:
    """One value read as a calendar date, by the column rules (``local_date`` as there).

    Examples
    --------
    >>> parse_date("2024-03", name="start"), parse_date("20240131", name="start")
    (datetime.date(2024, 3, 1), datetime.date(2024, 1, 31))
    """
    out: dt.date = _one(value, name, True, time_zone, format, local_date)
    return out
