"""Attribution over many channels: Markov's exact removal solve, data-driven's fit.

Logs of one million generated events whose channels number 100 to 10,000
(``simulate_events(1_000_000, n_channels=k)``, Zipf-like popularity, so every channel is
touched); journeys are built once per log, outside the timing. Real logs reach thousands of
channels when campaigns or source/medium pairs are the channels.

The quick tier (``make bench-quick``) times Markov at 100 channels against
``baseline_quick.json``; ``make bench`` adds 150 to 10,000 channels for Markov and 100, 300
and 2,000 for data-driven (sparse features beyond 64 channels, the logistic link only beyond
200). Targets: Markov order 1 within 10 s at 2,000 channels and 60 s at 10,000; data-driven
within 60 s at 2,000 channels. With timing disabled (``make test``), only 100 channels run, on
a log of 30,000 events, as a smoke test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import attribution as at
from benchmarks.conftest import DATA_DIR

N_EVENTS = 1_000_000
SMOKE = 100  # the only size run when timing is disabled
SMOKE_EVENTS = 30_000  # and on a smaller log


def channel_log(n_channels: int, n_events: int = N_EVENTS, seed: int = 0) -> Path:
    """Parquet file of ``n_events`` simulated events over ``n_channels`` channels (cached)."""
    from attribution.datasets import simulate_events

    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"events_{n_events}_{seed}_ch{n_channels}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        simulate_events(n_events, seed=seed, n_channels=n_channels).write_parquet(tmp)
        tmp.replace(path)
    return path


@pytest.fixture(scope="module")
def journeys_by_channels():
    cache: dict[tuple[int, int], at.Journeys] = {}

    def get(n_channels: int, n_events: int) -> at.Journeys:
        if (n_channels, n_events) not in cache:
            cache.clear()  # one log in memory at a time
            cache[n_channels, n_events] = at.build_journeys(channel_log(n_channels, n_events))
        return cache[n_channels, n_events]

    return get


def _events(benchmark, n_channels: int) -> int:
    """Events of the log to time (skipping large channel counts when timing is disabled)."""
    if not benchmark.disabled:
        return N_EVENTS
    if n_channels != SMOKE:
        pytest.skip("large channel counts run with timing enabled (make bench, bench-quick)")
    return SMOKE_EVENTS


def _sizes(quick: tuple[int, ...], full: tuple[int, ...]) -> list:
    return [pytest.param(k, marks=pytest.mark.quick) for k in quick] + list(full)


@pytest.mark.parametrize("n_channels", _sizes((100,), (150, 300, 600, 1_000, 1_200, 2_000, 10_000)))
def test_markov_over_channels(benchmark, journeys_by_channels, n_channels):
    """Markov order 1: one factorisation of the chain's dense core serves every channel."""
    journeys = journeys_by_channels(n_channels, _events(benchmark, n_channels))
    res = benchmark.pedantic(at.attribute, args=(journeys, "markov"), rounds=3, warmup_rounds=0)
    benchmark.extra_info["n_channels"] = n_channels
    benchmark.extra_info["n_states"] = res.tables["chain"]["n_states"].item()
    assert res.channels["conversions"].sum() == pytest.approx(journeys.n_conversions)


@pytest.mark.parametrize("n_channels", [100, 300, 2_000])
def test_data_driven_over_channels(benchmark, journeys_by_channels, n_channels):
    """Data-driven: sparse features, cross-validated Newton fits (identification included)."""
    journeys = journeys_by_channels(n_channels, _events(benchmark, n_channels))
    with warnings.catch_warnings():  # thousands of rare channels: the log is "small"
        warnings.simplefilter("ignore", at.IdentificationWarning)
        res = benchmark.pedantic(at.attribute, args=(journeys, "data_driven"), rounds=3)
    benchmark.extra_info["n_channels"] = n_channels
    diag = res.tables["diagnostics"]
    benchmark.extra_info["estimators_tried"] = diag["estimators_tried"][0]
    assert diag["sparse_features"][0]
    total = res.channels["conversions"].sum()  # channels, "(no touch)" and "(baseline)"
    assert total == pytest.approx(journeys.n_conversions)
