"""The batch entry points: ``attribution run`` and ``attribution report``.

``attribution run EVENTS --model NAME|all --out DIR`` writes the credit tables;
``attribution report EVENTS --out DIR [--spend FILE] [--crm FILE] ...`` writes the HTML report.

Exit status: 0 on success, 2 on bad input (the error's message on stderr, no output written),
1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from attribution._api import attribute_all
from attribution._base.errors import AttributionError
from attribution._base.progress import Progress
from attribution.io import to_lazy
from attribution.journeys import JourneyOptions, Journeys, PathTable, build_journeys, read_paths
from attribution.kpis.roi import roi
from attribution.models import MODELS

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="attribution",
        description="Multi-touch attribution over event logs.",
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="attribute conversions and revenue to channels",
        description=(
            "Read an event log (or a peer path table with path/total_conversions columns), "
            "build journeys, run one model or all, and write DIR/channels.parquet and .csv "
            "(plus DIR/paths.* with the unique paths)."
        ),
    )
    run.add_argument("events", help="event log: .parquet, .csv, .ndjson or a Parquet directory")
    run.add_argument(
        "--model",
        default="all",
        help=f"model name or 'all' (default); one of: {', '.join(MODELS)}",
    )
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument(
        "--spend",
        default=None,
        help="spend table (date, channel, spend): also write DIR/roi.parquet and .csv",
    )
    _add_journey_options(run)
    _add_column_options(run)
    _add_model_options(run)
    run.add_argument("--quiet", action="store_true", help="no progress and no table")
    _add_report_parser(sub)
    from forecasting import cli as forecast_cli

    forecast_cli.add_parser(sub)
    return p


def _add_journey_options(parser: argparse.ArgumentParser) -> None:
    j = parser.add_argument_group("journey options")
    j.add_argument("--lookback-days", type=float, default=None)
    j.add_argument("--max-touches", type=int, default=None)
    j.add_argument("--collapse-repeats", action="store_true")
    j.add_argument(
        "--non-converting",
        choices=["after_last", "never_converted", "drop"],
        default="after_last",
    )


def _add_column_options(parser: argparse.ArgumentParser) -> None:
    c = parser.add_argument_group("columns")
    c.add_argument("--user-col", default="user_id")
    c.add_argument("--time-col", default="timestamp")
    c.add_argument("--channel-col", default="channel")
    c.add_argument("--event-col", default="event")
    c.add_argument("--revenue-col", default="revenue")
    c.add_argument("--conversion-flag-col", default=None)
    c.add_argument("--time-zone", default="UTC", help="zone of naive timestamps")
    c.add_argument(
        "--epoch-unit",
        choices=["s", "ms", "us", "ns"],
        default=None,
        help="unit of numeric timestamps (default: detected from their magnitude)",
    )
    c.add_argument(
        "--time-format", default=None, help="strftime format of text timestamps, e.g. %%d/%%m/%%Y"
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    m = parser.add_argument_group("model options")
    m.add_argument("--half-life-days", type=float, default=None, help="time_decay half-life")
    m.add_argument("--direct-channels", default=None, help="comma-separated, for last_non_direct")
    m.add_argument("--position-weights", default=None, help="u, j, inverse_j or 'f,m,l'")


def _add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rep = sub.add_parser(
        "report",
        help="write a self-contained HTML report with charts, plus its tables",
        description=(
            "Read an event log (or a peer path table), build journeys, run the models and "
            "write DIR/report.html (one self-contained page of charts and tables) and every "
            "table as DIR/<name>.parquet and .csv. Sections whose input is not given (spend, "
            "CRM, activities) are skipped with a note."
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
    _add_journey_options(rep)
    _add_column_options(rep)
    _add_model_options(rep)
    rep.add_argument("--quiet", action="store_true", help="no progress")


def _model_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.half_life_days is not None:
        params["half_life_days"] = args.half_life_days
    if args.direct_channels is not None:
        params["direct_channels"] = tuple(c.strip() for c in args.direct_channels.split(","))
    if args.position_weights is not None:
        w = args.position_weights
        if "," in w:
            try:
                params["weights"] = tuple(float(x) for x in w.split(","))
            except ValueError:
                raise AttributionError(
                    f"--position-weights {w!r}: expected u, j, inverse_j or three numbers "
                    "'first,middle,last'."
                ) from None
        else:
            params["weights"] = w
    return params


def _load(args: argparse.Namespace, prog: Progress) -> Journeys | PathTable:
    lf = to_lazy(args.events, what="event log")
    names = set(lf.collect_schema().names())
    if {"path", "total_conversions"} <= names:
        with prog.step("reading path table"):
            return read_paths(lf)
    return build_journeys(lf, _journey_options(args), progress=prog.enabled)


def _journey_options(args: argparse.Namespace) -> JourneyOptions:
    """Build the journey rules and column names given on the command line."""
    return JourneyOptions(
        lookback_days=args.lookback_days,
        max_touches=args.max_touches,
        collapse_repeats=args.collapse_repeats,
        non_converting=args.non_converting,
        user_col=args.user_col,
        time_col=args.time_col,
        channel_col=args.channel_col,
        event_col=args.event_col,
        revenue_col=args.revenue_col,
        conversion_flag_col=args.conversion_flag_col,
        time_zone=args.time_zone,
        epoch_unit=args.epoch_unit,
        time_format=args.time_format,
    )


def _side_by_side(table: pl.DataFrame) -> pl.DataFrame:
    wide = table.pivot(on="model", index="channel", values="conversions", aggregate_function=None)
    return wide.sort("channel")


def _write_outputs(out: Path, frames: dict[str, pl.DataFrame]) -> None:
    """Write every frame as Parquet and CSV into a temporary directory, then move into place."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".attribution-", dir=out))
    try:
        for name, df in frames.items():
            df.write_parquet(staging / f"{name}.parquet")
            df.write_csv(staging / f"{name}.csv")
        for f in sorted(staging.iterdir()):
            f.replace(out / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run(args: argparse.Namespace) -> int:
    prog = Progress(enabled=not args.quiet)
    t0 = time.perf_counter()
    if not args.quiet:
        print(f"attribution run {args.events}", file=sys.stderr)
    data = _load(args, prog)
    params = _model_params(args)
    models = None if args.model == "all" else [args.model]
    if models is not None and models[0] not in MODELS:
        raise AttributionError(
            f"Unknown model {args.model!r}; expected 'all' or one of: {', '.join(MODELS)}."
        )
    with prog.step("compressing paths"):
        paths = data if isinstance(data, PathTable) else data.to_paths()
    with prog.step(f"attributing ({args.model})"):
        table = attribute_all(data, models=models, **params)
    channels = table if args.model == "all" else table.drop("model")
    frames = {"channels": channels, "paths": paths.to_frame(peer_names=True)}
    if args.spend is not None:
        with prog.step("joining spend"):
            frames["roi"] = roi(channels, args.spend)
    with prog.step(f"writing {args.out}"):
        _write_outputs(Path(args.out), frames)
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


def _report(args: argparse.Namespace) -> int:
    from attribution.reporting import build_report, read_targets

    prog = Progress(enabled=not args.quiet)
    t0 = time.perf_counter()
    if not args.quiet:
        print(f"attribution report {args.events}", file=sys.stderr)
    for what, given in (
        ("spend table", args.spend),
        ("CRM table", args.crm),
        ("activities table", args.activities),
        ("targets table", args.targets),
    ):
        if given is not None and not Path(given).exists():  # fail before the slow part
            raise FileNotFoundError(f"The {what} file {given!r} does not exist.")
    for name in args.model or []:
        if name not in MODELS:
            raise AttributionError(
                f"Unknown model {name!r}; expected one or more of: {', '.join(MODELS)}."
            )
    targets = None
    if args.targets is not None:
        with prog.step("reading targets"):
            targets = read_targets(args.targets, freq=args.freq)
    data = _load(args, prog)
    report = build_report(
        data,
        spend=args.spend,
        crm=args.crm,
        activities=args.activities,
        targets=targets,
        models=args.model,
        freq=args.freq,
        mql_commitment=args.mql_commitment,
        title=args.title,
        headline_model=args.headline_model,
        model_params=_model_params(args),
        progress=not args.quiet,
    )
    with prog.step(f"writing {args.out}"):
        report.write(Path(args.out))
    if not args.quiet:
        total = time.perf_counter() - t0
        names = ", ".join(report.tables)
        print(
            f"wrote report.html and {names} (.parquet/.csv) to {args.out} in {total:.2f} s",
            file=sys.stderr,
        )
        for key, why in report.notes.items():
            print(f"  section {key} skipped: {why}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "report":
            return _report(args)
        if args.command == "forecast":
            from forecasting import cli as forecast_cli

            return forecast_cli.run(args)
    except (AttributionError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
