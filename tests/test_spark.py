"""Spark local mode against the Polars path: same path tables, same credit (issue 6.2).

Skipped when pyspark (the ``spark`` extra) or Java is missing; CI installs both. One Spark
session (``local[2]``, two shuffle partitions) is shared by every test here.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution._base.errors import SchemaError, ValidationError
from tests.conftest import DATA, SNOWPLOW, random_events, snowplow_journeys

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # pragma: no cover - CI has Java 17
    pytest.skip("Spark needs Java on PATH", allow_module_level=True)

from attribution.spark import attribute_spark, build_paths_spark

OPTIONS = [
    {},
    {"lookback_days": 30, "collapse_repeats": True, "max_touches": 3},
    {"non_converting": "never_converted", "lookback_days": 10},
    {"non_converting": "drop", "lookback_days": 7, "collapse_repeats": True},
]


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("attribution-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # small data: compiling generated code costs more than it saves
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.driver.memory", "1g")
    )
    with warnings.catch_warnings():
        # pyspark 4.x warns on import that it "does not yet fully support pandas >= 3"
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
        session = builder.getOrCreate()
        import pyspark.testing  # noqa: F401  (imported by pyspark's error handling later)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def to_spark(spark, df: pl.DataFrame):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
        return spark.createDataFrame(df.to_arrow())


def assert_same_table(got: at.PathTable, want: at.PathTable) -> None:
    assert got.channels == want.channels
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.codes, want.codes)
    np.testing.assert_array_equal(got.conversions, want.conversions)
    np.testing.assert_array_equal(got.nulls, want.nulls)
    np.testing.assert_allclose(got.value, want.value, rtol=1e-12, atol=1e-9)


def assert_same_credit(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a["channel"].to_list() == b["channel"].to_list()
    for col in ("conversions", "revenue", "share"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def sample():
    return at.datasets.load_sample()


@pytest.mark.parametrize("options", OPTIONS[:3], ids=lambda o: ",".join(o) or "defaults")
def test_sample_log_path_table_equals_polars(spark, sample, options):
    got = build_paths_spark(to_spark(spark, sample), **options)
    assert_same_table(got, at.build_journeys(sample, **options).to_paths())


def test_every_model_gives_the_polars_credit_on_the_spark_path_table(spark, sample):
    sdf = to_spark(spark, sample)
    table = build_paths_spark(sdf, lookback_days=30)
    journeys = at.build_journeys(sample, lookback_days=30)
    for name, spec in at.MODELS.items():
        if spec.needs_times:
            continue
        assert_same_credit(
            at.attribute(table, name).channels, at.attribute(journeys, name).channels
        )
    # time decay by days is summed on the cluster
    got = attribute_spark(sdf, "time_decay", lookback_days=30, half_life_days=3.0)
    assert_same_credit(
        got.channels, at.attribute(journeys, "time_decay", half_life_days=3.0).channels
    )
    # ... also through the plain entry point, with journey options
    got = at.attribute(sdf, "time_decay", lookback_days=30, half_life_days=3.0)
    assert_same_credit(
        got.channels, at.attribute(journeys, "time_decay", half_life_days=3.0).channels
    )
    # the plain entry point accepts the Spark frame (default journey options)
    assert_same_credit(
        at.attribute(sdf, "markov", order=2).channels,
        at.attribute(at.build_journeys(sample), "markov", order=2).channels,
    )


def test_ties_at_the_same_instant_follow_the_polars_rules(spark, rng):
    # whole hours: touches and conversions of one user often share a timestamp
    ev = random_events(rng, 600, n_users=25, channels="abcde", p_conv=0.2)
    for options in OPTIONS:
        got = build_paths_spark(to_spark(spark, ev), **options)
        assert_same_table(got, at.build_journeys(ev, **options).to_paths())


def test_dp6_flag_column_and_naive_string_times(spark):
    raw = pl.read_csv(DATA / "dp6_sessions" / "test_dataset_multiple_conversions.csv")
    kw = dict(
        user_col="user_pseudo_id",
        time_col="event_time",
        channel_col="source_medium",
        conversion_flag_col="is_conversion_purchase",
        revenue_col=None,
        time_zone="America/Sao_Paulo",
    )
    want = at.build_journeys(raw, lookback_days=184, **kw)
    assert want.n_conversions == 5
    # the lookback compares instants built from naive strings in time_zone
    got = build_paths_spark(to_spark(spark, raw), lookback_days=184, **kw)
    assert_same_table(got, want.to_paths())


def test_iso_strings_with_a_zone_suffix(spark):
    # the bundled CSV as text: '2024-01-29T16:25:17Z' is parsed by Spark, not by Polars
    raw = pl.read_csv(at.datasets.sample_path(), infer_schema=False)
    raw = raw.with_columns(pl.col("user_id").cast(pl.Int64), pl.col("revenue").cast(pl.Float64))
    assert raw.schema["timestamp"] == pl.String
    got = build_paths_spark(to_spark(spark, raw), lookback_days=14)
    assert_same_table(got, at.build_journeys(raw, lookback_days=14).to_paths())


def test_snowplow_sessions_and_conversions(spark):
    events = at.read_events(
        SNOWPLOW / "sessions.csv",
        user_col="customer_id",
        time_col="visit_start_tstamp",
        conversions=SNOWPLOW / "conversions.csv",
        conversion_time_col="conversion_tstamp",
    ).collect()
    sdf = to_spark(spark, events.select("user_id", "timestamp", "channel", "event", "revenue"))
    got = build_paths_spark(sdf, lookback_days=30, non_converting="never_converted")
    assert_same_table(got, snowplow_journeys().to_paths())


@pytest.mark.slow
def test_simulated_million_events(spark, tmp_path):
    ev = at.datasets.simulate_events(1_000_000, seed=11)
    path = tmp_path / "events.parquet"
    ev.write_parquet(path)
    sdf = spark.read.parquet(str(path))
    table = build_paths_spark(sdf, lookback_days=30)
    journeys = at.build_journeys(ev, lookback_days=30)
    assert_same_table(table, journeys.to_paths())
    for name in ("markov", "linear", "shapley"):
        assert_same_credit(
            at.attribute(table, name).channels, at.attribute(journeys, name).channels
        )


def test_bad_input_names_the_column_and_count(spark, sample):
    bad = sample.head(50).with_columns(
        pl.when(pl.int_range(pl.len()).is_in([3, 8]))
        .then(None)
        .otherwise("user_id")
        .alias("user_id")
    )
    with pytest.raises(ValidationError, match=r"Column 'user_id' has 2 nulls"):
        build_paths_spark(to_spark(spark, bad))
    neg = sample.with_columns(
        pl.when(pl.col("event") == "conversion").then(-1.0).otherwise(0.0).alias("revenue")
    )
    n_neg = int((neg["revenue"] < 0).sum())
    with pytest.raises(ValidationError, match=rf"Column 'revenue' has {n_neg} negative"):
        build_paths_spark(to_spark(spark, neg))
    with pytest.raises(SchemaError, match=r"Column 'when' is missing"):
        build_paths_spark(to_spark(spark, sample.head(5)), time_col="when")
    with pytest.raises(ValidationError, match=r"lookback_days must be a finite number > 0"):
        build_paths_spark(to_spark(spark, sample.head(5)), lookback_days=0)


def test_the_contract_rules_of_the_polars_readers(spark, sample):
    """Flags, revenue on touches and channel names are read as read_events reads them."""
    first_touch = int(sample.with_row_index().filter(pl.col("event") == "touch")["index"][0])
    for channel, needle in [("", "could not be read back"), ("Paid > Search", "'Paid > Search'")]:
        bad = sample.with_columns(
            pl.when(pl.int_range(pl.len()) == first_touch)
            .then(pl.lit(channel))
            .otherwise("channel")
            .alias("channel")
        )
        with pytest.raises(ValidationError, match=needle):
            build_paths_spark(to_spark(spark, bad))
        with pytest.raises(ValidationError):
            at.build_journeys(bad)
    on_touch = sample.with_columns(pl.lit(1.0).alias("revenue"))
    with pytest.raises(ValidationError, match=r"non-zero values on touch rows"):
        build_paths_spark(to_spark(spark, on_touch))
    huge = sample.with_columns(
        pl.when(pl.col("event") == "conversion").then(1e308).otherwise(0.0).alias("revenue")
    )
    with pytest.raises(ValidationError, match=r"sums to more than the largest 64-bit float"):
        build_paths_spark(to_spark(spark, huge))
    sessions = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 2],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"],
            "channel": ["a", "b", "a", "c"],
            "flag": [None, 1, None, None],
            "revenue": [None, 5.0, None, None],
        }
    )
    kw = {"conversion_flag_col": "flag"}
    assert_same_table(
        build_paths_spark(to_spark(spark, sessions), **kw),
        at.build_journeys(sessions, **kw).to_paths(),
    )
    minus = sessions.with_columns(pl.Series("flag", [0, 1, -1, 0]))
    with pytest.raises(ValidationError, match=r"not conversion flags \(-1\)"):
        build_paths_spark(to_spark(spark, minus), **kw)


def test_empty_text_ids_are_refused_as_in_polars(spark):
    """A missing id written as '' was one user on the Spark path (the Polars path refuses it)."""
    log = pl.DataFrame(
        {
            "user_id": ["", "d1", "", "d1"],
            "timestamp": [f"2024-03-01 10:0{i}:00" for i in range(4)],
            "channel": ["a", "b", None, None],
            "event": ["touch", "touch", "conversion", "conversion"],
            "revenue": [0.0, 0.0, 1.0, 2.0],
        }
    )
    with pytest.raises(ValidationError, match=r"Column 'user_id' has 2 empty ids"):
        at.build_journeys(log)
    with pytest.raises(
        ValidationError,
        match=r"Column 'user_id' has 2 empty ids \(user_id '', ''\); user ids must be non-empty",
    ):
        build_paths_spark(to_spark(spark, log))
