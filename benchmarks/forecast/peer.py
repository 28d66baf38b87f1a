"""statsforecast on a set of series; run by the scratch virtualenv's Python, never ours.

Usage: ``python peer.py IN.npz OUT.npz``. ``IN`` holds the training series (``values`` and
``offsets``), ``h``, ``m``, ``models`` (comma separated: AutoETS, AutoARIMA, AutoTheta,
SeasonalNaive) and ``rows`` per model (the series it runs on). ``OUT`` holds, per model, the
point forecasts ``<model>-mean`` (rows, h), the 80 % and 95 % bounds ``<model>-q`` (rows, h, 4),
the seconds ``<model>-seconds`` and the package version.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def main(src: str, dst: str) -> None:
    import pandas as pd
    import statsforecast
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    data = np.load(src)
    values, offsets = data["values"], data["offsets"]
    h, m = int(data["h"]), int(data["m"])
    n_jobs = int(data["n_jobs"])
    out: dict[str, np.ndarray] = {"version": np.array(statsforecast.__version__)}
    makers = {
        "AutoETS": lambda: AutoETS(season_length=m),
        "AutoARIMA": lambda: AutoARIMA(season_length=m),
        "AutoTheta": lambda: AutoTheta(season_length=m),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=m),
    }
    for name in str(data["models"]).split(","):
        rows = data[f"rows-{name}"]
        parts = []
        for k, i in enumerate(rows):
            y = values[offsets[i] : offsets[i + 1]]
            parts.append(pd.DataFrame({"unique_id": k, "ds": np.arange(1, len(y) + 1), "y": y}))
        train = pd.concat(parts, ignore_index=True)
        t0 = time.perf_counter()
        sf = StatsForecast(models=[makers[name]()], freq=1, n_jobs=n_jobs)
        fc = sf.forecast(df=train, h=h, level=[80, 95])
        seconds = time.perf_counter() - t0
        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        fc = fc.sort_values(["unique_id", "ds"])
        col = next(c for c in fc.columns if c not in ("unique_id", "ds", "index") and "-" not in c)
        out[f"{name}-mean"] = fc[col].to_numpy().reshape(len(rows), h)
        bounds = [f"{col}-lo-80", f"{col}-hi-80", f"{col}-lo-95", f"{col}-hi-95"]
        out[f"{name}-q"] = np.stack([fc[b].to_numpy() for b in bounds], -1).reshape(len(rows), h, 4)
        out[f"{name}-seconds"] = np.array(seconds)
        print(f"  statsforecast {name}: {len(rows)} series, {seconds:.1f} s", file=sys.stderr)
    np.savez(dst, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
