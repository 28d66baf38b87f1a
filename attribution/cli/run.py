"""``attribution run EVENTS --model NAME|all --out DIR``: credit per channel and model.

Writes ``DIR/channels.parquet`` and ``.csv`` (the columns of ``result.channels``, with
``model`` first for ``--model all``), ``DIR/paths.*`` (the unique paths in the peers' format)
and, with ``--spend``, ``DIR/roi.*``, as one set. With ``--model all`` a model that refuses the
input (Shapley over more channels than ``--max-channels``) is left out with a warning on
stderr; a single ``--model`` that refuses fails the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import polars as pl

from attribution._base.errors import AttributionError
from attribution._base.output import check_out_dir
from attribution._base.progress import Progress
from attribution.cli.options import (
    OUTPUT_NAMES,
    add_column_options,
    add_journey_options,
    add_model_options,
    add_path_options,
    attribute_models,
    guarded,
    load,
    model_params,
    require_files,
    warn,
    write_tables,
)
from attribution.journeys import PathTable
from attribution.kpis.roi import roi
from attribution.models import MODELS

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``run`` to the subparsers of the ``attribution`` parser."""
    p: argparse.ArgumentParser = sub.add_parser(
        "run",
        help="attribute conversions and revenue to channels",
        description=(
            "Read an event log (or a peer path table with path/total_conversions columns), "
            "build journeys, run one model or all, and write DIR/channels.parquet and .csv "
            "(plus DIR/paths.* with the unique paths, and DIR/roi.* with --spend). DIR is "
            "replaced as a whole: files an earlier run wrote there and this one does not are "
            "removed."
        ),
    )
    p.add_argument("events", help="event log: .parquet, .csv, .ndjson or a Parquet directory")
    p.add_argument(
        "--model",
        default="all",
        help=f"model name or 'all' (default); one of: {', '.join(MODELS)}",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument(
        "--spend",
        default=None,
        help="spend table (date, channel, spend): also write DIR/roi.parquet and .csv",
    )
    add_journey_options(p)
    add_column_options(p)
    add_path_options(p)
    add_model_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress and no table")
    p.set_defaults(func=run, command_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``attribution run`` with parsed arguments; returns the exit status."""
    return guarded(_run, args)


def _side_by_side(table: pl.DataFrame) -> pl.DataFrame:
    wide = table.pivot(on="model", index="channel", values="conversions", aggregate_function=None)
    return wide.sort("channel")


def _run(args: argparse.Namespace) -> int:
    prog = Progress(enabled=not args.quiet)
    t0 = time.perf_counter()
    if not args.quiet:
        print(f"attribution run {args.events}", file=sys.stderr)
    check_out_dir(args.out, owned=OUTPUT_NAMES)  # before the slow part
    if args.model != "all" and args.model not in MODELS:
        raise AttributionError(
            f"Unknown model {args.model!r}; expected 'all' or one of: {', '.join(MODELS)}."
        )
    require_files(events=(args.events, "event log"), spend=(args.spend, "spend table"))
    params = model_params(args)
    data = load(args, prog)
    with prog.step("compressing paths"):
        paths = data if isinstance(data, PathTable) else data.to_paths()
    every = args.model == "all"
    with prog.step(f"attributing ({args.model})"):
        table, skipped = attribute_models(
            data, None if every else [args.model], params, skip_refused=every
        )
    for why in skipped:
        warn(why, args)
    channels = table if every else table.drop("model")
    frames = {"channels": channels, "paths": paths.to_frame(peer_names=True)}
    if args.spend is not None:
        with prog.step("joining spend"):
            frames["roi"] = roi(channels, args.spend)
    with prog.step(f"writing {args.out}"):
        write_tables(args.out, frames)
    if not args.quiet:
        with pl.Config(tbl_rows=60, tbl_cols=20, tbl_width_chars=200, float_precision=1):
            print("conversions credited per channel and model:")
            print(_side_by_side(table))
            if "roi" in frames and "model" in frames["roi"].columns:
                print("ROAS (revenue / spend) per channel and model:")
                print(
                    frames["roi"]
                    .pivot(on="model", index="channel", values="roas", aggregate_function=None)
                    .sort("channel")
                )
        total = time.perf_counter() - t0
        names = ", ".join(f"{n}.parquet/.csv" for n in frames)
        print(f"wrote {names} to {args.out} in {total:.2f} s", file=sys.stderr)
    return 0
