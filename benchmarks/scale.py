"""The out-of-core check: 100M events through bucketed journeys and Markov order 1.

Usage: ``python -m benchmarks.scale [--events 1e8] [--memory-limit 4GB]`` (``make bench-scale``).

1. Generates the log as Parquet parts of ``--chunk`` events each (``simulate_events`` with its
   own seed per part, user ids shifted past the previous parts' users, so parts hold disjoint
   users, ids stay dense, and generation stays within about 1 GB).
2. Runs, in a fresh process under ``/usr/bin/time -v``, :func:`attribution.bucketed.
   build_paths_bucketed` over the directory with ``--memory-limit``, then Markov order 1 on the
   merged path table.
3. Runs the same users split by hand (each part file built in memory on its own, the path
   tables merged with :func:`attribution.bucketed.merge_paths`), also under ``time -v``.
4. Checks both give the same path table (exactly; values to 1e-12) and the same Markov credit
   (1e-9), and writes wall times and peak RSS to ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).parent / ".data"
RESULTS = Path(__file__).parent / "results"

CHILD = r"""
import json, sys, time
import numpy as np, polars as pl
import attribution as at
from attribution.bucketed import build_paths_bucketed, merge_paths
mode, src, limit, out = sys.argv[1:5]
t0 = time.perf_counter()
if mode == "bucketed":
    pt = build_paths_bucketed(src, memory_limit=limit, progress=True)
else:
    tables = []
    for f in sorted(__import__("pathlib").Path(src).glob("*.parquet")):
        tables.append(at.build_journeys(f).to_paths())
        print(f"  {f.name}: {tables[-1]!r}", file=sys.stderr, flush=True)
    pt = merge_paths(tables)
    del tables
t1 = time.perf_counter()
res = at.attribute(pt, "markov", order=1)
t2 = time.perf_counter()
np.savez(out + ".npz", indptr=pt.indptr, codes=pt.codes, conversions=pt.conversions,
         value=pt.value, nulls=pt.nulls, channels=np.array(pt.channels),
         credit=res.channels["conversions"].to_numpy(),
         credit_revenue=res.channels["revenue"].to_numpy())
print(json.dumps({"paths_s": t1 - t0, "markov_s": t2 - t1, "total_s": t2 - t0,
                  "n_paths": pt.n_paths, "conversions": pt.total_conversions,
                  "nulls": float(pt.nulls.sum())}))
"""


def generate(n_events: int, chunk: int, seed: int = 0) -> Path:
    """Write about ``n_events`` events as Parquet parts of ``chunk`` events (cached)."""
    out = DATA_DIR / f"events_{n_events}_{seed}_parts"
    done = out / "_SUCCESS"
    if done.exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    n_parts = -(-n_events // chunk)
    offset = 0
    for i in range(n_parts):
        size = min(chunk, n_events - i * chunk)
        # one process per part: generation memory is returned to the system each time
        code = (
            "import sys, polars as pl; from attribution.datasets import simulate_events; "
            f"ev = simulate_events({size}, seed={seed * 1000 + i}); "
            f"ev = ev.with_columns(pl.col('user_id') + {offset}); "
            f"ev.write_parquet(sys.argv[1])"
        )
        target = out / f"part-{i:03d}.parquet"
        subprocess.run([sys.executable, "-c", code, str(target)], check=True)
        offset += max(1, round(size / 3.8))  # simulate_events' users of this part: 1..n
        print(f"  generated {target.name}", file=sys.stderr, flush=True)
    done.touch()
    return out


def _time_v(stderr: str) -> dict[str, float]:
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    out: dict[str, float] = {}
    if rss:
        out["peak_rss_gb"] = int(rss.group(1)) * 1024 / 1e9
    if wall:
        secs = 0.0
        for part in wall.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["wall_s"] = secs
    return out


def run_child(mode: str, src: Path, limit: str, out: Path) -> dict[str, float]:
    """Run one job in a fresh process under ``/usr/bin/time -v``."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-c", CHILD, mode, str(src), limit, str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed with exit code {proc.returncode}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(_time_v(proc.stderr))
    return result


def compare(a: Path, b: Path) -> dict[str, object]:
    """Path tables equal exactly (values to 1e-12), Markov credit to 1e-9."""
    x, y = np.load(a), np.load(b)
    exact = all(np.array_equal(x[k], y[k]) for k in ("channels", "indptr", "codes"))
    exact &= all(np.array_equal(x[k], y[k]) for k in ("conversions", "nulls"))
    value = bool(np.allclose(x["value"], y["value"], rtol=1e-12, atol=0))
    credit = bool(np.allclose(x["credit"], y["credit"], rtol=1e-9, atol=1e-9))
    return {
        "paths_equal": bool(exact),
        "values_equal_1e-12": value,
        "markov_credit_equal_1e-9": credit,
        "max_credit_diff": float(np.abs(x["credit"] - y["credit"]).max()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=float, default=1e8)
    p.add_argument("--chunk", type=float, default=1e7)
    p.add_argument("--memory-limit", default="4GB")
    args = p.parse_args(argv)
    n, chunk = int(args.events), int(args.chunk)
    t0 = time.perf_counter()
    src = generate(n, chunk)
    gen_s = time.perf_counter() - t0
    work = DATA_DIR / "scale_out"
    work.mkdir(exist_ok=True)
    bucketed = run_child("bucketed", src, args.memory_limit, work / "bucketed")
    by_hand = run_child("by_hand", src, args.memory_limit, work / "by_hand")
    verdict = compare(work / "bucketed.npz", work / "by_hand.npz")
    import polars as pl

    n_rows = pl.scan_parquet(sorted(src.glob("*.parquet"))).select(pl.len()).collect().item()
    n_users = (
        (pl.scan_parquet(sorted(src.glob("*.parquet"))).select(pl.col("user_id").n_unique()))
        .collect(engine="streaming")
        .item()
    )
    report = {
        "n_events": n_rows,
        "n_users": n_users,
        "memory_limit": args.memory_limit,
        "generate_s": gen_s,
        "bucketed": bucketed,
        "by_hand": by_hand,
        **verdict,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    ok = verdict["paths_equal"] and verdict["markov_credit_equal_1e-9"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
