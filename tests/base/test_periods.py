"""One period vocabulary (attribution._base.periods): spellings, calendars, inference."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from attribution._base.errors import ValidationError
from attribution._base.periods import Period, as_period, infer_freq, regular_breaks, step_dates


@pytest.mark.parametrize(
    ("spelling", "n", "unit"),
    [
        ("1d", 1, "d"), ("D", 1, "d"), ("day", 1, "d"), ("daily", 1, "d"),
        ("1w", 1, "w"), ("W", 1, "w"), ("W-SUN", 1, "w"), ("weekly", 1, "w"), ("2w", 2, "w"),
        ("1mo", 1, "mo"), ("MS", 1, "mo"), ("M", 1, "mo"), ("ME", 1, "mo"), ("BMS", 1, "mo"),
        ("month", 1, "mo"), ("3mo", 3, "mo"), ("3MS", 3, "mo"),
        ("1q", 1, "q"), ("QS", 1, "q"), ("Q", 1, "q"), ("QE", 1, "q"), ("quarterly", 1, "q"),
        ("1y", 1, "y"), ("Y", 1, "y"), ("YS", 1, "y"), ("YE", 1, "y"), ("A", 1, "y"),
        ("AS", 1, "y"), ("annual", 1, "y"), ("1h", 1, "h"), ("h", 1, "h"), ("H", 1, "h"),
        (" 1mo ", 1, "mo"),
    ],
)  # fmt: skip
def test_every_spelling(spelling, n, unit):
    assert Period.parse(spelling) == Period(n, unit)


@pytest.mark.parametrize("bad", ["monthly-ish", "", "1", "mo", "1m", "-1d", 5, None, "1 month"])
def test_other_spellings_are_refused_with_the_vocabulary(bad):
    with pytest.raises(ValidationError, match=r"is not a period; expected a count and a unit"):
        Period.parse(bad)


def test_zero_counts_and_hours_where_days_are_needed_are_refused():
    with pytest.raises(ValidationError, match=r"freq '0mo' must count at least one period"):
        Period.parse("0mo")
    with pytest.raises(ValidationError, match=r"freq 'h' is shorter than a day"):
        as_period("h")
    assert as_period("h", whole_days=False) == Period(1, "h")
    assert as_period(None, optional=True) is None
    with pytest.raises(ValidationError, match="freq is required"):
        as_period(None)


def test_derived_figures():
    q = Period.parse("QS")
    assert (str(q), q.step, q.months, q.season_length, q.per_year, q.name) == (
        "1q", "3mo", 3, 4, 4.0, "quarter"
    )  # fmt: skip
    assert Period.parse("2w").season_length == 1
    assert Period.parse("2w").name == "2 weeks"
    assert Period.parse("D").season_length == 7
    assert Period.parse("1mo").days == pytest.approx(30.4375)


def test_truncate_labels_periods_by_their_first_day_whatever_the_spelling():
    t = pl.Series("t", [dt.datetime(2024, 5, 15, 13), dt.datetime(2024, 5, 31)])
    frame = t.to_frame()
    for spelling in ("1mo", "MS", "M", "ME"):
        got = frame.select(Period.parse(spelling).truncate(pl.col("t")))["t"].to_list()
        assert got == [dt.date(2024, 5, 1), dt.date(2024, 5, 1)]
    week = frame.select(Period.parse("W").truncate(pl.col("t")))["t"].to_list()
    assert week == [dt.date(2024, 5, 13), dt.date(2024, 5, 27)]  # Mondays


def test_truncate_keeps_the_calendar_day_of_aware_times():
    t = pl.Series("t", [dt.datetime(2024, 1, 31, 23, 30)]).dt.replace_time_zone("Asia/Tokyo")
    got = t.to_frame().select(Period.parse("1d").truncate(pl.col("t")))["t"].to_list()
    assert got == [dt.date(2024, 1, 31)]


def _dates(*ymd):
    return pl.Series("t", [dt.date(*x) for x in ymd])


def test_infer_freq_of_the_usual_calendars():
    assert infer_freq(_dates((2024, 1, 1), (2024, 1, 2), (2024, 1, 3))) == Period(1, "d")
    assert infer_freq(_dates((2024, 1, 1), (2024, 1, 15), (2024, 1, 29))) == Period(2, "w")
    assert infer_freq(_dates((2024, 1, 1), (2024, 2, 1), (2024, 3, 1))) == Period(1, "mo")
    ends = _dates((2023, 2, 28), (2023, 3, 31), (2023, 4, 30), (2023, 5, 31))
    assert infer_freq(ends) == Period(1, "mo")
    assert infer_freq(_dates((2023, 1, 31), (2023, 4, 30), (2023, 7, 31))) == Period(1, "q")
    assert infer_freq(_dates((2020, 1, 1), (2021, 1, 1), (2022, 1, 1))) == Period(1, "y")


def test_infer_freq_per_series_and_with_a_missing_period():
    t = _dates((2024, 1, 1), (2024, 2, 1), (2024, 4, 1), (2024, 5, 1), (2024, 1, 1), (2024, 2, 1))
    ids = pl.Series("id", ["a", "a", "a", "a", "b", "b"])
    assert infer_freq(t, ids) == Period(1, "mo")


def test_infer_freq_of_hours_and_refusals():
    t = pl.Series([dt.datetime(2024, 1, 1, h) for h in (0, 1, 2, 3)])
    assert infer_freq(t) == Period(1, "h")
    with pytest.raises(ValidationError, match="fewer than two distinct dates"):
        infer_freq(_dates((2024, 1, 1)))
    with pytest.raises(ValidationError, match=r"gaps between dates range from 40 to 90 days"):
        infer_freq(_dates((2024, 1, 1), (2024, 2, 10), (2024, 5, 10)))


def _breaks(t, period):
    frame = pl.DataFrame({"id": ["a"] * len(t), "t": t})
    return regular_breaks(frame, id_col="id", time_col="t", period=period)


def test_month_end_and_same_day_calendars_are_both_regular():
    ends = _dates((2023, 2, 28), (2023, 3, 31), (2023, 4, 30), (2023, 5, 31), (2024, 2, 29))
    assert _breaks(ends[:4], Period(1, "mo")).height == 0
    fifteenth = _dates((2024, 1, 15), (2024, 2, 15), (2024, 3, 15))
    assert _breaks(fifteenth, Period(1, "mo")).height == 0
    jan31 = _dates((2024, 1, 31), (2024, 2, 29), (2024, 3, 31))
    assert _breaks(jan31, Period(1, "mo")).height == 0
    gap = _dates((2024, 1, 15), (2024, 2, 15), (2024, 4, 15))
    assert _breaks(gap, Period(1, "mo")).rows() == [
        ("a", dt.date(2024, 4, 15), dt.date(2024, 3, 15))
    ]


def test_step_dates_keep_month_ends_and_count_from_the_first_date():
    first = pl.DataFrame({"d": [dt.date(2023, 2, 28)] * 3, "k": [1, 2, 12]})
    ends = first.select(step_dates(pl.col("d"), pl.col("k"), Period(1, "mo"), month_end=True))
    assert ends.to_series().to_list() == [
        dt.date(2023, 3, 31),
        dt.date(2023, 4, 30),
        dt.date(2024, 2, 29),
    ]
    day = first.select(step_dates(pl.col("d"), pl.col("k"), Period(1, "q")))
    assert day.to_series().to_list() == [
        dt.date(2023, 5, 28),
        dt.date(2023, 8, 28),
        dt.date(2026, 2, 28),
    ]
    weeks = first.select(step_dates(pl.col("d"), pl.col("k"), Period(2, "w")))
    assert weeks.to_series().to_list()[0] == dt.date(2023, 3, 14)


def test_infer_freq_reads_a_late_day_of_month_clipped_in_february_as_months():
    # the 30th of each month, clipped to 28 February: two steps of one month each
    dates = pl.Series([dt.date(2023, 2, 28), dt.date(2023, 3, 30), dt.date(2023, 4, 30)])
    assert infer_freq(dates) == Period(1, "mo")
    quarters = pl.Series([dt.date(2023, 2, 28), dt.date(2023, 5, 30), dt.date(2023, 8, 30)])
    assert infer_freq(quarters) == Period(1, "q")
