"""Golden tests: Snowplow's fractribution package, sessions to paths to last touch."""

from __future__ import annotations

import numpy as np
import polars as pl

import attribution as at
from tests.conftest import DATA, snowplow_journeys

SNOW = DATA / "snowplow_fractribution"


def test_snowplow_paths_to_conversion():
    expected = pl.read_csv(SNOW / "paths_to_conversion_expected.csv").sort("customer_id")
    raw = snowplow_journeys().frame.filter("converted").sort("user_id")
    collapsed = snowplow_journeys(collapse_repeats=True).frame.filter("converted")
    collapsed = collapsed.sort("user_id")
    assert raw["user_id"].to_list() == expected["customer_id"].to_list()
    assert raw["path"].list.join(" > ").to_list() == expected["path"].to_list()
    assert collapsed["path"].list.join(" > ").to_list() == expected["transformed_path"].to_list()
    np.testing.assert_allclose(raw["revenue"], expected["revenue"])
    got_times = raw["conversion_time"].dt.strftime("%Y-%m-%d %H:%M:%S").to_list()
    assert got_times == expected["conversion_tstamp"].to_list()


def test_snowplow_paths_to_non_conversion():
    expected = pl.read_csv(SNOW / "paths_to_non_conversion_expected.csv").sort("customer_id")
    got = snowplow_journeys().frame.filter(~pl.col("converted")).sort("user_id")
    assert got["user_id"].to_list() == expected["customer_id"].to_list()
    assert got["path"].list.join(" > ").to_list() == expected["path"].to_list()


def test_snowplow_path_summary_with_repeats_collapsed():
    expected = pl.read_csv(SNOW / "path_summary_expected.csv").sort("transformed_path")
    got = snowplow_journeys(collapse_repeats=True).to_paths().to_frame().sort("path")
    assert got["path"].to_list() == expected["transformed_path"].to_list()
    np.testing.assert_allclose(got["conversions"], expected["conversions"])
    np.testing.assert_allclose(got["nulls"], expected["non_conversions"])
    np.testing.assert_allclose(got["value"], expected["revenue"].fill_null(0.0))


def test_snowplow_last_touch_report_rows():
    report = pl.read_csv(SNOW / "report_table_expected.csv")
    expected = report.filter(pl.col("ATTRIBUTION_TYPE") == "last_touch").sort("CHANNEL")
    got = at.attribute(snowplow_journeys(), "last_touch").channels
    # the report lists every channel with spend; channels never touched get 0
    got = (
        expected.select(pl.col("CHANNEL").alias("channel"))
        .join(got, on="channel", how="left")
        .fill_null(0.0)
    )
    np.testing.assert_allclose(got["conversions"], expected["CONVERSIONS"], atol=1e-12)
    np.testing.assert_allclose(got["revenue"], expected["REVENUE"], atol=1e-9)
