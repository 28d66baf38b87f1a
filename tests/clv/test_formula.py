"""The CLV formulas: the seed formula's worked example and the discounted model sum."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import attribution as at
from attribution import kpis
from attribution._base.errors import ValidationError
from attribution.clv import clv, customer_lifetime_value
from attribution.kpis import acquisition


def test_customer_lifetime_value_matches_lifetimes_quickstart(bg_cdnow, gg_cdnow, cdnow_summary):
    """lifetimes' CLV example: 12 steps of 30 time units, 1% per step (its freq="D" factor)."""
    first = cdnow_summary.head(9)
    got = customer_lifetime_value(
        bg_cdnow,
        gg_cdnow,
        first["x"],
        first["t_x"],
        first["T"],
        first["zbar"],
        periods=12,
        period_length=30.0,
        discount_rate=0.01,
    )
    published = {0: 140.096211, 1: 18.943467, 2: 38.180574, 5: 1003.868107, 6: 28.109683}
    published[8] = 167.418216
    for i, v in published.items():
        assert got[i] == pytest.approx(v, abs=1e-5)


# --------------------------------------------------------------------------------------------
# the seed formula (attribution.kpis.clv is the same function)


def test_clv_matches_seed_example_and_groups():
    """100 EUR a year for 5 years -> 500 EUR (average value x yearly frequency x lifespan)."""
    tx = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3],
            "timestamp": ["2022-01-01", "2023-01-01", "2022-03-01", "2023-12-31"] * 1
            + ["2022-06-01", "2023-06-01"],
            "revenue": [100.0, 100.0, 50.0, 150.0, 80.0, 120.0],
            "channel": ["seo", "seo", "ads", "ads", "ads", "ads"],
        }
    )
    out = clv(tx, lifespan_years=5)
    # 6 purchases, 600 EUR: value 100; 2 purchases per customer over the 2-year span: 1/yr
    assert out["average_purchase_value"].item() == 100.0
    assert out["purchase_frequency"].item() == pytest.approx(2 / (tx_span_years(tx)))
    assert out["clv"].item() == pytest.approx(100 * 2 / tx_span_years(tx) * 5)
    by = clv(tx, lifespan_years=5, by="channel")
    assert by["channel"].to_list() == ["ads", "seo"]
    assert by["customers"].to_list() == [2, 1]


def tx_span_years(tx: pl.DataFrame) -> float:
    t = tx["timestamp"].str.to_date()
    return max((t.max() - t.min()).days / 365.25, 1.0)


def test_clv_refuses_a_lifespan_that_is_not_positive():
    with pytest.raises(at.AttributionError, match="lifespan_years must be a finite number > 0"):
        clv(
            pl.DataFrame({"user_id": [1], "timestamp": ["2024-01-01"], "revenue": [1.0]}),
            lifespan_years=0,
        )


def test_kpis_clv_is_the_seed_formula_of_the_clv_package():
    """One implementation: the KPI name re-exports it (same meaning, no warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kpis.clv is clv is at.clv.clv
        assert acquisition.clv is clv


def test_clv_bad_transaction_date_raises_naming_its_row():
    """A date that cannot be read used to become a null and drop out of the span silently."""
    tx = pl.DataFrame(
        {
            "user_id": [1, 2, 3],
            "timestamp": ["2022-01-01", "2023-13-45", "2024-01-01"],
            "revenue": [10.0, 20.0, 30.0],
        }
    )
    with pytest.raises(
        ValidationError,
        match=r"Column 'timestamp' of the transaction log has 1 values that are not dates or "
        r"times \('2023-13-45' at row 1\)",
    ):
        clv(tx, lifespan_years=2)


def test_clv_reads_times_as_the_base_layer_does():
    """ISO text with Z or offsets, YYYY-MM text and epoch seconds give the same span."""
    plain = pl.DataFrame(
        {"user_id": [1, 2], "timestamp": ["2021-01-01", "2024-01-01"], "revenue": [1.0, 3.0]}
    )
    want = clv(plain, lifespan_years=2)
    spellings = [
        ["2021-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00"],
        ["2021-01", "2024-01"],
        [1609459200, 1704067200],
    ]
    for times in spellings:
        got = clv(plain.with_columns(pl.Series("timestamp", times)), lifespan_years=2)
        assert got.equals(want), times


@pytest.mark.parametrize(
    ("column", "values", "shown"),
    [
        ("revenue", [100.0, None, 100.0], r"1 null, NaN, infinite or negative values \(null"),
        ("revenue", [100.0, float("nan"), 100.0], r"\(nan at row 1\)"),
        ("revenue", [100.0, float("inf"), 100.0], r"\(inf at row 1\)"),
        ("revenue", [100.0, -50.0, 100.0], r"\(-50 at row 1\)"),
        ("revenue", ["100", "x", "100"], r"not numbers \('x' at row 1\)"),
        ("user_id", [1, None, 2], r"Column 'user_id' of the transaction log has 1 nulls"),
    ],
)
def test_clv_values_and_customers_are_checked(column, values, shown):
    """A null value was left out of the sum but counted as a purchase (value 200 / 3 instead
    of 100), a null customer counted as one more customer, NaN, inf and negatives gave NaN,
    inf or a refund read as a purchase, a word was a polars error."""
    tx = {
        "user_id": [1, 1, 2],
        "timestamp": ["2024-01-01", "2024-02-01", "2024-03-01"],
        "revenue": [100.0, 100.0, 100.0],
    }
    tx[column] = values
    with pytest.raises(at.ValidationError, match=shown):
        clv(pl.DataFrame(tx), lifespan_years=5)


def test_clv_reads_values_written_as_text():
    """Hand-worked: 3 purchases of 100 by 2 customers over less than a year: 100 × 1.5 × 5."""
    tx = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "timestamp": ["2024-01-01", "2024-02-01", "2024-03-01"],
            "revenue": ["100", "100.0", " 100 "],
        }
    )
    assert clv(tx, lifespan_years=5)["clv"].to_list() == [750.0]


@pytest.mark.parametrize("lifespan", [float("inf"), float("nan"), "5", True])
def test_clv_refuses_a_lifespan_that_is_not_a_finite_number(lifespan):
    """An infinite lifespan gave an infinite CLV; text was a TypeError."""
    tx = pl.DataFrame({"user_id": [1], "timestamp": ["2024-01-01"], "revenue": [1.0]})
    with pytest.raises(at.ValidationError, match="lifespan_years must be a finite number > 0"):
        clv(tx, lifespan_years=lifespan)


def test_clv_of_an_empty_log_or_beyond_float_range_raises():
    """An empty log gave a row of NaN; values summing past 1.8e308 an infinite CLV."""
    empty = pl.DataFrame(
        {"user_id": [], "timestamp": [], "revenue": []},
        schema={"user_id": pl.Int64, "timestamp": pl.String, "revenue": pl.Float64},
    )
    with pytest.raises(at.EmptyInputError):
        clv(empty, lifespan_years=5)
    huge = pl.DataFrame(
        {"user_id": [1, 2], "timestamp": ["2024-01-01"] * 2, "revenue": [1e308, 1e308]}
    )
    with pytest.raises(at.ValidationError, match="largest 64-bit float"):
        clv(huge, lifespan_years=5)
