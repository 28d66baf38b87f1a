"""Time one tool's models on a peer-format path table; prints one JSON line.

Runs inside the tool's own scratch virtualenv (ChannelAttribution, marketing-attribution-models,
mta) or the project's (``ours``), so it imports only pandas/numpy and the tool itself.

Usage: ``python peer_child.py TOOL PATHS_CSV REPS``. Output: ``{model: {"seconds": median,
"all": [...], "conversions": {channel: credited conversions}}}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import time


def timed(fn, reps):
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


@contextlib.contextmanager
def quiet():
    """Silence C-level and Python stdout (CA prints banners and progress)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def run_ours(path, reps):
    import polars as pl

    import attribution as at

    pt = at.read_paths(pl.read_csv(path))
    out = {}
    for model, name in [
        ("markov", "markov_order1"),
        ("linear", "linear"),
        ("first_touch", "first_touch"),
        ("last_touch", "last_touch"),
    ]:
        kw = {"order": 1} if model == "markov" else {}
        res, times = timed(lambda m=model, kw=kw: at.attribute(pt, m, **kw), reps)
        ch = res.channels
        conversions = dict(zip(ch["channel"], ch["conversions"], strict=True))
        out[name] = {"all": times, "conversions": conversions}
    return out


def run_channelattribution(path, reps):
    import pandas as pd

    with quiet():
        import ChannelAttribution as CA
    data = pd.read_csv(path)
    out = {}
    with quiet():
        res, times = timed(
            lambda: CA.markov_model(
                data,
                "path",
                "total_conversions",
                var_value="total_conversion_value",
                var_null="total_null",
                order=1,
                verbose=False,
                flg_pro=False,
            ),
            reps,
        )
    res = res["result"] if isinstance(res, dict) else res
    out["markov_order1"] = {
        "all": times,
        "conversions": dict(zip(res["channel_name"], res["total_conversions"], strict=True)),
    }
    with quiet():
        heur, times = timed(
            lambda: CA.heuristic_models(
                data, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False
            ),
            reps,
        )
    for col, name in [
        ("linear_touch_conversions", "linear"),
        ("first_touch_conversions", "first_touch"),
        ("last_touch_conversions", "last_touch"),
    ]:
        out[name] = {
            "all": times,
            "conversions": dict(zip(heur["channel_name"], heur[col], strict=True)),
            "note": "one heuristic_models call computes all three",
        }
    return out


def run_mam(path, reps):
    import polars as pl
    from mam import MAM

    pt = pl.read_csv(path)
    conv = pt.filter(pl.col("total_conversions") > 0).select(
        "path",
        pl.lit(True).alias("conv"),
        pl.col("total_conversions").alias("n"),
        pl.col("total_conversion_value").alias("value"),
    )
    null = pt.filter(pl.col("total_null") > 0).select(
        "path",
        pl.lit(False).alias("conv"),
        pl.col("total_null").alias("n"),
        pl.lit(0.0).alias("value"),
    )
    grouped = pl.concat([conv, null])
    out = {}

    def build():
        return MAM(
            grouped,
            format_type="grouped_journey",
            channels_colname="path",
            journey_with_conv_colname="conv",
            occurrences_colname="n",
            path_separator=" > ",
        )  # no value column: credit is in conversions

    for method, name in [
        ("run_markov", "markov_order1"),
        ("run_linear", "linear"),
        ("run_first_click", "first_touch"),
        ("run_last_click", "last_touch"),
    ]:
        res, times = timed(lambda m=method: getattr(build(), m)(), reps)
        df = res.to_polars()
        chan = next(c for c in df.columns if "channel" in c.lower())
        num = next(c for c in df.columns if c != chan and df[c].dtype.is_float())
        out[name] = {
            "all": times,
            "conversions": dict(zip(df[chan], df[num], strict=True)),
            "note": "includes MAM's preprocessing of the grouped journeys",
        }
    return out


def run_mta(path, reps):
    import pandas as pd
    from mta import MTA

    data = pd.read_csv(path)
    out = {}
    for method, name, kw in [
        ("markov", "markov_order1", {"sim": False}),
        ("linear", "linear", {}),
        ("first_touch", "first_touch", {}),
        ("last_touch", "last_touch", {}),
    ]:

        def run(method=method, kw=kw):
            with quiet():
                m = MTA(data=data, allow_loops=True, add_timepoints=False)
                getattr(m, method)(normalize=True, **kw)
            return m

        m, times = timed(run, reps)
        shares = dict(m.attribution[method])
        total = float(data["total_conversions"].sum())
        out[name] = {
            "all": times,
            "conversions": {k: v * total for k, v in shares.items()},
            "note": "includes MTA's loading; shares scaled by total conversions",
        }
    return out


def main():
    tool, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runner = {
        "ours": run_ours,
        "ChannelAttribution": run_channelattribution,
        "marketing-attribution-models": run_mam,
        "mta": run_mta,
    }[tool]
    out = runner(path, reps)
    for v in out.values():
        v["seconds"] = statistics.median(v["all"])
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
