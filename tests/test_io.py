"""Reading and validating event logs, spend and path tables; atomic writers.

Reference values are written out by hand or computed with Python's ``datetime`` and
``zoneinfo``, never copied from the library's output.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import attribution as at
from attribution import AttributionError, EmptyInputError, SchemaError, ValidationError
from attribution.io import atomic_path, to_lazy, write_frame

UTC = timezone.utc
DATA = Path(__file__).parent / "data"
SAMPLE_SPEND = Path(at.__file__).parent / "datasets" / "data" / "sample_spend.csv"
CANONICAL = ["user_id", "timestamp", "channel", "event", "revenue"]
CANONICAL_SCHEMA = pl.Schema(
    {
        "user_id": pl.Int64(),
        "timestamp": pl.Datetime("us", "UTC"),
        "channel": pl.String(),
        "event": pl.String(),
        "revenue": pl.Float64(),
    }
)


def _utc(*args: int, tz: str | None = None, fold: int = 0) -> datetime:
    """A wall-clock time in ``tz`` (UTC when None), converted to UTC by zoneinfo."""
    zone = ZoneInfo(tz) if tz else UTC
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)  # type: ignore[misc]


def _quoted_rows(message: str) -> list[str]:
    """The ``row N`` examples a message quotes."""
    return re.findall(r"\brow \d+", message)


# ----------------------------------------------------------------------------------------------
# one small log, in every input kind

RAW = {
    "user_id": [1, 1, 1, 2, 2, 3],
    "timestamp": [
        "2024-01-01T10:00:00Z",
        "2024-01-02T09:30:00Z",
        "2024-01-02T12:00:00Z",
        "2024-01-03T00:00:00Z",
        "2024-01-05T08:15:30Z",
        "2024-01-06T23:59:59Z",
    ],
    "channel": ["email", "seo", None, "ads", None, "email"],
    "event": ["touch", "touch", "conversion", "touch", "conversion", "touch"],
    "revenue": [None, 0.0, 30.5, 0.0, 12.0, None],
}


def _raw() -> pl.DataFrame:
    return pl.DataFrame(RAW, schema_overrides={"revenue": pl.Float64})


def _expected() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3],
            "timestamp": [
                datetime(2024, 1, 1, 10, 0, tzinfo=UTC),
                datetime(2024, 1, 2, 9, 30, tzinfo=UTC),
                datetime(2024, 1, 2, 12, 0, tzinfo=UTC),
                datetime(2024, 1, 3, 0, 0, tzinfo=UTC),
                datetime(2024, 1, 5, 8, 15, 30, tzinfo=UTC),
                datetime(2024, 1, 6, 23, 59, 59, tzinfo=UTC),
            ],
            "channel": ["email", "seo", None, "ads", None, "email"],
            "event": ["touch", "touch", "conversion", "touch", "conversion", "touch"],
            "revenue": [0.0, 0.0, 30.5, 0.0, 12.0, 0.0],
        },
        schema=CANONICAL_SCHEMA,
    )


def _as_parquet(raw: pl.DataFrame, tmp: Path) -> object:
    raw.write_parquet(tmp / "events.parquet")
    return tmp / "events.parquet"


def _as_pq_suffix(raw: pl.DataFrame, tmp: Path) -> object:
    raw.write_parquet(tmp / "events.pq")
    return str(tmp / "events.pq")


def _as_csv(raw: pl.DataFrame, tmp: Path) -> object:
    raw.write_csv(tmp / "events.csv")
    return tmp / "events.csv"


def _as_tsv(raw: pl.DataFrame, tmp: Path) -> object:
    raw.write_csv(tmp / "events.tsv", separator="\t")
    return tmp / "events.tsv"


def _as_ndjson(raw: pl.DataFrame, tmp: Path) -> object:
    raw.write_ndjson(tmp / "events.ndjson")
    return tmp / "events.ndjson"


def _as_jsonl(raw: pl.DataFrame, tmp: Path) -> object:
    raw.write_ndjson(tmp / "events.jsonl")
    return tmp / "events.jsonl"


def _as_parquet_dir(raw: pl.DataFrame, tmp: Path) -> object:
    folder = tmp / "events"
    (folder / "day=2").mkdir(parents=True)
    raw.slice(0, 2).write_parquet(folder / "part-0.parquet")
    raw.slice(2, 3).write_parquet(folder / "part-1.parquet")
    raw.slice(5).write_parquet(folder / "part-2.parquet")
    (folder / "_SUCCESS").write_text("")  # not a Parquet file: ignored
    return folder


def _as_polars(raw: pl.DataFrame, tmp: Path) -> object:
    return raw


def _as_lazy(raw: pl.DataFrame, tmp: Path) -> object:
    return raw.lazy()


def _as_pandas(raw: pl.DataFrame, tmp: Path) -> object:
    return raw.to_pandas()


def _as_pandas_datetimes(raw: pl.DataFrame, tmp: Path) -> object:
    frame = raw.to_pandas()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert("Asia/Tokyo")
    return frame


def _as_polars_datetimes(raw: pl.DataFrame, tmp: Path) -> object:
    return raw.with_columns(
        pl.col("timestamp").str.to_datetime(time_unit="ns", time_zone="UTC")
    ).with_columns(pl.col("timestamp").dt.convert_time_zone("America/Los_Angeles"))


INPUT_KINDS = {
    "parquet": _as_parquet,
    "pq": _as_pq_suffix,
    "csv": _as_csv,
    "tsv": _as_tsv,
    "ndjson": _as_ndjson,
    "jsonl": _as_jsonl,
    "parquet_dir": _as_parquet_dir,
    "polars": _as_polars,
    "lazy": _as_lazy,
    "pandas": _as_pandas,
    "pandas_tz_datetimes": _as_pandas_datetimes,
    "polars_ns_datetimes": _as_polars_datetimes,
}


@pytest.mark.parametrize("kind", list(INPUT_KINDS))
def test_every_input_kind_gives_the_same_canonical_frame(kind: str, tmp_path: Path) -> None:
    source = INPUT_KINDS[kind](_raw(), tmp_path)
    out = at.read_events(source)
    assert isinstance(out, pl.LazyFrame)
    assert_frame_equal(out.collect(), _expected())


@pytest.mark.parametrize("kind", ["parquet", "csv", "ndjson", "polars", "pandas"])
def test_to_lazy_reads_nothing_but_keeps_every_column(kind: str, tmp_path: Path) -> None:
    source = INPUT_KINDS[kind](_raw(), tmp_path)
    lf = to_lazy(source)
    assert isinstance(lf, pl.LazyFrame)
    assert lf.collect_schema().names() == list(RAW)
    assert lf.collect().height == len(RAW["user_id"])


def test_validate_false_gives_the_same_frame_without_checking() -> None:
    assert_frame_equal(at.read_events(_raw(), validate=False).collect(), _expected())
    bad = _raw().with_columns(revenue=pl.lit(-1.0))
    lazy = at.read_events(bad, validate=False)  # no value rule is checked yet
    assert lazy.collect()["revenue"].to_list() == [-1.0] * 6


def test_string_user_ids_stay_strings(tmp_path: Path) -> None:
    raw = _raw().with_columns(pl.format("u{}", "user_id").alias("user_id"))
    raw.write_csv(tmp_path / "e.csv")
    for source in (raw, tmp_path / "e.csv", raw.to_pandas()):
        out = at.read_events(source).collect()
        assert out.schema["user_id"] == pl.String
        assert out["user_id"].to_list() == ["u1", "u1", "u1", "u2", "u2", "u3"]


def test_integer_user_ids_of_any_width_become_int64() -> None:
    for dtype in (pl.Int32, pl.UInt16, pl.UInt64):
        out = at.read_events(_raw().with_columns(pl.col("user_id").cast(dtype))).collect()
        assert_frame_equal(out, _expected())


def test_categorical_and_enum_text_columns_are_read_as_strings() -> None:
    raw = _raw().with_columns(
        pl.col("channel").cast(pl.Categorical),
        pl.col("event").cast(pl.Enum(["touch", "conversion"])),
    )
    assert_frame_equal(at.read_events(raw).collect(), _expected())


def test_optional_campaign_and_cost_are_kept() -> None:
    raw = _raw().with_columns(
        campaign=pl.Series(["c1", "c2", None, "c3", None, "c1"]),
        cost=pl.Series([1, 2, None, 0, None, 3], dtype=pl.Int32),
    )
    out = at.read_events(raw).collect()
    assert out.columns == [*CANONICAL, "campaign", "cost"]
    assert out.schema["cost"] == pl.Float64
    assert out["campaign"].to_list() == ["c1", "c2", None, "c3", None, "c1"]
    assert out["cost"].to_list() == [1.0, 2.0, None, 0.0, None, 3.0]


def test_missing_revenue_column_gives_zero_revenue() -> None:
    out = at.read_events(_raw().drop("revenue")).collect()
    assert out["revenue"].to_list() == [0.0] * 6
    out = at.read_events(_raw(), revenue_col=None).collect()
    assert out["revenue"].to_list() == [0.0] * 6


def test_csv_with_an_all_empty_revenue_column_reads_as_zero(tmp_path: Path) -> None:
    path = tmp_path / "touches.csv"
    path.write_text(
        "user_id,timestamp,channel,event,revenue\n"
        "1,2024-01-01T00:00:00Z,a,touch,\n"
        "1,2024-01-02T00:00:00Z,b,touch,\n"
    )
    assert at.read_events(path).collect()["revenue"].to_list() == [0.0, 0.0]


# ----------------------------------------------------------------------------------------------
# column names and event mapping


def test_column_name_parameters_map_onto_the_contract(tmp_path: Path) -> None:
    names = {
        "user_id": "uid",
        "timestamp": "ts",
        "channel": "src",
        "event": "kind",
        "revenue": "value",
    }
    raw = _raw().rename(names)
    raw.write_parquet(tmp_path / "renamed.parquet")
    kwargs = {
        "user_col": "uid",
        "time_col": "ts",
        "channel_col": "src",
        "event_col": "kind",
        "revenue_col": "value",
    }
    for source in (raw, tmp_path / "renamed.parquet", raw.to_pandas()):
        assert_frame_equal(at.read_events(source, **kwargs).collect(), _expected())
    # the defaults do not find the renamed columns
    with pytest.raises(SchemaError, match="'user_id'"):
        at.read_events(raw)


def test_a_column_named_like_a_default_is_ignored_when_another_is_mapped() -> None:
    raw = _raw().with_columns(pl.col("channel").alias("source"), pl.lit("ignored").alias("channel"))
    out = at.read_events(raw, channel_col="source").collect()
    assert out["channel"].to_list() == RAW["channel"]


def test_touch_and_conversion_events_map_other_names() -> None:
    raw = _raw().with_columns(
        event=pl.Series(["view", "click", "purchase", "view", "order", "click"])
    )
    out = at.read_events(
        raw, touch_events=["view", "click"], conversion_events=["purchase", "order"]
    ).collect()
    assert_frame_equal(out, _expected())


def test_a_single_string_is_one_event_name() -> None:
    raw = _raw().with_columns(
        event=pl.Series(["touch", "touch", "purchase", "touch", "purchase", "touch"])
    )
    out = at.read_events(raw, conversion_events="purchase").collect()
    assert_frame_equal(out, _expected())
    # "purchase" is one name, not the letters p, u, r...
    with pytest.raises(ValidationError, match=r"'purchase' ×2"):
        at.read_events(raw, conversion_events="conversion")


def test_crm_stage_names_are_kept_as_they_are() -> None:
    raw = _raw().with_columns(
        event=pl.Series(["touch", "lead", "conversion", "mql", "customer", "touch"])
    )
    out = at.read_events(raw).collect()
    assert out["event"].to_list() == ["touch", "lead", "conversion", "mql", "customer", "touch"]


def _sessions() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "visitor": ["A", "A", "A", "B", "C"],
            "started": [
                "2024-05-01 10:00:00",
                "2024-05-02 11:00:00",
                "2024-05-03 12:00:00",
                "2024-05-01 09:00:00",
                "2024-05-04 18:30:00",
            ],
            "source_medium": ["seo", "email", "ads", "direct", "seo"],
            "is_conversion": [0, 1, 0, 1, 0],
            "amount": [None, 40.0, None, 15.5, None],
        }
    )


_FLAG_KW = {
    "user_col": "visitor",
    "time_col": "started",
    "channel_col": "source_medium",
    "revenue_col": "amount",
    "conversion_flag_col": "is_conversion",
}


def test_a_flagged_row_is_a_touch_and_a_conversion_at_the_same_time() -> None:
    out = at.read_events(_sessions(), **_FLAG_KW).collect()
    may2 = datetime(2024, 5, 2, 11, tzinfo=UTC)
    may1 = datetime(2024, 5, 1, 9, tzinfo=UTC)
    expected = pl.DataFrame(
        {
            "user_id": ["A", "A", "A", "B", "C", "A", "B"],
            "timestamp": [
                datetime(2024, 5, 1, 10, tzinfo=UTC),
                may2,
                datetime(2024, 5, 3, 12, tzinfo=UTC),
                may1,
                datetime(2024, 5, 4, 18, 30, tzinfo=UTC),
                may2,
                may1,
            ],
            "channel": ["seo", "email", "ads", "direct", "seo", "email", "direct"],
            "event": ["touch"] * 5 + ["conversion"] * 2,
            "revenue": [0.0] * 5 + [40.0, 15.5],
        },
        schema={**CANONICAL_SCHEMA, "user_id": pl.String()},
    )
    sort = ["user_id", "timestamp", "event"]
    assert_frame_equal(out.select(CANONICAL).sort(sort), expected.sort(sort))


def test_boolean_conversion_flags_work_like_zero_one() -> None:
    ints = at.read_events(_sessions(), **_FLAG_KW).collect()
    bools = _sessions().with_columns(pl.col("is_conversion").cast(pl.Boolean))
    out = at.read_events(bools, **_FLAG_KW).collect()
    sort = ["user_id", "timestamp", "event"]
    assert_frame_equal(out.select(CANONICAL).sort(sort), ints.select(CANONICAL).sort(sort))


def test_the_flagged_session_is_the_last_touch_of_its_journey() -> None:
    journeys = at.build_journeys(_sessions(), **_FLAG_KW).frame.sort("user_id", "journey_id")
    rows = journeys.select("user_id", "path", "converted", "revenue").rows()
    assert rows == [
        ("A", ["seo", "email"], True, 40.0),
        ("A", ["ads"], False, 0.0),
        ("B", ["direct"], True, 15.5),
        ("C", ["seo"], False, 0.0),
    ]


def test_flag_mode_keeps_the_canonical_column_order() -> None:
    out = at.read_events(_sessions(), **_FLAG_KW)
    assert out.collect_schema().names() == CANONICAL


def test_text_conversion_flags_are_read_as_words() -> None:
    # spreadsheets and exports write flags as words: each 0/1 of the integer log is written
    # in turn as one of the accepted spellings, and the events are those of the integers
    ints = at.read_events(_sessions(), **_FLAG_KW).collect()
    flags = _sessions()["is_conversion"].to_list()
    spellings = {1: ["true", "True", " YES ", "1"], 0: ["false", "FALSE", "no", "0"]}
    words = [None if f is None else spellings[f][i % 4] for i, f in enumerate(flags)]
    raw = _sessions().with_columns(pl.Series("is_conversion", words, pl.String))
    out = at.read_events(raw, **_FLAG_KW).collect()
    sort = ["user_id", "timestamp", "event"]
    assert_frame_equal(out.select(CANONICAL).sort(sort), ints.select(CANONICAL).sort(sort))
    # other words are refused, naming the rows
    words[1], words[3] = "converted", "y"
    raw = _sessions().with_columns(pl.Series("is_conversion", words, pl.String))
    with pytest.raises(
        ValidationError,
        match=r"Column 'is_conversion' has 2 values that are not conversion flags "
        r"\('converted' at row 1, 'y' at row 3\); expected 0 or 1, true or false, yes or no",
    ):
        at.read_events(raw, **_FLAG_KW)


def test_flag_column_of_dates_is_a_schema_error() -> None:
    raw = _sessions().with_columns(pl.col("is_conversion").cast(pl.Date))
    with pytest.raises(SchemaError, match=r"Column 'is_conversion' has type Date; expected 0/1"):
        at.read_events(raw, **_FLAG_KW)


def test_dp6_session_log_in_flag_mode() -> None:
    path = DATA / "dp6_sessions" / "test_dataset.csv"
    raw = pl.read_csv(path)
    n_flagged = int(raw["is_conversion"].sum())
    out = at.read_events(
        path,
        user_col="user_pseudo_id",
        time_col="event_time",
        channel_col="source_medium",
        conversion_flag_col="is_conversion",
    ).collect()
    assert out.height == raw.height + n_flagged
    assert int((out["event"] == "conversion").sum()) == n_flagged
    assert int((out["event"] == "touch").sum()) == raw.height


def _orders() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer": ["A", "B", "A"],
            "ordered_at": [
                "2024-05-02T11:30:00Z",
                "2024-05-01T09:00:00Z",
                "2024-05-06T08:00:00+02:00",
            ],
            "amount": [40.0, None, 7.25],
        }
    )


def test_conversions_from_a_separate_table() -> None:
    sessions = _sessions().drop("is_conversion", "amount")
    out = at.read_events(
        sessions,
        user_col="visitor",
        time_col="started",
        channel_col="source_medium",
        revenue_col="amount",
        conversions=_orders(),
        conversion_user_col="customer",
        conversion_time_col="ordered_at",
    ).collect()
    expected = pl.DataFrame(
        {
            "user_id": ["A", "A", "A", "B", "C", "A", "B", "A"],
            "timestamp": [
                datetime(2024, 5, 1, 10, tzinfo=UTC),
                datetime(2024, 5, 2, 11, tzinfo=UTC),
                datetime(2024, 5, 3, 12, tzinfo=UTC),
                datetime(2024, 5, 1, 9, tzinfo=UTC),
                datetime(2024, 5, 4, 18, 30, tzinfo=UTC),
                datetime(2024, 5, 2, 11, 30, tzinfo=UTC),
                datetime(2024, 5, 1, 9, tzinfo=UTC),
                datetime(2024, 5, 6, 6, tzinfo=UTC),
            ],
            "channel": ["seo", "email", "ads", "direct", "seo", None, None, None],
            "event": ["touch"] * 5 + ["conversion"] * 3,
            "revenue": [0.0] * 5 + [40.0, 0.0, 7.25],
        },
        schema={**CANONICAL_SCHEMA, "user_id": pl.String()},
    )
    assert_frame_equal(out, expected)


def test_conversion_columns_default_to_the_touch_names() -> None:
    sessions = _sessions().drop("is_conversion", "amount")
    orders = _orders().rename({"customer": "visitor", "ordered_at": "started"})
    out = at.read_events(
        sessions,
        user_col="visitor",
        time_col="started",
        channel_col="source_medium",
        revenue_col="amount",
        conversions=orders,
    ).collect()
    assert out.filter(pl.col("event") == "conversion")["revenue"].to_list() == [40.0, 0.0, 7.25]


def test_separate_tables_validate_the_conversions_with_their_own_names() -> None:
    sessions = _sessions().drop("is_conversion", "amount")
    kw = {
        "user_col": "visitor",
        "time_col": "started",
        "channel_col": "source_medium",
        "revenue_col": "amount",
        "conversion_user_col": "customer",
        "conversion_time_col": "ordered_at",
    }
    bad = _orders().with_columns(amount=pl.Series([40.0, -3.0, 1.0]))
    with pytest.raises(
        ValidationError, match=r"Column 'amount' has 1 negative values \(-3 at row 1"
    ):
        at.read_events(sessions, conversions=bad, **kw)
    ints = _orders().with_columns(customer=pl.Series([1, 2, 1]))
    with pytest.raises(SchemaError, match=r"String in the touch table.*Int64 in the conversions"):
        at.read_events(sessions, conversions=ints, **kw)


def test_missing_column_in_two_table_mode_names_the_table() -> None:
    sessions = _sessions().drop("is_conversion", "amount")
    kw = {"user_col": "visitor", "channel_col": "source_medium", "conversion_user_col": "customer"}
    # the conversions table has no 'started' (conversion_time_col defaults to time_col)
    with pytest.raises(
        SchemaError, match=r"'started' is missing from the conversions table"
    ) as info:
        at.read_events(sessions, time_col="started", conversions=_orders(), **kw)
    assert "__" not in str(info.value)
    # the touch table has no 'ordered_at'
    with pytest.raises(SchemaError, match=r"'ordered_at' is missing from the touch table") as info:
        at.read_events(
            sessions, time_col="ordered_at", conversions=_orders().drop("ordered_at"), **kw
        )
    assert "__" not in str(info.value)


def test_snowplow_sessions_and_conversions() -> None:
    sessions = DATA / "snowplow_fractribution" / "sessions.csv"
    conversions = DATA / "snowplow_fractribution" / "conversions.csv"
    out = at.read_events(
        sessions,
        user_col="customer_id",
        time_col="visit_start_tstamp",
        conversions=conversions,
        conversion_time_col="conversion_tstamp",
    ).collect()
    n_sessions = pl.read_csv(sessions).height
    conv = pl.read_csv(conversions)
    assert out.height == n_sessions + conv.height
    assert int((out["event"] == "touch").sum()) == n_sessions
    assert math.isclose(out["revenue"].sum(), conv["revenue"].sum())


# ----------------------------------------------------------------------------------------------
# timestamps


def _one_time(values: list[object] | pl.Series, **kwargs: object) -> list[datetime]:
    series = values if isinstance(values, pl.Series) else pl.Series("timestamp", values)
    n = len(series)
    raw = pl.DataFrame(
        {
            "user_id": list(range(n)),
            "timestamp": series,
            "channel": ["a"] * n,
            "event": ["touch"] * n,
        }
    )
    out = at.read_events(raw, **kwargs).collect()  # type: ignore[arg-type]
    assert out.schema["timestamp"] == pl.Datetime("us", "UTC")
    return out["timestamp"].to_list()


@pytest.mark.parametrize("tz", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
def test_naive_datetimes_are_read_in_time_zone_then_converted(tz: str) -> None:
    winter, summer = datetime(2024, 1, 15, 9, 30), datetime(2024, 7, 15, 9, 30, 0, 250_000)
    got = _one_time([winter, summer], time_zone=tz)
    assert got == [_utc(2024, 1, 15, 9, 30, tz=tz), _utc(2024, 7, 15, 9, 30, 0, 250_000, tz=tz)]


def test_naive_datetimes_in_new_york_by_hand() -> None:
    got = _one_time(
        [datetime(2024, 1, 15, 9, 30), datetime(2024, 7, 15, 9, 30)], time_zone="America/New_York"
    )
    # EST is UTC-5 in January, EDT is UTC-4 in July
    assert got == [
        datetime(2024, 1, 15, 14, 30, tzinfo=UTC),
        datetime(2024, 7, 15, 13, 30, tzinfo=UTC),
    ]


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_aware_datetimes_are_converted_and_time_zone_is_ignored(unit: str) -> None:
    tokyo = (
        pl.Series("timestamp", [datetime(2024, 3, 1, 9, 0), datetime(2024, 3, 1, 23, 45, 1)])
        .cast(pl.Datetime(unit))
        .dt.replace_time_zone("Asia/Tokyo")
    )
    got = _one_time(tokyo, time_zone="America/New_York")
    assert got == [
        datetime(2024, 3, 1, 0, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 14, 45, 1, tzinfo=UTC),
    ]


ISO_CASES = [
    ("2024-03-10T12:00:00Z", "UTC", datetime(2024, 3, 10, 12, 0, tzinfo=UTC)),
    ("2024-03-10T12:00:00Z", "Asia/Tokyo", datetime(2024, 3, 10, 12, 0, tzinfo=UTC)),
    ("2024-03-10T12:00:00+02:00", "UTC", datetime(2024, 3, 10, 10, 0, tzinfo=UTC)),
    ("2024-03-10T12:00:00+02:00", "America/New_York", datetime(2024, 3, 10, 10, 0, tzinfo=UTC)),
    ("2024-03-10T12:00:00-05:30", "UTC", datetime(2024, 3, 10, 17, 30, tzinfo=UTC)),
    ("2024-03-10T12:00:00.123456Z", "UTC", datetime(2024, 3, 10, 12, 0, 0, 123_456, tzinfo=UTC)),
    ("2024-03-10T12:00:00.5+01:00", "UTC", datetime(2024, 3, 10, 11, 0, 0, 500_000, tzinfo=UTC)),
    ("2024-03-10 12:00:00", "UTC", datetime(2024, 3, 10, 12, 0, tzinfo=UTC)),
    ("2024-03-10T12:00:00", "Europe/Paris", _utc(2024, 3, 10, 12, 0, tz="Europe/Paris")),
    ("2024-07-10 12:00:00", "Europe/Paris", _utc(2024, 7, 10, 12, 0, tz="Europe/Paris")),
    (
        "2024-03-10 12:00:00.75",
        "Asia/Kolkata",
        _utc(2024, 3, 10, 12, 0, 0, 750_000, tz="Asia/Kolkata"),
    ),
    ("2024-03-10", "UTC", datetime(2024, 3, 10, 0, 0, tzinfo=UTC)),
    ("2024-03-10", "America/Los_Angeles", _utc(2024, 3, 10, 0, 0, tz="America/Los_Angeles")),
    (" 2024-03-10T12:00:00Z ", "UTC", datetime(2024, 3, 10, 12, 0, tzinfo=UTC)),
    # ambiguous wall time (clocks go back): the earlier instant, still on summer time
    ("2024-10-27 02:30:00", "Europe/Paris", _utc(2024, 10, 27, 2, 30, tz="Europe/Paris", fold=0)),
]


@pytest.mark.parametrize(("text", "tz", "expected"), ISO_CASES)
def test_iso_strings(text: str, tz: str, expected: datetime) -> None:
    assert _one_time([text], time_zone=tz) == [expected]


def test_iso_strings_of_mixed_shapes_in_one_column() -> None:
    texts = [case[0] for case in ISO_CASES if case[1] == "UTC"]
    expected = [case[2] for case in ISO_CASES if case[1] == "UTC"]
    assert _one_time(texts) == expected
    assert _one_time(list(reversed(texts))) == list(reversed(expected))


def test_by_hand_values_of_a_few_offsets() -> None:
    # written out without zoneinfo: Paris is UTC+1 in winter, UTC+2 in summer
    got = _one_time(
        ["2024-01-10 12:00:00", "2024-07-10 12:00:00", "2024-07-10"], time_zone="Europe/Paris"
    )
    assert got == [
        datetime(2024, 1, 10, 11, tzinfo=UTC),
        datetime(2024, 7, 10, 10, tzinfo=UTC),
        datetime(2024, 7, 9, 22, tzinfo=UTC),
    ]


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_epoch_seconds() -> None:
    got = _one_time([0, 1_700_000_000, 1_709_251_200], time_zone="Asia/Tokyo")
    assert got == [
        EPOCH,
        EPOCH + timedelta(seconds=1_700_000_000),
        datetime(2024, 3, 1, tzinfo=UTC),
    ]
    assert _one_time([1_700_000_000.25]) == [EPOCH + timedelta(seconds=1_700_000_000.25)]


def test_epoch_milliseconds_and_microseconds() -> None:
    ms = _one_time([1_709_251_200_123, 1_000], epoch_unit="ms")
    assert ms == [datetime(2024, 3, 1, 0, 0, 0, 123_000, tzinfo=UTC), EPOCH + timedelta(seconds=1)]
    us = _one_time([1_709_251_200_123_456], epoch_unit="us")
    assert us == [datetime(2024, 3, 1, 0, 0, 0, 123_456, tzinfo=UTC)]


def test_epoch_seconds_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "epoch.csv"
    path.write_text("user_id,timestamp,channel,event\n1,1709251200,a,touch\n2,1709254800,b,touch\n")
    out = at.read_events(path).collect()
    assert out["timestamp"].to_list() == [
        datetime(2024, 3, 1, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 1, tzinfo=UTC),
    ]


def test_unknown_epoch_unit_is_a_schema_error() -> None:
    with pytest.raises(
        SchemaError,
        match=r"epoch_unit must be one of s, ms, us, ns \(or None to detect it\); got 'days'",
    ):
        _one_time([1_700_000_000], epoch_unit="days")


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=-(10**9), max_value=4 * 10**9))
def test_epoch_seconds_property(seconds: int) -> None:
    # integers that are all valid dates 1900-01-01 .. 2199-12-31 read as YYYYMMDD unless the
    # unit is given (the documented rule); with the unit every integer is epoch seconds
    assert _one_time([seconds], epoch_unit="s") == [EPOCH + timedelta(seconds=seconds)]
    if not 19_000_101 <= seconds <= 21_991_231:
        assert _one_time([seconds]) == [EPOCH + timedelta(seconds=seconds)]


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_dates_are_midnight_in_time_zone(tz: str) -> None:
    got = _one_time([date(2024, 1, 1), date(2024, 7, 1)], time_zone=tz)
    assert got == [_utc(2024, 1, 1, 0, 0, tz=tz), _utc(2024, 7, 1, 0, 0, tz=tz)]


def test_dates_in_new_york_by_hand() -> None:
    got = _one_time([date(2024, 7, 1)], time_zone="America/New_York")
    assert got == [datetime(2024, 7, 1, 4, 0, tzinfo=UTC)]


def test_a_date_whose_midnight_is_skipped_by_dst() -> None:
    # the local day starts at 01:00 -03:00, which is 04:00 UTC
    got = _one_time([date(2024, 9, 8)], time_zone="America/Santiago")
    assert got == [datetime(2024, 9, 8, 4, 0, tzinfo=UTC)]


def test_a_naive_datetime_in_a_dst_gap() -> None:
    try:
        got = _one_time([datetime(2024, 3, 31, 2, 30)], time_zone="Europe/Paris")
    except AttributionError as exc:  # a clear error is one acceptable outcome
        assert "'timestamp'" in str(exc)
    else:  # reading it as zoneinfo does is the other
        assert got == [_utc(2024, 3, 31, 2, 30, tz="Europe/Paris")]


def test_a_naive_string_in_a_dst_gap_is_a_validation_error() -> None:
    msg = (
        r"Column 'timestamp' of the event log has 1 local times that do not exist in "
        r"'Europe/Paris' \(a daylight-saving gap\) \('2024-03-31 02:30:00' at row 1\)"
    )
    with pytest.raises(ValidationError, match=msg):
        _one_time(["2024-01-01 00:00:00", "2024-03-31 02:30:00"], time_zone="Europe/Paris")


def test_unknown_time_zone_is_our_error() -> None:
    with pytest.raises(AttributionError, match="Mars/Olympus"):
        _one_time(["2024-01-01 10:00:00"], time_zone="Mars/Olympus")


# ----------------------------------------------------------------------------------------------
# bad events: one error type, message pinned


def test_error_classes_form_one_hierarchy_under_value_error() -> None:
    for cls in (SchemaError, ValidationError, EmptyInputError, at.ModelError):
        assert issubclass(cls, AttributionError)
        assert issubclass(cls, ValueError)
    assert issubclass(EmptyInputError, ValidationError)
    assert not issubclass(SchemaError, ValidationError)


def test_missing_column_names_it_and_lists_the_found_columns() -> None:
    msg = (
        r"Column 'channel' is missing from the event log; found columns: 'user_id', "
        r"'timestamp', 'event', 'revenue'\. Pass the right name"
    )
    with pytest.raises(SchemaError, match=msg):
        at.read_events(_raw().drop("channel"))


def test_several_missing_columns_are_all_named() -> None:
    with pytest.raises(
        SchemaError, match=r"Columns 'ts', 'kind' are missing .* found columns: 'user_id'"
    ):
        at.read_events(_raw(), time_col="ts", event_col="kind")


def test_missing_column_in_a_file(tmp_path: Path) -> None:
    _raw().drop("event").write_csv(tmp_path / "e.csv")
    with pytest.raises(SchemaError, match=r"Column 'event' is missing .* 'channel', 'revenue'"):
        at.read_events(tmp_path / "e.csv")


def test_missing_flag_column() -> None:
    with pytest.raises(SchemaError, match=r"Column 'converted' is missing"):
        at.read_events(_raw(), conversion_flag_col="converted")


def test_neither_event_nor_flag_column() -> None:
    with pytest.raises(SchemaError, match=r"event_col.*conversion_flag_col"):
        at.read_events(_raw(), event_col=None)


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        (
            "user_id",
            [1.0, 1.0, 1.0, 2.0, 2.0, 3.5],
            r"Column 'user_id' has type Float64 and 1 ids that are not whole numbers",
        ),
        ("user_id", [True] * 6, r"Column 'user_id' has type Boolean"),
        (
            "revenue",
            [True, False, True, False, False, True],
            r"Column 'revenue' has type Boolean; expected a number",
        ),
        (
            "timestamp",
            [True] * 6,
            r"Column 'timestamp' of the event log has type Boolean; expected datetimes, dates",
        ),
        (
            "channel",
            [1, 2, None, 3, None, 1],
            r"Column 'channel' has type Int64; expected channel names",
        ),
        ("event", [0, 0, 1, 0, 1, 0], r"Column 'event' has type Int64; expected event names"),
    ],
)
def test_wrong_types_are_schema_errors(column: str, values: list[object], pattern: str) -> None:
    with pytest.raises(SchemaError, match=pattern):
        at.read_events(_raw().with_columns(pl.Series(column, values)))


@pytest.mark.parametrize("codes", [["01", "02", "01"], ["1.0", "2.5", "1.0"]])
@pytest.mark.parametrize("reader", ["read_events", "build_journeys"])
def test_channels_that_look_like_numbers_name_the_file_and_column(
    tmp_path: Path, codes: list[str], reader: str
) -> None:
    # was: "Column 'channel' has type Int64; expected channel names." (no file named)
    raw = _raw().with_columns(pl.Series("channel", [codes[0], codes[1], None, codes[2], None, "7"]))
    path = tmp_path / "numeric_channels.csv"
    raw.write_csv(path)
    with pytest.raises(SchemaError) as err:
        if reader == "read_events":
            at.read_events(path).collect()
        else:
            at.build_journeys(path)
    message = str(err.value)
    assert f"Column 'channel' of the event log file {str(path)!r} has type" in message
    assert "expected channel names (text)" in message
    assert "schema_overrides={'channel': pl.String}" in message


def test_numeric_channels_name_a_renamed_column_and_the_touch_table_file(tmp_path: Path) -> None:
    sessions = _sessions().drop("is_conversion", "amount")
    path = tmp_path / "sessions.parquet"
    sessions.with_columns(pl.Series("source_medium", [1, 2, 3, 1, 2])).write_parquet(path)
    with pytest.raises(SchemaError) as err:
        at.read_events(
            path,
            user_col="visitor",
            time_col="started",
            channel_col="source_medium",
            revenue_col="amount",
            conversions=_orders(),
            conversion_user_col="customer",
            conversion_time_col="ordered_at",
        )
    message = str(err.value)
    assert f"Column 'source_medium' of the touch table file {str(path)!r} has type Int64" in message
    assert "values are numbers (1, 2, 3)" in message


def test_non_numeric_revenue_in_a_csv(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "user_id,timestamp,channel,event,revenue\n"
        "1,2024-01-01,a,touch,0\n"
        "1,2024-01-02,,conversion,12 EUR\n"
    )
    with pytest.raises(
        ValidationError,
        match=r"Column 'revenue' has 1 values that are not numbers \('12 EUR' at row 1\); "
        r"expected revenue ≥ 0\.",
    ):
        at.read_events(path)


def test_numbers_written_as_text_are_read_as_numbers() -> None:
    text = _raw().with_columns(pl.col("revenue").cast(pl.String))
    assert_frame_equal(at.read_events(text).collect(), at.read_events(_raw()).collect())


def _wide(n: int = 200) -> pl.DataFrame:
    """A valid log of ``n`` rows: touches, with a conversion every tenth row."""
    conv = [i % 10 == 9 for i in range(n)]
    return pl.DataFrame(
        {
            "user_id": [100 + i // 4 for i in range(n)],
            "timestamp": [datetime(2024, 1, 1) + timedelta(hours=i) for i in range(n)],
            "channel": [None if c else "abc"[i % 3] for i, c in enumerate(conv)],
            "event": ["conversion" if c else "touch" for c in conv],
            "revenue": [10.0 if c else 0.0 for c in conv],
        }
    )


def _set(df: pl.DataFrame, column: str, rows: list[int], value: object) -> pl.DataFrame:
    values = df[column].to_list()
    for r in rows:
        values[r] = value
    return df.with_columns(pl.Series(column, values, dtype=df.schema[column]))


BAD_ROWS = [3, 17, 18, 60, 61, 120, 199]  # seven rows, more than the five quoted


def test_the_wide_fixture_is_valid() -> None:
    assert at.read_events(_wide()).collect().height == 200


def test_null_user_ids_give_the_count_and_the_rows() -> None:
    bad = _set(_wide().with_columns(pl.col("user_id").cast(pl.Int64)), "user_id", BAD_ROWS, None)
    msg = (
        r"Column 'user_id' has 7 nulls \(row 3, row 17, row 18, row 60, row 61(, \.\.\.)?\); "
        r"user ids must be non-null\."
    )
    with pytest.raises(ValidationError, match=msg) as info:
        at.read_events(bad)
    assert len(_quoted_rows(str(info.value))) == 5


def test_event_messages_mark_that_more_rows_exist() -> None:
    bad = _set(_wide().with_columns(pl.col("user_id").cast(pl.Int64)), "user_id", BAD_ROWS, None)
    with pytest.raises(ValidationError, match=r"row 61, \.\.\.\)"):
        at.read_events(bad)


def test_null_user_ids_with_the_user_s_column_name() -> None:
    bad = _set(_wide(), "user_id", [5], None).rename({"user_id": "customer"})
    with pytest.raises(ValidationError, match=r"Column 'customer' has 1 nulls \(row 5\)"):
        at.read_events(bad, user_col="customer")


def test_null_timestamps_name_the_users() -> None:
    bad = _set(_wide(), "timestamp", BAD_ROWS, None)
    msg = (
        r"Column 'timestamp' has 7 nulls \(row 3 \(user_id 100\), row 17 \(user_id 104\), "
        r"row 18 \(user_id 104\), row 60 \(user_id 115\), row 61 \(user_id 115\)(, \.\.\.)?\); "
        r"timestamps must be non-null\."
    )
    with pytest.raises(ValidationError, match=msg) as info:
        at.read_events(bad)
    assert len(_quoted_rows(str(info.value))) == 5


def test_unparseable_timestamp_strings() -> None:
    raw = _raw().with_columns(
        user_id=pl.Series(["u1", "u1", "u1", "u2", "u2", "u3"]),
        timestamp=pl.Series(
            ["2024-01-01", "yesterday", "2024-01-02", "2024-13-45", None, "2024-01-03"]
        ),
    )
    msg = (
        r"Column 'timestamp' of the event log has 2 values that are not dates or times "
        r"\('yesterday' at row 1, '2024-13-45' at row 3\); expected ISO-8601 dates or times"
    )
    with pytest.raises(ValidationError, match=msg):
        at.read_events(raw)
    # a null is not an unreadable value: it is refused as a null
    with pytest.raises(ValidationError, match=r"Column 'timestamp' has 1 nulls \(row 4"):
        at.read_events(
            raw.with_columns(
                pl.col("timestamp")
                .replace("yesterday", "2024-01-01")
                .replace("2024-13-45", "2024-01-01")
            )
        )


def test_negative_revenue_gives_value_row_user_and_count() -> None:
    wide = _wide()
    bad = wide.with_columns(
        pl.Series(
            "revenue", [-float(i) if i in BAD_ROWS else r for i, r in enumerate(wide["revenue"])]
        )
    )
    msg = (
        r"Column 'revenue' has 7 negative values \(-3 at row 3 \(user_id 100\), "
        r"-17 at row 17 \(user_id 104\), -18 at row 18 \(user_id 104\), "
        r"-60 at row 60 \(user_id 115\), -61 at row 61 \(user_id 115\)(, \.\.\.)?\); "
        r"revenue must be ≥ 0\."
    )
    with pytest.raises(ValidationError, match=msg) as info:
        at.read_events(bad)
    assert len(_quoted_rows(str(info.value))) == 5


def test_one_negative_revenue_quotes_no_ellipsis() -> None:
    bad = _set(_wide(), "revenue", [9], -2.5).rename({"revenue": "value"})
    with pytest.raises(
        ValidationError,
        match=r"^Column 'value' has 1 negative values \(-2\.5 at row 9 \(user_id 102\)\); revenue",
    ):
        at.read_events(bad, revenue_col="value")


@pytest.mark.parametrize(
    ("value", "shown"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")]
)
def test_nan_and_infinite_revenue(value: float, shown: str) -> None:
    bad = _set(_wide(), "revenue", [19, 29], value)
    msg = (
        rf"Column 'revenue' has 2 values that are NaN or infinite \({shown} at row 19 "
        rf"\(user_id 104\), {shown} at row 29 \(user_id 107\)\); revenue must be a finite number"
    )
    with pytest.raises(ValidationError, match=msg):
        at.read_events(bad)


def test_unknown_event_values_are_named_with_their_counts() -> None:
    values = _wide()["event"].to_list()
    for r in (4, 5, 6):
        values[r] = "purchase"
    values[50] = "click"
    raw = _wide().with_columns(pl.Series("event", values))
    msg = (
        r"Column 'event' has 4 rows with unknown event values \('purchase' ×3 \(first at row 4\), "
        r"'click' ×1 \(first at row 50\)\); expected 'touch', 'conversion' or a CRM stage .*"
        r"touch_events= or conversion_events="
    )
    with pytest.raises(ValidationError, match=msg):
        at.read_events(raw)


def test_many_unknown_event_values_quote_at_most_five() -> None:
    values = _wide()["event"].to_list()
    for i, r in enumerate(BAD_ROWS):
        values[r] = f"odd{i}"
    values[100] = "odd0"
    raw = _wide().with_columns(pl.Series("event", values))
    with pytest.raises(
        ValidationError, match=r"has 8 rows with unknown event values \('odd0' ×2"
    ) as info:
        at.read_events(raw)
    assert len(re.findall(r"'odd\d' ×", str(info.value))) == 5


def test_null_events() -> None:
    bad = _set(_wide(), "event", [2, 7], None)
    msg = (
        r"Column 'event' has 2 nulls \(row 2 \(user_id 100\), row 7 \(user_id 101\)\); "
        r"every row needs an event type\."
    )
    with pytest.raises(ValidationError, match=msg):
        at.read_events(bad)


def test_touch_without_channel() -> None:
    rows = [3, 17, 18, 60, 61, 120, 198, 199]  # 199 is a conversion: no channel needed
    bad = _set(_wide(), "channel", rows, None)
    msg = (
        r"Column 'channel' has 7 nulls on touch rows \(row 3 \(user_id 100\), row 17 "
        r"\(user_id 104\), .*row 61 \(user_id 115\)(, \.\.\.)?\); every touch needs a channel\."
    )
    with pytest.raises(ValidationError, match=msg) as info:
        at.read_events(bad)
    assert len(_quoted_rows(str(info.value))) == 5


def test_a_conversion_without_channel_is_fine() -> None:
    out = at.read_events(_wide()).collect()
    assert out.filter(pl.col("event") == "conversion")["channel"].null_count() == 20


def test_the_true_count_is_reported_beyond_the_quoted_rows() -> None:
    n = 5000
    rows = list(range(7, n, 13))
    bad = _set(_wide(n), "revenue", rows, -1.0)
    with pytest.raises(ValidationError, match=rf"has {len(rows)} negative values") as info:
        at.read_events(bad)
    assert len(_quoted_rows(str(info.value))) == 5


def test_the_same_rules_run_in_build_journeys() -> None:
    bad = _set(_wide(), "revenue", [9, 19], -5.0)
    with pytest.raises(
        ValidationError, match=r"Column 'revenue' has 2 negative values \(-5 at row 9"
    ):
        at.build_journeys(bad)


# ----------------------------------------------------------------------------------------------
# empty input


def test_empty_frame() -> None:
    with pytest.raises(EmptyInputError, match=r"The event log is empty \(0 rows\)"):
        at.read_events(_raw().clear())


def test_empty_parquet_file_and_directory(tmp_path: Path) -> None:
    _raw().clear().write_parquet(tmp_path / "none.parquet")
    with pytest.raises(EmptyInputError, match=r"The event log is empty \(0 rows\)"):
        at.read_events(tmp_path / "none.parquet")
    (tmp_path / "dir").mkdir()
    with pytest.raises(EmptyInputError, match=r"directory '.*dir' has no \.parquet files"):
        at.read_events(tmp_path / "dir")


@pytest.mark.parametrize("name", ["e.csv", "e.parquet", "e.ndjson"])
def test_zero_byte_files(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(
        EmptyInputError, match=rf"The event log file '.*{name}' is empty \(0 bytes\)"
    ):
        at.read_events(tmp_path / name)


def test_csv_with_header_only_and_no_revenue(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user_id,timestamp,channel,event\n")
    with pytest.raises(EmptyInputError, match=r"The event log is empty \(0 rows\)"):
        at.read_events(path)


@pytest.mark.parametrize(
    ("header", "reader"),
    [
        pytest.param(
            "user_id,timestamp,channel,event,revenue\n",
            at.read_events,
            id="events",
        ),
        pytest.param(
            "date,channel,spend\n",
            at.read_spend,
            id="spend",
        ),
        pytest.param(
            "path,total_conversions,total_conversion_value,total_null\n",
            at.read_paths,
            id="paths",
        ),
    ],
)
def test_csv_with_header_only(tmp_path: Path, header: str, reader: object) -> None:
    path = tmp_path / "h.csv"
    path.write_text(header)
    with pytest.raises(EmptyInputError, match=r"empty \(0 rows\)"):
        reader(path)  # type: ignore[operator]


def test_nonexistent_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"The event log file '.*nope\.csv' does not exist"):
        at.read_events(tmp_path / "nope.csv")
    (tmp_path / "e.xlsx").write_bytes(b"PK")
    with pytest.raises(SchemaError, match=r"unknown file type '\.xlsx'"):
        at.read_events(tmp_path / "e.xlsx")
    with pytest.raises(SchemaError, match=r"Cannot read the event log from a list"):
        at.read_events([1, 2, 3])


# ----------------------------------------------------------------------------------------------
# spend


def _spend() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "day": [date(2024, 1, d) for d in range(1, 11)],
            "source": list("abcdeabcde"),
            "cost": [10.0, 0.0, 5, 5, 5, 1, 2, 3, 4, 5],
        }
    )


def test_read_spend_maps_columns() -> None:
    out = at.read_spend(_spend(), date_col="day", channel_col="source", spend_col="cost")
    expected = _spend().rename({"day": "date", "source": "channel", "cost": "spend"})
    assert_frame_equal(out, expected)


def test_read_spend_without_date_column() -> None:
    out = at.read_spend(_spend().drop("day"), channel_col="source", spend_col="cost")
    assert out.columns == ["date", "channel", "spend"]
    assert out["date"].null_count() == 10


def test_read_spend_reads_the_bundled_sample_csv() -> None:
    out = at.read_spend(SAMPLE_SPEND)
    raw = pl.read_csv(SAMPLE_SPEND)
    assert out.schema["date"] == pl.Date
    assert out.height == raw.height
    assert math.isclose(out["spend"].sum(), raw["spend"].sum())
    assert out["date"].min() == date.fromisoformat(raw["date"].min())


def test_read_spend_missing_column() -> None:
    with pytest.raises(
        SchemaError,
        match=r"Column 'spend' is missing from the spend table; "
        r"found columns: 'day', 'source', 'cost'",
    ):
        at.read_spend(_spend(), date_col="day", channel_col="source")


def test_read_spend_negative_spend_count_and_examples() -> None:
    raw = _spend().with_columns(cost=pl.Series([-1.0, 2, -3, -4, -5, 6, -7, -8, -9, 0]))
    msg = (
        r"Column 'cost' has 7 negative values \(-1 at row 0, -3 at row 2, -4 at row 3, "
        r"-5 at row 4, -7 at row 6, \.\.\.\); spend must be a finite number ≥ 0\."
    )
    with pytest.raises(ValidationError, match=msg) as info:
        at.read_spend(raw, date_col="day", channel_col="source", spend_col="cost")
    assert len(_quoted_rows(str(info.value))) == 5


def test_read_spend_null_channel() -> None:
    raw = _spend().with_columns(
        source=pl.Series(["a", None, "c", None, "e", "a", "b", "c", "d", None])
    )
    with pytest.raises(
        ValidationError,
        match=r"Column 'source' has 3 nulls \(row 1, row 3, row 9\); every row needs a channel\.",
    ):
        at.read_spend(raw, date_col="day", channel_col="source", spend_col="cost")


def test_read_spend_nan_and_non_numeric() -> None:
    raw = _spend().with_columns(cost=pl.Series([1.0, math.nan] + [1.0] * 8))
    with pytest.raises(
        ValidationError, match=r"Column 'cost' has 1 null, NaN or infinite values \(nan at row 1\)"
    ):
        at.read_spend(raw, date_col="day", channel_col="source", spend_col="cost")
    text = _spend().with_columns(pl.col("cost").cast(pl.String))
    as_text = at.read_spend(text, date_col="day", channel_col="source", spend_col="cost")
    as_num = at.read_spend(_spend(), date_col="day", channel_col="source", spend_col="cost")
    assert_frame_equal(as_text, as_num)
    junk = text.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("n/a")).otherwise("cost").alias("cost")
    )
    with pytest.raises(
        ValidationError, match=r"Column 'cost' has 1 values that are not numbers \('n/a' at row 2\)"
    ):
        at.read_spend(junk, date_col="day", channel_col="source", spend_col="cost")


def test_read_spend_empty() -> None:
    with pytest.raises(EmptyInputError, match=r"The spend table is empty"):
        at.read_spend(_spend().clear(), date_col="day", channel_col="source", spend_col="cost")


# ----------------------------------------------------------------------------------------------
# path tables


def test_read_paths_merges_duplicates_and_strips_spaces() -> None:
    raw = pl.DataFrame(
        {
            "path": ["a > b", "a>b", "b", " a  >  b "],
            "total_conversions": [1, 2, 3, 0],
            "total_conversion_value": [1.0, 2.0, 3.0, 0.0],
            "total_null": [0, 1, 2, 3],
        }
    )
    out = at.read_paths(raw).to_frame().sort("path")
    assert out.rows() == [("a > b", 3.0, 3.0, 4.0), ("b", 3.0, 3.0, 2.0)]


def test_read_paths_of_the_peer_csv() -> None:
    path = DATA / "channelattribution_paths" / "paths.csv"
    raw = pl.read_csv(path)
    table = at.read_paths(path)
    assert math.isclose(table.total_conversions, raw["total_conversions"].sum())
    assert math.isclose(float(table.nulls.sum()), raw["total_null"].sum())


def test_read_paths_missing_column() -> None:
    raw = pl.DataFrame({"journey": ["a > b"], "total_conversions": [1]})
    with pytest.raises(
        SchemaError,
        match=r"Column 'path' is missing from the path table; "
        r"found columns: 'journey', 'total_conversions'",
    ):
        at.read_paths(raw)


def test_read_paths_empty_paths() -> None:
    raw = pl.DataFrame({"path": ["a", "", "b", "   ", None], "total_conversions": [1, 1, 1, 1, 1]})
    with pytest.raises(
        ValidationError,
        match=r"Column 'path' has 3 null or empty paths \(row 1, row 3, row 4\); every path needs",
    ):
        at.read_paths(raw)


@pytest.mark.parametrize("column", ["total_conversions", "total_conversion_value", "total_null"])
def test_read_paths_negative_counts(column: str) -> None:
    raw = pl.DataFrame(
        {
            "path": [f"c{i}" for i in range(9)],
            "total_conversions": [1.0] * 9,
            "total_conversion_value": [1.0] * 9,
            "total_null": [1.0] * 9,
        }
    ).with_columns(pl.Series(column, [1.0, -1, -2, 1, -3, -4, -5, -6, 1]))
    msg = (
        rf"Column '{column}' has 6 negative or non-finite values \(-1 at row 1, -2 at row 2, "
        r"-3 at row 4, -4 at row 5, -5 at row 6, \.\.\.\); counts and values must be finite"
    )
    with pytest.raises(ValidationError, match=msg):
        at.read_paths(raw)


@pytest.mark.parametrize("path", ["a >  > b", "a > b >", "> a"])
def test_read_paths_empty_channel_name(path: str) -> None:
    raw = pl.DataFrame({"path": ["x > y", path], "total_conversions": [1, 1]})
    with pytest.raises(
        ValidationError,
        match=r"Column 'path' has 1 paths with an empty channel name "
        rf"\('{re.escape(path)}' at row 1\)",
    ):
        at.read_paths(raw)


def test_read_paths_non_numeric_counts() -> None:
    raw = pl.DataFrame({"path": ["a", "b"], "total_conversions": ["1", "one"]})
    with pytest.raises(
        ValidationError,
        match=r"Column 'total_conversions' has 1 values that are not numbers \('one' at row 1\)",
    ):
        at.read_paths(raw)
    ok = at.read_paths(pl.DataFrame({"path": ["a"], "total_conversions": ["2"]}))
    assert ok.total_conversions == 2.0


def test_read_paths_empty() -> None:
    with pytest.raises(EmptyInputError, match=r"The path table is empty"):
        at.read_paths(
            pl.DataFrame(
                {"path": [], "total_conversions": []},
                schema={"path": pl.String, "total_conversions": pl.Int64},
            )
        )


# ----------------------------------------------------------------------------------------------
# atomic writers


def test_atomic_path_leaves_the_target_untouched_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old contents\n")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path
            assert tmp != target
            tmp.write_text("half written")
            raise RuntimeError("boom")
    assert target.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_atomic_path_does_not_create_the_target_on_error(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "new.parquet"
    with pytest.raises(KeyError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"partial")
            raise KeyError("x")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_path_moves_into_place_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old"  # not replaced before the block ends
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_write_frame_round_trips(tmp_path: Path, suffix: str) -> None:
    df = pl.DataFrame({"channel": ["a", "b"], "credit": [0.25, 0.75]})
    target = write_frame(df, tmp_path / f"out{suffix}")
    back = pl.read_parquet(target) if suffix == ".parquet" else pl.read_csv(target)
    assert_frame_equal(back, df)
    assert [p.name for p in tmp_path.iterdir()] == [f"out{suffix}"]


def test_write_frame_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"channel,credit\nold,1.0\n")
    unwritable = pl.DataFrame({"x": pl.Series([object(), object()], dtype=pl.Object)})
    with pytest.raises(Exception):  # noqa: B017 - whatever the writer raises
        write_frame(unwritable, target)
    assert target.read_bytes() == b"channel,credit\nold,1.0\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_write_frame_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"expected a \.parquet or \.csv suffix"):
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "out.xlsx")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# files that cannot be read: the package's ReadError, naming the file, row, line and column

HEADER = "user_id,timestamp,channel,event,revenue\n"


def _file(tmp: Path, name: str, data: bytes | str) -> Path:
    path = tmp / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _good(tmp: Path, name: str) -> Path:
    df = pl.DataFrame(RAW).with_columns(pl.col("revenue").fill_null(0.0))
    path = tmp / name
    {".csv": df.write_csv, ".parquet": df.write_parquet, ".ndjson": df.write_ndjson}[path.suffix](
        path
    )
    return path


def _broken(kind: str, tmp: Path) -> tuple[Path, list[str]]:
    """A broken event log of ``kind`` and what its ReadError must say."""
    if kind == "non-UTF-8 CSV":
        data = HEADER.encode() + b"1,2024-01-01,email,touch,0\n1,2024-01-02,caf\xe9,touch,0\n"
        return _file(tmp, "latin1.csv", data), [
            "'" + str(tmp / "latin1.csv") + "' is not UTF-8 text",
            "byte 0xe9 at line 3 (row 1), column 'channel'",
        ]
    if kind == "UTF-16 CSV":
        return _file(tmp, "wide.csv", (HEADER + "1,2024-01-01,a,touch,0\n").encode("utf-16")), [
            "wide.csv",
            "byte 0xff at line 1",
        ]
    if kind == "ragged CSV":
        data = HEADER + "1,2024-01-01,a,touch,0\n2,2024-01-01,b,touch,0\n2,2024-01-02,,x,1,2\n"
        return _file(tmp, "ragged.csv", data), [
            "ragged.csv",
            "row 2 (line 4) has 6 fields, the header 5",
        ]
    if kind == "ragged TSV":
        data = HEADER.replace(",", "\t") + "1\t2024-01-01\ta\ttouch\t0\t9\n"
        return _file(tmp, "ragged.tsv", data), ["ragged.tsv", "row 0 (line 2) has 6 fields"]
    if kind == "truncated Parquet":
        full = _good(tmp, "full.parquet").read_bytes()
        return _file(tmp, "cut.parquet", full[:-9]), ["cut.parquet", "truncated or damaged"]
    if kind == "fake Parquet":
        return _file(tmp, "fake.parquet", HEADER), ["fake.parquet", "not a Parquet file"]
    if kind == "Parquet folder, types differ":
        folder = tmp / "log"
        folder.mkdir()
        _good(folder, "a.parquet")
        _good(folder, "b.parquet")
        pl.read_parquet(folder / "b.parquet").with_columns(
            pl.col("user_id").cast(pl.String)
        ).write_parquet(folder / "c.parquet")
        return folder, [
            "disagree on the type of column 'user_id'",
            "Int64 in 2 files ('a.parquet', 'b.parquet'); String in 1 file ('c.parquet')",
        ]
    if kind == "Parquet folder, a damaged file":
        folder = tmp / "log"
        folder.mkdir()
        _good(folder, "a.parquet")
        _file(folder, "b.parquet", b"PAR1 not really")
        return folder, ["b.parquet", "truncated or damaged"]
    if kind == "NDJSON":
        lines = _good(tmp, "ok.ndjson").read_text().splitlines()
        lines[1] = lines[1].replace('"user_id"', "user_id")
        return _file(tmp, "bad.ndjson", "\n".join(lines) + "\n"), [
            "bad.ndjson",
            "line 2 (row 1) is not one JSON value",
        ]
    if kind == "text late in a number column":
        # user ids are read as text (any id is valid), so the late text is a revenue
        rows = "".join(f"{i},2024-01-01,a,touch,0\n" for i in range(10_200))
        return _file(tmp, "late.csv", HEADER + rows + "9,2024-01-02,,conversion,x9\n"), [
            "Column 'revenue' of the event log file",
            "holds 'x9' at row 10200",
        ]
    raise AssertionError(kind)


BROKEN = [
    "non-UTF-8 CSV",
    "UTF-16 CSV",
    "ragged CSV",
    "ragged TSV",
    "truncated Parquet",
    "fake Parquet",
    "Parquet folder, types differ",
    "Parquet folder, a damaged file",
    "NDJSON",
    "text late in a number column",
]


@pytest.mark.parametrize("kind", BROKEN)
@pytest.mark.parametrize("reader", ["read_events", "build_journeys", "lazy then journeys"])
def test_a_broken_file_raises_a_read_error_naming_it(
    tmp_path: Path, kind: str, reader: str
) -> None:
    path, needles = _broken(kind, tmp_path)
    with pytest.raises(at.ReadError) as info:
        if reader == "read_events":
            at.read_events(path).collect()
        elif reader == "build_journeys":
            at.build_journeys(path)
        else:  # read without validating, the file is read only by build_journeys
            at.build_journeys(at.read_events(path, validate=False))
    message = str(info.value)
    for needle in needles:
        assert needle in message
    assert isinstance(info.value, AttributionError)


def test_a_read_error_of_a_scan_the_caller_made_names_what_it_knows(tmp_path: Path) -> None:
    path, _ = _broken("non-UTF-8 CSV", tmp_path)
    with pytest.raises(at.ReadError, match=r"^Cannot read the event log: invalid utf-8"):
        at.build_journeys(pl.scan_csv(path))


def test_errors_that_are_not_about_reading_are_not_reworded() -> None:
    from attribution._base.frames import reading

    with pytest.raises(ZeroDivisionError):
        with reading("events.csv", "event log"):
            1 / 0  # noqa: B018
    with pytest.raises(pl.exceptions.ColumnNotFoundError):  # a bug, not the file's fault
        with reading(pl.DataFrame({"a": [1]}), "event log"):
            pl.DataFrame({"a": [1]}).select("b")


@pytest.mark.parametrize(
    ("reader", "data", "needle"),
    [
        (
            lambda p: at.read_spend(p),
            b"date,channel,spend\n2024-01-01,caf\xe9,1\n",
            "column 'channel'",
        ),
        (lambda p: at.read_paths(p), b"path,total_conversions\na > b,1\na,1,2\n", "row 1 (line 3)"),
        (
            lambda p: at.crm.read_crm(p).collect(),
            b"user_id,timestamp,stage\n1,2024-01-01,l\xe9ad\n",
            "column 'stage'",
        ),
    ],
)
def test_every_reader_names_the_broken_file(
    tmp_path: Path, reader: object, data: bytes, needle: str
) -> None:
    path = _file(tmp_path, "table.csv", data)
    with pytest.raises(at.ReadError) as info:
        reader(path)  # type: ignore[operator]
    assert str(path) in str(info.value)
    assert needle in str(info.value)


def test_good_files_of_every_kind_still_read(tmp_path: Path) -> None:
    expected = at.read_events(pl.DataFrame(RAW)).collect()
    for name in ("e.csv", "e.parquet", "e.ndjson"):
        assert_frame_equal(at.read_events(_good(tmp_path, name)).collect(), expected)


# ----------------------------------------------------------------------------------------------
# conversion flags: 0/1, true/false or null (no conversion); anything else refused


def test_null_conversion_flags_mean_no_conversion() -> None:
    nulls = _sessions().with_columns(
        pl.when(pl.col("is_conversion") == 1).then(1).alias("is_conversion")
    )
    assert nulls["is_conversion"].null_count() == 3
    got = at.read_events(nulls, **_FLAG_KW).collect()
    expected = at.read_events(_sessions(), **_FLAG_KW).collect()
    sort = ["user_id", "timestamp", "event"]
    assert_frame_equal(got.sort(sort), expected.sort(sort))
    as_bool = nulls.with_columns(pl.col("is_conversion").cast(pl.Boolean))
    assert_frame_equal(at.read_events(as_bool, **_FLAG_KW).collect().sort(sort), got.sort(sort))


def test_null_flags_from_a_csv_like_ga_totals_transactions(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "ga.csv",
        "visitor,started,source_medium,transactions,amount\n"
        "A,2024-05-01,google / cpc,,\nA,2024-05-02,(direct) / (none),1,40\nB,2024-05-01,seo,,\n",
    )
    kw = {**_FLAG_KW, "conversion_flag_col": "transactions"}
    j = at.build_journeys(path, **kw)
    assert j.n_conversions == 1
    credit = dict(at.attribute(j, "last_touch").channels.select("channel", "revenue").rows())
    assert credit == {"(direct) / (none)": 40.0, "google / cpc": 0.0, "seo": 0.0}


def test_float_flags_of_zero_and_one_are_flags() -> None:
    floats = _sessions().with_columns(pl.col("is_conversion").cast(pl.Float64))
    got = at.read_events(floats, **_FLAG_KW).collect()
    assert int((got["event"] == "conversion").sum()) == 2


@pytest.mark.parametrize(
    ("value", "shown"), [(-1, "-1"), (2, "2"), (0.5, "0.5"), (float("nan"), "nan")]
)
def test_flags_other_than_zero_and_one_are_refused_by_row(value: float, shown: str) -> None:
    bad = _sessions().with_columns(
        pl.when(pl.int_range(pl.len()).is_in([2, 4]))
        .then(pl.lit(value))
        .otherwise(pl.col("is_conversion"))
        .alias("is_conversion")
    )
    with pytest.raises(ValidationError) as info:
        at.read_events(bad, **_FLAG_KW)
    assert str(info.value).startswith(
        f"Column 'is_conversion' has 2 values that are not conversion flags ({shown} at row 2, "
        f"{shown} at row 4); expected 0 or 1, true or false, or null (no conversion)."
    )
    with pytest.raises(ValidationError, match="not conversion flags"):
        at.build_journeys(bad, **_FLAG_KW)


# ----------------------------------------------------------------------------------------------
# revenue belongs on conversion rows


def test_revenue_on_a_touch_row_is_refused_by_row() -> None:
    raw = pl.DataFrame(RAW).with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(9.5).otherwise("revenue").alias("revenue")
    )
    message = (
        r"^Column 'revenue' has 1 non-zero values on touch rows \(9.5 at row 3 \(user_id 2\)\); "
        r"revenue belongs on conversion rows \(0 or null elsewhere\)"
    )
    with pytest.raises(ValidationError, match=message):
        at.read_events(raw)
    with pytest.raises(ValidationError, match=message):
        at.build_journeys(raw)


def test_revenue_of_zero_or_null_on_touch_rows_is_fine() -> None:
    assert at.read_events(pl.DataFrame(RAW)).collect().height == 6  # null and 0.0 on touches


def test_revenue_on_a_row_that_is_not_flagged_is_refused() -> None:
    raw = _sessions().with_columns(pl.lit(5.0).alias("amount"))  # on every session
    with pytest.raises(
        ValidationError,
        match=r"has 3 non-zero values on rows whose flag 'is_conversion' is 0 or null "
        r"\(5 at row 0 \(user_id 'A'\), 5 at row 2 \(user_id 'A'\), 5 at row 4",
    ):
        at.build_journeys(raw, **_FLAG_KW)


# ----------------------------------------------------------------------------------------------
# channel names that could not round-trip: refused, the same way in every input kind


def _with_channel(name: str, row: int = 3) -> pl.DataFrame:
    return pl.DataFrame(RAW).with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(name))
        .otherwise("channel")
        .alias("channel")
    )


@pytest.mark.parametrize(
    ("name", "noun"),
    [
        ("", "empty or blank channel names"),
        ("   ", "empty or blank channel names"),
        ("Paid > Search", "channel names containing '>'"),
        ("a>b", "channel names containing '>'"),
        (" ads", "channel names with spaces around them"),
    ],
)
@pytest.mark.parametrize("kind", ["frame", "lazy", "pandas", "parquet", "ndjson", "csv"])
def test_a_channel_that_cannot_round_trip_is_refused_in_every_input_kind(
    tmp_path: Path, name: str, noun: str, kind: str
) -> None:
    raw = _with_channel(name)
    source: object = {
        "frame": raw,
        "lazy": raw.lazy(),
        "pandas": raw.to_pandas(),
    }.get(kind)
    if source is None:
        source = tmp_path / f"e.{kind}"
        getattr(raw, f"write_{kind}")(source)
    message = f"Column 'channel' has 1 {noun} on touch rows ({name!r} at row 3 (user_id 2))"
    for read in (lambda s: at.read_events(s), lambda s: at.build_journeys(s)):
        with pytest.raises(ValidationError) as info:
            read(source)
        assert str(info.value).startswith(message)


def test_an_empty_channel_on_a_conversion_row_is_fine() -> None:
    raw = pl.DataFrame(RAW).with_columns(pl.col("channel").fill_null(""))
    got = at.attribute(raw, "linear").channels
    assert set(got["channel"]) == {"email", "seo", "ads"}


def test_the_written_paths_read_back_as_the_same_table(tmp_path: Path) -> None:
    """A path table written in the peers' format and read back is the same table."""
    raw = pl.DataFrame(RAW).with_columns(
        pl.col("channel").replace({"email": "E-mail / News", "seo": "Search (organic)"})
    )
    paths = at.build_journeys(raw).to_paths()
    paths.to_frame(peer_names=True).write_csv(tmp_path / "paths.csv")
    back = at.read_paths(tmp_path / "paths.csv")
    assert_frame_equal(back.to_frame(), paths.to_frame())
    assert back.channels == paths.channels


# ----------------------------------------------------------------------------------------------
# figures beyond 64-bit floats


def test_revenue_that_sums_beyond_the_largest_float_is_refused() -> None:
    raw = pl.DataFrame(RAW).with_columns(
        pl.when(pl.col("event") == "conversion").then(1e308).otherwise(0.0).alias("revenue")
    )
    assert math.isinf(raw["revenue"].sum())
    message = r"Column 'revenue' sums to more than the largest 64-bit float"
    with pytest.raises(ValidationError, match=message):
        at.read_events(raw)
    with pytest.raises(ValidationError, match=message):
        at.build_journeys(raw)
    # one such value is a finite total: computed exactly
    one = raw.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(1e308).otherwise(0.0).alias("revenue")
    )
    got = at.attribute(one, "last_touch").channels
    assert got["revenue"].sum() == 1e308
    assert got["share"].is_finite().all()


def test_spend_and_path_values_beyond_the_largest_float_are_refused() -> None:
    spend = pl.DataFrame({"date": ["2024-01-01"] * 2, "channel": ["a", "b"], "spend": [1e308] * 2})
    with pytest.raises(ValidationError, match="Column 'spend' sums to more than"):
        at.read_spend(spend)
    paths = pl.DataFrame(
        {"path": ["a", "b"], "total_conversions": [1, 1], "total_conversion_value": [1e308] * 2}
    )
    with pytest.raises(ValidationError, match="Column 'total_conversion_value' sums to more"):
        at.read_paths(paths)


def test_pandas_object_column_of_mixed_types_is_refused_by_name() -> None:
    frame = pd.DataFrame(
        {
            "user_id": pd.Series(["007", 7, "x"], dtype=object),
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03"],
            "channel": ["a", "b", "c"],
            "event": ["touch", "touch", "touch"],
        }
    )
    with pytest.raises(SchemaError, match=r"Column 'user_id' .*several types.*7 at row 1"):
        at.read_events(frame)
    # the fix the message suggests gives three users, "007" and "7" apart
    frame["user_id"] = frame["user_id"].astype("string")
    assert at.read_events(frame).collect()["user_id"].to_list() == ["007", "7", "x"]


def test_pandas_named_index_is_a_column() -> None:
    frame = pd.DataFrame(
        {
            "user_id": [3, 3],
            "timestamp": ["2024-01-01", "2024-01-02"],
            "channel": ["a", None],
            "event": ["touch", "conversion"],
            "revenue": [None, 4.0],
        }
    ).set_index("user_id")
    out = at.read_events(frame).collect()
    assert out["user_id"].to_list() == [3, 3]
    assert out["revenue"].to_list() == [0.0, 4.0]


# a small log written by hand: user 1 touches email, then buys for 10; user 2 touches seo
_BY_HAND = [
    ("user_id", "timestamp", "channel", "event", "revenue"),
    ("1", "2024-01-01T00:00:00Z", "email", "touch", ""),
    ("1", "2024-01-02T00:00:00Z", "", "conversion", "10.5"),
    ("2", "2024-01-03T00:00:00Z", "seo", "touch", ""),
]
_BY_HAND_ROWS = [
    (1, datetime(2024, 1, 1, tzinfo=UTC), "email", "touch", 0.0),
    (1, datetime(2024, 1, 2, tzinfo=UTC), None, "conversion", 10.5),
    (2, datetime(2024, 1, 3, tzinfo=UTC), "seo", "touch", 0.0),
]


@pytest.mark.parametrize(
    ("sep", "end", "tail"),
    [
        (";", "\n", ""),  # spreadsheets in locales with a decimal comma
        ("|", "\n", ""),
        (",", "\n", "\n\n"),  # trailing empty lines
        (",", "\r\n", "\r\n\r\n"),
        (";", "\r\n", "\r\n"),
    ],
)
def test_csv_separator_and_trailing_empty_lines(
    tmp_path: Path, sep: str, end: str, tail: str
) -> None:
    path = tmp_path / "e.csv"
    path.write_text(end.join(sep.join(r) for r in _BY_HAND) + end + tail, newline="")
    assert at.read_events(path).collect().rows() == _BY_HAND_ROWS


def test_csv_empty_line_between_rows_is_skipped(tmp_path: Path) -> None:
    lines = [",".join(r) for r in _BY_HAND]
    path = tmp_path / "e.csv"
    path.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n")
    assert at.read_events(path).collect().rows() == _BY_HAND_ROWS


@pytest.mark.parametrize(
    ("preamble", "sep"),
    [
        ("sep=;\n", ";"),  # Excel's directive: this file's separator is ;
        ("SEP=|\r\n", "|"),
        ("sep=,\n", ","),
        ("# exported 2024-03-01\n#\n", ","),  # comment lines before the header
        ("sep=;\n# users: all\n", ";"),
    ],
)
def test_csv_lines_before_the_header_are_skipped(tmp_path: Path, preamble: str, sep: str) -> None:
    path = tmp_path / "e.csv"
    path.write_text(preamble + "\n".join(sep.join(r) for r in _BY_HAND) + "\n", newline="")
    assert at.read_events(path).collect().rows() == _BY_HAND_ROWS
    # a '#' after the header is data: an id may start with one
    path.write_text(preamble + "\n".join(sep.join(r) for r in _BY_HAND).replace("\n1", "\n#1"))
    assert at.read_events(path).collect()["user_id"].to_list() == ["#1", "#1", "2"]


def test_csv_header_whose_first_column_is_named_hash_is_the_header(tmp_path: Path) -> None:
    # row-numbered exports name their first column '#': that line is the header, not a comment
    path = tmp_path / "e.csv"
    rows = [("#", *_BY_HAND[0]), *((str(i), *r) for i, r in enumerate(_BY_HAND[1:], 1))]
    path.write_text("# exported, by hand\n" + "\n".join(",".join(r) for r in rows) + "\n")
    assert at.read_events(path).collect().rows() == _BY_HAND_ROWS


def test_csv_lines_of_spaces_are_skipped_like_empty_lines(tmp_path: Path) -> None:
    # an editor's indented blank line was read as a row with a user id of spaces and no time
    lines = [",".join(r) for r in _BY_HAND]
    path = tmp_path / "e.csv"
    path.write_text("\n".join([*lines[:2], "   ", "\t", *lines[2:], " "]) + "\n")
    assert at.read_events(path).collect().rows() == _BY_HAND_ROWS
    spend = tmp_path / "s.csv"
    spend.write_text("date;channel;spend\n2024-01-01;a;10\n  \n2024-01-02;a;5\n")
    assert at.read_spend(spend)["spend"].to_list() == [10.0, 5.0]


def test_read_paths_and_spend_skip_trailing_empty_lines_and_read_semicolons(
    tmp_path: Path,
) -> None:
    paths = tmp_path / "p.csv"
    paths.write_text("path;total_conversions\na > b;2\nb;1\n\n\n")
    assert sorted(at.read_paths(paths).to_frame().select("path", "conversions").rows()) == [
        ("a > b", 2.0),
        ("b", 1.0),
    ]
    spend = tmp_path / "s.csv"
    spend.write_text("date;channel;spend\n2024-01-01;a;10\n\n")
    assert at.read_spend(spend).rows() == [(date(2024, 1, 1), "a", 10.0)]


@pytest.mark.parametrize(
    ("small", "large", "unit"),
    [
        (1_700_000_000, 1_700_000_000_000, "ms"),  # seconds beside milliseconds
        (1_700_000_000_000, 1_700_000_000_000_000, "us"),  # GA4 micros beside millis
        (1_700_000_000, 1_700_000_000_000_000_000, "ns"),
    ],
)
def test_epoch_numbers_of_two_units_in_one_column_are_refused(
    tmp_path: Path, small: int, large: int, unit: str
) -> None:
    # read in the unit of the largest, the smaller value used to land in January 1970
    path = tmp_path / "e.csv"
    path.write_text(
        "user_id,timestamp,channel,event,revenue\n"
        f"1,{large},email,touch,\n1,{small},seo,touch,\n1,{large + 5},,conversion,3\n"
    )
    with pytest.raises(
        ValidationError,
        match=rf"Column 'timestamp' of the event log mixes epoch units: its largest values are "
        rf"in {unit} \(\d+\), but 1 would fall before 1973-03-03 in {unit} \({small} at "
        r"row 1\).*epoch_unit=",
    ):
        at.read_events(path)
    # the unit given reads every value in it, as asked
    out = at.read_events(path, epoch_unit=unit).collect()
    assert out["timestamp"].dt.year().to_list() == [2023, 1970, 2023]


def test_epoch_zero_beside_milliseconds_is_not_a_second_unit() -> None:
    raw = pl.DataFrame(
        {
            "user_id": [1, 1],
            "timestamp": [0, 1_700_000_000_000],
            "channel": ["a", None],
            "event": ["touch", "conversion"],
        }
    )
    got = at.read_events(raw).collect()["timestamp"].to_list()
    assert got == [datetime(1970, 1, 1, tzinfo=UTC), datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)]


def _late_decimal_log(n_touches: int) -> tuple[str, float]:
    """A CSV whose revenue is a whole 0 on the first rows and 12.5 on the last one."""
    rows = [f"{i},2024-01-01T00:00:00Z,email,touch,0" for i in range(n_touches)]
    rows.append(f"{n_touches - 1},2024-01-02T00:00:00Z,,conversion,12.5")
    return "user_id,timestamp,channel,event,revenue\n" + "\n".join(rows) + "\n", 12.5


def test_a_decimal_revenue_after_the_rows_that_type_a_csv_column_is_read(tmp_path: Path) -> None:
    # the column's type is guessed from the first 10,000 rows (all "0"): it used to be refused
    text, value = _late_decimal_log(10_001)
    path = tmp_path / "e.csv"
    path.write_text(text)
    out = at.read_events(path).collect()
    assert out.height == 10_002
    assert out["revenue"].sum() == value
    journeys = at.build_journeys(path)
    assert journeys.frame["revenue"].sum() == value
    lines = text.splitlines()
    ndjson = tmp_path / "e.ndjson"
    keys = lines[0].split(",")
    ndjson.write_text(
        "".join(
            json.dumps(
                {
                    k: (float(v) if "." in v else int(v)) if k == "revenue" else (v or None)
                    for k, v in zip(keys, line.split(","), strict=True)
                }
            )
            + "\n"
            for line in lines[1:]
        )
    )
    assert at.read_events(ndjson).collect()["revenue"].sum() == value


def test_fractional_counts_and_spend_after_the_typed_rows_are_read(tmp_path: Path) -> None:
    # data-driven path exports hold fractional conversions, sorted here after whole ones
    paths = tmp_path / "p.csv"
    rows = [f"c{i},1" for i in range(10_001)] + ["a > b,0.5"]
    paths.write_text("path,total_conversions\n" + "\n".join(rows) + "\n")
    assert at.read_paths(paths).to_frame()["conversions"].sum() == 10_001.5
    spend = tmp_path / "s.csv"
    rows = [f"2024-01-01,c{i},10" for i in range(10_001)] + ["2024-01-02,a,2.5"]
    spend.write_text("date,channel,spend\n" + "\n".join(rows) + "\n")
    assert at.read_spend(spend)["spend"].sum() == 100_012.5


def test_two_csv_tables_whose_ids_read_as_text_and_as_integers_are_matched(
    tmp_path: Path,
) -> None:
    # the touches hold a leading-zero id, so their ids stay text; the orders' ids all read as
    # integers: both were text in the files, and "8" is the same user in both
    touches = tmp_path / "sessions.csv"
    touches.write_text("uid,ts,channel\n007,2024-01-01,a\n8,2024-01-02,b\n")
    orders = tmp_path / "orders.csv"
    orders.write_text("uid,ts,amount\n8,2024-01-05,5\n")
    out = at.read_events(
        touches, user_col="uid", time_col="ts", conversions=orders, revenue_col="amount"
    ).collect()
    assert out.select("user_id", "event", "revenue").rows() == [
        ("007", "touch", 0.0),
        ("8", "touch", 0.0),
        ("8", "conversion", 5.0),
    ]
    credit = at.attribute(at.build_journeys(out), "last_touch").channels
    assert credit.filter(pl.col("conversions") > 0).select("channel", "revenue").rows() == [
        ("b", 5.0)
    ]
    # and the other way round: "008" is not "8"
    orders.write_text("uid,ts,amount\n008,2024-01-05,5\n")
    touches.write_text("uid,ts,channel\n7,2024-01-01,a\n8,2024-01-02,b\n")
    out = at.read_events(
        touches, user_col="uid", time_col="ts", conversions=orders, revenue_col="amount"
    ).collect()
    assert out["user_id"].to_list() == ["7", "8", "008"]


def test_a_missing_column_names_a_header_that_differs_only_in_case_or_spaces(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.csv"
    path.write_text("User_ID,timestamp, channel ,event\n1,2024-01-01,a,touch\n")
    with pytest.raises(
        SchemaError,
        match=r"'User_ID' differs from 'user_id' only in case or spaces\. ' channel ' differs "
        r"from 'channel' only in case or spaces\.",
    ):
        at.read_events(path)


def test_epoch_numbers_written_as_text_are_read_as_epoch_numbers(tmp_path: Path) -> None:
    # BigQuery's JSON writes INT64 as text: "event_timestamp": "1700000000000000"
    path = tmp_path / "events.ndjson"
    rows = [
        {"user_id": "7", "timestamp": "1700000000000000", "channel": "a", "event": "touch"},
        {"user_id": "7", "timestamp": "1700000060000000", "event": "conversion", "revenue": 3},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    # by hand: 1,700,000,000 s after 1970 is 2023-11-14 22:13:20 UTC
    start = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert at.read_events(path).collect()["timestamp"].to_list() == [
        start,
        start + timedelta(minutes=1),
    ]
    frame = pl.DataFrame(
        {
            "user_id": [1, 1],
            "timestamp": [" 1700000000", "1700000060"],
            "channel": ["a", None],
            "event": ["touch", "conversion"],
        }
    )
    assert at.read_events(frame).collect()["timestamp"].to_list() == [
        start,
        start + timedelta(minutes=1),
    ]
    # 14 digits are not an epoch length: text such as 20240101101010 is still refused
    frame = frame.with_columns(pl.lit("20240101101010").alias("timestamp"))
    with pytest.raises(ValidationError, match=r"not dates or times \('20240101101010'"):
        at.read_events(frame)


def test_text_of_another_shape_names_the_time_format_option(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "user_id,timestamp,channel,event,revenue\n"
        "1,1/2/2024 3:04 PM,a,touch,\n1,1/13/2024 3:04 PM,,conversion,5\n"
    )
    with pytest.raises(
        ValidationError,
        match=r"not dates or times .*; for other shapes pass time_format= \(e\.g\. ",
    ):
        at.read_events(path)
    got = at.read_events(path, time_format="%m/%d/%Y %I:%M %p").collect()["timestamp"]
    assert got.to_list() == [
        datetime(2024, 1, 2, 15, 4, tzinfo=UTC),
        datetime(2024, 1, 13, 15, 4, tzinfo=UTC),
    ]


def test_a_campaign_column_of_numeric_ids_is_read_as_text(tmp_path: Path) -> None:
    # ad platforms name campaigns by number; a CSV reader types the column as integers
    path = tmp_path / "utm.csv"
    path.write_text(
        "uid,ts,utm_source,utm_medium,utm_campaign,kind\n"
        "1,2024-01-01,google,cpc,123456789,touch\n"
        "1,2024-01-02,newsletter,email,987,touch\n"
        "1,2024-01-03,,,,conversion\n"
    )
    out = at.read_events(
        path,
        user_col="uid",
        time_col="ts",
        source_col="utm_source",
        medium_col="utm_medium",
        campaign_col="utm_campaign",
        event_col="kind",
        revenue_col=None,
    ).collect()
    assert out.select("channel", "campaign").rows() == [
        ("Paid Search", "123456789"),
        ("Email", "987"),
        ("Direct", None),
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_file_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    # Excel's "Unicode Text" is UTF-16: reading it as latin1, as the advice was, garbles it
    path = tmp_path / "e.csv"
    text = "user_id,timestamp,channel,event\n1,2024-01-01,a,touch\n"
    path.write_bytes(("\ufeff" + text).encode(encoding))
    with pytest.raises(
        AttributionError,
        match=r"'.*e.csv' is UTF-16 text, not UTF-8 \(byte 0xf[ef] at line 1 .*iconv -f utf-16",
    ):
        at.read_events(path)


def test_whole_float_user_ids_are_read_as_the_integers_they_are() -> None:
    # pandas makes an integer column with a missing value float64: 123.0 is the id 123
    frame = pd.DataFrame(
        {
            "user_id": [123, 2**53 - 1, None, 123],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "channel": ["a", "b", "c", None],
            "event": ["touch", "touch", "touch", "conversion"],
        }
    )
    assert frame["user_id"].dtype == "float64"
    ok = frame.drop(index=2)
    out = at.read_events(ok).collect()
    assert out["user_id"].dtype == pl.Int64
    assert out["user_id"].to_list() == [123, 2**53 - 1, 123]
    # the same log with integer ids gives the same events
    assert_frame_equal(out, at.read_events(ok.astype({"user_id": "int64"})).collect())
    # a missing id keeps the rule on null ids
    with pytest.raises(ValidationError, match=r"Column 'user_id' has 1 nulls \(row 2\)"):
        at.read_events(frame)
    # a fraction is no id, and from 2**53 up a float has lost digits: refused by row
    bad = ok.assign(user_id=[123.0, 7.5, float(2**60)])
    with pytest.raises(
        SchemaError,
        match=r"Column 'user_id' has type Float64 and 2 ids that are not whole numbers below "
        r"2\*\*53 \(7\.5 at row 1, 1\.15\d*e\+18 at row 2\); .*astype\('Int64'\)",
    ):
        at.read_events(bad)


def test_a_partitioned_parquet_folder_keeps_its_partition_columns(tmp_path: Path) -> None:
    # Spark and Hive write channel=email/part-0.parquet: the channel is in the folder name;
    # a name=value folder above the one given is not a partition
    root = tmp_path / "run=3" / "events"
    for channel, uid in (("email", 1), ("seo", 2)):
        folder = root / f"channel={channel}"
        folder.mkdir(parents=True)
        pl.DataFrame(
            {"user_id": [uid], "timestamp": ["2024-01-01"], "event": ["touch"]}
        ).write_parquet(folder / "part-0.parquet")
    (root / "_SUCCESS").write_text("")
    out = at.read_events(root).collect().sort("user_id")
    assert out.columns == CANONICAL
    assert out.select("user_id", "channel").rows() == [(1, "email"), (2, "seo")]


def test_user_id_partitions_keep_their_leading_zeros(tmp_path: Path) -> None:
    # user_id=007 and user_id=7 are two users: as integers both would be 7, one journey
    root = tmp_path / "events"
    for uid, channel in (("007", "email"), ("7", "seo")):
        folder = root / f"user_id={uid}"
        folder.mkdir(parents=True)
        pl.DataFrame(
            {"timestamp": ["2024-01-01"], "channel": [channel], "event": ["touch"]}
        ).write_parquet(folder / "part-0.parquet")
    out = at.read_events(root).collect().sort("user_id")
    assert out.select("user_id", "channel").rows() == [("007", "email"), ("7", "seo")]


def test_hidden_and_underscore_files_of_a_parquet_folder_are_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    pl.DataFrame(
        {"user_id": [1], "timestamp": ["2024-01-01"], "channel": ["a"], "event": ["touch"]}
    ).write_parquet(folder / "part-0.parquet")
    (folder / "._part-0.parquet").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "part-1.parquet").write_bytes(b"half written")
    assert at.read_events(folder).collect()["channel"].to_list() == ["a"]


def test_a_header_naming_a_used_column_twice_is_refused(tmp_path: Path) -> None:
    # the reader used to take the first of the two channel columns without a word
    path = tmp_path / "e.csv"
    path.write_text(
        "user_id,timestamp,channel,channel,event,notes,notes\n1,2024-01-01,a,b,touch,x,y\n"
    )
    with pytest.raises(SchemaError, match=r"The header of the event log names 'channel' more"):
        at.read_events(path)
    with pytest.raises(SchemaError, match=r"names 'channel' more than once"):
        at.build_journeys(path)
    # a column named twice that the reader does not use is no matter
    path.write_text("user_id,timestamp,channel,event,notes,notes\n1,2024-01-01,a,touch,x,y\n")
    assert at.read_events(path).collect()["channel"].to_list() == ["a"]


def test_a_json_file_holding_one_array_of_records_is_read(tmp_path: Path) -> None:
    # pandas' to_json(orient="records") and many APIs write one array, not one record a line
    path = tmp_path / "events.json"
    pd.DataFrame(
        {
            "user_id": ["007", "8"],
            "timestamp": ["2024-01-01", "2024-01-02"],
            "channel": ["a", None],
            "event": ["touch", "conversion"],
            "revenue": [None, 3.5],
        }
    ).to_json(path, orient="records")
    assert at.read_events(path).collect().select("user_id", "event", "revenue").rows() == [
        ("007", "touch", 0.0),
        ("8", "conversion", 3.5),
    ]
    path.write_text(" [ ]\n")
    with pytest.raises(EmptyInputError, match=r"is an empty JSON array"):
        at.read_events(path)


def test_ndjson_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    # Windows editors start a UTF-8 file with the bytes EF BB BF; polars refused the first line
    path = tmp_path / "events.ndjson"
    rows = [
        {"user_id": 7, "timestamp": "2024-01-01", "channel": "a", "event": "touch"},
        {"user_id": 7, "timestamp": "2024-01-02", "event": "conversion", "revenue": 3},
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in rows).encode())
    out = at.read_events(path).collect()
    assert out.select("user_id", "channel", "revenue").rows() == [(7, "a", 0.0), (7, None, 3.0)]


def test_ndjson_fields_that_change_type_after_the_first_rows(tmp_path: Path) -> None:
    # 10,001 rows of integer campaign ids and user ids, then text: every field is read as
    # what the whole file holds (the campaign column was guessed from the first 10,000 rows
    # as integers and failed on "spring")
    path = tmp_path / "events.ndjson"
    n = 10_001
    lines = [
        json.dumps(
            {
                "user_id": i,
                "timestamp": "2024-01-01",
                "channel": "a",
                "event": "touch",
                "campaign": i,
            }
        )
        for i in range(n)
    ]
    late = {"user_id": "u-1", "timestamp": "2024-01-02", "channel": "b", "event": "touch"}
    lines.append(json.dumps({**late, "campaign": "spring"}))
    path.write_text("\n".join(lines) + "\n")
    out = at.read_events(path).collect()
    assert out.height == n + 1
    assert out["user_id"].dtype == pl.String
    assert out.tail(2).select("user_id", "campaign").rows() == [
        (str(n - 1), str(n - 1)),
        ("u-1", "spring"),
    ]
    # a field that no column type holds (a value, then a record) is named, with both lines
    lines[-1] = json.dumps({**late, "user_id": {"id": 1}})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        at.ReadError,
        match=rf"Field 'user_id' of the event log file .* is a single value at line 1 \(row 0\) "
        rf"but a record at line {n + 1} \(row {n}\)",
    ):
        at.read_events(path).collect()


def test_csv_decimal_commas_in_a_semicolon_file_are_numbers(tmp_path: Path) -> None:
    # Excel in a decimal-comma locale writes 10,5 in a ;-separated file: by hand, the log of
    # _BY_HAND with its revenue of 10.5 written so
    path = tmp_path / "e.csv"
    lines = [";".join(r) for r in _BY_HAND]
    path.write_text("\n".join(lines).replace("10.5", "10,5") + "\n")
    assert at.read_events(path).collect().rows() == _BY_HAND_ROWS
    spend = tmp_path / "s.csv"
    spend.write_text("date;channel;spend\n2024-01-01;a;1234,25\n2024-01-02;a;0,5\n")
    assert at.read_spend(spend)["spend"].to_list() == [1234.25, 0.5]
    cost = tmp_path / "c.csv"
    cost.write_text(
        "user_id;timestamp;channel;event;cost\n1;2024-01-01;a;touch;0,25\n1;2024-01-02;b;touch;2\n"
    )
    assert at.read_events(cost).collect()["cost"].to_list() == [0.25, 2.0]
    # a thousands separator is not read: refused, naming the value and how to write it
    path.write_text("\n".join(lines).replace("10.5", "1.010,5") + "\n")
    with pytest.raises(
        ValidationError,
        match=r"Column 'revenue' has 1 values that are not numbers \('1\.010,5' at row 1\); "
        r"expected revenue ≥ 0\. Numbers with a decimal comma \('1,5'\) are read .* a thousands "
        r"separator \('1\.234,5'\) is not read",
    ):
        at.read_events(path)


def test_rfc_2822_times_are_read_with_their_time_format() -> None:
    # e-mail and RSS times; by hand: 10:00 at +0100 is 09:00 UTC, 1 March 2024 was a Friday
    frame = pl.DataFrame(
        {
            "user_id": [1, 1],
            "timestamp": ["Fri, 01 Mar 2024 10:00:00 +0000", "Sat, 02 Mar 2024 10:00:00 +0100"],
            "channel": ["a", None],
            "event": ["touch", "conversion"],
        }
    )
    out = at.read_events(frame, time_format="%a, %d %b %Y %H:%M:%S %z").collect()
    assert out["timestamp"].to_list() == [_utc(2024, 3, 1, 10), _utc(2024, 3, 2, 9)]
    # without it, the refusal names the option and this very format
    with pytest.raises(
        ValidationError, match=re.escape("time_format= (e.g.") + ".*%a, %d %b %Y %H:%M:%S %z"
    ):
        at.read_events(frame)


@pytest.mark.parametrize("seed", range(20))
def test_lines_of_spaces_are_found_as_a_line_by_line_search_finds_them(
    tmp_path: Path, seed: int
) -> None:
    import numpy as np

    from attribution._base.frames import _SPACES_LINE, _has_space_lines

    # brute force: split into lines and look at each
    rng = np.random.default_rng(seed)
    pieces = [b"a", b",", b" ", b"\t", b"\n", b"\r\n", b"1"]
    for case in range(50):
        data = b"".join(rng.choice(pieces, size=int(rng.integers(0, 12))))
        path = tmp_path / f"{case}.csv"
        path.write_bytes(data)
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines = lines[:-1]  # the end of the last line, not a line
        want = any(
            line.rstrip(b"\r") != b""
            and line.rstrip(b"\r").strip(b" \t") == b""
            and not line.rstrip(b"\r").startswith(b"\r")
            for line in lines
        )
        assert _has_space_lines(path) == want, data
        assert (re.search(_SPACES_LINE, data) is not None) == want, data  # what re.sub removes
