"""One period vocabulary: what ``freq=`` means everywhere, and how to infer it from dates.

:class:`Period` is a count of a calendar unit (hour, day, week, month, quarter, year). It is
spelled the project's way (``"1d"``, ``"2w"``, ``"1mo"``, ``"1q"``, ``"1y"``, ``"1h"``) or with
the pandas / statsforecast aliases (``"D"``, ``"W"``, ``"MS"``, ``"M"``, ``"ME"``, ``"QS"``,
``"Q"``, ``"QE"``, ``"YS"``, ``"Y"``, ``"YE"``, ``"A"``, ``"h"``, with an optional count such as
``"3MS"``), or in words (``"day"``, ``"weekly"``, ``"month"`` ...).

Per-period figures label each period by its first day (weeks start on Monday), whatever the
spelling: ``"M"`` and ``"MS"`` group the same rows. Regular series may sit on either calendar
of a month: on the same day of each month (clipped to the month's length) or on month ends;
:func:`step_dates` keeps a month-end series on month ends, so a series that starts on
28 February and then runs on 31 March, 30 April ... is regular, and so is one on the 30th
that starts on 28 February (:func:`calendar_anchor`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias, overload

import numpy as np
import polars as pl

from attribution._base.errors import ValidationError

__all__ = [
    "FREQS",
    "Freq",
    "FreqLike",
    "Period",
    "as_period",
    "calendar_anchor",
    "infer_freq",
    "is_month_end",
    "regular_breaks",
    "step_dates",
]

Unit = Literal["h", "d", "w", "mo", "q", "y"]
#: The project's own spellings of the usual periods (any count of a unit is accepted).
Freq: TypeAlias = Literal["1d", "1w", "1mo", "1q", "1y"]
FREQS: tuple[str, ...] = ("1d", "1w", "1mo", "1q", "1y")

_OWN = re.compile(r"^(\d+)(h|d|w|mo|q|y)$")
_ALIAS = re.compile(r"^(\d*)(MS|ME|M|BMS|BME|BM|QS|QE|Q|YS|YE|Y|AS|A|W(?:-[A-Z]{3})?|D|H|h)$")
_ALIAS_UNIT: dict[str, Unit] = {
    "MS": "mo", "ME": "mo", "M": "mo", "BMS": "mo", "BME": "mo", "BM": "mo",
    "QS": "q", "QE": "q", "Q": "q", "YS": "y", "YE": "y", "Y": "y", "AS": "y", "A": "y",
    "W": "w", "D": "d", "H": "h", "h": "h",
}  # fmt: skip
_WORDS: dict[str, Unit] = {
    "hour": "h", "hourly": "h", "day": "d", "daily": "d", "week": "w", "weekly": "w",
    "month": "mo", "monthly": "mo", "quarter": "q", "quarterly": "q", "year": "y",
    "yearly": "y", "annual": "y", "annually": "y",
}  # fmt: skip
_NAMES: dict[str, str] = {
    "h": "hour", "d": "day", "w": "week", "mo": "month", "q": "quarter", "y": "year",
}  # fmt: skip
_DAYS: dict[str, float] = {
    "h": 1 / 24, "d": 1.0, "w": 7.0, "mo": 365.25 / 12, "q": 365.25 / 4, "y": 365.25,
}  # fmt: skip
_SEASON: dict[str, int] = {"h": 24, "d": 7, "w": 52, "mo": 12, "q": 4, "y": 1}
_PER_YEAR: dict[str, float] = {"h": 8766.0, "d": 365.0, "w": 52.0, "mo": 12.0, "q": 4.0, "y": 1.0}
_MONTHS: dict[str, int] = {"mo": 1, "q": 3, "y": 12}


@dataclass(frozen=True)
class Period:
    """A count of one calendar unit.

    Parameters
    ----------
    n : int
        How many units, at least 1.
    unit : {"h", "d", "w", "mo", "q", "y"}
        Hour, day, week (Monday to Sunday), month, quarter (three months) or year.

    Examples
    --------
    >>> Period.parse("MS"), Period.parse("3M"), Period.parse("weekly")
    (Period(n=1, unit='mo'), Period(n=3, unit='mo'), Period(n=1, unit='w'))
    >>> p = Period.parse("1q"); str(p), p.step, p.season_length, p.per_year
    ('1q', '3mo', 4, 4.0)
    """

    n: int
    unit: Unit

    @classmethod
    def parse(cls, freq: FreqLike) -> Period:
        """Read a period from any accepted spelling; refuse others by name."""
        if isinstance(freq, Period):
            return freq
        text = freq.strip() if isinstance(freq, str) else None
        if text:
            m = _OWN.match(text)
            if m:
                return cls._make(int(m.group(1)), m.group(2), freq)  # type: ignore[arg-type]
            m = _ALIAS.match(text)
            if m:
                unit = _ALIAS_UNIT[m.group(2).split("-")[0]]
                return cls._make(int(m.group(1) or 1), unit, freq)
            if text.lower() in _WORDS:
                return cls(1, _WORDS[text.lower()])
        raise ValidationError(
            f"freq {freq!r} is not a period; expected a count and a unit such as '1d', '1w', "
            "'1mo', '1q', '1y' (or '2w', '3mo'), a pandas alias such as 'D', 'W', 'MS', 'M', "
            "'QS', 'Y', or a word such as 'month'."
        )

    @classmethod
    def _make(cls, n: int, unit: Unit, spelled: object) -> Period:
        if n < 1:
            raise ValidationError(f"freq {spelled!r} must count at least one period.")
        return cls(n, unit)

    def __str__(self) -> str:
        return f"{self.n}{self.unit}"

    @property
    def step(self) -> str:
        """The period as a Polars duration (``dt.truncate``, ``dt.offset_by``): a quarter is 3mo."""
        if self.unit == "q":
            return f"{3 * self.n}mo"
        return f"{self.n}{self.unit}"

    @property
    def months(self) -> int | None:
        """Length in calendar months (None for hours, days and weeks)."""
        per = _MONTHS.get(self.unit)
        return None if per is None else per * self.n

    @property
    def name(self) -> str:
        """``"month"``, ``"2 weeks"``..."""
        word = _NAMES[self.unit]
        return word if self.n == 1 else f"{self.n} {word}s"

    @property
    def days(self) -> float:
        """Average length in days (a month is 365.25 / 12)."""
        return self.n * _DAYS[self.unit]

    @property
    def per_year(self) -> float:
        """Periods in a year: 365 days, 52 weeks, 12 months, 4 quarters (for whole units)."""
        return _PER_YEAR[self.unit] / self.n

    @property
    def season_length(self) -> int:
        """The usual seasonal cycle: 7 days, 52 weeks, 12 months, 4 quarters, 24 hours; else 1."""
        return _SEASON[self.unit] if self.n == 1 else 1

    def truncate(self, times: pl.Expr) -> pl.Expr:
        """Map each value to the first day (or hour) of its period; weeks start on Monday.

        Aware times are truncated in their own zone and keep their own calendar day.
        """
        out = times.dt.truncate(self.step)
        # .dt.date() keeps an aware time's own calendar day (a cast to Date takes UTC's)
        return out if self.unit == "h" else out.dt.date()


#: Anything :meth:`Period.parse` reads.
FreqLike: TypeAlias = str | Period


@overload
def as_period(freq: FreqLike, *, optional: bool = False, whole_days: bool = True) -> Period: ...


@overload
def as_period(
    freq: FreqLike | None, *, optional: bool = False, whole_days: bool = True
) -> Period | None: ...


def as_period(
    freq: FreqLike | None, *, optional: bool = False, whole_days: bool = True
) -> Period | None:
    """Parse ``freq``; ``None`` passes through when ``optional``.

    With ``whole_days`` (figures labelled by the first day of each period), hours are refused.

    Examples
    --------
    >>> as_period("ME")
    Period(n=1, unit='mo')
    >>> as_period("1h")
    Traceback (most recent call last):
    ...
    attribution.ValidationError: freq '1h' is shorter than a day; periods here are days or ...
    """
    if freq is None:
        if optional:
            return None
        raise ValidationError("freq is required; expected a period such as '1mo'.")
    period = Period.parse(freq)
    if whole_days and period.unit == "h":
        raise ValidationError(
            f"freq {freq!r} is shorter than a day; periods here are days or longer ('1d', "
            "'1w', '1mo', '1q', '1y')."
        )
    return period


def is_month_end(dates: pl.Expr) -> pl.Expr:
    """Tell where a date is the last day of its month."""
    return dates.dt.month_end() == dates


def step_dates(
    first: pl.Expr, k: pl.Expr | int, period: Period, *, month_end: pl.Expr | bool = False
) -> pl.Expr:
    """``first`` moved by ``k`` periods; with ``month_end``, month ends stay month ends.

    Month steps are counted from ``first`` (not chained), so a day of month clipped once
    (31 January + 1 month = 29 February) is not clipped for ever after.
    """
    k_expr = pl.lit(k) if isinstance(k, int) else k
    if period.months is None:
        unit = period.unit
        return first.dt.offset_by(pl.format("{}" + unit, k_expr * period.n))
    moved = first.dt.offset_by(pl.format("{}mo", k_expr * period.months))
    end = month_end if isinstance(month_end, pl.Expr) else pl.lit(month_end)
    return pl.when(end).then(moved.dt.month_end()).otherwise(moved)


def calendar_anchor(t: pl.Expr, period: Period) -> tuple[pl.Expr, pl.Expr]:
    """Give the date a series' calendar is counted from, and its position in the series.

    Aggregations for a group of dates sorted in time. Hours, days and weeks count from the
    first date. Months, quarters and years count from the first date on the series' latest
    day of the month, so a series on the 30th that starts on 28 February (30 February
    clipped) counts from 30 March, one period later.
    """
    if period.months is None:
        return t.first(), pl.lit(0, pl.Int64)
    day = t.dt.day()
    top = day == day.max()
    return t.filter(top).first(), pl.int_range(pl.len(), dtype=pl.Int64).filter(top).first()


def regular_breaks(
    frame: pl.DataFrame, *, id_col: str, time_col: str, period: Period
) -> pl.DataFrame:
    """Rows of ``frame`` (sorted by id and time) that break their series' calendar.

    A series is regular when its k-th date is its anchor (:func:`calendar_anchor`, the first
    date unless a month was clipped) moved by the k periods between them, on the same-day
    calendar (clipped to each month's length) or, when every date of the series is a month
    end, on month ends. Returns ``id_col, time_col, expected`` for the rows that are not
    where expected.
    """
    k = pl.int_range(pl.len()).over(id_col)
    t = pl.col(time_col)
    anchor, at = (e.over(id_col) for e in calendar_anchor(t, period))
    ends = is_month_end(t).all().over(id_col) if period.months is not None else pl.lit(False)
    expected = step_dates(anchor, k - at, period, month_end=ends)
    return (
        frame.with_columns(expected.alias("expected"))
        .filter(t != pl.col("expected"))
        .select(id_col, time_col, "expected")
    )


def infer_freq(dates: pl.Series, ids: pl.Series | None = None) -> Period:
    """Infer the period between consecutive dates (of each series when ``ids`` is given).

    The most common step wins when it makes up more than half of the steps, so a few missing
    periods do not change the answer (they are for :func:`regular_breaks` to report). Day
    steps are checked first (1 day, whole weeks, n days); otherwise steps of whole calendar
    months (also on month ends) give months, quarters or years.

    Examples
    --------
    >>> import datetime as dt
    >>> ends = pl.Series([dt.date(2023, 2, 28), dt.date(2023, 3, 31), dt.date(2023, 4, 30)])
    >>> infer_freq(ends)
    Period(n=1, unit='mo')
    >>> infer_freq(pl.Series([dt.date(2024, 1, d) for d in (1, 8, 15, 29)]))
    Period(n=1, unit='w')
    """
    if isinstance(dates.dtype, pl.Datetime):
        frame = pl.DataFrame({"t": dates, "id": ids if ids is not None else 0})
        secs = (
            frame.sort("id", "t")
            .select(pl.col("t").diff().over("id").dt.total_seconds().alias("g"))["g"]
            .drop_nulls()
        )
        secs = secs.filter(secs > 0)
        if secs.len():
            step = _mode(secs.to_numpy())
            if step < 86_400 and step % 3_600 == 0:
                return Period(step // 3_600, "h")
        dates = dates.dt.date()
    frame = pl.DataFrame({"t": dates.cast(pl.Date), "id": ids if ids is not None else 0})
    frame = frame.sort("id", "t")
    diffs = frame.select(
        pl.col("t").cast(pl.Int64).diff().over("id").alias("days"),
        (pl.col("t").dt.year() * 12 + pl.col("t").dt.month()).diff().over("id").alias("months"),
        pl.col("t").dt.day().diff().over("id").alias("dday"),
        is_month_end(pl.col("t")).alias("end"),
        is_month_end(pl.col("t")).shift(1).over("id").alias("prev_end"),
    ).drop_nulls()
    diffs = diffs.filter(pl.col("days") > 0)
    if diffs.height == 0:
        raise ValidationError(
            "Cannot infer freq from series with fewer than two distinct dates each; pass freq "
            "(e.g. '1mo')."
        )
    days = diffs["days"].to_numpy()
    step = _mode(days)
    share = float(np.mean(days == step))
    if step < 28 and share > 0.5:
        return Period(step // 7, "w") if step % 7 == 0 else Period(step, "d")
    # a step of whole months: the same day, onto a month end (31 January to 29 February), or
    # off one to a later day (28 February to 30 March, the 30th clipped in February)
    calendar = (pl.col("dday") == 0) | pl.col("end") | (pl.col("prev_end") & (pl.col("dday") > 0))
    months = diffs.filter(calendar & (pl.col("months") > 0))["months"].to_numpy()
    m = _mode(months) if len(months) else 0
    if m and np.sum(months == m) > 0.5 * len(days):
        if m % 12 == 0:
            return Period(m // 12, "y")
        if m % 3 == 0:
            return Period(m // 3, "q")
        return Period(m, "mo")
    lo, hi = int(days.min()), int(days.max())
    raise ValidationError(
        f"Cannot infer freq: gaps between dates range from {lo} to {hi} days with no common "
        "step; pass freq (e.g. '1d', '1w', '1mo') and fill missing periods with "
        "forecasting.to_series."
    )


def _mode(values: np.ndarray) -> int:
    uniq, counts = np.unique(values, return_counts=True)
    return int(uniq[np.argmax(counts)])  # ties: the shortest step
