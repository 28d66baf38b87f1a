"""Real log shapes: microsecond times, GA4-style text ids, Enum channels, ISO text times.

Each shape (see :mod:`benchmarks.shapes`) runs Parquet → journeys → the six heuristics, and the
straightforward Polars window version runs on the same file in the same session, so the two
can be compared whatever the machine's load. Both give the same linear credit (checked
outside the timing). ``python -m benchmarks.shapes`` times the same workloads in fresh
processes with peak memory.
"""

from __future__ import annotations

import numpy as np
import pytest

import attribution as at
from benchmarks.baselines import window_journeys, window_linear
from benchmarks.shapes import shaped_log

HEURISTICS = [name for name, spec in at.MODELS.items() if spec.counts_linear]
SHAPES = ["us_int", "ga4_string", "enum_channel", "iso_text"]


def _rounds(n_events: int) -> int:
    return 3 if n_events >= 5_000_000 else 5


@pytest.mark.quick
@pytest.mark.parametrize("shape", SHAPES)
def test_shape_to_all_heuristics(benchmark, n_events, shape):
    path = shaped_log(n_events, shape)

    def run():
        j = at.build_journeys(path)
        return j, [at.attribute(j, m).channels for m in HEURISTICS]

    j, results = benchmark.pedantic(run, rounds=_rounds(n_events), iterations=1)
    benchmark.extra_info["n_journeys"] = j.n_journeys
    for res in results:
        assert res["conversions"].sum() == pytest.approx(j.n_conversions)


@pytest.mark.quick
@pytest.mark.parametrize("shape", SHAPES)
def test_shape_polars_window(benchmark, n_events, shape):
    """The straightforward Polars version on the same file; its linear credit equals ours."""
    path = shaped_log(n_events, shape)
    base = benchmark.pedantic(
        lambda: window_linear(window_journeys(path)), rounds=min(3, _rounds(n_events))
    )
    ours = at.attribute(at.build_journeys(path), "linear").channels
    ours = ours.filter(ours["channel"] != at.NO_TOUCH).sort("channel")
    assert base["channel"].cast(str).to_list() == ours["channel"].to_list()
    np.testing.assert_allclose(base["conversions"], ours["conversions"], rtol=1e-9)
