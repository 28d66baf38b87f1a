"""Acquisition costs: the seed worked examples and lag behaviour (CLV: tests/clv)."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest

import attribution as at
from attribution.kpis.acquisition import cac, conversion_lag, cost_per_opportunity, cpl


def test_cpl_matches_seed_example():
    """1,000 EUR spent, 50 leads -> 20 EUR."""
    out = cpl(
        pl.DataFrame({"date": ["2024-03-01", "2024-03-20"], "spend": [400.0, 600.0]}),
        pl.DataFrame({"timestamp": ["2024-03-02"] * 50}),
    )
    assert out["cpl"].to_list() == [20.0]


def test_cac_matches_seed_example_with_sales_costs():
    """5,000 EUR of costs, 50 new customers -> 100 EUR; sales costs count as acquisition costs."""
    marketing = pl.DataFrame({"date": ["2024-02-01"], "spend": [3000.0]})
    sales = pl.DataFrame({"date": ["2024-02-15"], "spend": [2000.0]})
    customers = pl.DataFrame({"timestamp": ["2024-02-20"] * 50})
    assert cac(marketing, customers, sales_costs=sales)["cac"].to_list() == [100.0]
    assert cac(marketing, customers)["cac"].to_list() == [60.0]


def test_cac_with_conversion_lag_divides_february_spend_by_may_customers():
    """Seed: a 90-day time to convert matches February's spend with May's customers."""
    spend = pl.DataFrame(
        {"date": ["2024-02-01", "2024-03-01", "2024-05-01"], "spend": [9000.0, 500.0, 100.0]}
    )
    customers = pl.DataFrame(
        {"timestamp": ["2024-02-10"] * 10 + ["2024-05-05"] * 30 + ["2024-06-30"] * 5}
    )
    plain = cac(spend, customers).filter(pl.col("period") == pl.date(2024, 2, 1))
    lagged = cac(spend, customers, lag=90, lag_unit="days")
    feb = lagged.filter(pl.col("period") == pl.date(2024, 2, 1))
    assert plain["cac"].item() == 900.0  # 9,000 / February's 10
    assert feb["cac"].item() == 300.0  # 9,000 / May's 30
    assert str(feb["outcome_period"].item()) == "2024-05-01"
    assert lagged["lag_periods"].unique().to_list() == [3]
    # March spend meets June's 5 customers; May's spend meets August's none: undefined
    assert lagged.filter(pl.col("period") == pl.date(2024, 3, 1))["cac"].item() == 100.0
    assert lagged.filter(pl.col("period") == pl.date(2024, 5, 1))["cac"].item() is None
    assert cac(spend, customers, lag=3).equals(lagged)


def test_lag_measured_from_journeys():
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3],
            "channel": ["a", None, "b", None, "c", None],
            "event": ["touch", "conversion"] * 3,
            "revenue": [0.0, 1.0] * 3,
            "timestamp": [
                datetime(2024, 1, 1, tzinfo=timezone.utc),
                datetime(2024, 3, 1, tzinfo=timezone.utc),  # 60 days
                datetime(2024, 1, 1, tzinfo=timezone.utc),
                datetime(2024, 3, 31, tzinfo=timezone.utc),  # 90 days
                datetime(2024, 1, 1, tzinfo=timezone.utc),
                datetime(2024, 7, 19, tzinfo=timezone.utc),  # 200 days
            ],
        }
    )
    j = at.build_journeys(ev)
    assert conversion_lag(j) == 90.0
    assert conversion_lag(j, stat="mean") == pytest.approx((60 + 90 + 200) / 3)


def test_cost_per_opportunity_and_weekly_periods():
    spend = pl.DataFrame({"date": ["2024-01-01", "2024-01-08"], "spend": [70.0, 140.0]})
    opps = pl.DataFrame({"timestamp": ["2024-01-03", "2024-01-04", "2024-01-09"]})
    out = cost_per_opportunity(spend, opps, freq="1w")
    assert out["cost_per_opportunity"].to_list() == [35.0, 140.0]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: cac(
                pl.DataFrame({"day": ["2024-01-01"], "spend": [1.0]}),
                pl.DataFrame({"timestamp": ["2024-01-01"]}),
            ),
            "Column 'date' is missing from the spend table",
        ),
        (
            lambda: cac(
                pl.DataFrame({"date": ["soon"], "spend": [1.0]}),
                pl.DataFrame({"timestamp": ["2024-01-01"]}),
            ),
            "1 values that are not dates or times \\('soon' at row 0\\)",
        ),
        (
            lambda: cac(
                pl.DataFrame({"date": ["2024-01-01"], "spend": [1.0]}),
                pl.DataFrame({"timestamp": ["2024-01-01"]}),
                freq="1h",
            ),
            "freq '1h' is shorter than a day",
        ),
    ],
)
def test_bad_inputs_are_named(call, match):
    with pytest.raises(at.AttributionError, match=match):
        call()


@pytest.mark.parametrize(("alias", "own"), [("MS", "1mo"), ("M", "1mo"), ("W", "1w")])
def test_pandas_period_aliases_give_the_same_periods(alias, own):
    """freq="MS"/"M" are months and "W" weeks (from Monday), as "1mo" and "1w" are."""
    spend = pl.DataFrame(
        {"date": ["2024-01-01", "2024-01-08", "2024-02-05"], "spend": [70.0, 140.0, 30.0]}
    )
    opps = pl.DataFrame({"timestamp": ["2024-01-03", "2024-01-09", "2024-02-06", "2024-03-01"]})
    assert cost_per_opportunity(spend, opps, freq=alias, lag=1).equals(
        cost_per_opportunity(spend, opps, freq=own, lag=1)
    )
    assert cac(spend, opps, freq=alias, lag=30, lag_unit="days").equals(
        cac(spend, opps, freq=own, lag=30, lag_unit="days")
    )


def test_iso_z_and_year_month_text_are_read():
    """Spend by month as "2024-01" text and outcome times ending in Z are read as dates."""
    spend = pl.DataFrame({"date": ["2024-01", "2024-02"], "spend": [100.0, 60.0]})
    leads = pl.DataFrame({"timestamp": ["2024-01-31T23:00:00Z"] * 4 + ["2024-02-01T00:30:00Z"]})
    assert cpl(spend, leads)["cpl"].to_list() == [25.0, 60.0]


def test_bad_and_missing_dates_raise_naming_rows():
    """A date that cannot be read, or a missing one, raises naming its row (never a null)."""
    spend = pl.DataFrame({"date": ["2024-01-01", "2024-01-02"], "spend": [1.0, 2.0]})
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'timestamp' of the outcome table has 1 values that are not dates or times "
        r"\('2024-02-30' at row 1\)",
    ):
        cpl(spend, pl.DataFrame({"timestamp": ["2024-02-01", "2024-02-30"]}))
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'date' of the spend table has 1 nulls \(row 1\); every row needs a date",
    ):
        cac(
            pl.DataFrame({"date": ["2024-01-01", None], "spend": [1.0, 2.0]}),
            pl.DataFrame({"timestamp": ["2024-01-01"]}),
        )


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ([40.0, None, 60.0], "null at row 1"),
        ([40.0, float("nan"), 60.0], "nan at row 1"),
        ([40.0, float("inf"), 60.0], "inf at row 1"),
        ([40.0, -25.0, 60.0], "-25 at row 1"),
    ],
)
def test_costs_that_are_not_finite_amounts_raise_naming_rows(values, shown):
    """A null cost was left out of the sum (CAC 100 / 2 = 50 instead of an error); NaN,
    infinite and negative costs gave a NaN, infinite or negative CAC."""
    spend = pl.DataFrame({"date": ["2024-02-01", "2024-02-02", "2024-02-03"], "spend": values})
    customers = pl.DataFrame({"timestamp": ["2024-02-10", "2024-02-11"]})
    with pytest.raises(at.ValidationError, match=rf"Column 'spend' of the spend table .*{shown}"):
        cac(spend, customers)
    with pytest.raises(at.ValidationError, match=rf"of the extra cost table .*{shown}"):
        cac(spend.with_columns(spend=pl.lit(1.0)), customers, sales_costs=spend)


def test_costs_written_as_text_are_read_and_words_named():
    """Text amounts are numbers (150 / 3 = 50); a word raises naming it (was a polars error)."""
    spend = pl.DataFrame({"date": ["2024-02-01", "2024-02-15"], "spend": ["100", " 50.0"]})
    customers = pl.DataFrame({"timestamp": ["2024-02-10"] * 3})
    assert cac(spend, customers)["cac"].to_list() == [50.0]
    with pytest.raises(at.ValidationError, match=r"'1,000' at row 1"):
        cac(spend.with_columns(spend=pl.Series(["100", "1,000"])), customers)


def test_costs_summing_beyond_float_range_raise():
    spend = pl.DataFrame({"date": ["2024-02-01", "2024-02-02"], "spend": [1e308, 1e308]})
    with pytest.raises(at.ValidationError, match="largest 64-bit float"):
        cac(spend, pl.DataFrame({"timestamp": ["2024-02-10"]}))


@pytest.mark.parametrize(
    ("lag", "unit", "match"),
    [
        (1.5, "periods", r"whole periods \(month\); got 1.5"),
        (float("nan"), "periods", "finite number of periods; got nan"),
        (float("inf"), "days", "finite number of days; got inf"),
        ("3", "periods", "finite number of periods; got '3'"),
        (1, "weeks", "lag_unit must be 'periods' or 'days'; got 'weeks'"),
        (10**6, "periods", "more than 1000 years"),
    ],
)
def test_bad_lags_raise(lag, unit, match):
    """An unknown unit was read as periods (lag=1 'weeks' was one month), a fractional lag in
    periods was cut (1.5 was 1), NaN, inf and huge lags were raw Python errors."""
    spend = pl.DataFrame({"date": ["2024-02-01"], "spend": [100.0]})
    with pytest.raises(at.ValidationError, match=match):
        cac(spend, pl.DataFrame({"timestamp": ["2024-02-10"]}), lag=lag, lag_unit=unit)
