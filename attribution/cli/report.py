"""``attribution report EVENTS --out DIR``: the HTML report and its tables, as one set.

Writes ``DIR/report.html`` (one self-contained page) and every table of the page as
``DIR/<table>.parquet`` and ``.csv``. Sections whose input is not given are skipped with a note;
a model that refuses the input is left out with a note on the page and a warning on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from attribution._base.errors import AttributionError
from attribution._base.output import check_out_dir, output_set
from attribution._base.progress import Progress
from attribution.cli.options import (
    OUTPUT_NAMES,
    add_column_options,
    add_journey_options,
    add_model_options,
    add_path_options,
    check_finite,
    guarded,
    load,
    model_params,
    require_files,
    split_list,
    warn,
    with_skips,
)
from attribution.models import MODELS

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``report`` to the subparsers of the ``attribution`` parser."""
    rep: argparse.ArgumentParser = sub.add_parser(
        "report",
        help="write a self-contained HTML report with charts, plus its tables",
        description=(
            "Read an event log (or a peer path table), build journeys, run the models and "
            "write DIR/report.html (one self-contained page of charts and tables) and every "
            "table as DIR/<name>.parquet and .csv. Sections whose input is not given (spend, "
            "CRM, activities) are skipped with a note. DIR is replaced as a whole."
        ),
    )
    rep.add_argument("events", help="event log: .parquet, .csv, .ndjson or a Parquet directory")
    rep.add_argument("--out", required=True, help="output directory")
    rep.add_argument(
        "--model",
        nargs="+",
        default=None,
        metavar="NAME",
        help=f"models to run (default: all the input supports); from: {', '.join(MODELS)}",
    )
    inputs = rep.add_argument_group("report inputs")
    inputs.add_argument("--spend", default=None, help="spend table (date, channel, spend)")
    inputs.add_argument(
        "--crm", default=None, help="CRM lifecycle table (user_id, timestamp, stage)"
    )
    inputs.add_argument(
        "--stage-map",
        default=None,
        metavar="LABEL=STAGE,...",
        help="rename the CRM table's stage labels, e.g. marketingqualifiedlead=mql,"
        "salesqualifiedlead=sql",
    )
    inputs.add_argument(
        "--activities", default=None, help="sales activities (user_id, timestamp, activity)"
    )
    inputs.add_argument(
        "--targets",
        default=None,
        help="targets table (period, metric, target) with metric conversions or revenue",
    )
    inputs.add_argument(
        "--mql-commitment", type=float, default=None, help="MQLs marketing commits to per period"
    )
    inputs.add_argument(
        "--freq",
        choices=["1d", "1w", "1mo", "1q", "1y"],
        default="1mo",
        help="period of the trends, funnel and SLA sections (default 1mo)",
    )
    inputs.add_argument("--title", default="Attribution report", help="page title")
    inputs.add_argument("--headline-model", default=None, help="model of the single-model charts")
    add_journey_options(rep)
    add_column_options(rep)
    add_path_options(rep)
    add_model_options(rep)
    rep.add_argument("--quiet", action="store_true", help="no progress")
    rep.set_defaults(func=run, command_parser=rep)
    return rep


def run(args: argparse.Namespace) -> int:
    """Run ``attribution report`` with parsed arguments; returns the exit status."""
    return guarded(_report, args)


def _stage_map(text: str | None) -> dict[str, str] | None:
    pairs = split_list(text)
    if pairs is None:
        return None
    out = {}
    for pair in pairs:
        label, sep, stage = pair.partition("=")
        if not sep or not label.strip() or not stage.strip():
            raise AttributionError(
                f"--stage-map {text!r}: expected LABEL=STAGE pairs separated by commas, e.g. "
                "marketingqualifiedlead=mql,salesqualifiedlead=sql."
            )
        out[label.strip()] = stage.strip()
    return out


def _report(args: argparse.Namespace) -> int:
    from attribution.crm import read_crm
    from attribution.reporting import build_report, read_targets

    prog = Progress(enabled=not args.quiet)
    t0 = time.perf_counter()
    if not args.quiet:
        print(f"attribution report {args.events}", file=sys.stderr)
    check_out_dir(args.out, owned=OUTPUT_NAMES)  # before the slow part
    require_files(
        events=(args.events, "event log"),
        spend=(args.spend, "spend table"),
        crm=(args.crm, "CRM table"),
        activities=(args.activities, "activities table"),
        targets=(args.targets, "targets table"),
    )
    for name in args.model or []:
        if name not in MODELS:
            raise AttributionError(
                f"Unknown model {name!r}; expected one or more of: {', '.join(MODELS)}."
            )
    stage_map = _stage_map(args.stage_map)
    params = model_params(args)
    targets = None
    if args.targets is not None:
        with prog.step("reading targets"):
            targets = read_targets(args.targets, freq=args.freq)
    crm: Any = args.crm
    if crm is not None and stage_map is not None:
        crm = read_crm(args.crm, stage_map=stage_map)
    data = load(args, prog)
    report, skipped = with_skips(
        lambda: build_report(
            data,
            spend=args.spend,
            crm=crm,
            activities=args.activities,
            targets=targets,
            models=args.model,
            freq=args.freq,
            mql_commitment=args.mql_commitment,
            title=args.title,
            headline_model=args.headline_model,
            model_params=params,
            progress=not args.quiet,
        )
    )
    for why in skipped:
        warn(why, args)
    check_finite(report.tables)
    with prog.step(f"writing {args.out}"), output_set(args.out, owned=OUTPUT_NAMES) as stage:
        report.write(Path(stage))
    if not args.quiet:
        total = time.perf_counter() - t0
        names = ", ".join(report.tables)
        print(
            f"wrote report.html and {names} (.parquet/.csv) to {args.out} in {total:.2f} s",
            file=sys.stderr,
        )
        for key, why in report.notes.items():
            if not any(t in report.tables for s in _sections(key) for t in s):
                print(f"  section {key} skipped: {why}", file=sys.stderr)
    return 0


def _sections(key: str) -> list[tuple[str, ...]]:
    from attribution.reporting.html import SECTIONS

    return [s.tables for s in SECTIONS if s.key == key]
