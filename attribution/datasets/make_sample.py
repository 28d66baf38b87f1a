"""Regenerate the bundled sample data: ``python -m attribution.datasets.make_sample``.

Writes three CSV files next to this module, in ``data/``, from ``simulate(n_users=3000, seed=7)``
(every other argument at its default), so the output is identical on every run:

* ``sample_events.csv``: ``user_id, timestamp, channel, event, revenue, cost``, sorted by user and
  time, timestamps as ISO 8601 strings in UTC (``2024-01-05T13:02:11Z``), money to the cent;
* ``sample_spend.csv``: ``date, channel, spend``, daily spend of the paid channels;
* ``sample_truth.csv``: the causal ground truth per channel (see
  :class:`attribution.datasets._simulate.Simulation`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from attribution.datasets._simulate import Simulation, simulate

__all__ = ["SAMPLE_PARAMS", "main", "sample_simulation", "write_sample"]

#: Arguments of :func:`~attribution.datasets._simulate.simulate` behind the bundled sample.
SAMPLE_PARAMS: dict[str, Any] = {"n_users": 3000, "seed": 7}

_DATA = Path(__file__).resolve().parent / "data"


def sample_simulation() -> Simulation:
    """Run the simulation behind the bundled sample.

    Returns
    -------
    Simulation
        ``simulate(n_users=3000, seed=7)``.
    """
    return simulate(**SAMPLE_PARAMS)


def write_sample(directory: str | Path = _DATA) -> list[Path]:
    """Write ``sample_events.csv``, ``sample_spend.csv`` and ``sample_truth.csv``.

    Parameters
    ----------
    directory : str or Path, default the package's ``datasets/data`` folder
        Where to write the files; created when missing.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    sim = sample_simulation()
    events = sim.events.sort("user_id", "timestamp", "event", "channel").with_columns(
        pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    spend = sim.spend.with_columns(pl.col("spend").round(2))
    truth = sim.truth.with_columns(pl.col("incremental_revenue", "spend").round(2))
    paths = [out / "sample_events.csv", out / "sample_spend.csv", out / "sample_truth.csv"]
    events.write_csv(paths[0], float_precision=2)
    spend.write_csv(paths[1], float_precision=2)
    truth.write_csv(paths[2])
    return paths


def main() -> None:
    """Regenerate the sample files and print where they went."""
    for path in write_sample():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
