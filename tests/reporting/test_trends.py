"""Trends per period against targets or the previous period, checked on the raw log and by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import attribution as at
from attribution.reporting import trends
from tests.reporting.conftest import raw_conversions


def test_trends_count_conversions_and_revenue_per_month_like_the_raw_log(
    journeys: at.Journeys,
) -> None:
    raw = (
        raw_conversions()
        .group_by(pl.col("timestamp").dt.truncate("1mo").dt.date().alias("period"))
        .agg(pl.len().cast(pl.Float64).alias("conversions"), pl.col("revenue").sum())
        .sort("period")
    )
    tr = trends(journeys)
    for metric in ("conversions", "revenue"):
        got = tr.filter(pl.col("metric") == metric).sort("period")
        assert got["period"].to_list() == raw["period"].to_list()
        np.testing.assert_allclose(got["actual"].to_numpy(), raw[metric].to_numpy(), rtol=1e-12)
        prev = [None, *raw[metric].to_list()[:-1]]
        assert got["previous"].to_list()[0] is None
        np.testing.assert_allclose(got["previous"].to_list()[1:], prev[1:], rtol=1e-12)
        assert got["basis"].to_list() == [None] + ["previous"] * (got.height - 1)
        delta = np.array(raw[metric].to_list()[1:]) - np.array(prev[1:])
        np.testing.assert_allclose(got["delta"].to_list()[1:], delta, rtol=1e-12)
        np.testing.assert_allclose(got["delta_pct"].to_list()[1:], delta / prev[1:], rtol=1e-12)
        assert got["attained"].null_count() == got.height


def _hand_journeys() -> at.Journeys:
    # Jan: three conversions worth 10 + 20 + 30; Feb: none; Mar: one worth 5
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2, 3, 3, 4, 4],
            "timestamp": [
                "2024-01-01",
                "2024-01-02",
                "2024-01-05",
                "2024-01-06",
                "2024-01-20",
                "2024-01-31T23:59:59",
                "2024-02-27",
                "2024-03-02",
            ],
            "channel": ["a", None, "b", None, "a", None, "b", None],
            "event": ["touch", "conversion"] * 4,
            "revenue": [0.0, 10.0, 0.0, 20.0, 0.0, 30.0, 0.0, 5.0],
        }
    )
    return at.build_journeys(ev)


def test_trends_against_targets_worked_by_hand() -> None:
    targets = pl.DataFrame(
        {
            "period": ["2024-01-15", "2024-03-01", None],  # mid-January means January
            "metric": ["conversions", "conversions", "revenue"],
            "target": [2, 2, 50],
        }
    )
    tr = trends(_hand_journeys(), targets=targets)
    cols = ["period", "actual", "target", "previous", "basis", "delta", "delta_pct", "attained"]
    conv = tr.filter(pl.col("metric") == "conversions").select(cols).rows()
    jan, feb, mar = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
    # Jan 3 vs target 2: +1, +50 %; Feb 0 (no target) vs previous 3: -3, -100 %;
    # Mar 1 vs target 2: -1, -50 %
    assert conv == [
        (jan, 3.0, 2.0, None, "target", 1.0, 0.5, True),
        (feb, 0.0, None, 3.0, "previous", -3.0, -1.0, None),
        (mar, 1.0, 2.0, 0.0, "target", -1.0, -0.5, False),
    ]
    rev = tr.filter(pl.col("metric") == "revenue").select(cols).rows()
    # one revenue target of 50 for every month: 60 (+10, +20 %), 0 (-50, -100 %), 5 (-45, -90 %)
    assert rev == [
        (jan, 60.0, 50.0, None, "target", 10.0, 0.2, True),
        (feb, 0.0, 50.0, 60.0, "target", -50.0, -1.0, False),
        (mar, 5.0, 50.0, 0.0, "target", -45.0, pytest.approx(-0.9), False),
    ]


def test_trends_delta_pct_is_null_when_the_previous_period_is_zero() -> None:
    tr = trends(_hand_journeys()).filter(pl.col("metric") == "conversions")
    # Mar (1) against Feb (0): delta 1, ratio undefined -> null, never inf
    assert tr.select("delta", "delta_pct").rows()[2] == (1.0, None)


def test_scalar_targets_per_metric_equal_a_target_in_every_period() -> None:
    j = _hand_journeys()
    flat = trends(j, targets={"conversions": 2.0})
    every = trends(
        j,
        targets=pl.DataFrame(
            {
                "period": [date(2024, m, 1) for m in (1, 2, 3)],
                "metric": ["conversions"] * 3,
                "target": [2.0] * 3,
            }
        ),
    )
    assert_frame_equal(flat, every)


def test_weekly_trends_fill_empty_weeks_with_zero() -> None:
    tr = trends(_hand_journeys(), freq="1w").filter(pl.col("metric") == "conversions")
    # Mondays from the week of 2024-01-01 to the week of 2024-03-02 (Monday 2024-02-26)
    weeks = pl.date_range(date(2024, 1, 1), date(2024, 2, 26), "1w", eager=True)
    assert tr["period"].to_list() == weeks.to_list()
    assert tr["actual"].sum() == 4.0
    assert tr.filter(pl.col("period") == date(2024, 1, 29))["actual"].item() == 1.0


def test_trends_without_conversions_is_an_error() -> None:
    ev = pl.DataFrame(
        {
            "user_id": [1],
            "timestamp": ["2024-01-01"],
            "channel": ["a"],
            "event": ["touch"],
            "revenue": [0.0],
        }
    )
    with pytest.raises(at.EmptyInputError, match="no conversions"):
        trends(at.build_journeys(ev))


@pytest.mark.parametrize(("alias", "own"), [("MS", "1mo"), ("M", "1mo"), ("W", "1w"), ("QS", "1q")])
def test_trends_take_pandas_period_aliases(journeys: at.Journeys, alias: str, own: str) -> None:
    assert_frame_equal(trends(journeys, freq=alias), trends(journeys, freq=own))


def test_month_start_trends_worked_by_hand() -> None:
    tr = trends(_hand_journeys(), freq="MS", targets={"conversions": 2})
    conv = tr.filter(pl.col("metric") == "conversions")
    assert conv["period"].to_list() == [date(2024, m, 1) for m in (1, 2, 3)]
    assert conv["actual"].to_list() == [3.0, 0.0, 1.0]
    assert conv["attained"].to_list() == [True, False, False]
