"""read -> journeys -> every heuristic, on unsorted generated logs; path-table kernels.

Run the full suite with ``make bench`` (sizes 1e5, 1e6, 1e7); ``make test`` runs it once at
1e5 with timing disabled, as a smoke test.
"""

from __future__ import annotations

import numpy as np
import pytest

import attribution as at
from benchmarks.baselines import window_journeys, window_linear
from benchmarks.conftest import event_log

#: the rule-based models: their per-row shares do not depend on counts
HEURISTICS = [name for name, spec in at.MODELS.items() if spec.counts_linear]


def _rounds(n_events: int) -> int:
    return 3 if n_events >= 5_000_000 else 5


@pytest.mark.quick
def test_events_to_all_heuristics(benchmark, n_events):
    """Parquet (unsorted) -> journeys -> the six heuristics: the headline figure."""
    path = event_log(n_events)

    def run():
        j = at.build_journeys(path)
        return j, [at.attribute(j, m).channels for m in HEURISTICS]

    j, results = benchmark.pedantic(run, rounds=_rounds(n_events), iterations=1)
    for res in results:
        assert res["conversions"].sum() == pytest.approx(j.n_conversions)


@pytest.mark.quick
def test_build_journeys(benchmark, n_events):
    path = event_log(n_events)
    j = benchmark.pedantic(at.build_journeys, args=(path,), rounds=_rounds(n_events))
    assert j.n_touches > 0


def test_polars_window_baseline(benchmark, n_events):
    """The straightforward Polars version (baseline for ratios); checked equal to ours."""
    path = event_log(n_events)

    def run():
        return window_linear(window_journeys(path))

    base = benchmark.pedantic(run, rounds=_rounds(n_events), iterations=1)
    ours = at.attribute(at.build_journeys(path), "linear").channels
    ours = ours.filter(ours["channel"] != at.NO_TOUCH).sort("channel")
    np.testing.assert_allclose(base["conversions"], ours["conversions"], rtol=1e-9)


@pytest.fixture(scope="module")
def big_path_table() -> at.PathTable:
    """The path table of the largest configured log (about 400k paths at 1e7 events)."""
    from benchmarks.conftest import bench_sizes

    return at.build_journeys(event_log(max(bench_sizes()))).to_paths()


@pytest.mark.quick
def test_compress_to_paths(benchmark, n_events):
    j = at.build_journeys(event_log(n_events))
    pt = benchmark.pedantic(j.to_paths, rounds=_rounds(n_events))
    assert pt.total_conversions == j.n_conversions


@pytest.mark.quick
def test_all_heuristics_on_path_table(benchmark, big_path_table):
    """Six heuristics on the path table (time decay by steps, as paths carry no times)."""

    def run():
        return at.attribute_all(big_path_table, models=HEURISTICS, half_life_steps=2.0)

    table = benchmark.pedantic(run, rounds=10, warmup_rounds=1)
    benchmark.extra_info["n_paths"] = big_path_table.n_paths
    assert table["model"].n_unique() == 6


@pytest.mark.quick
@pytest.mark.parametrize("order", [1, 3])
def test_markov_exact_on_path_table(benchmark, big_path_table, order):
    """Exact removal effects (sparse LU) on the path table of the largest log."""
    res = benchmark.pedantic(
        at.attribute, args=(big_path_table, "markov"), kwargs={"order": order}, rounds=5
    )
    benchmark.extra_info["n_paths"] = big_path_table.n_paths
    benchmark.extra_info["n_states"] = res.tables["chain"]["n_states"].item()
    assert res.channels["conversions"].sum() == pytest.approx(big_path_table.total_conversions)


@pytest.mark.parametrize("model", ["markov", "linear"])
def test_bootstrap_replicates(benchmark, big_path_table, model):
    """Bootstrap replicates (exact multinomial resampling of journeys) on the path table."""
    from benchmarks.conftest import bench_sizes

    n_boot = 1000 if max(bench_sizes()) >= 1_000_000 else 50
    res = benchmark.pedantic(
        at.bootstrap,
        args=(big_path_table, model),
        kwargs={"n_boot": n_boot, "seed": 0},
        rounds=1,
    )
    benchmark.extra_info["n_boot"] = n_boot
    assert res.channels["conversions_hi"].is_not_null().all()
