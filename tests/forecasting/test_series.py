from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import polars as pl
import pytest

import attribution as at
import forecasting as fc
from attribution import EmptyInputError, ModelError, SchemaError, ValidationError
from tests.conftest import SAMPLE, random_events


def _month(d: date) -> date:
    return date(d.year, d.month, 1)


def _months(lo: date, hi: date) -> list[date]:
    out, d = [], lo
    while d <= hi:
        out.append(d)
        d = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return out


def test_to_series_matches_brute_force_with_explicit_gaps(rng):
    n = 200
    days = rng.integers(0, 700, n)
    dates = [date.fromordinal(date(2023, 1, 1).toordinal() + int(d)) for d in days]
    ids = rng.choice(["a", "b", "c"], n).tolist()
    vals = rng.normal(10, 3, n).round(2)
    frame = pl.DataFrame({"shop": ids, "day": dates, "amount": vals})
    out = fc.to_series(frame, id_col="shop", time_col="day", value_col="amount", fill=-1.0)
    assert out.columns == ["shop", "day", "amount"]
    sums: dict[tuple[str, date], float] = defaultdict(float)
    for i, d, v in zip(ids, dates, vals, strict=True):
        sums[(i, _month(d))] += v
    grid = _months(_month(min(dates)), _month(max(dates)))
    expected = [(i, m, sums.get((i, m), -1.0)) for i in ("a", "b", "c") for m in grid]
    got = out.rows()
    assert [(r[0], r[1]) for r in got] == [(e[0], e[1]) for e in expected]
    np.testing.assert_allclose([r[2] for r in got], [e[2] for e in expected], rtol=1e-12)


def test_to_series_span_series_and_weeks():
    frame = pl.DataFrame(
        {
            "series_id": ["a", "a", "b"],
            "date": ["2024-01-01", "2024-01-17", "2024-01-10"],
            "value": [1.0, 2.0, 5.0],
        }
    )
    out = fc.to_series(frame, freq="1w", span="series")
    # weeks start on Monday: 2024-01-01 is a Monday
    assert out.filter(pl.col("series_id") == "a")["date"].to_list() == [
        date(2024, 1, 1),
        date(2024, 1, 8),
        date(2024, 1, 15),
    ]
    assert out.filter(pl.col("series_id") == "b").rows() == [("b", date(2024, 1, 8), 5.0)]
    one = fc.to_series(frame.drop("series_id"), id_col=None, freq="1mo")
    assert one.rows() == [("total", date(2024, 1, 1), 8.0)]


def test_to_series_errors_name_column_and_rows():
    frame = pl.DataFrame(
        {"series_id": ["a", "a"], "date": ["2024-01-01", "nope"], "value": [1.0, 2.0]}
    )
    with pytest.raises(
        ValidationError,
        match=r"Column 'date' of the series frame has 1 values that are not dates.*'nope' at row 1",
    ):
        fc.to_series(frame)
    with pytest.raises(
        ValidationError, match=r"Column 'date' of the series frame has 1 null dates \(row 1\)"
    ):
        fc.to_series(frame.with_columns(pl.col("date").replace("nope", None)))
    with pytest.raises(SchemaError, match="Column 'amount' is missing"):
        fc.to_series(frame, value_col="amount")
    with pytest.raises(ValidationError, match="freq 'fortnightly' is not a period"):
        fc.to_series(frame, freq="fortnightly")
    with pytest.raises(EmptyInputError, match="empty"):
        fc.to_series(frame.clear())
    ok = frame.with_columns(pl.Series("date", ["2024-01-01", "2024-03-01"]))
    as_text = ok.with_columns(pl.Series("value", [" 1.5", "2"]))  # as a CSV reader may type it
    assert fc.to_series(as_text)["value"].to_list() == [1.5, 0.0, 2.0]
    with pytest.raises(ValidationError, match=r"1 values that are not numbers \('x' at row 1\)"):
        fc.to_series(ok.with_columns(pl.Series("value", ["1", "x"])))


@pytest.fixture(scope="module")
def sample():
    j = at.build_journeys(SAMPLE)
    return j, at.attribute(j, "linear")


@pytest.mark.parametrize("what", ["revenue", "conversions"])
def test_series_from_attribution_totals_match_journeys(sample, what):
    """Total per month equals the journeys' own revenue (or count) per conversion month."""
    j, res = sample
    s = fc.series_from_attribution(res, j, what=what, by="both")
    jf = j.frame.filter(pl.col("converted"))
    expected: dict[date, float] = defaultdict(float)
    for t, r in zip(jf["conversion_time"].to_list(), jf["revenue"].to_list(), strict=True):
        expected[_month(t.date())] += r if what == "revenue" else 1.0
    total = s.filter(pl.col("series_id") == "total")
    months = _months(min(expected), max(expected))
    assert total["date"].to_list() == months
    np.testing.assert_allclose(total["value"], [expected.get(m, 0.0) for m in months], rtol=1e-9)
    # channel series sum to the model's channel totals, and share the same periods
    chans = s.filter(pl.col("series_id") != "total")
    per = chans.group_by("series_id").agg(pl.col("value").sum(), pl.len()).sort("series_id")
    col = "revenue" if what == "revenue" else "conversions"
    ref = res.channels.sort("channel")
    assert per["series_id"].to_list() == ref["channel"].to_list()
    np.testing.assert_allclose(per["value"], ref[col], rtol=1e-9)
    assert set(per["len"].to_list()) == {len(months)}


def test_series_from_attribution_counts_no_touch_conversions(rng):
    ev = random_events(rng, 300, n_users=20)
    j = at.build_journeys(ev, lookback_days=1.0)
    res = at.attribute(j, "first_touch")
    s = fc.series_from_attribution(res, j, what="conversions", by="channel", freq="1d")
    assert s["value"].sum() == pytest.approx(j.n_conversions)


def test_series_from_attribution_refuses_undated_results(sample):
    j, _ = sample
    with pytest.raises(ModelError, match="path table, which has no dates"):
        fc.series_from_attribution(at.attribute(j.to_paths(), "linear"), j)
    with pytest.raises(ModelError, match="assigns credit to channels"):
        fc.series_from_attribution(at.attribute(j, "markov"), j)
    with pytest.raises(ValidationError, match="what must be 'revenue' or 'conversions'"):
        fc.series_from_attribution(at.attribute(j, "linear"), j, what="profit")  # type: ignore[arg-type]
