"""Produce reference outputs from the peer package ChannelAttribution 2.2.5.

ChannelAttribution is NOT a dependency of this project.  This script is meant
to be run only from a scratch virtual environment, e.g.:

    python3 -m venv /tmp/ca-venv
    /tmp/ca-venv/bin/pip install channelattribution==2.2.5 matplotlib pandas numpy
    /tmp/ca-venv/bin/python tests/reference/channelattribution/make_reference.py

It reads ../shared/data/channelattribution_paths/paths.csv and writes CSV /
JSON files next to this script (see README.md in this folder).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import ChannelAttribution as CA  # prints a licence/"Pro" banner on import

OUT = Path(__file__).resolve().parent
# the shared data sets live beside the repository, in ../shared
DATA = OUT.parents[2].parent / "shared" / "data" / "channelattribution_paths" / "paths.csv"
FLOAT_FMT = "%.17g"

# CA defaults for markov_model (from its signature in 2.2.5); passed explicitly
# so that they are recorded and reproducible.
MARKOV_DEFAULTS = dict(
    nsim_start=1e5,
    max_step=None,  # None -> CA uses the max number of steps found in Data
    sep=">",
    ncore=1,
    nfold=10,
    conv_par=0.05,
    rate_step_sim=1.5,
)
MAIN_SEED = 0  # CA's default seed
RUN_SEEDS = list(range(20))  # seeds for the simulation-error study
N_TIMING_REPS = 3


class CaptureFdStdout:
    """Capture fd-1 output (CA's core may write to C stdout, bypassing sys.stdout)."""

    def __enter__(self):
        sys.stdout.flush()
        self._tmp = tempfile.TemporaryFile(mode="w+b")
        self._saved = os.dup(1)
        os.dup2(self._tmp.fileno(), 1)
        return self

    def __exit__(self, *exc):
        sys.stdout.flush()
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self._tmp.seek(0)
        self.text = self._tmp.read().decode("utf-8", "replace")
        self._tmp.close()
        return False


def write_csv(df: pd.DataFrame, name: str) -> None:
    df.to_csv(OUT / name, index=False, float_format=FLOAT_FMT)
    print(f"wrote {name}  shape={df.shape}")


def run_markov(data, *, order, seed, with_null=True, verbose=True):
    kw = dict(MARKOV_DEFAULTS)
    if with_null:
        kw["var_null"] = "total_null"
    with CaptureFdStdout() as cap:
        t0 = time.perf_counter()
        res = CA.markov_model(
            data,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            order=order,
            out_more=True,
            seed=seed,
            verbose=verbose,
            flg_pro=False,
            **kw,
        )
        secs = time.perf_counter() - t0
    return res, secs, cap.text.strip()


def channel_id_map(data, order):
    """id -> channel name, as given by CA.transition_matrix (ids are 1-based).

    CA.transition_matrix requires var_null; the id assignment is checked against
    the markov_model result ordering in save_markov (also for the no-null run).
    """
    with CaptureFdStdout():
        tm = CA.transition_matrix(
            data, "path", "total_conversions", "total_null", order=order, sep=">",
            flg_pro=False,
        )
    ch = tm["channels"]
    return {str(int(i)): str(n) for i, n in zip(ch["id_channel"], ch["channel_name"])}


def name_state(state, idmap):
    """Map a (possibly higher-order, space-separated) id state to channel names."""
    s = str(state)
    if s.startswith("("):  # (start), (conversion), (null)
        return s
    return " > ".join(idmap[tok] for tok in s.split())


def save_markov(res, stem, idmap):
    write_csv(res["result"], f"{stem}.csv")
    write_csv(res["removal_effects"], f"{stem}_removal_effects.csv")
    if "transition_matrix" in res:
        tm = res["transition_matrix"].copy()
        # Check CA's result ordering agrees with the id map before naming states.
        assert list(res["result"]["channel_name"]) == [
            idmap[str(i)] for i in range(1, len(idmap) + 1)
        ], "channel id mapping does not match result ordering"
        tm["channel_from_name"] = [name_state(s, idmap) for s in tm["channel_from"]]
        tm["channel_to_name"] = [name_state(s, idmap) for s in tm["channel_to"]]
        write_csv(tm, f"{stem}_transition_matrix.csv")


def timed(fn, reps=N_TIMING_REPS):
    secs = []
    for _ in range(reps):
        with CaptureFdStdout():
            t0 = time.perf_counter()
            fn()
            secs.append(time.perf_counter() - t0)
    return {"median_seconds": statistics.median(secs), "all_seconds": secs}


def main():
    data = pd.read_csv(DATA)
    print(f"read {DATA}  shape={data.shape}")

    settings = {
        "channelattribution_version": "2.2.5",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "generated_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "input": str(DATA),
        "input_shape": list(data.shape),
        "heuristic_models_call": 'heuristic_models(Data, "path", "total_conversions", '
        'var_value="total_conversion_value", sep=">")',
        "markov_model_call": 'markov_model(Data, "path", "total_conversions", '
        'var_value="total_conversion_value", var_null="total_null", order=k, '
        "out_more=True, seed=seed, **markov_defaults)",
        "markov_defaults": MARKOV_DEFAULTS,
        "main_seed": MAIN_SEED,
        "run_seeds": RUN_SEEDS,
        "ca_verbose_output": {},
        "notes": [
            "max_step=None means CA uses the maximum number of steps found in the data "
            "(see ca_verbose_output for the effective value per run).",
            "Transition-matrix states are CA's 1-based channel ids (space separated for "
            "order>1); *_name columns map them to channel names via CA.transition_matrix()"
            "['channels'], checked against the result ordering.",
            "CA's markov_model transition matrix omits channel self-transitions.",
        ],
    }

    # a. heuristic models
    with CaptureFdStdout():
        heur = CA.heuristic_models(
            data, "path", "total_conversions", var_value="total_conversion_value",
            sep=">", flg_pro=False,
        )
    write_csv(heur, "heuristic_models.csv")

    # b. markov, orders 1..3, with nulls
    for k in (1, 2, 3):
        res, secs, log = run_markov(data, order=k, seed=MAIN_SEED)
        settings["ca_verbose_output"][f"markov_order{k}"] = log
        save_markov(res, f"markov_order{k}", channel_id_map(data, k))

    # d. no-null variant (order 1).  heuristic_models has no var_null argument,
    #    so heuristic_models.csv already is the "no nulls" heuristic output.
    res, secs, log = run_markov(data, order=1, seed=MAIN_SEED, with_null=False)
    settings["ca_verbose_output"]["markov_order1_nonull"] = log
    # Without var_null CA drops zero-conversion paths, and channel ids follow the
    # order of first appearance in the remaining paths; build the id map likewise.
    conv_only = data[data["total_conversions"] > 0]
    save_markov(res, "markov_order1_nonull", channel_id_map(conv_only, 1))

    # c. seed-to-seed simulation error, order 1, default settings
    rows = []
    logs = {}
    for s in RUN_SEEDS:
        res, secs, log = run_markov(data, order=1, seed=s)
        logs[str(s)] = log
        m = res["result"].merge(res["removal_effects"], on="channel_name", how="left")
        m.insert(0, "seed", s)
        m["seconds"] = secs
        rows.append(m)
    runs = pd.concat(rows, ignore_index=True)[
        [
            "seed",
            "channel_name",
            "total_conversions",
            "total_conversion_value",
            "removal_effects_conversion",
            "removal_effects_conversion_value",
            "seconds",
        ]
    ]
    write_csv(runs, "markov_order1_runs.csv")
    settings["ca_verbose_output"]["markov_order1_runs"] = logs

    # e. timings (median of 3)
    timings = {
        "n_reps": N_TIMING_REPS,
        "cpu_count": os.cpu_count(),
        "ncore": MARKOV_DEFAULTS["ncore"],
        "heuristic_models": timed(
            lambda: CA.heuristic_models(
                data, "path", "total_conversions",
                var_value="total_conversion_value", flg_pro=False,
            )
        ),
    }
    for k in (1, 3):
        timings[f"markov_order{k}"] = timed(
            lambda k=k: run_markov(data, order=k, seed=MAIN_SEED, verbose=False)
        )
    timings["note"] = (
        "wall time (time.perf_counter) of the same calls used for the reference "
        "files (markov: with var_value, var_null, out_more=True, seed=0, CA defaults, "
        "verbose=False)"
    )
    (OUT / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    print("wrote timings.json")

    (OUT / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    print("wrote settings.json")


if __name__ == "__main__":
    main()
