"""Wall time and peak RSS of the headline job, each in a fresh process.

Usage: ``python -m benchmarks.peak_memory [N_EVENTS ...]`` (default 1e7). Prints one JSON line
per size and writes ``benchmarks/results/peak_memory.json``. RSS is the process's high-water
mark (``ru_maxrss``), which includes the interpreter and imported libraries.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
import attribution as at
t_import = time.perf_counter() - t0
path = sys.argv[1]
t1 = time.perf_counter()
j = at.build_journeys(path)
t2 = time.perf_counter()
for m in ["first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
          "position_based"]:
    at.attribute(j, m).channels
t3 = time.perf_counter()
print(json.dumps({"journeys_s": t2 - t1, "models_s": t3 - t2, "total_s": t3 - t1,
                  "import_s": t_import,
                  "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                  "n_journeys": j.n_journeys, "n_touches": j.n_touches}))
"""


def measure(n_events: int, repeats: int = 3) -> dict[str, float]:
    from benchmarks.conftest import event_log

    path = event_log(n_events)
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)], check=True, capture_output=True, text=True
        )
        runs.append(json.loads(out.stdout))
    result = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result["n_events"] = n_events
    result["repeats"] = repeats
    return result


def main(argv: list[str]) -> None:
    sizes = [int(float(a)) for a in argv] or [10_000_000]
    results = [measure(n) for n in sizes]
    for r in results:
        print(json.dumps(r))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "peak_memory.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
