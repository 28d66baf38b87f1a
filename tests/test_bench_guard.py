"""The CI benchmark guard fails on a deliberate slowdown and passes once it is removed.

The timing source is fake and deterministic: it counts the Python lines executed (via
``sys.settrace``), a stand-in for instruction counts. A NumPy kernel executes a handful of
lines whatever the data size; the same kernel with a Python loop put back executes one line
per element or more, exactly the regression the guard exists to catch.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from benchmarks import guard


class LineClock:
    """A timer whose time is the number of Python lines executed while it runs."""

    def __init__(self) -> None:
        self.lines = 0
        sys.settrace(self._global)

    def _global(self, frame, event, arg):
        return self._local

    def _local(self, frame, event, arg):
        if event == "line":
            self.lines += 1
        return self._local

    def __call__(self) -> float:
        return float(self.lines)

    def stop(self) -> None:
        sys.settrace(None)


@pytest.fixture
def clock():
    c = LineClock()
    yield c
    c.stop()


VALUES = np.random.default_rng(6).random(2_000)
CODES = np.random.default_rng(7).integers(0, 8, 2_000)


def reference() -> None:
    # a fixed amount of interpreted work, the same in every run
    total = 0
    for i in range(200):
        total += i


def channel_sums_vectorised() -> np.ndarray:
    return np.bincount(CODES, weights=VALUES, minlength=8)


def channel_sums_with_a_python_loop() -> np.ndarray:
    out = np.zeros(8)
    for code, value in zip(CODES, VALUES, strict=True):
        out[code] += value
    return out


def run(clock, kernel) -> dict[str, float]:
    workloads = {"reference": reference, "kernel": kernel, "other": lambda: np.sort(VALUES)}
    medians = guard.median_times(workloads, rounds=3, timer=clock)
    ref = medians.pop("reference")
    return guard.ratios(medians, ref)


def test_the_two_kernels_agree():
    # the slow kernel really is the same computation, only slower
    np.testing.assert_allclose(channel_sums_with_a_python_loop(), channel_sums_vectorised())


def test_a_python_loop_in_a_kernel_fails_and_removing_it_passes(clock):
    baseline = run(clock, channel_sums_vectorised)
    assert baseline["kernel"] > 0

    slowed = guard.check(run(clock, channel_sums_with_a_python_loop), baseline)
    assert [(r.name, r.status) for r in guard.failed(slowed)] == [("kernel", "REGRESSED")]
    assert slowed[0].change is not None and slowed[0].change > 100
    assert "REGRESSED" in guard.format_table(slowed)

    fixed = guard.check(run(clock, channel_sums_vectorised), baseline)
    assert guard.failed(fixed) == []
    assert {r.status for r in fixed} == {"ok"}


def test_the_same_slowdown_of_the_whole_machine_passes():
    # a busier machine slows the reference and the benchmarks alike: ratios do not move
    base = guard.ratios({"a": 2.0, "b": 0.5}, reference=1.0)
    busy = guard.ratios({"a": 6.0, "b": 1.5}, reference=3.0)
    assert guard.failed(guard.check(busy, base)) == []
    # while the same busy machine with one benchmark four times slower fails that one
    worse = guard.ratios({"a": 6.0, "b": 6.0}, reference=3.0)
    assert [r.name for r in guard.failed(guard.check(worse, base))] == ["b"]


@pytest.mark.parametrize(
    ("base", "current", "status"),
    [
        (1.0, 1.9, "ok"),  # within the 2x margin
        (1.0, 2.1, "REGRESSED"),
        (0.01, 0.05, "ok"),  # 5x, but worth less than MIN_DELTA reference units: jitter
        (1.0, 0.4, "faster"),
    ],
)
def test_margin_and_minimum_delta(base, current, status):
    (row,) = guard.check({"x": current}, {"x": base}, margin=2.0, min_delta=0.2)
    assert row.status == status


def test_new_and_missing_benchmarks_do_not_fail():
    rows = guard.check({"new": 1.0}, {"gone": 1.0})
    assert {r.name: r.status for r in rows} == {"gone": "missing", "new": "new"}
    assert guard.failed(rows) == []


def test_peer_benchmarks_are_shown_but_never_fail():
    name = "test_bench_shapes.py::test_shape_polars_window[1e+06-us_int]"
    rows = guard.check({name: 10.0, "ours": 10.0}, {name: 1.0, "ours": 1.0})
    assert {r.name: r.status for r in rows} == {name: "peer", "ours": "REGRESSED"}
    assert [r.name for r in guard.failed(rows)] == ["ours"]


def results_json(medians: dict[str, float]) -> dict:
    return {
        "benchmarks": [
            {"fullname": f"benchmarks/{name}", "stats": {"median": m}}
            for name, m in medians.items()
        ]
    }


def test_command_line_reads_pytest_benchmark_json_and_updates_the_baseline(tmp_path, capsys):
    ref = "test_bench_reference.py::test_reference_workload"
    run1 = results_json({f"{ref}[start]": 0.010, f"{ref}[end]": 0.014, "t.py::k": 0.024})
    baseline = tmp_path / "baseline.json"
    results = tmp_path / "r.json"
    results.write_text(json.dumps(run1))
    assert guard.main([str(results), "--baseline", str(baseline), "--update"]) == 0
    # the reference is the mean of the start and end medians: 0.024 / 0.012 = 2
    assert json.loads(baseline.read_text())["ratios"] == {"t.py::k": pytest.approx(2.0)}

    run2 = results_json({f"{ref}[start]": 0.010, f"{ref}[end]": 0.010, "t.py::k": 0.050})
    results.write_text(json.dumps(run2))
    assert guard.main([str(results), "--baseline", str(baseline)]) == 1
    assert "t.py::k" in capsys.readouterr().out.split("regressed")[-1]

    run3 = results_json({f"{ref}[start]": 0.020, f"{ref}[end]": 0.020, "t.py::k": 0.050})
    results.write_text(json.dumps(run3))
    assert guard.main([str(results), "--baseline", str(baseline)]) == 0


def test_a_reference_that_took_no_time_is_refused():
    with pytest.raises(ValueError, match="must take > 0 s"):
        guard.ratios({"a": 1.0}, reference=0.0)
