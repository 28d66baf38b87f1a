"""Bundled sample data and a seeded simulator with a known causal ground truth.

- :func:`load_sample` / :func:`sample_path`: a small event log (3,000 simulated users) for the
  demo and the docs, with its spend (:func:`load_sample_spend`) and causal truth
  (:func:`load_sample_truth`). Regenerate with ``python -m attribution.datasets.make_sample``.
- :func:`simulate`: event logs whose per-channel incremental conversions are known exactly
  (re-simulated with each channel removed under the same random draws).
- :func:`simulate_daily`: a second simulator family with a known truth, built differently (a
  daily conversion hazard, saturating adstock, intent that rises before a purchase, users who
  stop at their conversion), to check methods tuned on the first.
- :func:`simulate_events`: a fast generator of large unsorted logs for benchmarks.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from attribution.datasets._daily import DAILY_CHANNELS, DailyChannel, simulate_daily
from attribution.datasets._simulate import (
    DEFAULT_CHANNELS,
    ChannelSpec,
    Simulation,
    simulate,
    simulate_events,
)
from attribution.datasets.scenarios import SCENARIOS, Scenario, scenario

__all__ = [
    "DAILY_CHANNELS",
    "DEFAULT_CHANNELS",
    "SCENARIOS",
    "ChannelSpec",
    "DailyChannel",
    "Scenario",
    "Simulation",
    "load_sample",
    "load_sample_spend",
    "load_sample_truth",
    "sample_path",
    "scenario",
    "simulate",
    "simulate_daily",
    "simulate_events",
]

_DATA = Path(__file__).parent / "data"


def sample_path() -> Path:
    """Path of the bundled sample event log (CSV, contract columns)."""
    return _DATA / "sample_events.csv"


def load_sample() -> pl.DataFrame:
    """Read and validate the bundled sample event log (contract columns).

    Examples
    --------
    >>> ev = load_sample()
    >>> sorted(ev["event"].unique().to_list())
    ['conversion', 'touch']
    """
    from attribution.io import read_events

    return read_events(sample_path()).collect()


def load_sample_spend() -> pl.DataFrame:
    """Daily spend per channel of the sample (``date, channel, spend``)."""
    from attribution.io import read_spend

    return read_spend(_DATA / "sample_spend.csv")


def load_sample_truth() -> pl.DataFrame:
    """Causal ground truth of the sample: incremental conversions and revenue per channel."""
    return pl.read_csv(_DATA / "sample_truth.csv")
