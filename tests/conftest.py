from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import settings

# CI runs property tests on a fixed set of examples (HYPOTHESIS_PROFILE=ci, set by .ci/run), so
# a green commit stays green; locally they explore new examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

DATA = Path(__file__).parent / "data"
REFERENCE = Path(__file__).parent / "reference"
SAMPLE = Path(__file__).parents[1] / "attribution" / "datasets" / "data" / "sample_events.csv"
SNOWPLOW = DATA / "snowplow_fractribution"


def snowplow_journeys(**options):
    """Snowplow fractribution's journeys: sessions + conversions, its package's rules.

    30-day lookback; non-converting paths only from customers who never converted (their
    sessions in the 30 days up to their last session). ``options`` go to build_journeys.
    """
    import attribution as at

    events = at.read_events(
        SNOWPLOW / "sessions.csv",
        user_col="customer_id",
        time_col="visit_start_tstamp",
        conversions=SNOWPLOW / "conversions.csv",
        conversion_time_col="conversion_tstamp",
    )
    return at.build_journeys(events, lookback_days=30, non_converting="never_converted", **options)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261123)


def random_events(
    rng: np.random.Generator,
    n: int,
    *,
    n_users: int = 5,
    channels: str = "abcd",
    p_conv: float = 0.15,
    max_seconds: int = 40 * 86_400,
    ties: bool = True,
) -> pl.DataFrame:
    """A small random event log in contract columns, unsorted.

    With ``ties`` timestamps are whole hours, so a user often has several events at the same
    time; without, every timestamp in the log is distinct.
    """
    conv = rng.random(n) < p_conv
    if ties:
        seconds = rng.integers(0, max_seconds // 3600, n) * 3600
    else:
        seconds = rng.choice(max_seconds, size=n, replace=False)
    return pl.DataFrame(
        {
            "user_id": rng.integers(0, n_users, n),
            "timestamp": pl.Series(seconds * 1_000_000)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone("UTC"),
            "channel": [
                None if c else channels[i]
                for c, i in zip(conv, rng.integers(0, len(channels), n), strict=True)
            ],
            "event": np.where(conv, "conversion", "touch"),
            "revenue": np.where(conv, rng.integers(1, 100, n).astype(float), 0.0),
        }
    )
