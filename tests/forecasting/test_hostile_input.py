"""Hostile inputs to the forecasting side: odd types, odd calendars, odd magnitudes.

Each test states where its reference comes from (a closed form, a hand-worked example, or the
same data given in the ordinary way).
"""

from __future__ import annotations

import re
import warnings
from datetime import date, datetime

import numpy as np
import pandas as pd
import polars as pl
import pytest

import attribution as at
import forecasting as fc
from attribution import SchemaError, ValidationError

VALUES = [float(v) for v in (5, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19)]


def _months(start: date, n: int) -> list[date]:
    return pl.date_range(start, date(2100, 1, 1), "1mo", eager=True)[:n].to_list()


# --------------------------------------------------------------------------------------------
# a pandas Series where a frame is expected


def test_a_pandas_series_with_a_datetime_index_is_one_series():
    days = _months(date(2023, 1, 1), 14)
    s = pd.Series(VALUES, index=pd.DatetimeIndex(days), name="sales")
    # reference: the same series written as a long frame by hand
    frame = pl.DataFrame(
        {"series_id": "sales", "date": [datetime(d.year, d.month, d.day) for d in days]}
    ).with_columns(value=pl.Series(VALUES))
    out = fc.forecast(s, h=3, models=["naive", "theta"])
    assert out.equals(fc.forecast(frame, h=3, models=["naive", "theta"]))
    assert out["series_id"].unique().to_list() == ["sales"]
    monthly = fc.to_series(s)
    assert monthly["date"].to_list() == days
    assert monthly["value"].to_list() == VALUES
    assert monthly["series_id"].unique().to_list() == ["sales"]
    # unnamed: one series called "total", as to_series names a frame without ids
    assert fc.to_series(pd.Series(VALUES, index=pd.DatetimeIndex(days)))["series_id"][0] == "total"
    # a PeriodIndex is its periods' first days
    periods = pd.Series(VALUES, index=pd.period_range("2023-01", periods=14, freq="M"))
    assert fc.to_series(periods)["date"].to_list() == days
    # the growth figures of one series read it too: 2023-01 to 2024-01 is one year,
    # 5 -> 16 is 220 %
    cagr = fc.cagr_series(s.iloc[:13])
    assert cagr["cagr"][0] == pytest.approx(16 / 5 - 1)


def test_a_pandas_series_without_dates_or_where_a_table_is_expected_is_refused_by_name():
    with pytest.raises(SchemaError, match=r"needs its dates as its index .* got a RangeIndex"):
        fc.forecast(pd.Series(VALUES), h=2)
    with pytest.raises(SchemaError, match=r"Cannot read the event log from a pandas Series"):
        at.build_journeys(pd.Series(["a", "b"], name="channel"))


# --------------------------------------------------------------------------------------------
# whole numbers as dates


def test_integer_years_and_yyyymm_columns_are_yearly_and_monthly_periods():
    years = list(range(2010, 2024))
    as_ints = pl.DataFrame({"series_id": "a", "date": years, "value": VALUES})
    as_dates = as_ints.with_columns(date=pl.Series([date(y, 1, 1) for y in years]))
    out = fc.forecast(as_ints, h=2, models=["naive", "theta"])
    assert out.equals(fc.forecast(as_dates, h=2, models=["naive", "theta"]))
    assert out["date"].unique(maintain_order=True).to_list() == [date(2024, 1, 1), date(2025, 1, 1)]
    months = _months(date(2023, 7, 1), 14)
    yyyymm = [d.year * 100 + d.month for d in months]
    assert yyyymm[:2] == [202307, 202308]
    as_ints = pl.DataFrame({"series_id": "a", "date": yyyymm, "value": VALUES})
    out = fc.forecast(as_ints, h=2, models="naive")
    assert out["date"].to_list() == [date(2024, 9, 1), date(2024, 10, 1)]
    assert fc.to_series(as_ints)["date"].to_list() == months
    yyyymmdd = pl.DataFrame({"series_id": "a", "date": [20240131, 20240229, 20240331]})
    assert fc.to_series(yyyymmdd.with_columns(value=pl.lit(1.0)), freq="1d").height == 61


# --------------------------------------------------------------------------------------------
# monthly series on the 29th / 30th that start in February


def _on_day(day: int, start: date, n: int) -> list[date]:
    """Dates on ``day`` of each month from ``start``'s month, clipped to short months."""
    out = []
    for first in _months(start.replace(day=1), n):
        last = (pl.Series([first]).dt.month_end()[0]).day
        out.append(first.replace(day=min(day, last)))
    return out


@pytest.mark.parametrize("day", [29, 30])
def test_a_monthly_series_on_a_late_day_may_start_on_a_clipped_february(day):
    dates = _on_day(day, date(2023, 2, 1), 14)
    assert dates[:3] == [date(2023, 2, 28), date(2023, 3, day), date(2023, 4, day)]
    series = pl.DataFrame({"series_id": "a", "date": dates, "value": VALUES})
    starts = series.with_columns(date=pl.Series(_months(date(2023, 2, 1), 14)))
    out = fc.forecast(series, h=3, models=["naive", "theta"])
    ref = fc.forecast(starts, h=3, models=["naive", "theta"])
    assert out.drop("date").equals(ref.drop("date"))
    # 14 months from February 2023 end in March 2024; then April, May, June on that day
    assert out["date"].unique(maintain_order=True).to_list() == [
        date(2024, 4, day),
        date(2024, 5, day),
        date(2024, 6, day),
    ]
    cv = fc.backtest(series, h=2, models="naive", n_windows=2)
    assert cv["date"].unique().sort().to_list() == [
        date(2024, 1, day),
        date(2024, 2, 29),
        date(2024, 3, day),
    ]
    # the calendar is still checked: a 29th among 30ths breaks it
    if day == 30:
        broken = series.with_columns(
            date=pl.when(pl.col("date") == date(2023, 6, 30))
            .then(date(2023, 6, 29))
            .otherwise(pl.col("date"))
        )
        with pytest.raises(ValidationError, match=r"a at 2023-06-29 \(expected 2023-06-30\)"):
            fc.forecast(broken, h=2, models="naive")


# --------------------------------------------------------------------------------------------
# data finer than a day


def test_hourly_data_is_refused_naming_the_step_found_and_the_periods_supported():
    hours = pl.datetime_range(datetime(2024, 1, 1), datetime(2024, 1, 3), "1h", eager=True)
    hourly = pl.DataFrame({"series_id": "a", "date": hours, "value": 1.0})
    with pytest.raises(
        ValidationError,
        match=r"several times a day \(hourly data: series a has 2024-01-01 00:00 and "
        r"2024-01-01 01:00 UTC\); forecasting supports periods of a day or longer \('1d'",
    ):
        fc.forecast(hourly, h=2)
    with pytest.raises(ValidationError, match=r"hourly data"):
        fc.backtest(hourly, h=2, freq="1h")
    six = [f"2024-01-0{d}T{h:02d}:00:00Z" for d in (1, 2) for h in (0, 6, 12, 18)]
    with pytest.raises(ValidationError, match=r"\(data every 6 hours: series b has"):
        fc.forecast(pl.DataFrame({"series_id": "b", "date": six, "value": 1.0}), h=2)
    # local days: 01:00 and 03:00 at UTC+2 are 23:00 the day before and 01:00 in UTC
    local = ["2024-01-01T01:00:00+02:00", "2024-01-01T03:00:00+02:00"]
    with pytest.raises(ValidationError, match=r"every 2 hours: series c has 2023-12-31 23:00"):
        fc.forecast(pl.DataFrame({"series_id": "c", "date": local, "value": 1.0}), h=2)
    # the same day twice is still a duplicated row
    twice = pl.DataFrame(
        {"series_id": "a", "date": [date(2024, 1, 1), date(2024, 1, 1)], "value": 1.0}
    )
    with pytest.raises(ValidationError, match=r"1 duplicated rows \(a 2024-01-01\)"):
        fc.forecast(twice, h=2)
    # summed to days, the same data forecasts: 24 ones a day
    days = fc.to_series(hourly.filter(pl.col("date") < datetime(2024, 1, 3)), freq="1d")
    assert days["value"].to_list() == [24.0, 24.0]


# --------------------------------------------------------------------------------------------
# response curves of spend and revenue near the largest float


def _curve_frame(spend: np.ndarray, revenue: np.ndarray) -> pl.DataFrame:
    days = pl.date_range(date(2024, 1, 1), date(2024, 1, 20), eager=True)
    return pl.DataFrame({"date": days, "channel": "a", "spend": spend, "revenue": revenue})


@pytest.mark.parametrize("curve", ["exponential", "hill"])
def test_response_curves_of_spend_and_revenue_near_1e300_are_the_rescaled_fit(curve):
    x = np.tile([0.0, 50.0, 100.0, 200.0, 400.0], 4)
    noise = np.random.default_rng(0).normal(0.0, 20.0, x.size)
    y = 1000 * (1 - np.exp(-x / 100)) + noise
    sx, sy = 2.5e297, 1e297  # spend up to 1e300, revenue up to about 1e300
    small = fc.fit_response_curves(_curve_frame(x, y), curve=curve)
    big = fc.fit_response_curves(_curve_frame(x * sx, y * sy), curve=curve)
    # the model is unit-free: beta scales with revenue, theta / K with spend, the shape,
    # the decay and the covariance of the log parameters not at all
    units = np.array([sy, sx, 1.0][: small.params.shape[1]])
    assert big.params / units == pytest.approx(small.params, rel=1e-5)
    assert big.cov_log == pytest.approx(small.cov_log, rel=1e-3, abs=1e-9)
    assert big.sigma / sy == pytest.approx(small.sigma, rel=1e-6)
    assert big.decay == pytest.approx(small.decay, abs=1e-6)
    assert np.isfinite(big.table()["std_error"].drop_nulls().to_numpy()).all()


def test_an_exact_exponential_curve_near_1e300_is_recovered():
    x = np.tile([0.0, 50.0, 100.0, 200.0, 400.0], 4) * 2.5e297
    # revenue = beta (1 - exp(-x / theta)) with beta = 1e300, theta = 2.5e299
    y = 1e300 * (1 - np.exp(-x / 2.5e299))
    fit = fc.fit_response_curves(_curve_frame(x, y), adstock=False)
    assert fit.params[0] == pytest.approx([1e300, 2.5e299], rel=1e-6)


@pytest.mark.parametrize("curve", ["exponential", "hill"])
@pytest.mark.parametrize("n_samples", [0, 200])
def test_budget_on_curves_near_1e300_is_the_rescaled_plan_without_overflow(curve, n_samples):
    # was: RuntimeWarning "overflow encountered in multiply" (the gap times a channel's spend,
    # in the feasible start of the search)
    x = np.tile([0.0, 50.0, 100.0, 200.0, 400.0], 4)
    noise = np.random.default_rng(0).normal(0.0, 20.0, x.size)
    revenue = {"a": 1000 * (1 - np.exp(-x / 100)), "b": 600 * (1 - np.exp(-x / 150))}
    sx, sy = 2.5e297, 1e297

    def fitted(a: float, b: float) -> fc.ResponseCurves:
        frame = pl.concat(
            [
                _curve_frame(x * a, (y + noise) * b).with_columns(channel=pl.lit(name))
                for name, y in revenue.items()
            ]
        )
        return fc.fit_response_curves(frame, curve=curve)

    small = fc.optimize_budget(fitted(1.0, 1.0), n_samples=n_samples, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = fc.optimize_budget(fitted(sx, sy), n_samples=n_samples, seed=3)
    spend = big.channels["optimal_spend"].to_numpy()
    assert np.isfinite(spend).all() and spend.sum() == pytest.approx(
        small.channels["optimal_spend"].sum() * sx, rel=1e-12
    )
    assert spend / sx == pytest.approx(small.channels["optimal_spend"].to_numpy(), rel=1e-5)
    for col in ("optimal_revenue", "uplift", "uplift_lo", "uplift_hi"):
        got, ref = big.summary[col].to_numpy(), small.summary[col].to_numpy()
        if n_samples == 0 and col in ("uplift_lo", "uplift_hi"):
            continue
        assert np.isfinite(got).all() and got / sy == pytest.approx(ref, rel=1e-4)


# --------------------------------------------------------------------------------------------
# one-point series


def test_a_one_point_series_gets_its_value_and_null_bounds_with_a_warning():
    months = _months(date(2023, 1, 1), 14)
    batch = pl.concat(
        [
            pl.DataFrame({"series_id": "long", "date": months, "value": VALUES}),
            pl.DataFrame({"series_id": "one", "date": [months[-1]], "value": [42.0]}),
        ]
    )
    with pytest.warns(UserWarning) as caught:
        out = fc.forecast(batch, h=3, models=["naive", "auto"])
    said = [str(w.message) for w in caught]
    assert any(re.match(r"1 series have a single point \(one\).*left null", m) for m in said)
    assert any("too short for 'auto'" in m for m in said)
    one = out.filter(pl.col("series_id") == "one")
    assert one["mean"].to_list() == [42.0] * 3  # naive: the last value
    bounds = ["lo-80", "hi-80", "lo-95", "hi-95"]
    assert one.select(pl.col(bounds).null_count()).row(0) == (3, 3, 3, 3)
    # the other series is untouched: the naive interval of a random walk widens as sqrt(k)
    # from the sd of its one-step changes (FPP3 §5.5; on the log scale of a positive series)
    long = out.filter((pl.col("series_id") == "long") & (pl.col("model") == "naive"))
    steps = np.diff(np.log(np.array(VALUES) / np.mean(VALUES)))
    sd = np.sqrt(np.mean(steps**2))
    z80 = 1.2815515655446004
    expected = VALUES[-1] * np.exp(z80 * sd * np.sqrt([1, 2, 3]))
    assert long["hi-80"].to_numpy() == pytest.approx(expected, rel=1e-9)
    # no level: nothing to blank, no warning
    one_alone = batch.filter(pl.col("series_id") == "one")
    with pytest.warns(UserWarning) as caught:
        assert fc.forecast(one_alone, h=1, level=None, freq="1mo").width == 4
    assert not any("single point" in str(w.message) for w in caught)


def test_reconciled_bounds_that_take_part_of_a_one_point_node_are_null():
    months = _months(date(2023, 1, 1), 14)
    a = np.array(VALUES)
    frames = [
        pl.DataFrame({"series_id": "a", "date": months, "value": a}),
        pl.DataFrame({"series_id": "b", "date": [months[-1]], "value": [3.0]}),
        pl.DataFrame({"series_id": "total", "date": months, "value": a + np.r_[[0.0] * 13, 3.0]}),
    ]
    with pytest.warns(UserWarning, match="single point"):
        base = fc.forecast(pl.concat(frames), h=2, models="naive")
    hier = pl.DataFrame({"campaign": ["a", "b"]})
    bottom = fc.reconcile(base, hier, method="bottom_up")
    # bottom-up: a keeps its own interval; b and the total (a + b) have an unknown spread
    got = bottom.filter(pl.col("series_id") == "a")["lo-80"].to_list()
    assert got == pytest.approx(base.filter(pl.col("series_id") == "a")["lo-80"].to_list())
    for node in ("b", "total"):
        assert bottom.filter(pl.col("series_id") == node)["hi-95"].null_count() == 2
    # the means are still coherent: total = a + b
    means = bottom.pivot(on="series_id", index="date", values="mean")
    assert (means["total"] - means["a"] - means["b"]).abs().max() < 1e-9


# --------------------------------------------------------------------------------------------
# intermittent series that end in a long run of zeros


def _trailing_zeros(v: np.ndarray) -> int:
    n = 0
    for x in v[::-1]:
        if x != 0:
            break
        n += 1
    return n


@pytest.mark.parametrize(("freq", "step", "zeros"), [("1q", "3mo", 40), ("1mo", "1mo", 120)])
def test_theta_on_an_all_zero_window_bounds_the_chance_of_a_sale(freq, step, zeros):
    rng = np.random.default_rng(3)
    early = (rng.random(60) < 0.3) * rng.integers(1, 10, 60).astype(float)
    v = np.r_[early, np.zeros(zeros)]
    days = pl.date_range(date(1950, 1, 1), date(2100, 1, 1), step, eager=True)[: len(v)]
    series = pl.DataFrame({"series_id": "a", "date": days, "value": v})
    out = fc.forecast(series, h=2, models="theta", level=[80, 95, 99], freq=freq)
    assert out["mean"].to_list() == [0.0, 0.0]
    # rule of three: after n zeros a sale has a chance of at most 3 / n; the quantile at p is
    # 0 up to 1 - 3 / n, then the past sales' quantile at (p - (1 - 3 / n)) / (3 / n)
    chance = 3 / _trailing_zeros(v)
    sales = v[v > 0]
    for level in (80, 95, 99):
        p = 0.5 + level / 200
        r = (p - (1 - chance)) / chance
        expected = np.quantile(sales, r) if r > 1e-9 else 0.0
        assert out[f"hi-{level}"].to_list() == pytest.approx([expected] * 2, abs=1e-9)
        assert out[f"lo-{level}"].to_list() == [0.0, 0.0]
    if zeros == 40:  # 3 / 40 = 7.5 %: the 95 % interval is not [0, 0]
        assert out["hi-95"][0] > 0 and out["hi-80"][0] == 0
    else:  # 3 / 120 = 2.5 %: [0, 0] is a 95 % interval, not a 99 % one
        assert out["hi-95"][0] == 0 and out["hi-99"][0] > 0
    # auto, which combines theta, is not [0, 0] at 95 % either after 40 quarters
    if zeros == 40:
        auto = fc.forecast(series, h=2, models="auto", freq=freq)
        assert (auto["hi-95"] > 0).all()


def test_a_pandas_column_of_periods_is_read_as_the_periods_first_days():
    days = _months(date(2023, 1, 1), 14)
    want = fc.forecast(
        pl.DataFrame({"series_id": "a", "date": days, "value": VALUES}), h=2, models="naive"
    )
    frame = pd.DataFrame(
        {"series_id": "a", "date": pd.period_range("2023-01", periods=14, freq="M")}
    ).assign(value=VALUES)
    got = fc.forecast(frame, h=2, models="naive")
    assert got["date"].dt.date().to_list() == want["date"].to_list()
    assert got.drop("date").equals(want.drop("date"))
    # as a named index too, and with a column name that is not text
    indexed = frame.set_index("date")
    assert fc.forecast(indexed, h=2, models="naive").drop("date").equals(want.drop("date"))
    # a (series, period) MultiIndex, as sktime keeps panels
    panel = frame.set_index(["series_id", "date"])
    assert fc.forecast(panel, h=2, models="naive").drop("date").equals(want.drop("date"))
    other = frame.rename(columns={"value": 0})
    assert (
        fc.forecast(other, h=2, models="naive", value_col="0")
        .drop("date")
        .equals(want.drop("date"))
    )
    # a column name given as a number is named in the error, with the text to pass
    with pytest.raises(SchemaError, match=r"pass '0', not 0"):
        fc.forecast(other, h=2, models="naive", value_col=0)  # type: ignore[arg-type]


def test_a_horizon_that_cannot_fit_in_memory_is_refused_naming_h(monkeypatch):
    import re

    import forecasting.engine as engine

    frame = pl.DataFrame({"series_id": "a", "date": _months(date(2023, 1, 1), 14), "value": VALUES})
    monkeypatch.setattr(engine, "physical_memory", lambda: 2**20)  # a machine of 1 MiB
    with pytest.raises(ValidationError, match=r"h=100,000 periods ahead .* lower h") as err:
        fc.forecast(frame, h=100_000, models="naive")
    most = int(re.search(r"at most ([\d,]+) fit", str(err.value)).group(1).replace(",", ""))
    # the largest h it names is accepted, one more is not
    assert fc.forecast(frame, h=most, models="naive").height == most
    with pytest.raises(ValidationError, match=f"h={most + 1:,} periods"):
        fc.forecast(frame, h=most + 1, models="naive")
    with pytest.raises(ValidationError, match=r"periods ahead .* 2 models"):
        fc.backtest(frame, h=most, models=["naive", "auto"])
