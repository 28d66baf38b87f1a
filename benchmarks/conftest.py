"""Benchmark fixtures: event logs generated once per machine, never committed.

Sizes come from ``BENCH_SIZES`` (comma-separated, e.g. ``1e5,1e6,1e7``; default ``1e5`` so
that a plain ``pytest benchmarks`` is a quick smoke run). Files are cached under
``benchmarks/.data/`` (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parent / ".data"


def bench_sizes() -> list[int]:
    raw = os.environ.get("BENCH_SIZES", "1e5")
    return [int(float(x)) for x in raw.split(",") if x.strip()]


def event_log(n_events: int, seed: int = 0) -> Path:
    """Parquet file of about ``n_events`` unsorted simulated events (generated once)."""
    from attribution.datasets import simulate_events

    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"events_{n_events}_{seed}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        simulate_events(n_events, seed=seed).write_parquet(tmp)
        tmp.replace(path)
    return path


@pytest.fixture(scope="module")
def journeys_by_size():
    """``get(n_events)``: journeys (30-day lookback) of :func:`event_log`, built once per module."""
    import attribution as at

    cache: dict[int, at.Journeys] = {}

    def get(n_events: int) -> at.Journeys:
        if n_events not in cache:
            cache[n_events] = at.build_journeys(event_log(n_events), lookback_days=30)
        return cache[n_events]

    return get


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "n_events" in metafunc.fixturenames:
        sizes = bench_sizes()
        metafunc.parametrize("n_events", sizes, ids=[f"{n:.0e}" for n in sizes])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "quick: the CI benchmark tier compared with baseline_quick.json (guard.py)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Time the guard's reference workload first and last (see guard.py)."""
    first = [i for i in items if i.name == "test_reference_workload[start]"]
    last = [i for i in items if i.name == "test_reference_workload[end]"]
    rest = [i for i in items if i not in first and i not in last]
    items[:] = first + rest + last
