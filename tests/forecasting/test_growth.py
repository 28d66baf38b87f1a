from __future__ import annotations

import math

import pytest

import forecasting as fc
from attribution import ValidationError


def test_cagr_matches_seed_example():
    """1,000 € -> 2,000 € in three years is 26.0 % a year (ARCHITECTURE.md)."""
    assert fc.cagr(1000, 2000, years=3) * 100 == pytest.approx(26.0, abs=0.1)


@pytest.mark.parametrize(("start", "rate", "years"), [(50.0, 0.07, 10), (3.0, -0.2, 2.5)])
def test_cagr_inverts_compounding(start, rate, years):
    end = start * (1 + rate) ** years
    assert fc.cagr(start, end, years) == pytest.approx(rate, rel=1e-12)
    assert fc.cagr(start, start, years) == 0.0
    assert fc.cagr(1, 2, 1) == pytest.approx(1.0)
    assert fc.cagr(1, 4, 2) == pytest.approx(math.sqrt(4) - 1)


@pytest.mark.parametrize("args", [(0, 10, 1), (10, -1, 1), (10, 20, 0), (10, float("nan"), 1)])
def test_cagr_rejects_undefined_inputs(args):
    with pytest.raises(ValidationError, match="must be a finite number > 0"):
        fc.cagr(*args)


def test_cagr_takes_numpy_numbers_and_refuses_rates_beyond_the_largest_float():
    import numpy as np

    # the seed example again, in NumPy scalars: 2 ** (1 / 3) - 1
    assert fc.cagr(np.int64(1000), np.float32(2000), years=np.int64(3)) == pytest.approx(
        2 ** (1 / 3) - 1, rel=1e-12
    )
    for args in ((1, 2, 1e-6), (1e-300, 1e300, 1)):  # 2 ** 1e6 and 1e600 overflow
        with pytest.raises(ValidationError, match="beyond the largest float"):
            fc.cagr(*args)


# --- growth of series, forecasts and targets (issue 5, item 4) -------------------------------

import datetime as dt  # noqa: E402
from calendar import monthrange  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from attribution import SchemaError  # noqa: E402
from forecasting.growth import cagr_forecast, cagr_series, pop, target_progress, yoy  # noqa: E402


def _decimal_year(d: dt.date) -> float:
    """Independent reimplementation of the documented time axis."""
    return d.year + (d.month - 1 + (d.day - 1) / monthrange(d.year, d.month)[1]) / 12


def _months(start: dt.date, n: int, step: int = 1) -> list[dt.date]:
    out = []
    for i in range(n):
        m = start.month - 1 + i * step
        out.append(dt.date(start.year + m // 12, m % 12 + 1, 1))
    return out


def _exact_series(dates, rate, v0=250.0, sid="a"):
    t0 = _decimal_year(dates[0])
    values = [v0 * (1 + rate) ** (_decimal_year(d) - t0) for d in dates]
    return pl.DataFrame({"series_id": sid, "date": dates, "value": values})


def test_cagr_series_matches_seed_example():
    """1,000 € -> 2,000 € in three years is 26.0 % a year (ARCHITECTURE.md)."""
    s = pl.DataFrame({"date": ["2021-01-01", "2024-01-01"], "value": [1000.0, 2000.0]})
    out = cagr_series(s)
    assert out["years"][0] == 3.0
    assert out["cagr"][0] * 100 == pytest.approx(26.0, abs=0.1)


@pytest.mark.parametrize("rate", [0.07, -0.15, 0.5])
@pytest.mark.parametrize(("step", "n"), [(1, 64), (3, 22), (12, 7)])
@pytest.mark.parametrize("method", ["endpoints", "annual", "loglinear"])
def test_series_growing_at_exactly_r_gives_r(rate, step, n, method):
    # monthly, quarterly and yearly series starting mid-year: v = v0 (1 + r)^t exactly
    dates = _months(dt.date(2018, 4 if step < 12 else 1, 1), n, step)
    out = cagr_series(_exact_series(dates, rate), method=method)
    assert out["cagr"][0] == pytest.approx(rate, rel=1e-10, abs=1e-12)


def test_cagr_series_daily_dates_use_calendar_years():
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(0, 1000, 7)]
    out = cagr_series(_exact_series(dates, 0.12), method="loglinear")
    assert out["cagr"][0] == pytest.approx(0.12, rel=1e-10)
    ends = cagr_series(_exact_series(dates, 0.12))
    assert ends["years"][0] == pytest.approx(_decimal_year(dates[-1]) - _decimal_year(dates[0]))


def test_cagr_series_annual_uses_first_and_last_full_years(rng):
    dates = _months(dt.date(2020, 3, 1), 40)  # 2020-03 .. 2023-06: full years 2021, 2022
    values = rng.uniform(50, 150, len(dates))
    frame = pl.DataFrame({"date": dates, "value": values})
    out = cagr_series(frame, method="annual")
    t21 = sum(v for d, v in zip(dates, values, strict=True) if d.year == 2021)
    t22 = sum(v for d, v in zip(dates, values, strict=True) if d.year == 2022)
    assert out.row(0, named=True) | {"cagr": None} == {
        "method": "annual",
        "start_date": dt.date(2021, 1, 1),
        "end_date": dt.date(2022, 1, 1),
        "years": 1.0,
        "start_value": pytest.approx(t21),
        "end_value": pytest.approx(t22),
        "n_periods": 2,
        "cagr": None,
    }
    assert out["cagr"][0] == pytest.approx(t22 / t21 - 1)
    # a missing month inside a year makes that year not full
    holed = frame.filter(pl.col("date") != dt.date(2022, 5, 1))
    assert cagr_series(holed, method="annual")["n_periods"][0] == 1
    assert cagr_series(holed, method="annual")["cagr"][0] is None


def test_cagr_series_loglinear_matches_numpy_polyfit(rng):
    dates = _months(dt.date(2019, 1, 1), 48)
    t = np.array([_decimal_year(d) for d in dates])
    values = 100 * np.exp(0.09 * (t - t[0]) + rng.normal(0, 0.1, t.size))
    slope, intercept = np.polyfit(t - t[0], np.log(values), 1)
    out = cagr_series(pl.DataFrame({"date": dates, "value": values}), method="loglinear")
    assert out["cagr"][0] == pytest.approx(np.exp(slope) - 1, rel=1e-10)
    assert out["start_value"][0] == pytest.approx(np.exp(intercept), rel=1e-10)


def test_cagr_series_by_groups_and_undefined_rates_are_null():
    dates = _months(dt.date(2020, 1, 1), 25)
    frames = [
        _exact_series(dates, 0.1, sid="up"),
        _exact_series(dates, -0.1, sid="down"),
        pl.DataFrame({"series_id": "zero", "date": dates, "value": [0.0] * 12 + [5.0] * 13}),
        pl.DataFrame({"series_id": "one", "date": dates[:1], "value": [5.0]}),
    ]
    frame = pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=3)  # row order is free
    for method in ("endpoints", "annual", "loglinear"):
        out = cagr_series(frame, by="series_id", method=method)
        got = dict(zip(out["series_id"], out["cagr"], strict=True))
        assert got["up"] == pytest.approx(0.1) and got["down"] == pytest.approx(-0.1)
        assert got["zero"] is None and got["one"] is None
        assert not out["cagr"].is_nan().any()


def test_a_rate_beyond_the_largest_float_is_null_not_infinite():
    # 1e-300 to 1e300 in 11 months: (1e600) ** (12 / 11) overflows a float
    dates = _months(dt.date(2020, 1, 1), 12)
    frame = pl.DataFrame(
        {"series_id": "x", "date": dates, "value": np.geomspace(1e-300, 1e300, 12)}
    )
    for method in ("endpoints", "loglinear"):
        assert cagr_series(frame, by="series_id", method=method)["cagr"].to_list() == [None]


def test_cagr_series_errors_name_column_and_rows():
    with pytest.raises(SchemaError, match="Column 'value' is missing"):
        cagr_series(pl.DataFrame({"date": ["2020-01-01"], "revenue": [1.0]}))
    bad_dates = pl.DataFrame({"date": ["2020-01-01", "soon", None], "value": [1.0, 2.0, 3.0]})
    with pytest.raises(
        ValidationError,
        match=r"'date' of the series has 1 values that are not dates.*'soon' at row 1",
    ):
        cagr_series(bad_dates)
    with pytest.raises(ValidationError, match=r"'date' of the series has 1 null dates \(row 2\)"):
        cagr_series(bad_dates.with_columns(pl.col("date").replace("soon", "2020-02-01")))
    dup = pl.DataFrame({"date": ["2020-01-01", "2020-01-01"], "value": [1.0, 2.0]})
    with pytest.raises(ValidationError, match=r"1 duplicated \(date\) pairs.*pass by="):
        cagr_series(dup)
    with pytest.raises(ValidationError, match="method must be"):
        cagr_series(dup, method="geometric")  # type: ignore[arg-type]


def _brute_growth(frame, lag_months):
    """value / value `lag_months` calendar months earlier - 1, by dictionary lookup."""
    seen = {(r["series_id"], r["date"]): r["value"] for r in frame.iter_rows(named=True)}
    out = []
    for r in frame.sort("series_id", "date").iter_rows(named=True):
        d = r["date"]
        m = d.month - 1 - lag_months
        prev = seen.get((r["series_id"], dt.date(d.year + m // 12, m % 12 + 1, d.day)))
        out.append(None if prev in (None, 0.0) or r["value"] is None else r["value"] / prev - 1)
    return out


def test_yoy_and_monthly_pop_on_a_known_series(rng):
    dates = _months(dt.date(2021, 1, 1), 30)
    frames = []
    for sid in ("a", "b"):
        v = rng.uniform(1, 10, len(dates)).round(0)
        v[[3, 17]] = 0.0
        frames.append(pl.DataFrame({"series_id": sid, "date": dates, "value": v}))
    frame = pl.concat(frames).filter(pl.col("date") != dt.date(2022, 2, 1))  # a missing month
    frame = frame.sample(fraction=1.0, shuffle=True, seed=1)
    got = yoy(frame)
    assert got.columns == ["series_id", "date", "value", "previous", "growth"]
    assert got["growth"].to_list() == pytest.approx(_brute_growth(frame, 12), nan_ok=False)
    got = pop(frame, offset="1mo")
    assert got["growth"].to_list() == pytest.approx(_brute_growth(frame, 1))


def test_pop_previous_row_and_laziness():
    frame = pl.DataFrame(
        {
            "id": ["x"] * 4,
            "day": ["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06"],
            "v": [10.0, 15.0, None, -4.0],
        }
    )
    lazy = pop(frame.lazy(), id_col="id", date_col="day", value_col="v")
    assert isinstance(lazy, pl.LazyFrame)
    out = lazy.collect()
    assert out["previous"].to_list() == [None, 10.0, 15.0, None]
    assert out["growth"].to_list() == [None, 0.5, None, None]
    neg = pop(
        pl.DataFrame(
            {"series_id": "a", "date": ["2024-01-01", "2024-02-01"], "value": [-10.0, -5.0]}
        )
    )
    assert neg["growth"][1] == pytest.approx(0.5)  # from -10 to -5 is up by half of |-10|
    with pytest.raises(ValidationError, match="offset '1 month' is not a period"):
        pop(frame, id_col="id", date_col="day", value_col="v", offset="1 month")


def _forecast_frame(sid, dates, mean, lo, hi, model="ets"):
    return pl.DataFrame(
        {"series_id": sid, "date": dates, "model": model, "mean": mean, "lo-80": lo, "hi-80": hi}
    )


def test_cagr_forecast_from_last_year_to_last_forecast_year_by_hand():
    hist_dates = _months(dt.date(2022, 1, 1), 24)
    history = pl.DataFrame({"series_id": "a", "date": hist_dates, "value": [10.0] * 24})
    fc_dates = _months(dt.date(2024, 1, 1), 24)
    mean = np.r_[np.full(12, 11.0), np.full(12, 12.1)]
    fc = _forecast_frame("a", fc_dates, mean, mean - 1, mean + 2)
    out = cagr_forecast(fc, history).row(0, named=True)
    # base 2023 = 120, forecast 2025 = 145.2, two years -> 10 % a year
    assert out["base_start"] == dt.date(2023, 1, 1) and out["forecast_start"] == dt.date(2025, 1, 1)
    assert out["years"] == 2.0 and out["base_value"] == 120.0
    assert out["cagr"] == pytest.approx(0.1)
    assert out["cagr-lo-80"] == pytest.approx(((145.2 - 12) / 120) ** 0.5 - 1)
    assert out["cagr-hi-80"] == pytest.approx(((145.2 + 24) / 120) ** 0.5 - 1)
    assert out["interval"] == "summed_bounds"
    with pytest.raises(ValidationError, match=r"shorter than window=36 periods for 'a' \(24"):
        cagr_forecast(fc, history, window=36)


def test_cagr_forecast_paths_match_numpy_quantiles_and_are_narrower(rng):
    history = pl.DataFrame(
        {"series_id": "a", "date": _months(dt.date(2023, 1, 1), 12), "value": [100.0] * 12}
    )
    fc_dates = _months(dt.date(2024, 1, 1), 12)
    sims = 105 + rng.normal(0, 10, (4000, 12))  # independent monthly errors
    z80 = 1.2815515655446004
    fc = _forecast_frame("a", fc_dates, [105.0] * 12, [105 - 10 * z80] * 12, [105 + 10 * z80] * 12)
    paths = pl.DataFrame(
        {
            "series_id": "a",
            "date": pl.Series(fc_dates * 4000, dtype=pl.Date),
            "sample": np.repeat(np.arange(4000), 12),
            "value": sims.ravel(),
        }
    )
    summed = cagr_forecast(fc, history).row(0, named=True)
    by_path = cagr_forecast(fc, history, paths=paths, levels=[80, 95]).row(0, named=True)
    rates = sims.sum(axis=1) / 1200 - 1
    assert by_path["interval"] == "paths"
    assert by_path["cagr-lo-80"] == pytest.approx(np.quantile(rates, 0.1), rel=1e-12)
    assert by_path["cagr-hi-95"] == pytest.approx(np.quantile(rates, 0.975), rel=1e-12)
    # the exact 80 % interval of the total is 105·12 ± z·10·√12; summing bounds gives ± z·10·12
    assert summed["cagr-hi-80"] - summed["cagr-lo-80"] == pytest.approx(2 * z80 * 120 / 1200)
    width = by_path["cagr-hi-80"] - by_path["cagr-lo-80"]
    assert width == pytest.approx(2 * z80 * 10 * np.sqrt(12) / 1200, rel=0.08)
    assert width < summed["cagr-hi-80"] - summed["cagr-lo-80"]


def _target_frame(months_2024):
    dates = _months(dt.date(2023, 1, 1), 12 + months_2024)
    return pl.DataFrame(
        {"market": "fr", "date": dates, "value": [100.0] * 12 + [110.0] * months_2024}
    )


def test_target_progress_worked_by_hand_full_year():
    """+20 % in three years from a 2023 baseline of 1,200; 2024 closed at 1,320."""
    out = target_progress(
        _target_frame(12), target_growth=0.2, years=3, start="2024-01-01", by="market"
    ).row(0, named=True)
    required = 1.2 ** (1 / 3) - 1  # 6.27 % a year
    assert out["baseline"] == 1200.0 and out["target_value"] == pytest.approx(1440.0)
    assert out["required_cagr"] == pytest.approx(required)
    assert out["as_of"] == dt.date(2024, 12, 1) and out["elapsed_years"] == pytest.approx(1.0)
    assert out["current_value"] == 1320.0 and out["achieved_growth"] == pytest.approx(0.1)
    assert out["achieved_cagr"] == pytest.approx(0.1)
    assert out["required_value_now"] == pytest.approx(1200 * 1.2 ** (1 / 3))
    assert out["on_track"] is True
    assert out["projection"] == "extrapolation"
    assert out["projected_value"] == pytest.approx(1200 * 1.1**3)  # 1,597.2
    assert out["attainment"] == pytest.approx((1.1**3 - 1) / 0.2)  # 1.6555
    assert out["projected_on_track"] is True


def test_target_progress_mid_year_with_a_forecast_by_hand():
    actual = _target_frame(6)  # through June 2024
    # trailing year Jul 2023 - Jun 2024: 6 x 100 + 6 x 110 = 1,260, half a year elapsed
    fc_dates = _months(dt.date(2024, 7, 1), 30)  # through Dec 2026 (the target year)
    forecast = pl.DataFrame({"market": "fr", "date": fc_dates, "mean": [115.0] * 30})
    out = target_progress(
        actual, target_growth=0.2, years=3, start="2024-01-01", by="market", forecast=forecast
    ).row(0, named=True)
    assert out["current_value"] == 1260.0 and out["elapsed_years"] == pytest.approx(0.5)
    assert out["achieved_cagr"] == pytest.approx(1.05**2 - 1)
    assert out["on_track"] is True
    assert out["projection"] == "forecast"
    assert out["projected_value"] == pytest.approx(1380.0)  # 12 x 115 in 2026
    assert out["attainment"] == pytest.approx(0.15 / 0.2)
    assert out["projected_on_track"] is False
    behind = target_progress(actual, target_growth=0.5, years=3, start="2024-01-01", baseline=1200)
    assert behind["on_track"][0] is False  # needs 14.5 % a year, has 10.25 %


def test_target_progress_rejects_bad_targets():
    frame = _target_frame(3)
    with pytest.raises(ValidationError, match="target_growth must be > -1"):
        target_progress(frame, target_growth=-1.0, years=3, start="2024-01-01")
    with pytest.raises(ValidationError, match="years must be a whole number"):
        target_progress(frame, target_growth=0.2, years=0, start="2024-01-01")
    with pytest.raises(ValidationError, match="start must be a date"):
        target_progress(frame, target_growth=0.2, years=3, start="next year")
