"""Shapley games on path tables: the generated log's table, and a synthetic 20-channel one.

The issue's target: the exact ``"conversion_rate"`` game (2**20 coalitions) on 20 channels and
about 400k paths in at most 0.5 s. ``make test`` runs each once with timing disabled.
"""

from __future__ import annotations

import numpy as np
import pytest

import attribution as at
from attribution.journeys import Sequences, compress
from benchmarks.conftest import bench_sizes, event_log

GAMES = ["conversion_rate", "simplified", "conversions"]


@pytest.fixture(scope="module")
def big_path_table() -> at.PathTable:
    """The path table of the largest configured log."""
    return at.build_journeys(event_log(max(bench_sizes()))).to_paths()


@pytest.fixture(scope="module")
def paths_20_channels() -> at.PathTable:
    """About 400k unique paths over 20 channels, seeded: 2-12 touches, uneven channel
    popularity, a conversion probability rising with the channels' lifts."""
    rng = np.random.default_rng(20)
    n, k = 500_000, 20
    lengths = rng.integers(2, 13, n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    codes = rng.choice(k, size=int(indptr[-1]), p=rng.dirichlet(np.full(k, 5.0)))
    lift = rng.uniform(0.005, 0.05, k)
    p = np.minimum(np.add.reduceat(lift[codes], indptr[:-1]), 0.9)
    trials = rng.integers(1, 20, n)
    conversions = rng.binomial(trials, p).astype(np.float64)
    value = conversions * rng.gamma(2.0, 30.0, n)
    seq = Sequences(
        tuple(f"ch{i:02d}" for i in range(k)),
        indptr,
        codes.astype(np.int32),
        conversions,
        value,
        trials - conversions,
    )
    return compress(seq)


@pytest.mark.quick
@pytest.mark.parametrize("game", GAMES)
def test_shapley_on_path_table(benchmark, big_path_table, game):
    res = benchmark.pedantic(
        at.attribute, args=(big_path_table, "shapley"), kwargs={"game": game}, rounds=5
    )
    benchmark.extra_info["n_paths"] = big_path_table.n_paths
    assert res.channels["conversions"].sum() == pytest.approx(big_path_table.total_conversions)


def test_shapley_conversion_rate_20_channels(benchmark, paths_20_channels):
    pt = paths_20_channels
    res = benchmark.pedantic(at.attribute, args=(pt, "shapley"), rounds=5, warmup_rounds=1)
    benchmark.extra_info["n_paths"] = pt.n_paths
    assert len(pt.channels) == 20 and pt.n_paths > 350_000
    assert res.channels["conversions"].sum() == pytest.approx(pt.total_conversions)
    assert res.tables["shapley_values"]["n_channels"].max() >= 12
