"""This project beside ChannelAttribution, marketing-attribution-models and mta.

Usage: ``python -m benchmarks.peers.run [--sizes 1e5,1e6,1e7] [--reps 3] [--timeout 900]``
(``make bench-peers``).

For each size, the generated event log (``benchmarks/conftest.py``) is built into journeys and
a path table by this project (timed), the path table is written in the peers' format, and each
tool runs Markov order 1 and the first / last / linear heuristics on it in its own process and
its own scratch virtualenv in the temporary directory (``tempfile.gettempdir()``; created here
when missing; never project dependencies). Writes ``benchmarks/results/peers.json`` and
``peers.md``: median seconds and the largest difference in channel share from this project's
result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

HERE = Path(__file__).parent
SCRATCH = Path(tempfile.gettempdir())  # peers are never installed in the project's venv
CHILD = HERE / "peer_child.py"
RESULTS = HERE.parent / "results"
DATA = HERE.parent / ".data" / "peers"

#: tool -> (scratch venv, pip requirements)
PEERS = {
    "ChannelAttribution": (SCRATCH / "ca-venv", ["ChannelAttribution", "pandas", "numpy"]),
    "marketing-attribution-models": (
        SCRATCH / "peers-mam-venv",
        ["marketing-attribution-models"],
    ),
    "mta": (SCRATCH / "peers-mta-venv", ["mta"]),
}
MODELS = ["markov_order1", "linear", "first_touch", "last_touch"]


def ensure_venv(path: Path, requirements: list[str]) -> Path:
    """Create the scratch virtualenv and install the peer when it is missing."""
    python = path / "bin" / "python"
    if not python.exists():
        print(f"creating {path} with {' '.join(requirements)}", file=sys.stderr, flush=True)
        venv.create(path, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    return python


def ours_journeys(events: Path, reps: int) -> tuple[list[float], object]:
    import attribution as at

    times, pt = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        pt = at.build_journeys(events).to_paths()
        times.append(time.perf_counter() - t0)
    return times, pt


def run_tool(python: Path, tool: str, paths_csv: Path, reps: int, timeout: float) -> dict:
    try:
        proc = subprocess.run(
            [str(python), str(CHILD), tool, str(paths_csv), str(reps)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:g} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _shares(conversions: dict[str, float]) -> dict[str, float]:
    total = sum(conversions.values())
    return {k: v / total for k, v in conversions.items()} if total else {}


def max_share_diff(a: dict[str, float], b: dict[str, float]) -> float:
    sa, sb = _shares(a), _shares(b)
    keys = (set(sa) | set(sb)) - {"(no touch)"}
    return max((abs(sa.get(k, 0.0) - sb.get(k, 0.0)) for k in keys), default=0.0)


def table(rows: list[dict]) -> str:
    head = "| events | paths | tool | task | median s | vs ours: max share diff |"
    lines = [head, "|---:|---:|---|---|---:|---:|"]
    for r in rows:
        diff = "" if r.get("share_diff") is None else f"{r['share_diff']:.4f}"
        secs = r.get("error") or f"{r['seconds']:.3f}"
        lines.append(
            f"| {r['n_events']:.0e} | {r['n_paths']:,} | {r['tool']} | {r['task']} | {secs} "
            f"| {diff} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1e5,1e6,1e7")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--tools", default=",".join(PEERS))
    args = p.parse_args(argv)
    from benchmarks.conftest import event_log

    pythons = {t: ensure_venv(*PEERS[t]) for t in args.tools.split(",") if t}
    DATA.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    for n in [int(float(s)) for s in args.sizes.split(",")]:
        events = event_log(n)
        times, pt = ours_journeys(events, args.reps)
        csv = DATA / f"paths_{n}.csv"
        frame = pt.to_frame(peer_names=True)  # type: ignore[attr-defined]
        frame.filter(frame["path"] != "").write_csv(csv)
        base = {"n_events": n, "n_paths": pt.n_paths}  # type: ignore[attr-defined]
        rows.append(
            base
            | {
                "tool": "ours",
                "task": "events -> journeys -> path table",
                "seconds": statistics.median(times),
            }
        )
        ours = run_tool(Path(sys.executable), "ours", csv, args.reps, args.timeout)
        for model in MODELS:
            rows.append(base | {"tool": "ours", "task": model, "seconds": ours[model]["seconds"]})
        for tool, python in pythons.items():
            print(f"{n:.0e} events: {tool}", file=sys.stderr, flush=True)
            res = run_tool(python, tool, csv, args.reps, args.timeout)
            for model in MODELS:
                row = base | {"tool": tool, "task": model}
                if "error" in res:
                    row |= {"error": res["error"], "seconds": None}
                else:
                    row["seconds"] = res[model]["seconds"]
                    row["share_diff"] = max_share_diff(
                        res[model]["conversions"], ours[model]["conversions"]
                    )
                    if "note" in res[model]:
                        row["note"] = res[model]["note"]
                rows.append(row)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "peers.json").write_text(json.dumps(rows, indent=2) + "\n")
        (RESULTS / "peers.md").write_text(table(rows) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
