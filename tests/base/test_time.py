"""The one reading of time (attribution._base.time): every accepted shape, and every refusal."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution._base.errors import SchemaError, ValidationError
from attribution._base.time import (
    detect_epoch_unit,
    parse_date,
    parse_dates,
    parse_time,
    parse_times,
)

UTC = dt.timezone.utc


def times(values, **kw):
    lf = pl.LazyFrame({"t": values})
    return lf.select(parse_times(lf, "t", what="log", **kw)).collect()["t"].to_list()


def dates(values, **kw):
    lf = pl.LazyFrame({"t": values})
    return lf.select(parse_dates(lf, "t", what="log", **kw)).collect()["t"].to_list()


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------------------------
# text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", utc(2024, 1, 31)),
        ("2024-01-31T10:00", utc(2024, 1, 31, 10)),
        ("2024-01-31 10:00:05", utc(2024, 1, 31, 10, 0, 5)),
        ("2024-01-31T10:00:05.25", utc(2024, 1, 31, 10, 0, 5, 250000)),
        ("2024-01-31T10:00:05.123456789", utc(2024, 1, 31, 10, 0, 5, 123456)),
        ("2024-01-31T10:00:00Z", utc(2024, 1, 31, 10)),
        ("2024-01-31T10:00:00z", utc(2024, 1, 31, 10)),
        ("2024-01-31 10:00:00 UTC", utc(2024, 1, 31, 10)),
        ("2024-01-31T10:00:00+01:00", utc(2024, 1, 31, 9)),
        ("2024-01-31T10:00:00+0130", utc(2024, 1, 31, 8, 30)),
        ("2024-01-31T10:00:00-03", utc(2024, 1, 31, 13)),
        ("2024-01-31T10:00:00,5+00:00", utc(2024, 1, 31, 10, 0, 0, 500000)),
        ("2024/01/31", utc(2024, 1, 31)),
        ("2024-1-5", utc(2024, 1, 5)),
        ("2024-01", utc(2024, 1, 1)),
        ("20240131", utc(2024, 1, 31)),
        ("20240131T101500Z", utc(2024, 1, 31, 10, 15)),
        ("  2024-01-31  ", utc(2024, 1, 31)),
    ],
)
def test_text_shapes(text, expected):
    assert times([text]) == [expected]


def test_naive_text_is_wall_time_in_the_zone_and_aware_text_is_its_instant():
    got = times(["2024-07-01 12:00", "2024-07-01T12:00:00Z"], time_zone="Europe/Paris")
    assert got == [utc(2024, 7, 1, 10), utc(2024, 7, 1, 12)]


def test_mixed_shapes_in_one_column_each_read_their_way():
    got = times(["2024-01-31", "2024-02", "20240301", "2024-03-02T00:00:00+02:00"])
    assert got == [utc(2024, 1, 31), utc(2024, 2, 1), utc(2024, 3, 1), utc(2024, 3, 1, 22)]


def test_categorical_and_enum_text_read_like_strings():
    s = pl.Series("t", ["2024-01-31", "2024-02-01"])
    expected = times(s.to_list())
    assert times(s.cast(pl.Categorical)) == expected
    assert times(s.cast(pl.Enum(s.to_list()))) == expected


def test_nulls_and_blanks_stay_null():
    assert times(["2024-01-31", None, "", "   "]) == [utc(2024, 1, 31), None, None, None]


def test_unreadable_text_is_refused_by_row_never_null():
    with pytest.raises(
        ValidationError,
        match=r"Column 't' of the log has 3 values that are not dates or times \('yesterday' at "
        r"row 1, '2024-02-30' at row 2, '2024-13-01' at row 3\); expected ISO-8601",
    ):
        times(["2024-01-01", "yesterday", "2024-02-30", "2024-13-01", None])


def test_day_month_text_is_refused_when_the_column_reads_both_ways():
    with pytest.raises(
        ValidationError,
        match=r"Column 't' of the log has 2 dates written as day and month in an unknown order "
        r"\('01/02/2024' at row 0, '03/04/2024' at row 1\): every value reads both as "
        r"day/month and as month/day; pass format=",
    ):
        times(["01/02/2024", "03/04/2024"])


def test_day_month_text_is_read_the_way_the_column_decides():
    assert times(["13/02/2024", "01/02/2024"]) == [utc(2024, 2, 13), utc(2024, 2, 1)]
    assert times(["02/13/2024", "01/02/2024"]) == [utc(2024, 2, 13), utc(2024, 1, 2)]
    assert times(["13.02.2024 10:30"]) == [utc(2024, 2, 13, 10, 30)]


def test_day_month_text_that_reads_only_one_way_per_row_but_both_ways_overall_is_refused():
    with pytest.raises(ValidationError, match="some read only day-first and others only"):
        times(["13/02/2024", "02/13/2024"])


def test_a_format_settles_day_month_text():
    assert times(["01/02/2024"], format="%d/%m/%Y") == [utc(2024, 2, 1)]
    assert times(["01/02/2024"], format="%m/%d/%Y") == [utc(2024, 1, 2)]
    with pytest.raises(ValidationError, match=r"1 values that do not match the format"):
        times(["01/02/2024", "2024-01-01"], format="%d/%m/%Y")


def test_a_format_with_an_offset_gives_the_instant():
    assert times(["31.01.2024 10:00 +0100"], format="%d.%m.%Y %H:%M %z") == [utc(2024, 1, 31, 9)]


# ------------------------------------------------------------------------------------------
# datetimes and dates


def test_naive_datetimes_are_wall_time_and_aware_ones_keep_their_instant():
    naive = [dt.datetime(2024, 1, 31, 10)]
    assert times(naive) == [utc(2024, 1, 31, 10)]
    assert times(naive, time_zone="America/New_York") == [utc(2024, 1, 31, 15)]
    aware = pl.Series("t", naive).dt.replace_time_zone("Asia/Tokyo")
    assert times(aware, time_zone="Europe/Paris") == [utc(2024, 1, 31, 1)]


def test_nanosecond_datetimes_are_read_to_the_microsecond():
    s = pl.Series("t", [1_700_000_000_123_456_789]).cast(pl.Datetime("ns"))
    assert times(s) == [dt.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)]


def test_dates_are_their_first_instant_in_the_zone():
    got = times([dt.date(2024, 3, 31)], time_zone="America/Santiago")
    # midnight exists in Santiago that day; the instant is 03:00 UTC (UTC-3)
    assert got == [utc(2024, 3, 31, 3)]
    # where midnight falls in a DST gap, the first instant is 01:00
    got = times([dt.date(2024, 9, 8)], time_zone="America/Santiago")
    assert got == [utc(2024, 9, 8, 4)]


def test_a_naive_time_in_a_dst_gap_is_named_not_called_unparseable():
    for values in (["2024-03-31 02:30"], [dt.datetime(2024, 3, 31, 2, 30)]):
        with pytest.raises(
            ValidationError,
            match=r"1 local times that do not exist in 'Europe/Paris' \(a daylight-saving gap\)",
        ):
            times(values, time_zone="Europe/Paris")


def test_a_repeated_autumn_hour_is_read_as_the_earlier():
    got = times(["2024-10-27 02:30"], time_zone="Europe/Paris")
    assert got == [utc(2024, 10, 27, 0, 30)]


def test_dates_of_aware_times_are_taken_in_the_zone_and_naive_ones_keep_their_day():
    assert dates(["2024-01-31T23:30:00-02:00"]) == [dt.date(2024, 2, 1)]
    assert dates(["2024-01-31T23:30:00-02:00"], time_zone="America/Sao_Paulo") == [
        dt.date(2024, 1, 31)
    ]
    assert dates(["2024-01-31T23:30:00", "2024-01-31"], time_zone="Asia/Tokyo") == [
        dt.date(2024, 1, 31),
        dt.date(2024, 1, 31),
    ]
    assert dates([dt.datetime(2024, 1, 31, 23, 59)]) == [dt.date(2024, 1, 31)]


def test_local_date_keeps_the_day_written_before_the_offset():
    # hand-worked: the text names local midnight (or 23:30) of the day written; in UTC the
    # first is the evening before, the second the next morning
    text = ["2024-03-01T00:00:00+02:00", "2024-01-31T23:30:00-02:00", "2024-02-29T12:00Z"]
    assert dates(text) == [dt.date(2024, 2, 29), dt.date(2024, 2, 1), dt.date(2024, 2, 29)]
    assert dates(text, local_date=True) == [
        dt.date(2024, 3, 1),
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),
    ]
    # naive text and dates are unchanged; a broken offset is still refused
    assert dates(["2024-03-01T00:00", "2024-03"], local_date=True) == [
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 1),
    ]
    with pytest.raises(ValidationError, match=r"'2024-03-01T00:00\+25:00' at row 0"):
        dates(["2024-03-01T00:00+25:00"], local_date=True)
    assert parse_date("2024-03-01T00:00:00+02:00", local_date=True) == dt.date(2024, 3, 1)
    paris = dt.datetime(2024, 3, 1, tzinfo=ZoneInfo("Europe/Paris"))
    assert parse_date(paris, local_date=True) == dt.date(2024, 3, 1)
    assert parse_date(paris) == dt.date(2024, 2, 29)


def test_read_spend_keeps_the_day_written_before_the_offset():
    import attribution as at

    spend = pl.DataFrame(
        {
            "date": ["2024-03-01T00:00:00+02:00", "2024-03-31T23:00:00-05:00"],
            "channel": ["a", "a"],
            "spend": [1.0, 2.0],
        }
    )
    assert at.read_spend(spend)["date"].to_list() == [dt.date(2024, 3, 1), dt.date(2024, 3, 31)]


def test_dates_read_month_and_compact_text():
    assert dates(["2024-03", "20240131", "2024-02-29"]) == [
        dt.date(2024, 3, 1),
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),
    ]


# ------------------------------------------------------------------------------------------
# numbers


@pytest.mark.parametrize(
    ("scale", "unit"), [(1, "s"), (1_000, "ms"), (1_000_000, "us"), (1_000_000_000, "ns")]
)
def test_epoch_unit_is_detected_from_magnitude(scale, unit):
    seconds = 1_700_000_000
    assert detect_epoch_unit(seconds * scale) == unit
    assert times([seconds * scale, (seconds + 1) * scale]) == [
        utc(2023, 11, 14, 22, 13, 20),
        utc(2023, 11, 14, 22, 13, 21),
    ]


def test_epoch_milliseconds_are_not_read_as_seconds():
    # 2024-01-01 in ms: read as seconds it would be the year 55970
    got = times([1_704_067_200_000])
    assert got == [utc(2024, 1, 1)]


def test_a_given_epoch_unit_wins_over_detection():
    assert times([1_700_000], epoch_unit="ms") == [utc(1970, 1, 1, 0, 28, 20)]
    # milliseconds of 2023 read as seconds lie beyond the year 9999: refused, not wrapped
    with pytest.raises(ValidationError, match=r"1 epoch values out of range \(read as s\)"):
        times([1_700_000_000_000], epoch_unit="s")


def test_fractional_epoch_seconds_keep_microseconds():
    assert times([1.5]) == [utc(1970, 1, 1, 0, 0, 1, 500000)]


def test_nan_and_infinite_epochs_are_refused_by_row():
    with pytest.raises(
        ValidationError,
        match=r"Column 't' of the log has 2 NaN or infinite values \(nan at row 1, inf at row 2\)",
    ):
        times([1.7e9, float("nan"), float("inf")])


def test_integer_yyyymmdd_are_dates_unless_an_epoch_unit_is_given():
    assert times([20240131, 20240201]) == [utc(2024, 1, 31), utc(2024, 2, 1)]
    assert dates([20240131]) == [dt.date(2024, 1, 31)]
    assert times([20240131], epoch_unit="s") == [utc(1970, 8, 23, 6, 15, 31)]
    # not every value a valid date, or a year outside 1900-2199: epoch seconds
    assert times([20240131, 20241399])[0] == utc(1970, 8, 23, 6, 15, 31)
    assert times([10000101]) == [utc(1970, 4, 26, 17, 48, 21)]


def test_integer_years_and_yyyymm_are_calendar_dates_unless_an_epoch_unit_is_given():
    assert dates([2019, 2020, 1999]) == [
        dt.date(2019, 1, 1),
        dt.date(2020, 1, 1),
        dt.date(1999, 1, 1),
    ]
    assert dates([202401, 202312]) == [dt.date(2024, 1, 1), dt.date(2023, 12, 1)]
    assert parse_date(2019) == dt.date(2019, 1, 1)
    # 2019 epoch seconds are 00:33:39 on 1 January 1970 (2019 = 33 * 60 + 39)
    assert dates([2019], epoch_unit="s") == [dt.date(1970, 1, 1)]
    assert times([2019]) == [utc(1970, 1, 1, 0, 33, 39)]
    # not every value a month (202413), or a year beside an epoch: epoch seconds as before;
    # 202413 s = 2 days 8:13:33
    assert dates([202401, 202413]) == [dt.date(1970, 1, 3), dt.date(1970, 1, 3)]
    assert dates([2019, 86_400 * 3]) == [dt.date(1970, 1, 1), dt.date(1970, 1, 4)]


def test_unknown_epoch_unit_and_unreadable_types_are_schema_errors():
    with pytest.raises(SchemaError, match=r"epoch_unit must be one of s, ms, us, ns"):
        times([1], epoch_unit="days")
    with pytest.raises(SchemaError, match=r"Column 't' of the log has type Boolean; expected"):
        times([True])
    with pytest.raises(SchemaError, match=r"time_zone 'Mars/Olympus' is not a known IANA"):
        times(["2024-01-01"], time_zone="Mars/Olympus")


# ------------------------------------------------------------------------------------------
# single values


def test_single_values_follow_the_column_rules():
    assert parse_time("2024-01-31T10:00+01:00") == utc(2024, 1, 31, 9)
    assert parse_date("2024-03") == dt.date(2024, 3, 1)
    assert parse_date("2024-01-31T00:30:00+02:00") == dt.date(2024, 1, 30)
    assert parse_date(dt.datetime(2024, 1, 2, 23)) == dt.date(2024, 1, 2)
    assert parse_date(dt.date(2024, 1, 2)) == dt.date(2024, 1, 2)
    assert parse_time(dt.date(2024, 1, 2), time_zone="Asia/Tokyo") == utc(2024, 1, 1, 15)


@pytest.mark.parametrize("bad", ["garbage", "01/02/2024", None, True, 3.5e30, [1]])
def test_single_bad_values_name_the_parameter(bad):
    with pytest.raises(ValidationError, match=r"^start must be a date or time; got "):
        parse_date(bad, name="start")


# ------------------------------------------------------------------------------------------
# properties


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(
        min_value=dt.datetime(1950, 1, 1),  # offsets in whole minutes (no local mean time)
        max_value=dt.datetime(2200, 1, 1),
        timezones=st.sampled_from([ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"), None]),
    )
)
def test_iso_text_round_trips(value):
    value = value.replace(microsecond=value.microsecond)
    text = value.isoformat()
    expected = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    assert times([text]) == [expected]


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-(10**9), max_value=4 * 10**9), st.sampled_from(["s", "ms", "us"]))
def test_epoch_numbers_round_trip_in_every_unit(seconds, unit):
    scale = {"s": 1, "ms": 1_000, "us": 1_000_000}[unit]
    expected = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=seconds)
    assert times([seconds * scale], epoch_unit=unit) == [expected]


def test_reading_is_vectorised_and_equal_to_one_by_one():
    rng = np.random.default_rng(0)
    base = dt.datetime(2020, 1, 1)
    values = [
        (base + dt.timedelta(seconds=int(s))).strftime(fmt)
        for s, fmt in zip(
            rng.integers(0, 10**8, 300),
            rng.choice(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%d", "%Y-%m-%d %H:%M"], 300),
            strict=True,
        )
    ]
    assert times(values) == [parse_time(v) for v in values]


# --- columns of one ISO shape, read directly -------------------------------------------------

_SHAPES = {
    "Z": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    "Z whole": lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "offset": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S") + "+05:30",
    "negative offset": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "-03:00",
    "BigQuery": lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
    "naive T": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"),
    "naive space": lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f"),
    "day": lambda t: t.strftime("%Y-%m-%d"),
}


def _general(monkeypatch, *args, **kwargs):
    """The same reading with the shortcut for uniform columns turned off."""
    import attribution._base.time as T

    with monkeypatch.context() as m:
        m.setattr(T, "_uniform_shape", lambda *a: None)
        return args[0].select(kwargs.pop("fn")(*args, **kwargs)).collect()


@pytest.mark.parametrize("shape", sorted(_SHAPES))
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Sao_Paulo"])
def test_a_column_of_one_iso_shape_reads_as_the_general_reading_does(monkeypatch, shape, zone):
    import attribution._base.time as T

    rng = np.random.default_rng(len(shape) + len(zone))
    start = dt.datetime(2018, 1, 1)
    # random instants over 8 years, the clock changes of both zones included
    times = [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 8 * 365 * 86400, 400)]
    times += [dt.datetime(2024, 3, 31, 2, 30), dt.datetime(2018, 11, 4, 0, 15)]  # DST gaps
    values = [_SHAPES[shape](t) for t in times] + [None, "  "]
    lf = pl.LazyFrame({"t": values})
    text = pl.col("t").str.strip_chars()
    iso = T._UNIFORM_SHAPES, text.str.slice(4, 1) == "-"
    assert T._uniform_shape(lf, text, text.is_not_null() & (text != ""), *iso)
    for fn, extra in (
        (T.parse_times, {}),
        (T.parse_dates, {}),
        (T.parse_dates, {"local_date": True}),
    ):
        try:
            fast = lf.select(fn(lf, "t", time_zone=zone, **extra)).collect()
        except ValidationError as exc:  # a naive time in a gap: both refuse it, alike
            with pytest.raises(ValidationError, match="daylight-saving gap") as general:
                _general(monkeypatch, lf, "t", fn=fn, time_zone=zone, **extra)
            assert str(general.value) == str(exc)
            continue
        assert fast.equals(_general(monkeypatch, lf, "t", fn=fn, time_zone=zone, **extra))


def test_a_column_mixing_shapes_takes_the_general_reading():
    import attribution._base.time as T

    mixed = ["2024-01-31T10:00:00Z"] * 5 + ["2024-01-31 10:00:00+01:00", "31/01/2024", "2024-02"]
    lf = pl.LazyFrame({"t": mixed})
    iso = T._UNIFORM_SHAPES, pl.col("t").str.slice(4, 1) == "-"
    assert T._uniform_shape(lf, pl.col("t"), pl.col("t").is_not_null(), *iso) is None
    got = lf.select(T.parse_times(lf, "t")).collect()["t"].to_list()
    utc = dt.timezone.utc
    assert got[-3:] == [
        dt.datetime(2024, 1, 31, 9, tzinfo=utc),
        dt.datetime(2024, 1, 31, tzinfo=utc),
        dt.datetime(2024, 2, 1, tzinfo=utc),
    ]
    # five-digit years parse with the format's %Y but are no ISO dates: refused as before
    lf = pl.LazyFrame({"t": ["2024-01-31T10:00:00Z", "12024-01-31T10:00:00Z"]})
    with pytest.raises(ValidationError, match="not dates or times"):
        lf.select(T.parse_times(lf, "t")).collect()


@pytest.mark.parametrize(
    "fmt",
    ["%d/%m/%Y %H:%M:%S", "%d.%m.%Y", "%m/%d/%Y %H:%M", "%d-%m-%YT%H:%M:%S.%f", "%m/%d/%Y"],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_a_day_month_column_of_one_shape_reads_as_the_general_reading_does(monkeypatch, fmt, zone):
    import attribution._base.time as T

    rng = np.random.default_rng(len(fmt))
    start = dt.datetime(2018, 1, 1)
    times = [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 8 * 365 * 86400, 400)]
    lf = pl.LazyFrame({"t": [t.strftime(fmt) for t in times] + [None]})
    calls = []
    with monkeypatch.context() as m:  # the direct reading is the one taken
        m.setattr(T, "_text_parts", lambda *a: calls.append(a) or T._text_parts(*a))
        fast = lf.select(T.parse_times(lf, "t", time_zone=zone)).collect()
    assert not calls
    assert fast.equals(_general(monkeypatch, lf, "t", fn=T.parse_times, time_zone=zone))
    day = lf.select(T.parse_dates(lf, "t", time_zone=zone)).collect()
    assert day.equals(_general(monkeypatch, lf, "t", fn=T.parse_dates, time_zone=zone))
    # and it is right: the wall-clock times written, read back by Python
    want = [dt.datetime.strptime(t.strftime(fmt), fmt) for t in times]
    got = fast["t"].dt.convert_time_zone(zone).dt.replace_time_zone(None).to_list()[:-1]
    assert got == want
