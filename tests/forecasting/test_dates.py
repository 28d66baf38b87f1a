"""Dates and periods as the base layer reads them, through the public forecasting functions.

ISO text ending in ``Z``, ``YYYY-MM`` text, the pandas period aliases, month-end calendars
(also from 28 February) and same-day calendars, through ``fc.forecast``, ``fc.backtest``,
``fc.to_series`` and the growth figures.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

import forecasting as fc
from attribution import ValidationError
from attribution._base.periods import Period

VALUES = [float(v) for v in (5, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19)]


def _long(dates: list, values: list[float] | None = None, sid: str = "a") -> pl.DataFrame:
    values = values if values is not None else VALUES[: len(dates)]
    return pl.DataFrame({"series_id": sid, "date": dates, "value": values[: len(dates)]})


def _months(start: date, n: int) -> list[date]:
    return pl.date_range(start, date(2100, 1, 1), "1mo", eager=True)[:n].to_list()


def _month_ends(start: date, n: int) -> list[date]:
    firsts = pl.date_range(start.replace(day=1), date(2100, 1, 1), "1mo", eager=True)[:n]
    return firsts.dt.month_end().to_list()


def _dates(out: pl.DataFrame) -> list[date]:
    return out["date"].unique(maintain_order=True).to_list()


# --------------------------------------------------------------------------------------------
# text dates


def test_forecast_reads_iso_dates_ending_in_z():
    month_starts = _months(date(2024, 1, 1), 12)
    text = [f"{d.isoformat()}T00:00:00Z" for d in month_starts]
    out = fc.forecast(_long(text), h=3, models=["naive", "theta"])
    ref = fc.forecast(_long(month_starts), h=3, models=["naive", "theta"])
    assert out.equals(ref)
    assert _dates(out) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]


def test_forecast_and_to_series_keep_the_local_date_of_text_with_an_offset():
    # local midnight of the 1st at UTC+2 is 22:00 UTC on the last day of the month before:
    # the series is still the months written, as if the dates were given as dates
    month_starts = _months(date(2024, 1, 1), 12)
    text = [f"{d.isoformat()}T00:00:00+02:00" for d in month_starts]
    out = fc.forecast(_long(text), h=3, models=["naive", "theta"])
    ref = fc.forecast(_long(month_starts), h=3, models=["naive", "theta"])
    assert out.equals(ref)
    assert _dates(out) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    series = fc.to_series(_long(text), start="2023-12-01T00:00:00+01:00")
    assert series["date"].to_list() == [date(2023, 12, 1), *month_starts]
    assert series["value"].to_list() == [0.0, *VALUES[:12]]


def test_forecast_reads_month_end_iso_dates_ending_in_z():
    ends = _month_ends(date(2024, 1, 31), 12)
    text = [f"{d.isoformat()}T00:00:00Z" for d in ends]
    assert text[0] == "2024-01-31T00:00:00Z"
    out = fc.forecast(_long(text), h=3, models="naive")
    assert _dates(out) == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]


def test_year_month_text_is_read_as_month_starts_not_nulls():
    text = [f"2024-{m:02d}" for m in range(1, 13)]
    out = fc.forecast(_long(text), h=2, models="seasonal_naive")
    ref = fc.forecast(_long(_months(date(2024, 1, 1), 12)), h=2, models="seasonal_naive")
    assert out.equals(ref)
    assert _dates(out) == [date(2025, 1, 1), date(2025, 2, 1)]
    series = fc.to_series(_long(["2024-01", "2024-01", "2024-03"], [1.0, 2.0, 4.0]))
    assert series.rows() == [
        ("a", date(2024, 1, 1), 3.0),
        ("a", date(2024, 2, 1), 0.0),
        ("a", date(2024, 3, 1), 4.0),
    ]


def test_to_series_reads_iso_dates_ending_in_z():
    frame = _long(["2024-01-31T23:00:00Z", "2024-02-01T00:00:00Z", "2024-03-15"], [1.0, 2.0, 4.0])
    assert fc.to_series(frame).rows() == [
        ("a", date(2024, 1, 1), 1.0),
        ("a", date(2024, 2, 1), 2.0),
        ("a", date(2024, 3, 1), 4.0),
    ]
    weeks = fc.to_series(frame, freq="W", span="series")
    assert weeks["date"].to_list()[:2] == [date(2024, 1, 29), date(2024, 2, 5)]  # Mondays
    assert weeks["value"].to_list()[0] == 3.0


def test_growth_reads_z_and_year_month_text():
    text = pl.DataFrame({"date": ["2021-01", "2022-01", "2023-01", "2024-01"]})
    s = text.with_columns(value=pl.Series([1000.0, 1100.0, 1400.0, 2000.0]))
    assert round(fc.cagr_series(s)["cagr"][0], 4) == 0.2599
    z = s.with_columns(pl.format("{}-01T00:00:00Z", "date").alias("date"))
    assert fc.cagr_series(z).equals(fc.cagr_series(s))


# --------------------------------------------------------------------------------------------
# period spellings


@pytest.mark.parametrize("freq", ["MS", "M", "ME", "1mo", "month", Period(1, "mo")])
def test_monthly_aliases_forecast_as_1mo(freq):
    s = _long(_months(date(2023, 1, 1), 14))
    ref = fc.forecast(s, h=4, models=["seasonal_naive", "theta"], freq="1mo")
    assert fc.forecast(s, h=4, models=["seasonal_naive", "theta"], freq=freq).equals(ref)
    cv = fc.backtest(s, h=2, models="naive", n_windows=2, freq=freq)
    assert cv.equals(fc.backtest(s, h=2, models="naive", n_windows=2, freq="1mo"))


@pytest.mark.parametrize(
    ("alias", "own", "step", "season"),
    [("W", "1w", "1w", 52), ("D", "1d", "1d", 7), ("QS", "1q", "3mo", 4), ("Y", "1y", "1y", 1)],
)
def test_period_aliases_forecast_and_aggregate_as_the_own_spelling(alias, own, step, season):
    dates = pl.date_range(date(2001, 1, 1), date(2100, 1, 1), step, eager=True)[:14].to_list()
    s = _long(dates)
    out = fc.forecast(s, h=3, models=["seasonal_naive", "drift"], freq=alias)
    assert out.equals(fc.forecast(s, h=3, models=["seasonal_naive", "drift"], freq=own))
    assert out.equals(fc.forecast(s, h=3, models=["seasonal_naive", "drift"]))  # inferred
    assert fc.season_length(alias) == fc.season_length(own) == season
    following = pl.date_range(dates[-1], date(2200, 1, 1), step, eager=True)[1:4].to_list()
    assert _dates(out) == following
    assert fc.to_series(s, freq=alias).equals(fc.to_series(s, freq=own))


def test_season_length_is_period_based():
    assert fc.season_length("MS") == fc.season_length(Period(1, "mo")) == 12
    assert fc.season_length(Period(1, "q")) == fc.season_length("QS") == 4
    assert fc.season_length("2w") == fc.season_length("3mo") == 1
    with pytest.raises(ValidationError, match="freq 'fortnightly' is not a period"):
        fc.season_length("fortnightly")
    with pytest.raises(ValidationError, match="shorter than a day"):
        fc.season_length("1h")


def test_growth_takes_period_aliases():
    months = _months(date(2020, 3, 1), 40)
    s = pl.DataFrame({"date": months, "value": np.linspace(100.0, 160.0, 40)})
    ref = fc.cagr_series(s, method="annual", freq="1mo")
    assert fc.cagr_series(s, method="annual", freq="MS").equals(ref)
    assert fc.cagr_series(s, method="annual").equals(ref)  # inferred
    s = s.with_columns(series_id=pl.lit("a"))
    assert fc.pop(s, offset="MS").equals(fc.pop(s, offset="1mo"))
    target = {"target_growth": 0.2, "years": 3, "start": "2021-01"}
    assert fc.target_progress(s, **target, freq="M").equals(fc.target_progress(s, **target))


# --------------------------------------------------------------------------------------------
# calendars of a month


def test_month_end_series_from_28_february_is_regular_and_stays_on_month_ends():
    ends = _month_ends(date(2023, 2, 28), 12)
    assert ends[:3] == [date(2023, 2, 28), date(2023, 3, 31), date(2023, 4, 30)]
    s = _long(ends)
    for freq in (None, "1mo", "M", "ME", "MS"):
        out = fc.forecast(s, h=4, models="naive", freq=freq)
        assert _dates(out) == [
            date(2024, 2, 29),
            date(2024, 3, 31),
            date(2024, 4, 30),
            date(2024, 5, 31),
        ]
    cv = fc.backtest(_long(_month_ends(date(2023, 2, 28), 14)), h=2, models="naive", n_windows=2)
    assert cv["cutoff"].unique().sort().to_list() == [date(2023, 12, 31), date(2024, 1, 31)]
    assert cv["date"].unique().sort().to_list() == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
    ]


def test_quarter_ends_stay_on_quarter_ends():
    ends = [date(2022, 3, 31), date(2022, 6, 30), date(2022, 9, 30), date(2022, 12, 31)]
    ends += [date(2023, 3, 31), date(2023, 6, 30)]
    out = fc.forecast(_long(ends), h=3, models="naive")
    assert _dates(out) == [date(2023, 9, 30), date(2023, 12, 31), date(2024, 3, 31)]


def test_same_day_of_month_series_stays_on_that_day():
    fifteenths = [date(2023, m, 15) for m in range(1, 13)]
    out = fc.forecast(_long(fifteenths), h=3, models="naive")
    assert _dates(out) == [date(2024, 1, 15), date(2024, 2, 15), date(2024, 3, 15)]
    thirtieths = [date(2023, 4, 30), date(2023, 5, 30), date(2023, 6, 30), date(2023, 7, 30)]
    out = fc.forecast(_long(thirtieths), h=2, models="naive")  # not month ends: the 30th
    assert _dates(out) == [date(2023, 8, 30), date(2023, 9, 30)]


def test_a_missing_month_is_still_a_break():
    ends = _month_ends(date(2023, 2, 28), 12)
    s = _long(ends[:5] + ends[6:])
    with pytest.raises(
        ValidationError,
        match=r"1 series are not regular at freq 'ME' \(first break: a at 2023-08-31 \(expected "
        r"2023-07-31\)",
    ):
        fc.forecast(s, h=2, freq="ME")


# --------------------------------------------------------------------------------------------
# input types


def test_datetime_input_gets_datetime_dates_back():
    months = _months(date(2023, 1, 1), 12)
    naive = _long([datetime(d.year, d.month, d.day) for d in months])
    out = fc.forecast(naive, h=2, models="naive")
    assert out.schema["date"] == pl.Datetime("us")
    assert out["date"].to_list() == [datetime(2024, 1, 1), datetime(2024, 2, 1)]
    paris = naive.with_columns(pl.col("date").dt.replace_time_zone("Europe/Paris"))
    out = fc.forecast(paris, h=2, models="naive")  # local midnights keep their own calendar
    assert out.schema["date"] == pl.Datetime("us", "Europe/Paris")
    assert out["date"].dt.date().to_list() == [date(2024, 1, 1), date(2024, 2, 1)]
    assert fc.to_series(paris)["date"].to_list() == months


def test_a_forecast_day_whose_midnight_a_clock_change_skips_starts_after_the_gap():
    # Sao Paulo moved its clocks from 00:00 to 01:00 on 4 November 2018: that day's first
    # instant is 01:00 local (03:00 UTC); the others keep midnight
    days = pl.datetime_range(
        datetime(2018, 10, 1),
        datetime(2018, 11, 1),
        "1d",
        eager=True,
        time_zone="America/Sao_Paulo",
    )
    s = pl.DataFrame({"series_id": "a", "date": days, "value": np.arange(len(days)) + 1.0})
    out = fc.forecast(s, h=5, models="naive")
    utc = out["date"].dt.convert_time_zone("UTC").to_list()
    hours = [(d.day, d.hour) for d in utc]
    assert hours == [(2, 3), (3, 3), (4, 3), (5, 2), (6, 2)]  # UTC-3, then UTC-2 from 01:00


# --- numbered periods (ds = 1 .. n, as competition data give them) ---------------------------


def _numbered_and_dated(n: int = 40, k: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(7)
    t = np.arange(n)
    values = [50 + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n).cumsum() for _ in range(k)]
    ids = np.repeat([f"s{i}" for i in range(k)], n)
    numbered = pl.DataFrame(
        {"unique_id": ids, "ds": np.tile(np.arange(1, n + 1), k), "y": np.concatenate(values)}
    )
    months = pl.date_range(date(2001, 1, 1), date(2001 + n // 12 + 1, 1, 1), "1mo", eager=True)
    dated = numbered.with_columns(ds=pl.concat([months[:n]] * k))
    return numbered, dated


def test_numbered_periods_forecast_as_the_same_series_dated():
    numbered, dated = _numbered_and_dated()
    kw = dict(h=5, id_col="unique_id", time_col="ds", value_col="y", models=["auto", "theta"])
    got = fc.forecast(numbered, season_length=12, **kw)
    want = fc.forecast(dated, **kw)  # monthly dates: the season length 12 is read from them
    assert got["ds"].dtype == pl.Int64
    # the count goes on where each series stops
    assert got.filter(pl.col("model") == "theta")["ds"].to_list() == [41, 42, 43, 44, 45] * 3
    assert got.drop("ds").equals(want.drop("ds"))
    # freq= gives the season as well
    assert fc.forecast(numbered, freq="1mo", **kw).drop("ds").equals(want.drop("ds"))


def test_numbered_periods_without_a_season_warn_and_forecast_without_one():
    numbered, dated = _numbered_and_dated()
    kw = dict(h=4, id_col="unique_id", time_col="ds", value_col="y", models="ets")
    with pytest.warns(UserWarning, match="season_length="):
        got = fc.forecast(numbered, **kw)
    assert got.drop("ds").equals(fc.forecast(dated, season_length=1, **kw).drop("ds"))


def test_numbered_periods_backtest_cutoffs_are_numbers():
    numbered, dated = _numbered_and_dated()
    kw = dict(h=3, id_col="unique_id", time_col="ds", value_col="y", models="naive")
    got = fc.backtest(numbered, season_length=12, n_windows=2, **kw)
    want = fc.backtest(dated, n_windows=2, **kw)
    assert sorted(set(got["cutoff"].to_list())) == [36, 37]  # 40 - 3 - 1 and one step later
    assert got.drop("ds", "cutoff").equals(want.drop("ds", "cutoff"))


def test_numbered_periods_that_skip_or_repeat_are_refused_by_series():
    numbered, _ = _numbered_and_dated()
    gap = numbered.filter(~((pl.col("unique_id") == "s1") & (pl.col("ds") == 9)))
    with pytest.raises(ValidationError, match=r"s1 from 8 to 10"):
        fc.forecast(gap, h=2, season_length=12, id_col="unique_id", time_col="ds", value_col="y")
    dup = pl.concat([numbered, numbered.filter(pl.col("ds") == 5)])
    with pytest.raises(ValidationError, match=r"duplicated rows \(s0 5"):
        fc.forecast(dup, h=2, season_length=12, id_col="unique_id", time_col="ds", value_col="y")


def test_whole_numbers_that_are_dates_stay_dates():
    base = {"series_id": ["a"] * 3, "value": [1.0, 2.0, 3.0]}
    years = fc.forecast(pl.DataFrame(base | {"date": [2019, 2020, 2021]}), h=1, models="naive")
    assert years["date"].to_list() == [date(2022, 1, 1)]
    epoch = [1_700_000_000 + 86_400 * i for i in range(3)]  # days of November 2023, in seconds
    days = fc.forecast(pl.DataFrame(base | {"date": epoch}), h=1, models="naive")
    assert days["date"].to_list() == [date(2023, 11, 17)]


def test_whole_numbers_stored_as_floats_read_as_the_integers():
    # a pandas integer column with a gap turns to floats; the values are still 2019 .. 2021
    base = {"series_id": ["a"] * 3, "value": [1.0, 2.0, 3.0]}
    frame = pl.DataFrame(base | {"date": [2019.0, 2020.0, 2021.0]})
    years = fc.forecast(frame, h=1, models="naive")
    assert years["date"].to_list() == [date(2022, 1, 1)]
    months = fc.forecast(pl.DataFrame(base | {"date": [202401.0, 202402.0, 202403.0]}), h=1)
    assert months["date"].to_list() == [date(2024, 4, 1)]
    numbered, _ = _numbered_and_dated()
    kw = dict(h=3, id_col="unique_id", time_col="ds", value_col="y", season_length=12)
    floats = fc.forecast(numbered.with_columns(pl.col("ds").cast(pl.Float64)), **kw)
    assert floats.equals(fc.forecast(numbered, **kw))
    # fractions are not whole numbers: epoch seconds, as before (1.5 s after 1970 is one day)
    half = pl.DataFrame(base | {"date": [0.5, 1.5, 2.5]})
    with pytest.raises(ValidationError, match="several times a day"):
        fc.forecast(half, h=1)


def test_period_numbers_where_a_calendar_is_needed_are_refused_by_column():
    numbered = pl.DataFrame({"series_id": "a", "date": np.arange(1, 37), "value": 1.0})
    # before: to_series summed all 36 rows into one row dated 1 January 1970
    with pytest.raises(ValidationError, match=r"Column 'date' .* holds period numbers"):
        fc.to_series(numbered, freq="1mo")
    with pytest.raises(ValidationError, match=r"Column 'date' .* holds period numbers"):
        fc.cagr_series(numbered)
