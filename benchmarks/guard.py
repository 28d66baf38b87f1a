"""The CI benchmark guard: fail when a benchmark slows down against a stored baseline.

Raw times are useless on a shared 2-core CI machine, so every benchmark is expressed as a
**ratio** to a fixed reference workload measured in the same run (:func:`reference_workload`,
a NumPy sort of one million seeded floats, timed at the start and at the end of the run): a
machine that is twice as slow, or twice as busy, makes both slower. A benchmark fails when its
ratio exceeds ``margin`` (default 2) times the stored ratio **and** the slowdown is worth more
than ``min_delta`` reference units (so that sub-millisecond benchmarks do not fail on jitter).

Usage::

    make bench-quick      # runs the quick tier, then: python -m benchmarks.guard RESULTS.json
    make bench-baseline   # the same, then rewrites benchmarks/baseline_quick.json

Benchmarks of the straightforward versions that ours is timed beside (names containing a
fragment of :data:`PEERS`, e.g. the Polars window version of journeys) are shown but never fail:
they measure the peer, not this project, and only give the speed-up in the same run.

The baseline file maps each benchmark's full name to its ratio. Benchmarks missing from the
baseline are reported as new (they pass); baseline entries missing from the run are listed.
:func:`median_times` and :func:`check` also work without pytest-benchmark, with any timing
source (the guard's own tests use a counter of executed Python lines).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BASELINE = Path(__file__).parent / "baseline_quick.json"
#: Name fragment of the reference benchmark in a pytest-benchmark JSON.
REFERENCE = "test_reference_workload"
REFERENCE_SIZE = 1_000_000
MARGIN = 2.0
#: Smallest slowdown that can fail, in units of the reference workload's time.
MIN_DELTA = 0.2
#: Name fragments of peer benchmarks: reported, never failing.
PEERS = ("polars_window",)


def reference_workload(size: int = REFERENCE_SIZE, seed: int = 0) -> Callable[[], object]:
    """A fixed workload to time beside the benchmarks: ``np.sort`` of seeded floats."""
    data = np.random.default_rng(seed).random(size)
    return lambda: np.sort(data)


def median_times(
    workloads: Mapping[str, Callable[[], object]],
    *,
    rounds: int = 5,
    timer: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median time of each workload over ``rounds`` calls, with the given timing source."""
    out = {}
    for name, fn in workloads.items():
        times = []
        for _ in range(rounds):
            t0 = timer()
            fn()
            times.append(timer() - t0)
        out[name] = statistics.median(times)
    return out


def ratios(medians: Mapping[str, float], reference: float) -> dict[str, float]:
    """Each median divided by the reference workload's median (``reference`` > 0)."""
    if not reference > 0:
        raise ValueError(f"the reference workload took {reference!r} s; it must take > 0 s")
    return {name: m / reference for name, m in medians.items()}


@dataclass(frozen=True)
class Row:
    """One benchmark's verdict."""

    name: str
    baseline: float | None
    current: float | None
    status: str  # "ok", "faster", "REGRESSED", "new", "missing", "peer"

    @property
    def change(self) -> float | None:
        """Current over baseline ratio (2.0 = twice as slow)."""
        if self.baseline is None or self.current is None or self.baseline == 0:
            return None
        return self.current / self.baseline


def check(
    current: Mapping[str, float],
    baseline: Mapping[str, float],
    *,
    margin: float = MARGIN,
    min_delta: float = MIN_DELTA,
) -> list[Row]:
    """Compare ratios to the baseline's ratios; see the module docstring for the rule."""
    rows = []
    for name in sorted(set(current) | set(baseline)):
        cur, base = current.get(name), baseline.get(name)
        if any(fragment in name for fragment in PEERS):
            status = "peer"
        elif base is None:
            status = "new"
        elif cur is None:
            status = "missing"
        elif cur > margin * base and cur - base > min_delta:
            status = "REGRESSED"
        elif cur < base / margin and base - cur > min_delta:
            status = "faster"
        else:
            status = "ok"
        rows.append(Row(name, base, cur, status))
    return rows


def failed(rows: list[Row]) -> list[Row]:
    """The rows that make the guard fail."""
    return [r for r in rows if r.status == "REGRESSED"]


def format_table(rows: list[Row]) -> str:
    """A plain-text table: benchmark, baseline ratio, current ratio, change, status."""
    lines = [f"{'benchmark':<78} {'baseline':>9} {'current':>9} {'change':>7}  status"]
    for r in rows:

        def num(x: float | None, fmt: str = "9.3f") -> str:
            return format(x, fmt) if x is not None else " " * 8 + "-"

        change = f"{r.change:6.2f}x" if r.change is not None else "      -"
        lines.append(f"{r.name:<78} {num(r.baseline)} {num(r.current)} {change}  {r.status}")
    return "\n".join(lines)


def _short(fullname: str) -> str:
    return fullname.split("benchmarks/")[-1]


def ratios_from_results(results: Mapping[str, object]) -> dict[str, float]:
    """Ratios from a pytest-benchmark JSON (already loaded); the reference is left out.

    The reference is the mean of the medians of every benchmark whose name contains
    :data:`REFERENCE` (it runs at the start and at the end of the session).
    """
    medians = {
        _short(b["fullname"]): float(b["stats"]["median"])
        for b in results["benchmarks"]  # type: ignore[index, attr-defined]
    }
    refs = [m for name, m in medians.items() if REFERENCE in name]
    if not refs:
        raise SystemExit(f"no {REFERENCE} benchmark in the results: run the quick tier (-m quick)")
    ref = statistics.fmean(refs)
    return ratios({k: v for k, v in medians.items() if REFERENCE not in k}, ref)


def main(argv: list[str] | None = None) -> int:
    """Command line: compare a results JSON with the baseline (or rewrite the baseline)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="pytest-benchmark JSON of the quick tier")
    p.add_argument("--baseline", type=Path, default=BASELINE)
    p.add_argument("--margin", type=float, default=MARGIN)
    p.add_argument("--min-delta", type=float, default=MIN_DELTA)
    p.add_argument("--update", action="store_true", help="write the run's ratios as baseline")
    args = p.parse_args(argv)
    current = ratios_from_results(json.loads(args.results.read_text()))
    if args.update:
        payload = {
            "reference": f"np.sort of {REFERENCE_SIZE:,} seeded floats (median)",
            "ratios": dict(sorted(current.items())),
        }
        args.baseline.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {len(current)} ratios to {args.baseline}")
        return 0
    baseline = json.loads(args.baseline.read_text())["ratios"]
    rows = check(current, baseline, margin=args.margin, min_delta=args.min_delta)
    print(format_table(rows))
    bad = failed(rows)
    if bad:
        print(
            f"\n{len(bad)} benchmark(s) regressed by more than {args.margin:g}x: "
            + ", ".join(r.name for r in bad)
        )
        return 1
    print(f"\nbenchmark guard: {len(rows)} benchmarks within {args.margin:g}x of the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
