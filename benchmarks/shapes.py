"""Event logs shaped like real exports, generated from the simulator (never committed).

The simulator (:func:`attribution.datasets.simulate_events`) writes second-resolution times
and small dense integer ids. Real logs differ, and each difference takes another path through
the sort that builds journeys; every shape below keeps the simulator's users, journeys and
channels and changes only how they are written:

``seconds``
    the simulator as it is (second timestamps, ids 1..n);
``us_int``
    GA4's microsecond ``event_timestamp``: each event moved by a random 0..999,999 µs inside
    its second (user ids as the simulator's, 1..n);
``us_sparse``
    microsecond times and integer user ids spread at random over ``[0, 2**62)`` (hashed or
    database ids: no dense range);
``ga4_string``
    microsecond times and GA4-style ``user_pseudo_id`` text, ``"1986951073.1700041408"``
    (a random 9-10 digit number, a dot, the user's first-visit epoch seconds);
``enum_channel``
    microsecond times, and ``channel`` stored as an ``Enum`` (the event column as a
    ``Categorical``), as dictionary-encoded columns often arrive;
``iso_text``
    times as ISO-8601 text in milliseconds with ``Z``, ``"2024-03-01T10:00:00.123Z"``, as
    Segment and Snowplow exports and JSON event streams write them (the Polars version
    parses them with ``str.to_datetime`` first).

Moving events within their second can reorder a user's events (a conversion may now fall
before a touch of the same second): the journeys differ from the ``seconds`` shape's, which is
the point; every shape is compared with the straightforward Polars version on itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.peak_memory import CHILD

DATA_DIR = Path(__file__).parent / ".data"

SHAPES = ("seconds", "us_int", "us_sparse", "ga4_string", "enum_channel", "iso_text")


def shape_frame(events: pl.DataFrame, shape: str, seed: int = 0) -> pl.DataFrame:
    """Rewrite a simulated canonical log in one of :data:`SHAPES`."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")
    if shape == "seconds":
        return events
    rng = np.random.default_rng(seed + 7919)
    n = events.height
    jitter = pl.Series(rng.integers(0, 1_000_000, n, dtype=np.int64))
    events = events.with_columns(pl.col("timestamp") + pl.duration(microseconds=jitter))
    # one id per simulated user (ids are 1..n_users)
    n_users = int(events["user_id"].max()) + 1
    if shape == "ga4_string":
        first = (
            events.group_by("user_id")
            .agg(pl.col("timestamp").min().dt.epoch("s").alias("first"))
            .sort("user_id")
        )
        first_s = np.zeros(n_users, dtype=np.int64)
        first_s[first["user_id"].to_numpy()] = first["first"].to_numpy()
        rand = rng.integers(100_000_000, 2_147_483_647, n_users, dtype=np.int64)
        ids = pl.select(
            pl.format("{}.{}", pl.Series(rand), pl.Series(first_s)).alias("id")
        ).to_series()
        ids = _dedupe(ids)
        return events.with_columns(user_id=ids.gather(events["user_id"]))
    if shape == "us_sparse":
        ids_int = _sparse_ids(rng, n_users)
        events = events.with_columns(user_id=pl.Series(ids_int).gather(events["user_id"]))
    if shape == "iso_text":
        text = pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        events = events.with_columns(text.alias("timestamp"))
    if shape == "enum_channel":
        names = events["channel"].drop_nulls().unique().sort().to_list()
        events = events.with_columns(
            pl.col("channel").cast(pl.Enum(names)), pl.col("event").cast(pl.Categorical)
        )
    return events


def _sparse_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct integers spread over ``[0, 2**62)`` in random order."""
    ids = np.unique(rng.integers(0, 2**62, int(n * 1.01) + 16, dtype=np.int64))
    rng.shuffle(ids)
    return ids[:n]


def _dedupe(ids: pl.Series) -> pl.Series:
    """Make text ids distinct (a suffix on the rare repeats of a random draw)."""
    frame = pl.DataFrame({"id": ids}).with_columns(k=pl.int_range(pl.len()).over("id"))
    fixed = pl.when(pl.col("k") == 0).then("id").otherwise(pl.format("{}{}", "id", "k"))
    return frame.select(fixed.alias("id")).to_series()


def shaped_log(n_events: int, shape: str, seed: int = 0) -> Path:
    """Parquet file of about ``n_events`` shuffled events in ``shape`` (generated once)."""
    from attribution.datasets import simulate_events

    DATA_DIR.mkdir(exist_ok=True)
    path = DATA_DIR / f"shape_{shape}_{n_events}_{seed}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        shape_frame(simulate_events(n_events, seed=seed), shape, seed).write_parquet(tmp)
        tmp.replace(path)
    return path


# ----------------------------------------------------------------------------------------------
# fresh-process timing: ``python -m benchmarks.shapes``

# ours: journeys and the six heuristics, as the headline job of ``benchmarks.peak_memory``
OURS = CHILD

POLARS = r"""
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from benchmarks.baselines import window_journeys, window_linear
t1 = time.perf_counter()
journeys = window_journeys(Path(sys.argv[1]))
window_linear(journeys)
t3 = time.perf_counter()
print(json.dumps({"total_s": t3 - t1, "import_s": t1 - t0, "n_journeys": journeys.height,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}))
"""


def _run(code: str, path: Path, tree: Path) -> dict[str, float]:
    """One fresh process (under ``/usr/bin/time -v`` when it exists)."""
    import json
    import os
    import re
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, "-c", code, str(path)]
    timed = Path("/usr/bin/time").exists()
    if timed:
        cmd = ["/usr/bin/time", "-v", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tree, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr)
    if timed and wall:
        secs = 0.0
        for part in wall.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["process_wall_s"] = secs
    return out


def measure(
    shapes: list[str], n_events: int, repeats: int, tree: Path
) -> dict[str, dict[str, object]]:
    """Median of ``repeats`` fresh processes per shape, ours and the Polars version in turn."""
    import os
    import statistics

    report: dict[str, dict[str, object]] = {}
    for shape in shapes:
        path = shaped_log(n_events, shape)
        runs: dict[str, list[dict[str, float]]] = {"ours": [], "polars": []}
        load = [os.getloadavg()[0]]
        for _ in range(repeats):
            runs["ours"].append(_run(OURS, path, tree))
            runs["polars"].append(_run(POLARS, path, Path(__file__).parents[1]))
            load.append(os.getloadavg()[0])
        entry: dict[str, object] = {"n_events": n_events, "repeats": repeats, "load_1min": load}
        for who, rs in runs.items():
            entry[who] = {k: statistics.median(float(r[k]) for r in rs) for k in rs[0]}
        ours, polars = entry["ours"], entry["polars"]
        assert isinstance(ours, dict) and isinstance(polars, dict)
        entry["polars_over_ours"] = polars["total_s"] / ours["total_s"]
        report[shape] = entry
        print(shape, entry, flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    """Command line: time every shape in fresh processes, write ``results/shapes.json``."""
    import argparse
    import json

    p = argparse.ArgumentParser(description="Journeys and six heuristics on real log shapes.")
    p.add_argument("--events", type=float, default=1e7)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--shapes", default="us_int,ga4_string,enum_channel")
    p.add_argument("--tree", type=Path, default=Path(__file__).parents[1], help="checkout to time")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "shapes.json")
    args = p.parse_args(argv)
    report = measure(args.shapes.split(","), int(args.events), args.repeats, args.tree)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
