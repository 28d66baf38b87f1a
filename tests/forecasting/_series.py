"""Series builders shared by the forecasting tests: long frames and a seasonal simulator."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl


def frame(values: dict[str, np.ndarray], start: date = date(2020, 1, 1)) -> pl.DataFrame:
    parts = []
    for sid, v in values.items():
        d = pl.date_range(start, date(2100, 1, 1), "1mo", eager=True)[: len(v)]
        parts.append(pl.DataFrame({"series_id": [sid] * len(v), "date": d, "value": v}))
    return pl.concat(parts)


def simulate(rng, n, h, *, season, trend, noise, profile="sin"):
    """Monthly series: trend x/+ season, log-normal or Gaussian noise; returns y, future, mean."""
    t = np.arange(n + h)
    level = rng.uniform(50, 500)
    if trend == "linear":
        tr = level + level * rng.uniform(-0.005, 0.02) * t
    elif trend == "damped":
        phi = rng.uniform(0.85, 0.97)
        tr = level + level * rng.uniform(0.01, 0.04) * phi * (1 - phi**t) / (1 - phi)
    else:
        tr = np.full(n + h, level)
    amp = rng.uniform(0.1, 0.35)
    if profile == "sin":
        ph = rng.uniform(0, 2 * np.pi)
        s = np.sin(2 * np.pi * t / 12 + ph) + 0.3 * np.sin(4 * np.pi * t / 12 + 2 * ph)
        s /= np.abs(s).max()
    else:
        p = rng.normal(0, 1, 12)
        p = (p - p.mean()) / np.abs(p - p.mean()).max()
        s = p[t % 12]
    mu = {"mult": tr * (1 + amp * s), "add": tr + amp * level * s, "none": tr}[season]
    if noise == "lognormal":
        sig = rng.uniform(0.04, 0.15)
        y = mu * np.exp(rng.normal(0, sig, n + h) - sig**2 / 2)
    else:
        y = mu + rng.normal(0, rng.uniform(0.04, 0.15) * level, n + h)
    y = np.maximum(y, 0.0)
    return y[:n], y[n:], mu[n:]


SETTINGS = [
    dict(season="mult", trend="linear", noise="lognormal", profile="sin"),
    dict(season="add", trend="linear", noise="gaussian", profile="sin"),
    dict(season="mult", trend="damped", noise="lognormal", profile="random"),
    dict(season="add", trend="damped", noise="gaussian", profile="random"),
    dict(season="none", trend="linear", noise="lognormal"),
    dict(season="none", trend="damped", noise="gaussian"),
    dict(season="mult", trend="none", noise="gaussian", profile="random"),
]
