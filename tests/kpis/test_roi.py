"""ROI per channel: the seed worked examples and Snowplow's report table."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

import attribution as at
from tests.conftest import DATA, snowplow_journeys

SNOW = DATA / "snowplow_fractribution"


def _credit(channels, conversions, revenue) -> pl.DataFrame:
    return pl.DataFrame(
        {"channel": channels, "conversions": conversions, "revenue": revenue}
    ).with_columns((pl.col("conversions") / pl.col("conversions").sum()).alias("share"))


def test_roi_matches_seed_examples():
    """ARCHITECTURE.md: 1,000 -> 5,000 is ROI 400 %; 2,000 -> 6,000 is 200 %; ROAS 3:1."""
    out = at.roi(
        _credit(["a", "b"], [50.0, 60.0], [5000.0, 6000.0]),
        pl.DataFrame({"channel": ["a", "b"], "spend": [1000.0, 2000.0]}),
    )
    rows = {r["channel"]: r for r in out.iter_rows(named=True)}
    assert rows["a"]["roi"] * 100 == pytest.approx(400.0)
    assert rows["b"]["roi"] * 100 == pytest.approx(200.0)
    assert rows["b"]["roas"] == pytest.approx(3.0)
    assert rows["a"]["cpa"] == pytest.approx(1000.0 / 50)


def test_one_sided_channels_and_zero_spend_are_explicit():
    out = at.roi(
        _credit(["paid", "organic", "(no touch)"], [4.0, 6.0, 1.0], [400.0, 600.0, 80.0]),
        pl.DataFrame({"channel": ["paid", "tv", "organic"], "spend": [100.0, 50.0, 0.0]}),
    )
    rows = {r["channel"]: r for r in out.iter_rows(named=True)}
    assert set(rows) == {"paid", "organic", "tv", "(no touch)"}
    assert rows["tv"]["conversions"] == 0.0 and rows["tv"]["roi"] == -1.0
    assert rows["tv"]["cpa"] is None  # no conversions: cost per acquisition undefined
    for channel in ("organic", "(no touch)"):  # no spend: ratios undefined, not infinite
        assert rows[channel]["roi"] is None and rows[channel]["roas"] is None
        assert rows[channel]["spend"] == 0.0


def test_spend_window_and_dates():
    spend = pl.DataFrame(
        {
            "date": ["2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01"],
            "channel": ["a"] * 4,
            "spend": [1.0, 10.0, 100.0, 1000.0],
        }
    )
    out = at.roi(
        _credit(["a"], [1.0], [220.0]), spend, start=date(2024, 2, 1), end=date(2024, 2, 29)
    )
    assert out["spend"].item() == 110.0
    assert out["roi"].item() == pytest.approx(1.0)
    # the window is read like any date: ISO text, "2024-02" the first of February
    assert at.roi(
        _credit(["a"], [1.0], [220.0]), spend, start="2024-02", end="2024-02-29T12:00:00Z"
    ).equals(out)
    with pytest.raises(at.ValidationError, match=r"start must be a date or time; got 'soon'"):
        at.roi(_credit(["a"], [1.0], [220.0]), spend, start="soon")


def test_roi_for_all_models_side_by_side():
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["a > b", "b"],
                "total_conversions": [2, 1],
                "total_conversion_value": [30.0, 10.0],
            }
        )
    )
    table = at.attribute_all(pt, models=["first_touch", "last_touch"])
    out = at.roi(table, pl.DataFrame({"channel": ["a", "b", "c"], "spend": [10.0, 20.0, 5.0]}))
    assert out.height == 6  # 2 models x 3 channels (c only has spend)
    ft = {
        r["channel"]: r for r in out.filter(pl.col("model") == "first_touch").iter_rows(named=True)
    }
    assert ft["a"]["revenue"] == 30.0 and ft["a"]["roas"] == 3.0
    assert ft["c"]["revenue"] == 0.0 and ft["c"]["roas"] == 0.0


def test_roi_refuses_a_frame_that_is_not_an_attribution():
    with pytest.raises(at.SchemaError, match="roi needs an attribution result"):
        at.roi(pl.DataFrame({"channel": ["a"]}), pl.DataFrame({"channel": ["a"], "spend": [1.0]}))


@pytest.mark.parametrize(
    ("attribution_type", "model", "params"),
    [
        ("last_touch", "last_touch", {}),
        ("shapley", "shapley", {"game": "simplified"}),
    ],
)
def test_snowplow_report_table_roas(attribution_type, model, params):
    """The ROAS column of fractribution's report table, from sessions to spend."""
    journeys = snowplow_journeys(collapse_repeats=True)
    out = at.roi(at.attribute(journeys, model, **params), SNOW / "spend.csv").sort("channel")
    expected = (
        pl.read_csv(SNOW / "report_table_expected.csv")
        .filter(pl.col("ATTRIBUTION_TYPE") == attribution_type)
        .sort("CHANNEL")
    )
    assert out["channel"].to_list() == expected["CHANNEL"].to_list()
    np.testing.assert_allclose(out["roas"], expected["ROAS"], atol=1e-10)
    np.testing.assert_allclose(out["spend"], expected["SPEND"])


def test_spaces_around_spend_channel_names_are_ignored():
    """'b ' in the spend table was its own row (two rows 'b' in the report, one with the
    revenue and no spend, one with the spend and ROI -100 %). Hand-worked: b earns 30 and
    costs 1 + 2, ROI (30 − 3) / 3 = 9."""
    credit = _credit(["a", "b"], [1.0, 1.0], [10.0, 30.0])
    spend = pl.DataFrame({"channel": ["b ", " b", "a"], "spend": [1.0, 2.0, 5.0]})
    got = at.roi(credit, spend)
    assert got.select("channel", "spend", "roi").rows() == [("a", 5.0, 1.0), ("b", 3.0, 9.0)]


def test_channels_differing_only_in_case_are_named():
    credit = _credit(["Email", "b"], [1.0, 1.0], [10.0, 30.0])
    spend = pl.DataFrame({"channel": ["email", "b"], "spend": [5.0, 1.0]})
    with pytest.warns(at.DataQualityWarning, match=r"'email' \(spend\) and 'Email'"):
        got = at.roi(credit, spend)
    assert got["channel"].to_list() == ["Email", "b", "email"]  # kept apart, as given


def test_channel_names_in_a_spend_file_are_read_as_written(tmp_path):
    """A CSV column of '01', '1.0' and '2' was guessed as numbers: '01' became '1.0' (its 5
    joined to channel '1.0', ROI (30 − 7) / 7) and '2' became '2.0'. Hand-worked: '01' earns
    10 for 5 (ROI 1), '1.0' earns 30 for 2 (ROI 14), '2' earns nothing for 3 (ROI -1)."""
    path = tmp_path / "spend.csv"
    path.write_text("date,channel,spend\n2024-01-03,01,5\n2024-01-04,1.0,2\n2024-01-04,2,3\n")
    credit = _credit(["01", "1.0"], [1.0, 1.0], [10.0, 30.0])
    got = at.roi(credit, path).select("channel", "spend", "roi").rows()
    assert got == [("01", 5.0, 1.0), ("1.0", 2.0, 14.0), ("2", 3.0, -1.0)]


def test_a_window_ending_before_it_starts_is_refused():
    """start after end kept no spend: every channel silently showed spend 0 and no ROI."""
    credit = _credit(["a"], [1.0], [10.0])
    spend = pl.DataFrame({"date": ["2024-02-10"], "channel": ["a"], "spend": [5.0]})
    with pytest.raises(at.ValidationError, match="start 2024-02-29 is after end 2024-02-01"):
        at.roi(credit, spend, start="2024-02-29", end="2024-02-01")
    assert at.roi(credit, spend, start="2024-02-01", end="2024-02-29")["roi"].to_list() == [1.0]
