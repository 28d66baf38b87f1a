"""CRM reading: column mapping, stage labels, the base layer's dates, errors naming rows.

The hand-built log and its worked answers are in :mod:`tests.kpis.crm_log`.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import attribution as at
from attribution.crm import collect_crm, read_activities, read_crm
from attribution.kpis.funnel import funnel
from attribution.kpis.sla import sla_attainment
from tests.kpis.crm_log import ROWS, activity_frame, crm_frame


@pytest.fixture
def crm() -> pl.DataFrame:
    return crm_frame()


@pytest.fixture
def acts() -> pl.DataFrame:
    return activity_frame()


# ----------------------------------------------------------------------------------------------
# reading


def test_read_crm_maps_columns_and_normalises(crm):
    raw = crm.rename({"user_id": "uid", "timestamp": "ts", "stage": "lc", "amount": "value"})
    raw = raw.with_columns(pl.col("lc").str.to_uppercase()).drop("source")
    out = read_crm(raw, user_col="uid", time_col="ts", stage_col="lc", amount_col="value").collect()
    assert out.columns == ["user_id", "timestamp", "stage", "source", "amount"]
    assert out.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert out["stage"].to_list() == [r[2] for r in ROWS]
    assert out["source"].null_count() == len(ROWS)  # no source column: all null
    assert out["amount"].sum() == 1800.0


def test_read_crm_stage_map_renames_hubspot_labels():
    raw = pl.DataFrame(
        {
            "user_id": ["a", "a"],
            "timestamp": ["2024-01-01", "2024-01-02"],
            "stage": ["lead", "MarketingQualifiedLead"],
        }
    )
    out = read_crm(raw, stage_map={"marketingqualifiedlead": "mql"}).collect()
    assert out["stage"].to_list() == ["lead", "mql"]


def test_read_crm_reads_iso_z_offsets_and_year_month_text():
    """The base layer's dates: ``Z`` and offsets are instants, ``2024-01`` its first day."""
    raw = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2],
            "timestamp": ["2024-01", "2024-01-05T10:00:00Z", "2024-01-06T12:00+02:00", "20240107"],
            "stage": ["lead", "mql", "sql", "lead"],
        }
    )
    utc = dt.timezone.utc
    assert read_crm(raw).collect()["timestamp"].to_list() == [
        dt.datetime(2024, 1, 1, tzinfo=utc),
        dt.datetime(2024, 1, 5, 10, tzinfo=utc),
        dt.datetime(2024, 1, 6, 10, tzinfo=utc),
        dt.datetime(2024, 1, 7, tzinfo=utc),
    ]
    assert collect_crm(raw).equals(read_crm(raw).collect())
    acts = pl.DataFrame(
        {"user_id": [1], "timestamp": ["2024-01-05T10:03:00Z"], "activity": ["Call"]}
    )
    assert read_activities(acts).collect().row(0) == (
        1,
        dt.datetime(2024, 1, 5, 10, 3, tzinfo=utc),
        "call",
    )


def test_bad_and_missing_dates_raise_naming_rows(crm, acts):
    """A bad date never becomes a null: it raises, naming the row and the value."""
    bad = acts.with_columns(
        pl.when(pl.col("user_id") == 10)
        .then(pl.lit("2024-13-45"))
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'timestamp' of the sales activity log has 1 values that are not dates or "
        r"times \('2024-13-45' at row 13\)",
    ):
        read_activities(bad)
    missing = crm.with_columns(
        pl.when(pl.col("user_id") == 4).then(None).otherwise(pl.col("timestamp")).alias("timestamp")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'timestamp' of the CRM lifecycle log has 1 nulls \(row 17 \(user_id 4\)\); "
        r"every row needs a timestamp",
    ):
        read_crm(missing)


# ----------------------------------------------------------------------------------------------
# errors


def test_error_missing_stage_column(crm):
    with pytest.raises(at.SchemaError, match=r"Column 'stage' is missing from the CRM lifecycle"):
        read_crm(crm.drop("stage"))


def test_error_unknown_stage_names_values_and_count(crm):
    bad = crm.with_columns(
        pl.when(pl.col("user_id") == 9)
        .then(pl.lit("won"))
        .otherwise(pl.col("stage"))
        .alias("stage")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'stage' of the CRM lifecycle log has 5 rows with unknown stages "
        r"\('won' ×5 \(first at row 27\)\); expected one of subscriber, lead, mql",
    ):
        funnel(bad)


def test_error_null_ids_and_timestamps(crm):
    no_id = crm.with_columns(
        pl.when(pl.col("user_id") == 4).then(None).otherwise(pl.col("user_id")).alias("user_id")
    )
    with pytest.raises(at.ValidationError, match=r"Column 'user_id' .* has 1 nulls \(row 17\)"):
        read_crm(no_id)
    bad_time = crm.with_columns(
        pl.when(pl.col("user_id") == 5)
        .then(pl.lit("soon"))
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'timestamp' of the CRM lifecycle log has 2 values that are not dates or "
        r"times \('soon' at row 18, 'soon' at row 19\)",
    ):
        read_crm(bad_time)


def test_error_negative_amount(crm):
    neg = crm.with_columns(
        pl.when(pl.col("amount") == 500.0).then(-500.0).otherwise(pl.col("amount")).alias("amount")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'amount' .* has 1 negative values \(-500 at row 10 \(user_id 2\)\); "
        r"amounts must be finite and ≥ 0",
    ):
        read_crm(neg)


def test_error_empty_inputs(crm, acts):
    with pytest.raises(at.EmptyInputError, match=r"The CRM lifecycle log is empty \(0 rows\)"):
        read_crm(crm.head(0))
    with pytest.raises(at.EmptyInputError, match=r"The sales activity log is empty"):
        sla_attainment(crm, acts.head(0))
