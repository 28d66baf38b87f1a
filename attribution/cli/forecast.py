"""``attribution forecast``: series or event log in, forecasts and a fan chart out.

``attribution forecast SERIES_OR_EVENTS --h 12 --freq 1mo --out DIR`` writes
``DIR/forecast.parquet``, ``DIR/forecast.csv`` (columns of :func:`forecasting.forecast`) and
``DIR/forecast.png`` (history and forecast with shaded intervals, one panel per series, at
most 12 panels), as one set. Input is either a long series file (``series_id, date, value``)
or an event log, which is built into journeys, attributed with ``--model`` and turned into one
series per channel (and a total) with :func:`forecasting.series_from_attribution`.

Hook it into a parser with :func:`add_parser` and call :func:`run` with the parsed arguments;
``run`` returns the exit status (0 success, 2 bad input with the message on stderr). This was
``forecasting.cli``, which forwards here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import polars as pl

from attribution._base.errors import AttributionError, SchemaError
from attribution._base.frames import to_lazy
from attribution._base.output import atomic_path, check_out_dir, output_set
from attribution.cli.options import (
    OUTPUT_NAMES,
    add_column_options,
    check_finite,
    guarded,
    journey_options,
)

__all__ = ["add_parser", "fan_chart", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``forecast`` subcommand to an ``argparse`` subparsers object.

    Parameters
    ----------
    subparsers
        The object returned by ``ArgumentParser.add_subparsers()``.

    Returns
    -------
    ArgumentParser
        The new subparser (its ``func`` default is :func:`run`).

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> _ = add_parser(p.add_subparsers(dest="command"))
    >>> p.parse_args(["forecast", "s.csv", "--out", "o"]).h
    12
    """
    p = subparsers.add_parser(
        "forecast",
        help="forecast revenue or conversions per channel with intervals",
        description=(
            "Forecast long series (series_id, date, value) or the per-channel series of an "
            "attributed event log; write DIR/forecast.parquet, .csv and a fan chart PNG."
        ),
    )
    p.add_argument("source", help="long series file or event log (.parquet, .csv, .ndjson)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--h", type=int, default=12, help="periods ahead (default 12)")
    p.add_argument("--freq", default=None, help="period: 1d, 1w, 1mo (events default), 1q, 1y")
    p.add_argument("--models", default="auto", help="comma-separated forecast models")
    p.add_argument("--level", default="80,95", help="interval levels in %% (default 80,95)")
    p.add_argument("--season-length", type=int, default=None)
    p.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="threads (-1: one per core, -2: all but one; 1: none)",
    )
    p.add_argument("--no-plot", action="store_true", help="skip the fan chart")
    e = p.add_argument_group("event logs")
    e.add_argument("--model", default="linear", help="attribution model (default linear)")
    e.add_argument("--what", choices=["revenue", "conversions"], default="revenue")
    e.add_argument("--by", choices=["channel", "total", "both"], default="both")
    e.add_argument("--lookback-days", type=float, default=None)
    c = p.add_argument_group("series columns")
    c.add_argument("--id-col", default="series_id")
    c.add_argument("--time-col", default="date", help="date column of a series file")
    c.add_argument("--value-col", default="value")
    _add_event_columns(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run, command_parser=p)
    return p


def _add_event_columns(p: argparse.ArgumentParser) -> None:
    """Add the event log's columns, as for ``run``; ``--event-time-col`` is its time column."""
    scratch = argparse.ArgumentParser(add_help=False)
    add_column_options(scratch)
    group = p.add_argument_group("event log columns")
    for action in scratch._actions:  # argparse keeps its options there
        if not action.option_strings:
            continue
        flags = ["--event-time-col"] if action.dest == "time_col" else action.option_strings
        kwargs: dict[str, Any] = {"default": action.default, "help": action.help}
        if action.choices is not None:
            kwargs["choices"] = action.choices
        group.add_argument(*flags, dest=f"event_{action.dest}", **kwargs)


def _series(args: argparse.Namespace) -> tuple[pl.DataFrame, str | None]:
    """Read the series to forecast: the file's own, or those of the attributed event log.

    A file with two of the three series columns and not the event log's user and event
    columns is a series file: the missing column is named (a misspelt ``--value-col`` was
    read as an event log).
    """
    lf = to_lazy(args.source, what="input")
    found = lf.collect_schema().names()
    options = {args.id_col: "--id-col", args.time_col: "--time-col", args.value_col: "--value-col"}
    missing = [c for c in options if c not in found]
    shown = ", ".join(map(repr, found))
    if not missing:
        return lf.collect(), args.freq
    event_log = {args.event_user_col, args.event_event_col} <= set(found)
    if len(missing) == 1 and not event_log:
        raise SchemaError(
            f"Column {missing[0]!r} is missing from the series file {str(args.source)!r}; found "
            f"columns: {shown}. Pass the right name with {options[missing[0]]}."
        )
    import attribution as at
    from forecasting.series import series_from_attribution

    try:
        journeys = at.build_journeys(args.source, _journey_options(args))
    except SchemaError as exc:
        if "missing" not in str(exc):
            raise
        wanted = ", ".join(map(repr, options))
        raise SchemaError(
            f"{exc} Nor is it a series file: that needs the columns {wanted} (--id-col, "
            "--time-col, --value-col)."
        ) from None
    result = at.attribute(journeys, args.model)
    freq = args.freq or "1mo"
    series = series_from_attribution(
        result,
        journeys,
        freq=freq,
        what=args.what,
        by=args.by,
        id_col=args.id_col,
        time_col=args.time_col,
        value_col=args.value_col,
    )
    return series, freq


def _journey_options(args: argparse.Namespace) -> Any:
    """Build the event log's journey options: its columns (``--event-*``) and lookback."""
    own = argparse.Namespace(
        **{k[len("event_") :]: v for k, v in vars(args).items() if k.startswith("event_")},
        lookback_days=args.lookback_days,
        max_touches=None,
        collapse_repeats=False,
        non_converting="after_last",
    )
    return journey_options(own)


def _levels(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise AttributionError(f"--level {text!r}: expected numbers such as 80,95.") from None


def fan_chart(
    history: pl.DataFrame,
    fc: pl.DataFrame,
    target: str | Path,
    *,
    id_col: str = "series_id",
    time_col: str = "date",
    value_col: str = "value",
    max_series: int = 12,
) -> Path:
    """Draw history and forecast (first model per series) with shaded intervals as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = fc[id_col].unique(maintain_order=True).to_list()[:max_series]
    cols = min(3, len(ids))
    rows = -(-len(ids) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3 * rows), squeeze=False)
    levels = sorted(
        (float(c[3:]), c[3:])
        for c in fc.columns
        if c.startswith("lo-") and f"hi-{c[3:]}" in fc.columns
    )
    from forecasting.series import read_dates

    decimal = False
    if fc.schema[time_col].is_integer():  # numbered periods (1, 2, 3...): drawn as numbers
        history = history.with_columns(pl.col(time_col).cast(pl.Int64))
    else:
        # the history's dates as the forecasts read them (text, offsets, whole-number years...)
        lf = history.lazy()
        history = lf.with_columns(read_dates(lf, time_col, what="series")).collect()
        if isinstance(fc.schema[time_col], pl.Datetime):
            fc = fc.with_columns(pl.col(time_col).dt.date())
        # Python (and so matplotlib) dates end in 9999: later years are drawn as decimal years
        years = pl.concat([history[time_col], fc[time_col]]).dt.year()
        decimal = bool(years.max() > 9999) if years.len() else False  # type: ignore[operator]
    for ax, sid in zip(axes.flat, ids, strict=False):
        past = history.filter(pl.col(id_col) == sid)
        ahead = fc.filter(pl.col(id_col) == sid)
        ahead = ahead.filter(pl.col("model") == ahead["model"][0])
        when = _x_values(ahead[time_col], decimal)
        ax.plot(_x_values(past[time_col], decimal), past[value_col].to_list(), color="black", lw=1)
        for i, (_, label) in enumerate(reversed(levels)):
            ax.fill_between(
                when,
                ahead[f"lo-{label}"].to_list(),
                ahead[f"hi-{label}"].to_list(),
                color="tab:blue",
                alpha=0.2 + 0.2 * i,
                lw=0,
                label=f"{label}%",
            )
        ax.plot(when, ahead["mean"].to_list(), color="tab:blue", lw=1.5)
        if decimal:
            ax.set_xlabel("year", fontsize=7)
        ax.set_title(f"{sid} ({ahead['model'][0]})", fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(ids) :]:
        ax.set_visible(False)
    fig.tight_layout()
    target = Path(target)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return target


def _x_values(dates: pl.Series, decimal: bool) -> list[Any]:
    """Dates to draw: Python dates, or decimal years (2024.5) past what Python dates hold."""
    if not decimal:
        return dates.to_list()
    days = 365 + dates.dt.is_leap_year().cast(pl.Int32)
    return (dates.dt.year() + (dates.dt.ordinal_day() - 1) / days).to_list()


def run(args: argparse.Namespace) -> int:
    """Run ``attribution forecast`` with parsed arguments; returns the exit status.

    Examples
    --------
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> _ = add_parser(p.add_subparsers(dest="command"))
    >>> run(p.parse_args(["forecast", "missing.csv", "--out", "o", "--quiet"]))
    2
    """
    return guarded(_forecast, args)


def _forecast(args: argparse.Namespace) -> int:
    from forecasting.engine import forecast

    check_out_dir(args.out, owned=OUTPUT_NAMES)  # before the slow part
    levels = _levels(args.level)
    series, freq = _series(args)
    out = forecast(
        series,
        h=args.h,
        level=levels,
        models=[m.strip() for m in args.models.split(",") if m.strip()],
        freq=freq,
        season_length=args.season_length,
        n_jobs=args.n_jobs,
        id_col=args.id_col,
        time_col=args.time_col,
        value_col=args.value_col,
    )
    check_finite({"forecast": out})
    wrote = ["forecast.parquet", "forecast.csv"]
    with output_set(args.out, owned=OUTPUT_NAMES) as stage:
        out.write_parquet(stage / "forecast.parquet")
        out.write_csv(stage / "forecast.csv")
        if not args.no_plot:
            try:
                fan_chart(
                    series,
                    out,
                    stage / "forecast.png",
                    id_col=args.id_col,
                    time_col=args.time_col,
                    value_col=args.value_col,
                )
                wrote.append("forecast.png")
            except ImportError:
                print("matplotlib is not installed; skipped the fan chart", file=sys.stderr)
    if not args.quiet:
        n = out[args.id_col].n_unique()
        print(f"wrote {', '.join(wrote)} ({n} series, h={args.h}) to {args.out}", file=sys.stderr)
    return 0
