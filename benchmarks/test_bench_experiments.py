"""Experiments: data-driven attribution with its identification checks and with lift tests.

Each benchmark runs one round on the benchmark log (``BENCH_SIZES=3.8e6`` is about 1M
journeys), beside ``diagnose=False``, the fit the checks are added to: compare within one run
(the machine is shared). The lift tests are two channels' removal effects, scaled.
"""

from __future__ import annotations

import polars as pl
import pytest

import attribution as at


def _tests(journeys: at.Journeys) -> pl.DataFrame:
    res = at.attribute(journeys, "data_driven", diagnose=False)
    eff = res.tables["effects"].sort("removal_conversions", descending=True).head(2)
    est = eff["removal_conversions"] * pl.Series([0.5, 1.1])
    return pl.DataFrame({"channel": eff["channel"], "incremental_conversions": est}).with_columns(
        lower=pl.col("incremental_conversions") * 0.9, upper=pl.col("incremental_conversions") * 1.1
    )


@pytest.mark.parametrize("variant", ["no_checks", "checks", "lift_tests"])
def test_data_driven_checks_and_lift_tests(benchmark, journeys_by_size, n_events, variant):
    journeys = journeys_by_size(n_events)
    kw: dict = {"no_checks": {"diagnose": False}, "checks": {}}.get(variant, {})
    if variant == "lift_tests":
        kw = {"lift_tests": _tests(journeys)}
    res = benchmark.pedantic(at.attribute, args=(journeys, "data_driven"), kwargs=kw, rounds=1)
    benchmark.extra_info["n_journeys"] = journeys.n_journeys
    assert res.channels["conversions"].sum() == pytest.approx(journeys.n_conversions)


def test_plan_experiments(benchmark, journeys_by_size, n_events):
    journeys = journeys_by_size(n_events)
    plan = benchmark.pedantic(at.plan_experiments, args=(journeys,), rounds=1)
    assert plan["rank"].to_list() == list(range(1, plan.height + 1))
