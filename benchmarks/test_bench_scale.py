"""Every registered model on a path table, bucketed journeys, and Spark (when installed).

The quick tier (``make bench-quick``, sizes 1e5 and 1e6) runs the ``quick``-marked
benchmarks and compares them with ``baseline_quick.json`` through ``guard.py``.
"""

from __future__ import annotations

import pytest

import attribution as at
from attribution.bucketed import build_paths_bucketed
from benchmarks.conftest import bench_sizes, event_log

#: parameters that let models needing touch times run on a path table
PATH_PARAMS = {"time_decay": {"half_life_steps": 2.0}}


@pytest.fixture(scope="module")
def path_table() -> at.PathTable:
    """Path table of the largest configured log (about 79k paths at 1e6 events)."""
    return at.build_journeys(event_log(max(bench_sizes()))).to_paths()


@pytest.mark.quick
@pytest.mark.parametrize("model", sorted(at.MODELS))
def test_each_model_on_path_table(benchmark, path_table, model):
    params = PATH_PARAMS.get(model, {})
    res = benchmark.pedantic(
        at.attribute, args=(path_table, model), kwargs=params, rounds=3, warmup_rounds=1
    )
    benchmark.extra_info["n_paths"] = path_table.n_paths
    # data-driven credit leaves a baseline share uncredited; the others credit everything
    credited = res.channels["conversions"].sum()
    assert 0 < credited <= path_table.total_conversions * (1 + 1e-9)


@pytest.mark.quick
def test_bucketed_paths(benchmark, n_events):
    """Four user buckets, each a filtered scan of the Parquet file; equal to in memory."""
    path = event_log(n_events)
    pt = benchmark.pedantic(build_paths_bucketed, args=(path,), kwargs={"n_buckets": 4}, rounds=3)
    assert pt.n_paths == at.build_journeys(path).to_paths().n_paths


def test_spark_paths(benchmark, n_events):
    """Paths built by Spark in local mode (``local[2]``), collected to a PathTable."""
    pytest.importorskip("pyspark")
    if benchmark.disabled:
        pytest.skip("starting Spark takes ~10 s: run with --benchmark-enable (make bench)")
    from pyspark.sql import SparkSession

    from attribution.spark import build_paths_spark

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    sdf = spark.read.parquet(str(event_log(n_events)))
    pt = benchmark.pedantic(build_paths_spark, args=(sdf,), rounds=1, warmup_rounds=1)
    assert pt.total_conversions == at.build_journeys(event_log(n_events)).n_conversions
