"""What the subcommands share: options, loading the input, checks, writing, exit statuses.

:func:`guarded` runs a subcommand and turns its failures into exit statuses: the package's
errors (and a missing file) print ``error: ...`` and give 2, with any suggestion of a Python
parameter (``touch_events=``) reworded as the command's option (``--touch-events``);
SIGINT gives 130 and SIGTERM 143 (handled like SIGINT: the staging folder is removed, nothing
is published). :func:`write_tables` publishes a run's tables as one set
(:func:`attribution._base.output.output_set`) after :func:`check_finite` has refused any NaN or
infinite figure.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import polars as pl

from attribution._base.errors import (
    AttributionError,
    SkippedModelWarning,
    ValidationError,
    describe_rows,
)
from attribution._base.frames import read_error
from attribution._base.output import output_set
from attribution._base.progress import Progress
from attribution.journeys import JourneyOptions, Journeys, PathTable, build_journeys, read_paths
from attribution.reporting.html import SECTIONS

__all__ = [
    "OUTPUT_NAMES",
    "Terminated",
    "add_column_options",
    "add_journey_options",
    "add_model_options",
    "add_path_options",
    "attribute_models",
    "check_finite",
    "cli_wording",
    "guarded",
    "journey_options",
    "load",
    "model_params",
    "require_files",
    "split_list",
    "warn",
    "with_skips",
    "write_tables",
]

#: Every file name the subcommands write into an output folder. A run replaces the folder as
#: a whole: files with these names that it does not write itself (an earlier run's) are gone
#: with the old folder; other files are carried over.
OUTPUT_NAMES: frozenset[str] = frozenset(
    [
        *(f"{name}.{ext}" for name in ("channels", "paths", "roi") for ext in ("parquet", "csv")),
        *(f"{t}.{ext}" for s in SECTIONS for t in s.tables for ext in ("parquet", "csv")),
        "report.html",
        "forecast.parquet",
        "forecast.csv",
        "forecast.png",
    ]
)


T = TypeVar("T")


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt (staging removed), exit status 143."""


# ----------------------------------------------------------------------------------------------
# options


def split_list(text: str | None) -> tuple[str, ...] | None:
    """Split a comma-separated option (``"a, b"`` -> ``("a", "b")``); None stays None."""
    if text is None:
        return None
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_journey_options(parser: argparse.ArgumentParser) -> None:
    """Add the journey rules (``--lookback-days`` ...)."""
    j = parser.add_argument_group("journey options")
    j.add_argument("--lookback-days", type=float, default=None)
    j.add_argument("--max-touches", type=int, default=None)
    j.add_argument("--collapse-repeats", action="store_true")
    j.add_argument(
        "--non-converting",
        choices=["after_last", "never_converted", "drop"],
        default="after_last",
    )


def add_column_options(parser: argparse.ArgumentParser) -> None:
    """Add where the event log's columns are and how to read them (``--user-col`` ...)."""
    c = parser.add_argument_group("columns")
    c.add_argument("--user-col", default="user_id")
    c.add_argument("--time-col", default="timestamp")
    c.add_argument("--channel-col", default="channel")
    c.add_argument("--event-col", default="event")
    c.add_argument("--revenue-col", default="revenue")
    c.add_argument(
        "--conversion-flag-col",
        default=None,
        help="instead of --event-col: 0/1 or true/false marking converting rows (null: none)",
    )
    c.add_argument(
        "--touch-events",
        default="touch",
        help="comma-separated values of the event column that are touches (default touch)",
    )
    c.add_argument(
        "--conversion-events",
        default="conversion",
        help="comma-separated values that are conversions (default conversion), e.g. purchase",
    )
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


def add_path_options(parser: argparse.ArgumentParser) -> None:
    """Add how a peer path table is read (``--repeats``)."""
    p = parser.add_argument_group("path table options")
    p.add_argument(
        "--repeats",
        choices=["refuse", "expand", "keep"],
        default="refuse",
        help=(
            "a path table's Google Analytics repeat notation 'X × n': refuse it (default), "
            "expand it to n touches of X, or keep the text as a channel name"
        ),
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add the models' own options (``--half-life-days`` ...)."""
    m = parser.add_argument_group("model options")
    m.add_argument("--half-life-days", type=float, default=None, help="time_decay half-life")
    m.add_argument("--direct-channels", default=None, help="comma-separated, for last_non_direct")
    m.add_argument("--position-weights", default=None, help="u, j, inverse_j or 'f,m,l'")
    m.add_argument(
        "--max-channels",
        type=int,
        default=None,
        help="most channels the exact Shapley value accepts (shapley; default 24)",
    )


def model_params(args: argparse.Namespace) -> dict[str, Any]:
    """Collect the model parameters given on the command line."""
    params: dict[str, Any] = {}
    if args.half_life_days is not None:
        params["half_life_days"] = args.half_life_days
    if args.direct_channels is not None:
        params["direct_channels"] = split_list(args.direct_channels)
    if args.max_channels is not None:
        params["max_channels"] = args.max_channels
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


def journey_options(args: argparse.Namespace) -> JourneyOptions:
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
        touch_events=split_list(args.touch_events) or ("touch",),
        conversion_events=split_list(args.conversion_events) or ("conversion",),
        time_zone=args.time_zone,
        epoch_unit=args.epoch_unit,
        time_format=args.time_format,
    )


# ----------------------------------------------------------------------------------------------
# input


def require_files(**given: tuple[str | None, str]) -> None:
    """Fail before the slow part when an input file that was given does not exist.

    Each keyword is an option's name, with its value and what it holds:
    ``require_files(spend=(args.spend, "spend table"))``.
    """
    for value, what in given.values():
        if value is not None and not Path(value).exists():
            raise FileNotFoundError(f"The {what} file {value!r} does not exist.")


def load(args: argparse.Namespace, prog: Progress) -> Journeys | PathTable:
    """Read ``args.events``: a peer path table (``path``, ``total_conversions``) or a log."""
    from attribution._base.frames import to_lazy

    names = set(to_lazy(args.events, what="event log").collect_schema().names())
    if {"path", "total_conversions"} <= names:
        with prog.step("reading path table"):
            return read_paths(args.events, repeats=getattr(args, "repeats", "refuse"))
    return build_journeys(args.events, journey_options(args), progress=prog.enabled)


def with_skips(compute: Callable[[], T]) -> tuple[T, list[str]]:
    """Run ``compute``; return its result and the reasons of the models it left out.

    Other warnings are shown as they would have been.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkippedModelWarning)
        result = compute()
    skipped = []
    for w in caught:
        if issubclass(w.category, SkippedModelWarning):
            skipped.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result, skipped


def attribute_models(
    data: Journeys | PathTable,
    models: Sequence[str] | None,
    params: Mapping[str, Any],
    *,
    skip_refused: bool,
) -> tuple[pl.DataFrame, list[str]]:
    """Run the models side by side; with ``skip_refused``, the reasons of those left out."""
    from attribution._api import attribute_all

    return with_skips(
        lambda: attribute_all(data, models=models, skip_refused=skip_refused, **params)
    )


# ----------------------------------------------------------------------------------------------
# output


def check_finite(frames: Mapping[str, pl.DataFrame]) -> None:
    """Refuse NaN or infinite figures in the tables about to be written (nulls are fine).

    A figure beyond the range of 64-bit floats (about 1.8e308) cannot be written truthfully;
    the inputs' own totals are checked when they are read, this is the last guard.
    """
    for name, df in frames.items():
        for col, dtype in df.schema.items():
            if not dtype.is_float():
                continue
            bad = ~df[col].is_finite().fill_null(True)
            if bad.any():
                sub = df.with_row_index("__row").filter(bad)
                label = "channel" if "channel" in df.columns else None
                rows = describe_rows(
                    sub["__row"].to_list(),
                    values=sub[col].to_list(),
                    ids=sub[label].to_list() if label else None,
                    id_name=label or "",
                    total=int(bad.sum()),
                )
                raise ValidationError(
                    f"The {name} table has {int(bad.sum())} NaN or infinite values in column "
                    f"{col!r} ({rows}): the input's figures are beyond what 64-bit floats hold "
                    "(about 1.8e308); scale them down (e.g. to thousands). Nothing was written."
                )


def write_tables(
    out: str,
    frames: Mapping[str, pl.DataFrame],
    *,
    also: Callable[[Path], None] | None = None,
) -> None:
    """Write each frame as Parquet and CSV, then publish the folder as one set.

    ``also`` writes more files into the staging folder (the report's page, a chart).
    """
    check_finite(frames)
    with output_set(out, owned=OUTPUT_NAMES) as stage:
        for name, df in frames.items():
            df.write_parquet(stage / f"{name}.parquet")
            df.write_csv(stage / f"{name}.csv")
        if also is not None:
            also(stage)


# ----------------------------------------------------------------------------------------------
# exit statuses


def cli_wording(message: str, parser: argparse.ArgumentParser | None) -> str:
    """Reword the Python parameters named in ``message`` as the command's options.

    ``touch_events=`` becomes ``--touch-events``, ``max_channels=24`` becomes
    ``--max-channels 24``, a bare ``lookback_days`` becomes ``--lookback-days`` and
    ``the matching *_col parameter`` the matching ``--*-col`` option. Only parameters the
    command has an option for are reworded; quoted names (columns, values) are left alone.

    Examples
    --------
    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--touch-events")
    >>> _ = p.add_argument("--max-channels")
    >>> cli_wording("Map other names with touch_events= or stage_map=.", p)
    'Map other names with --touch-events or stage_map=.'
    >>> cli_wording("the limit is max_channels=24; raise max_channels ('max_channels').", p)
    "the limit is --max-channels 24; raise --max-channels ('max_channels')."
    >>> cli_wording("pass touch_events='visit' or stage_map='x'.", p)
    "pass --touch-events visit or stage_map='x'."
    """
    if parser is None:
        return message
    flags = {
        a.dest: max(a.option_strings, key=len)
        for a in parser._actions  # argparse keeps its options there
        if a.option_strings
    }
    for dest, option in list(flags.items()):  # forecast: the event log's own column options
        if dest.startswith("event_"):
            flags.setdefault(dest[len("event_") :], option)

    def keyword(m: re.Match[str]) -> str:
        if m[1] not in flags:
            return m[0]
        return flags[m[1]] + (f" {m[3]}" if m[3] else "")

    # name=value or name='value' (a choice, quoted in the Python wording)
    message = re.sub(
        r"(?<![\w'\"-])([a-z][a-z_]*)=('?)([\w.+-]*\w)?\2(?=[\s,.;:)/]|$)", keyword, message
    )

    def bare(m: re.Match[str]) -> str:
        return flags.get(m[1], m[0]) if "_" in m[1] else m[0]

    message = re.sub(r"(?<![\w'\"-])([a-z][a-z_]*)(?![\w'\"=-])", bare, message)
    if "format" not in flags:  # a date column of a table the command takes no format for
        message = re.sub(
            r"pass format= \(e\.g\. [^)]*\)",
            "write them as ISO 8601 dates (YYYY-MM-DD) in the file",
            message,
        )
    return message.replace("the matching *_col parameter", "the matching --*-col option")


def warn(message: str, args: argparse.Namespace) -> None:
    """Print ``attribution: warning: MESSAGE`` on stderr, worded for the command.

    Shown even with --quiet.
    """
    parser = getattr(args, "command_parser", None)
    print(f"attribution: warning: {cli_wording(message, parser)}", file=sys.stderr)


@contextmanager
def _warnings_as_lines(parser: argparse.ArgumentParser | None) -> Iterator[None]:
    """Show Python warnings as ``attribution: warning: MESSAGE`` lines, without file and line.

    The default format (``/path/io.py:123: DataQualityWarning: ...`` and the source line) is
    for programmers; the command's user needs the message, worded for the command.
    """
    previous = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        print(f"attribution: warning: {cli_wording(str(message), parser)}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def _sources(args: argparse.Namespace) -> list[tuple[object, str]]:
    names = {
        "events": "event log",
        "source": "input",
        "spend": "spend table",
        "crm": "CRM table",
        "activities": "activities table",
        "targets": "targets table",
    }
    return [(getattr(args, k), w) for k, w in names.items() if getattr(args, k, None) is not None]


@contextmanager
def _sigterm_like_sigint() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def guarded(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand; return its exit status (see the module docstring)."""
    parser = getattr(args, "command_parser", None)

    def fail(message: str) -> int:
        print(f"error: {cli_wording(message, parser)}", file=sys.stderr)
        return 2

    try:
        with _sigterm_like_sigint(), _warnings_as_lines(parser):
            return command(args)
    except (AttributionError, FileNotFoundError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Terminated:
        print("error: terminated (SIGTERM); nothing was written", file=sys.stderr)
        return 143
    except OSError:  # writing the outputs (a full disk): not the input's fault
        raise
    except Exception as exc:  # an input file that the readers could not read
        error = read_error(exc, _sources(args))
        if error is None:
            raise
        return fail(str(error))
    except pl.exceptions.PanicException as exc:  # not an Exception
        error = read_error(exc, _sources(args))
        if error is None:
            raise
        return fail(str(error))
