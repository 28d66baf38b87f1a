"""The forecasting engine: long series in, forecasts of many series and models out.

:func:`forecast` takes long series (``series_id, date, value``) and returns one row per series,
future period and model: ``series_id, date, model, mean, lo-80, hi-80, lo-95, hi-95`` (one
``lo``/``hi`` pair per requested level). The models are the kernels of
:mod:`forecasting.kernels` (``naive``, ``seasonal_naive``, ``drift``, ``harmonic``, ``theta``,
``ets``, ``arima``) and their combination:

``auto``
    The validated combination of ``candidates`` (default ``theta``, ``ets``, ``arima`` and
    ``seasonal_naive``) with calibrated intervals; see :mod:`forecasting.auto`.

Every series is divided by its mean absolute value before any model, so units never matter;
non-negative series are then modelled on a log scale (``transform="auto"``; see
:mod:`forecasting.kernels.scale`): quantiles are transformed back exactly, so intervals stay
>= 0, and the ``mean`` column is then the forecast **median**. Lower bounds of non-negative
series are clipped at 0 for every model. A series too short for a model is forecast by
``naive`` (named so in the ``model`` column, with a warning); forecasts that overflow raise
:class:`~attribution.ModelError`.

Speed: every kernel is vectorised over the series of a batch (NumPy, no loop per series;
``ets`` and ``arima`` fit the whole batch at once). With ``n_jobs`` they run in threads, as
NumPy releases the GIL: no process is started, so a script without a main guard, a notebook
and ``python -c`` work alike.

The steps, each a public name of this module that :mod:`forecasting.backtest` builds on:
:func:`check_levels`, :func:`check_models` and :func:`build_options` check the arguments
into :class:`Options`; :func:`read_panel` reads and checks the series into a :class:`Panel`;
:func:`check_lengths` refuses series too short for a model; :func:`forecast_arrays` runs the
models over every series (grouped by length, vectorised, in threads when it pays off);
:func:`output_frame` lays the results out as the long output frame.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from attribution._base.errors import EmptyInputError, ModelError, ValidationError
from attribution._base.frames import FrameLike, check_columns, numeric_expr, to_lazy
from attribution._base.memory import memory_text, physical_memory
from attribution._base.periods import (
    FreqLike,
    Period,
    as_period,
    calendar_anchor,
    infer_freq,
    is_month_end,
    regular_breaks,
    step_dates,
)
from attribution._base.time import parse_times
from forecasting.auto import (
    COMBINE,
    Combine,
    combine_forecasts,
    interval_factors,
    model_scale,
    validation_weights,
    widen,
)
from forecasting.kernels import KERNELS, MIN_LENGTH, Result, Transform, run_kernel
from forecasting.series import read_dates, read_periods

__all__ = [
    "AUTO_CANDIDATES",
    "MODEL_NAMES",
    "forecast",
]

#: Every model name :func:`forecast` knows: the kernels and their combination ``auto``.
MODEL_NAMES: tuple[str, ...] = (*KERNELS, "auto")
#: Default candidates of ``auto`` (see :mod:`forecasting.auto`).
AUTO_CANDIDATES: tuple[str, ...] = ("theta", "ets", "arima", "seasonal_naive")
#: The model a series too short for the requested one gets (see :data:`MIN_LENGTH`).
FALLBACK = "naive"
#: Shortest training part of a validation window of ``auto``.
MIN_VALIDATION = 8
#: The benchmark methods: ``auto`` alone on them is not worth running (see
#: :func:`auto_min_length`).
BENCHMARKS: tuple[str, ...] = ("naive", "seasonal_naive", "drift")


# ----------------------------------------------------------------------------------------------
# running models over a batch of series


@dataclass(frozen=True)
class Options:
    """Checked settings of one run (:func:`build_options`).

    Attributes
    ----------
    h : int
        Periods ahead.
    m : int
        Season length.
    levels : tuple of float
        Interval levels as fractions, ascending.
    probs : ndarray
        Quantile probabilities, a lower and an upper one per level.
    transform : {"auto", "log", "none"}
        Scale of the models (see :mod:`forecasting.kernels.scale`).
    candidates : tuple of str
        Models that ``auto`` combines.
    combine : {"select", "equal", "weighted", "best"}
        How ``auto`` weights them (see :mod:`forecasting.auto`).
    n_windows, step : int
        The validation windows behind ``auto``: ``n_windows`` windows of ``h`` periods, the
        last ending at the end of the series, ``step`` periods apart.
    """

    h: int
    m: int
    levels: tuple[float, ...]
    probs: np.ndarray
    transform: Transform
    candidates: tuple[str, ...]
    combine: Combine
    n_windows: int
    step: int

    def holdouts(self) -> tuple[int, ...]:
        """Points held out by each validation window of ``auto``, oldest window first."""
        return tuple(self.h + self.step * (self.n_windows - 1 - w) for w in range(self.n_windows))

    def calibration_holdouts(self) -> tuple[int, ...]:
        """Points held out by the windows ``auto`` calibrates its intervals on.

        The validation windows and a later origin, ``h // 2`` points before the end (see
        :mod:`forecasting.auto`).
        """
        later = (self.h // 2,) if self.h // 2 >= 1 else ()
        return tuple(dict.fromkeys((*self.holdouts(), *later)))


def window_cuts(n: int, h: int, n_windows: int, step: int) -> list[int]:
    """Training lengths of the backtest windows, oldest first (the last ends h before n)."""
    return [n - h - step * (n_windows - 1 - w) for w in range(n_windows)]


def _trim_leading_zeros(v: np.ndarray, keep: int = 4) -> np.ndarray:
    """Drop the zeros before a series' first non-zero value, keeping at least ``keep`` points."""
    nz = np.flatnonzero(v != 0)
    if len(nz) == 0:
        return v
    return v[min(int(nz[0]), max(len(v) - keep, 0)) :]


def _n_workers(n_jobs: int | None) -> int:
    """Count the threads for ``n_jobs`` (-1: every core, -2: all but one; None or 0: one)."""
    if n_jobs is not None and (
        isinstance(n_jobs, bool | np.bool_) or not isinstance(n_jobs, int | np.integer)
    ):
        raise ValidationError(
            f"n_jobs must be a whole number (-1: every core) or None; got {n_jobs!r}."
        )
    cpus = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    return max(1, cpus + 1 + n_jobs if n_jobs < 0 else min(n_jobs, cpus))


#: A unit of work: a kernel, the holdouts to forecast, the series (rows) it runs on, and the
#: holdouts whose models are chosen afresh (the others update an older origin's model).
_Task = tuple[str, tuple[int, ...], np.ndarray, tuple[int, ...]]
#: Fewest series per thread worth splitting a kernel run for.
_CHUNK = 64


def _run_tasks(
    ys: list[np.ndarray], tasks: list[_Task], opt: Options, workers: int
) -> dict[tuple[str, int], Result]:
    """Run the kernel tasks, in threads when there are several workers.

    The kernels spend their time in NumPy (matrix products and array operations that release
    the GIL), so threads run them in parallel without starting processes: no worker ever
    imports the user's script again, and the same code works in a script without a main
    guard, a notebook or ``python -c``. A kernel run over many series is split into chunks of
    series; where no thread can be started, everything runs in this thread.
    """
    units = []
    for name, holdouts, rows, refit in tasks:
        n_split = max(1, min(workers, len(rows) // _CHUNK)) if workers > 1 else 1
        for part in np.array_split(rows, n_split):
            if len(part):
                units.append((name, holdouts, part, refit))

    def run(unit: _Task) -> list[Result]:
        name, holdouts, rows, refit = unit
        return run_kernel(
            name, [ys[i] for i in rows], opt.h, opt.m, opt.probs, opt.transform, holdouts, refit
        )

    outs: list[list[Result]] | None = None
    if workers > 1 and len(units) > 1:
        try:
            with ThreadPoolExecutor(max_workers=min(workers, len(units))) as pool:
                outs = list(pool.map(run, units))
        except RuntimeError:  # no thread can start (e.g. at interpreter shutdown)
            outs = None
    if outs is None:
        outs = [run(u) for u in units]
    merged: dict[tuple[str, int], Result] = {}
    p = len(opt.probs)
    for (name, holdouts, rows, _), res in zip(units, outs, strict=True):
        for b, (mean, q) in zip(holdouts, res, strict=True):
            if (name, b) not in merged:
                merged[(name, b)] = (
                    np.full((len(ys), opt.h), np.nan),
                    np.full((len(ys), opt.h, p), np.nan),
                )
            merged[(name, b)][0][rows] = mean
            merged[(name, b)][1][rows] = q
    return merged


def _auto(
    ys: list[np.ndarray], rows: np.ndarray, fits: dict[tuple[str, int], Result], opt: Options
) -> Result:
    """Combine the candidates' forecasts of the series ``rows`` (see :mod:`forecasting.auto`)."""
    sub = [ys[i] for i in rows]
    scale, sc = model_scale(sub, opt.transform)
    lengths = np.array([len(v) for v in sub])
    names = list(opt.candidates)
    fit_ok = np.column_stack([lengths >= MIN_LENGTH[n] for n in names])  # (S, C)
    holdouts = opt.holdouts()
    least = max(MIN_VALIDATION, *(MIN_LENGTH[n] for n in names))

    def windows(bs: Sequence[int]) -> tuple[list[np.ndarray], np.ndarray]:
        """Stack the validation windows: one row per holdout and series (empty if too short)."""
        actual, w_rows = [], []
        for b in bs:
            for k, v in enumerate(sub):
                usable = len(v) - b >= least
                actual.append(v[len(v) - b : len(v) - b + opt.h] if usable else v[:0])
                w_rows.append(k)
        return actual, np.array(w_rows)

    actual, w_idx = windows(holdouts)
    reference = "seasonal_naive"
    val_mean = {
        n: np.concatenate([fits[(n, b)][0][rows] for b in holdouts])
        for n in dict.fromkeys([*names, reference])
    }
    w = validation_weights(
        names, actual, val_mean, scale[w_idx], sc.take(w_idx), opt.combine, reference
    )
    # one weight row per series: the batch-level choices are the same on every row
    weights = np.zeros((len(sub), len(names)))
    np.add.at(weights, w_idx, w)
    weights = np.where(fit_ok, weights, 0.0)
    lost = weights.sum(axis=1) <= 0
    weights[lost] = fit_ok[lost]  # none of the chosen fits this series: whatever does
    weights /= weights.sum(axis=1, keepdims=True)
    cal = opt.calibration_holdouts()
    actual, w_idx = windows(cal)
    big_scale, big_sc = scale[w_idx], sc.take(w_idx)
    val = combine_forecasts(
        [
            (
                np.concatenate([fits[(n, b)][0][rows] for b in cal]),
                np.concatenate([fits[(n, b)][1][rows] for b in cal]),
            )
            for n in names
        ],
        weights[w_idx],
        big_scale,
        big_sc,
    )
    factors = interval_factors(actual, val, big_scale, big_sc, opt.levels, series=w_idx)
    final = combine_forecasts(
        [(fits[(n, 0)][0][rows], fits[(n, 0)][1][rows]) for n in names], weights, scale, sc
    )
    mean, q = widen(final, factors, scale, sc)
    # a widened lower bound can cross 0 (log(u + 1) below 0, or the raw scale): clip it there,
    # as every kernel does for non-negative series
    nonneg = np.array([bool(np.all(v >= 0)) for v in sub])
    return mean, np.where(nonneg[:, None, None], np.maximum(q, 0.0), q)


def auto_min_length(candidates: Sequence[str]) -> int:
    """Fewest points ``auto`` needs: what its shortest-fitting model (not a benchmark) needs."""
    models = [c for c in candidates if c not in BENCHMARKS] or list(candidates)
    return min(MIN_LENGTH[c] for c in models)


def forecast_arrays(
    values: list[np.ndarray], models: Sequence[str], opt: Options, n_jobs: int | None
) -> tuple[dict[str, Result], dict[str, np.ndarray]]:
    """Run the models over every series; series too short for a model get :data:`FALLBACK`.

    Returns the forecasts of each model and, per model, the name of the model that forecast
    each series (the model itself, or the fallback).
    """
    ys = [_trim_leading_zeros(v) for v in values]
    lengths = np.array([len(v) for v in ys])
    everyone = np.arange(len(ys))
    need: dict[str, set[int]] = {}
    refit: dict[str, set[int]] = {}
    labels: dict[str, np.ndarray] = {}
    eligible: dict[str, np.ndarray] = {}
    for name in models:
        least = auto_min_length(opt.candidates) if name == "auto" else MIN_LENGTH[name]
        ok = lengths >= least
        eligible[name] = everyone[ok]
        labels[name] = np.where(ok, name, FALLBACK).astype(object)
        if (~ok).any():
            need.setdefault(FALLBACK, set()).add(0)
            refit.setdefault(FALLBACK, set()).add(0)
        if name == "auto":
            for c in dict.fromkeys([*opt.candidates, "seasonal_naive"]):
                need.setdefault(c, set()).update((0, *opt.calibration_holdouts()))
                refit.setdefault(c, set()).update((0, *opt.holdouts()))
        else:
            need.setdefault(name, set()).add(0)
            refit.setdefault(name, set()).add(0)
    tasks = [
        (name, tuple(sorted(hs)), everyone, tuple(sorted(refit[name]))) for name, hs in need.items()
    ]
    fits = _run_tasks(ys, tasks, opt, _n_workers(n_jobs))
    out: dict[str, Result] = {}
    for name in models:
        mean, q = (a.copy() for a in fits[(FALLBACK, 0)]) if FALLBACK in need else (None, None)
        if mean is None:
            mean = np.full((len(ys), opt.h), np.nan)
            q = np.full((len(ys), opt.h, len(opt.probs)), np.nan)
        assert q is not None
        rows = eligible[name]
        if len(rows):
            res = _auto(ys, rows, fits, opt) if name == "auto" else fits[(name, 0)]
            mean[rows] = res[0] if name == "auto" else res[0][rows]
            q[rows] = res[1] if name == "auto" else res[1][rows]
        out[name] = (mean, q)
    return out, labels


# ----------------------------------------------------------------------------------------------
# frames in, frames out


@dataclass
class Panel:
    """The series of one call, read and checked (:func:`read_panel`).

    Attributes
    ----------
    ids : Series
        Series ids, in the order of ``values``.
    values : list of ndarray
        Values of each series, oldest first.
    first : Series
        First date of each series (``Date``).
    month_end : Series
        Whether each series runs on month ends (then its later periods do too).
    period : Period
        Period of the series.
    dtype : DataType
        Type of the input's time column: ``Datetime`` input gets ``Datetime`` dates back.
    first_step : Series, optional
        Position of ``first`` in each series (Int64), when it is not the first point: a
        monthly series' calendar counts from its first date on its latest day of the month
        (:func:`~attribution._base.periods.calendar_anchor`); then ``first`` is that date.
    numbered : bool
        The time column holds period numbers (1, 2, 3...), not dates: they are held as the
        days after 1970-01-01 and given back as Int64 numbers.
    season : int, optional
        Season length of numbered periods, from ``freq`` (none when it was not given).
    """

    ids: pl.Series
    values: list[np.ndarray]
    first: pl.Series
    month_end: pl.Series
    period: Period
    dtype: pl.DataType
    first_step: pl.Series | None = None
    numbered: bool = False
    season: int | None = None

    def season_length(self, given: int | None) -> int:
        """Return the season length to model: ``given``, else the period's usual one.

        Period numbers carry no calendar: without ``season_length=`` or ``freq=`` the
        series get no season (1), with a warning saying how to give one.
        """
        if given is not None:
            return given
        if not self.numbered:
            return self.period.season_length
        if self.season is None:
            warnings.warn(
                "The time column holds period numbers, not dates, so no season length can be "
                "read from it: the series are forecast without seasonality. Pass "
                "season_length= (12 for months, 4 for quarters, 7 for days) or freq= "
                "('1mo', '1q', '1d').",
                UserWarning,
                stacklevel=3,
            )
            return 1
        return self.season

    def dates(self, rows: np.ndarray, steps: np.ndarray) -> pl.Series:
        """Return the date ``steps[i]`` periods after the first point of series ``rows[i]``.

        Month-end series stay on month ends; the dates have the input's type.
        """
        if self.first_step is not None:
            steps = steps - self.first_step.to_numpy()[rows]
        frame = pl.DataFrame(
            {
                "d": self.first.gather(rows),
                "k": pl.Series(steps, dtype=pl.Int64),
                "e": self.month_end.gather(rows),
            }
        )
        out = frame.select(step_dates(pl.col("d"), pl.col("k"), self.period, month_end=pl.col("e")))
        dates = out.to_series()
        if self.numbered:  # back to the period numbers
            return dates.cast(pl.Int32).cast(pl.Int64)
        if isinstance(self.dtype, pl.Datetime):
            dates = dates.cast(pl.Datetime(self.dtype.time_unit))
            if self.dtype.time_zone:
                dates = _local_midnights(dates, self.dtype.time_zone)
        return dates


def _local_midnights(naive: pl.Series, zone: str) -> pl.Series:
    """Each date's start in ``zone``: its midnight, or the day's first instant.

    A clock change can skip midnight (Sao Paulo, 4 November 2018): the day then starts at
    the first instant after the gap. A midnight that occurs twice is the earlier one.
    """
    out = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    for minutes in (30, 60, 90, 120, 180):  # the longest clock changes skip 2 hours
        gap = out.is_null() & naive.is_not_null()
        if not gap.any():
            break
        later = (naive + dt.timedelta(minutes=minutes)).dt.replace_time_zone(
            zone, ambiguous="earliest", non_existent="null"
        )
        out = pl.select(pl.when(gap).then(later).otherwise(out)).to_series().alias(naive.name)
    return out


def _level_label(level: float) -> str:
    """``80.0`` -> ``"80"``: the level as written in column names."""
    return f"{level:.15g}"  # every digit a level can have (99.9999999 is not "100")


def check_levels(level: Sequence[float] | float | None) -> list[float]:
    """Interval levels in percent, sorted and unique.

    A value in (0, 1) is a fraction (``0.9`` is 90 %); values from 1 to 100 (excluded) are
    percentages. Anything else (0, negative, 100 or more, not a number) is refused.

    Examples
    --------
    >>> check_levels([0.95, 80, 0.8])
    [80.0, 95.0]
    """
    if level is None:
        return []
    if isinstance(level, np.ndarray):  # of any NumPy number type
        levels: list[Any] = list(np.ravel(level))
    elif isinstance(level, str | bytes) or not isinstance(level, Iterable):
        levels = [level]
    else:
        levels = list(level)
    bad = [
        v
        for v in levels
        if isinstance(v, bool | np.bool_)
        or not isinstance(v, numbers.Real)
        or not 0 < float(v) < 100
    ]
    if bad:
        raise ValidationError(
            f"level must be percentages between 0 and 100 (80 for 80 %) or fractions between 0 "
            f"and 1 (0.8), both excluded; got {bad} ({len(bad)} bad value"
            f"{'s' if len(bad) > 1 else ''})."
        )
    # a NumPy float32 is read as written (0.9, not 0.899999976)
    values = [float(str(v)) if isinstance(v, np.floating) else float(v) for v in levels]
    return sorted(set(round(v * (100 if v < 1 else 1), 10) for v in values))


def _probs(levels: list[float]) -> np.ndarray:
    """Quantile probabilities: the lower and upper one of each level."""
    out = []
    for lv in levels:
        out += [0.5 - lv / 200, 0.5 + lv / 200]
    return np.array(out, dtype=np.float64)


def read_panel(
    series: FrameLike, freq: FreqLike | None, id_col: str, time_col: str, value_col: str
) -> Panel:
    """Read long series into a :class:`Panel`; refuse nulls, duplicates and irregular dates."""
    lf = to_lazy(series, what="series", series=(time_col, value_col, id_col))
    schema = lf.collect_schema()
    check_columns(schema, [id_col, time_col, value_col], "series")
    # numbers written as text (a CSV column with a stray word is read as text) are parsed;
    # values that are not numbers are named
    value = numeric_expr(lf, value_col, schema[value_col], "finite numbers")
    date, numbered = read_periods(lf, time_col, what="series")
    df = (
        lf.select(
            pl.col(id_col).alias("id"),
            date.alias("t"),
            value.alias("v"),
        )
        .with_row_index("row")
        .collect()
    )
    if df.height == 0:
        raise EmptyInputError("The series frame is empty (0 rows).")
    for col, name, rule in (
        ("id", id_col, "every row needs a series id"),
        ("t", time_col, "every row needs a date"),
        ("v", value_col, "values must be finite numbers (fill missing periods first)"),
    ):
        bad = df[col].is_null() | (~df[col].is_finite() if col == "v" else False)
        if bad.any():
            rows = df.filter(bad)
            sample = ", ".join(
                f"row {r} ({id_col} {i})" for r, i in rows.select("row", "id").head(5).rows()
            )
            raise ValidationError(
                f"Column {name!r} has {int(bad.sum())} null or non-finite values ({sample}); "
                f"{rule}."
            )
    df = df.sort("id", "t")
    dup = df.filter(pl.struct("id", "t").is_duplicated())
    if dup.height:
        if not numbered:
            _refuse_times_of_day(lf, id_col, time_col)
        shown = dup.select("id", pl.col("t").cast(pl.Int32) if numbered else "t")
        sample = ", ".join(f"{i} {t}" for i, t in shown.unique(maintain_order=True).head(5).rows())
        raise ValidationError(
            f"Columns {id_col!r}, {time_col!r} have {dup.height - dup.select('id', 't').n_unique()}"
            f" duplicated rows ({sample}); "
            "each series needs one value per date (aggregate with forecasting.to_series)."
        )
    if numbered:
        return _numbered_panel(df, freq, time_col)
    period = infer_freq(df["t"], df["id"]) if freq is None else as_period(freq)
    breaks = regular_breaks(df, id_col="id", time_col="t", period=period)
    if breaks.height:
        ids = breaks["id"].unique(maintain_order=True)
        sample = ", ".join(
            f"{i} at {t} (expected {e})"
            for i, t, e in breaks.group_by("id", maintain_order=True).first().head(5).rows()
        )
        spelled = period if freq is None else freq
        raise ValidationError(
            f"Column {time_col!r}: {len(ids)} series are not regular at freq {str(spelled)!r} "
            f"(first break: {sample}); fill missing periods with forecasting.to_series."
        )
    ends = is_month_end(pl.col("t")).all() if period.months is not None else pl.lit(False)
    anchor, at = calendar_anchor(pl.col("t"), period)
    groups = df.group_by("id", maintain_order=True).agg(
        pl.col("v"), anchor.alias("first"), ends.alias("month_end"), at.alias("at")
    )
    values = [np.asarray(v, dtype=np.float64) for v in groups["v"].to_list()]
    dtype = schema[time_col] if isinstance(schema[time_col], pl.Datetime) else pl.Date()
    at_series = groups["at"] if (groups["at"] != 0).any() else None
    return Panel(
        groups["id"], values, groups["first"], groups["month_end"], period, dtype, at_series
    )


def _numbered_panel(df: pl.DataFrame, freq: FreqLike | None, time_col: str) -> Panel:
    """Build the :class:`Panel` of series with numbered periods (see ``read_periods``)."""
    num = df.select("id", "row", pl.col("t").cast(pl.Int32).cast(pl.Int64).alias("k"))
    jumps = num.with_columns(prev=pl.col("k").shift(1).over("id")).filter(
        pl.col("prev").is_not_null() & (pl.col("k") - pl.col("prev") != 1)
    )
    if jumps.height:
        sample = ", ".join(
            f"{i} from {a} to {b} (row {r})"
            for i, a, b, r in jumps.select("id", "prev", "k", "row").head(5).rows()
        )
        raise ValidationError(
            f"Column {time_col!r} holds period numbers (whole numbers, not dates), so each "
            f"series needs consecutive numbers (1, 2, 3...); {jumps['id'].n_unique()} series "
            f"skip or repeat periods (first: {sample}). Fill missing periods, or give dates."
        )
    groups = df.group_by("id", maintain_order=True).agg(pl.col("v"), pl.col("t").first())
    return Panel(
        groups["id"],
        [np.asarray(v, dtype=np.float64) for v in groups["v"].to_list()],
        groups["t"],
        pl.Series(np.zeros(groups.height, dtype=bool)),
        as_period("1d"),
        pl.Int64(),
        numbered=True,
        season=None if freq is None else as_period(freq).season_length,
    )


def _refuse_times_of_day(lf: pl.LazyFrame, id_col: str, time_col: str) -> None:
    """Refuse series with several times on one day (hourly data), naming the step found.

    Called when a series has two rows on one date: if they are different times of that day,
    the data is finer than the periods forecast here, which are days or longer.
    """
    dtype = lf.collect_schema()[time_col]
    zone = dtype.time_zone if isinstance(dtype, pl.Datetime) else None
    times = lf.select(
        pl.col(id_col).alias("id"),
        parse_times(lf, time_col, time_zone=zone or "UTC").alias("t"),
        read_dates(lf, time_col, what="series").alias("d"),  # the date each row is read on
    ).collect()
    same_day = times.filter(pl.struct("id", "d").is_duplicated())
    distinct = same_day.unique(["id", "t"], maintain_order=True).sort("id", "t")
    if distinct.height <= same_day.select("id", "d").n_unique():
        return  # the same time repeated: duplicated rows, not a finer period
    secs = distinct.select(pl.col("t").diff().over("id").dt.total_seconds().alias("s")).filter(
        pl.col("s") > 0
    )["s"]
    values, counts = np.unique(secs.to_numpy(), return_counts=True)
    step = int(values[np.argmax(counts)])
    if step % 3_600 == 0:
        n = step // 3_600
        found = "hourly data" if n == 1 else f"data every {n} hours"
    elif step % 60 == 0:
        found = f"data every {step // 60} minutes"
    else:
        found = f"data every {step} seconds"
    sid, a, b = (
        distinct.select(
            "id",
            pl.col("t").shift(1).over("id").alias("a"),
            pl.col("t").alias("b"),
            (pl.col("d").shift(1).over("id") == pl.col("d")).alias("same"),
        )
        .filter(pl.col("same"))
        .row(0)[:3]
    )
    raise ValidationError(
        f"Column {time_col!r} of the series holds several times a day ({found}: series {sid} "
        f"has {a:%Y-%m-%d %H:%M} and {b:%Y-%m-%d %H:%M} UTC); forecasting supports periods of "
        "a day or longer ('1d', '1w', '1mo', '1q', '1y' and their multiples): sum the rows to "
        "days first with forecasting.to_series(frame, freq='1d')."
    )


def check_models(models: str | Sequence[str], candidates: Sequence[str]) -> list[str]:
    """Model names in order without repeats; refuse unknown names and ``auto`` as candidate.

    A string is one name (``candidates="theta"`` is ``["theta"]``); ``auto`` needs at least one
    candidate.
    """
    names = [models] if isinstance(models, str) else list(models)
    candidates = [candidates] if isinstance(candidates, str) else list(candidates)
    if not names:
        raise ModelError("models is empty; name at least one of: " + ", ".join(MODEL_NAMES))
    if "auto" in names and not candidates:
        raise ModelError(
            "candidates of 'auto' is empty; name at least one of: "
            + ", ".join(n for n in MODEL_NAMES if n != "auto")
        )
    for name in [*names, *candidates]:
        if name not in MODEL_NAMES:
            raise ModelError(
                f"Unknown forecasting model {name!r}; expected one of: {', '.join(MODEL_NAMES)}."
            )
    if "auto" in candidates:
        raise ModelError("candidates of 'auto' cannot include 'auto' itself.")
    return list(dict.fromkeys(names))


def build_options(
    h: int,
    m: int,
    levels: list[float],
    transform: str,
    candidates: Sequence[str],
    combine: str,
    n_windows: int,
    step: int,
) -> Options:
    """Check the settings of a run and bundle them as :class:`Options`."""
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise ValidationError(
            f"h (the number of periods ahead) must be a whole number >= 1; got {h!r}."
        )
    if transform not in ("auto", "log", "log1p", "none"):
        raise ValidationError(f"transform must be 'auto', 'log' or 'none'; got {transform!r}.")
    if combine not in COMBINE:
        raise ValidationError(
            f"combine must be one of {', '.join(map(repr, COMBINE))}; got {combine!r}."
        )
    check_windows(n_windows, step)
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
        raise ValidationError(f"season_length must be a whole number >= 1; got {m!r}.")
    return Options(
        int(h),
        int(m),
        tuple(lv / 100 for lv in levels),
        _probs(levels),
        "log" if transform == "log1p" else transform,  # type: ignore[arg-type]
        tuple(dict.fromkeys([candidates] if isinstance(candidates, str) else candidates)),
        combine,  # type: ignore[arg-type]
        int(n_windows),
        int(step),
    )


def check_windows(n_windows: int, step: int) -> None:
    """Refuse a number of windows or a step that is not a whole number >= 1."""
    for name, v in (("n_windows", n_windows), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValidationError(f"{name} must be a whole number >= 1; got {v!r}.")


def check_names(
    id_col: str, time_col: str, value_col: str, levels: list[float], taken: Sequence[str] = ()
) -> None:
    """Refuse column names that clash with each other or with a column of the output.

    The output has ``id_col``, ``time_col``, ``model``, ``mean``, ``lo-<level>`` and
    ``hi-<level>`` (and ``taken``, the other columns of a backtest); an input column of the
    same name would be overwritten by it.
    """
    given = {"id_col": id_col, "time_col": time_col, "value_col": value_col}
    for a, b in (("id_col", "time_col"), ("id_col", "value_col"), ("time_col", "value_col")):
        if given[a] == given[b]:
            raise ValidationError(
                f"{a} and {b} are both {given[a]!r}; the series need separate id, date and "
                "value columns."
            )
    output = ["model", "mean", *taken]
    output += [f"{side}-{_level_label(lv)}" for lv in levels for side in ("lo", "hi")]
    for a in ("id_col", "time_col"):
        if given[a] in output:
            raise ValidationError(
                f"{a}={given[a]!r} is also the name of an output column "
                f"({', '.join(map(repr, output))}); rename the column and pass its new name."
            )


#: Arrays of ``(S, h, P)`` a model keeps while it runs: ``auto`` holds every candidate at
#: every origin (4 candidates and seasonal naive, 3 origins) and their combinations.
_ARRAYS_PER_MODEL = {"auto": 20}


def check_size(panel: Panel, names: Sequence[str], opt: Options) -> None:
    """Refuse a run whose forecasts would not fit in 80 % of the machine's memory.

    Checked before anything is allocated, so ``h=10**9`` is an error naming ``h``, not a
    ``MemoryError`` from deep inside a kernel.
    """
    memory = physical_memory()
    if not memory:  # pragma: no cover - not POSIX
        return
    arrays = sum(_ARRAYS_PER_MODEL.get(n, 2) for n in names)
    per_h = len(panel.values) * (1 + len(opt.probs)) * 8 * arrays
    need = per_h * opt.h
    if need > 0.8 * memory:
        raise ValidationError(
            f"h={opt.h:,} periods ahead for {len(panel.values):,} series and "
            f"{len(names)} model{'s' if len(names) > 1 else ''} would take "
            f"{memory_text(math.log2(need))} of memory, more than 80 % of this machine's "
            f"{memory_text(math.log2(memory))}; lower h (at most "
            f"{int(0.8 * memory // per_h):,} fit) or forecast the series in parts."
        )


def check_lengths(panel: Panel, need: int, why: str) -> None:
    """Refuse series shorter than ``need`` points, naming them; ``why`` says what needs it."""
    lengths = np.array([len(v) for v in panel.values])
    short = np.flatnonzero(lengths < need)
    if len(short):
        sample = ", ".join(f"{panel.ids[int(i)]} ({lengths[i]} points)" for i in short[:5])
        raise ValidationError(
            f"{len(short)} series are too short: {sample}; {why} needs at least {need} points."
        )


def check_finite(panel: Panel, results: dict[str, Result]) -> None:
    """Refuse forecasts that overflowed or are not finite, naming the series."""
    for name, (mean, q) in results.items():
        bad = ~(np.isfinite(mean).all(axis=1) & np.isfinite(q).all(axis=(1, 2)))
        if bad.any():
            rows = np.flatnonzero(bad)
            sample = ", ".join(str(panel.ids[int(i)]) for i in rows[:5])
            raise ModelError(
                f"Model {name!r} gives forecasts or interval bounds that are not finite numbers "
                f"for {len(rows)} series ({sample}): they overflow the largest float "
                f"(about 1.8e308). Rescale the series (forecasts scale with them) or shorten h."
            )


def warn_fallbacks(panel: Panel, labels: dict[str, np.ndarray]) -> None:
    """Warn once about the series forecast by :data:`FALLBACK` instead of the asked model."""
    lengths = np.array([len(v) for v in panel.values])
    for name, lab in labels.items():
        rows = np.flatnonzero(lab != name)
        if len(rows):
            sample = ", ".join(
                f"{panel.ids[int(i)]} ({lengths[i]} point{'s' if lengths[i] != 1 else ''})"
                for i in rows[:5]
            )
            warnings.warn(
                f"{len(rows)} series are too short for {name!r} and are forecast by "
                f"{FALLBACK!r} instead (its name is in the model column): {sample}.",
                UserWarning,
                stacklevel=3,
            )


def unknown_intervals(panel: Panel, results: dict[str, Result]) -> None:
    """Blank the interval bounds of one-point series (NaN, null in the output), with a warning.

    A single value says nothing about how a series varies: the residual-based interval of
    its forecast (``naive``, the fallback) would have zero width, a certainty the data does
    not give. The forecast itself, that value, is kept.
    """
    lengths = np.array([len(v) for v in panel.values])
    rows = np.flatnonzero(lengths == 1)
    if not len(rows) or not any(q.shape[2] for _, q in results.values()):
        return
    for _, q in results.values():
        q[rows] = np.nan
    sample = ", ".join(str(panel.ids[int(i)]) for i in rows[:5])
    warnings.warn(
        f"{len(rows)} series have a single point ({sample}): their forecast is that value, and "
        "their interval bounds are left null, as one point tells nothing about how the series "
        "varies.",
        UserWarning,
        stacklevel=3,
    )


def output_frame(
    panel: Panel,
    results: dict[str, Result],
    h: int,
    levels: list[float],
    id_col: str,
    time_col: str,
    ends: np.ndarray | None = None,
    sort: bool = True,
    labels: dict[str, np.ndarray] | None = None,
) -> pl.DataFrame:
    """Lay results out as the long output frame of :func:`forecast`.

    The forecasts of series ``i`` start the period after its point ``ends[i]`` (by default
    its last point); rows are sorted by series, model and date unless ``sort`` is false.
    ``labels`` name the model of each series per requested model (a fallback); a series
    that falls back for several models appears once.
    """
    s = len(panel.values)
    if ends is None:
        ends = np.array([len(v) - 1 for v in panel.values])
    steps = np.repeat(ends, h) + np.tile(np.arange(1, h + 1), s)
    dates = panel.dates(np.repeat(np.arange(s), h), steps)
    frames = []
    for name, (mean, q) in results.items():
        names = labels[name] if labels is not None else np.full(s, name, dtype=object)
        cols: dict[str, Any] = {
            id_col: panel.ids.gather(np.repeat(np.arange(s), h)),
            time_col: dates,
            "model": pl.Series(np.repeat(names, h).tolist(), dtype=pl.String),
            "mean": mean.reshape(-1),
        }
        for j, lv in enumerate(levels):
            cols[f"lo-{_level_label(lv)}"] = q[:, :, 2 * j].reshape(-1)
            cols[f"hi-{_level_label(lv)}"] = q[:, :, 2 * j + 1].reshape(-1)
        bounds = [c for c in cols if c.startswith(("lo-", "hi-"))]
        # bounds left unknown (unknown_intervals) are null, not NaN
        frames.append(pl.DataFrame(cols).with_columns(pl.col(bounds).fill_nan(None)))
    out = pl.concat(frames)
    if labels is not None and any((lab != name).any() for name, lab in labels.items()):
        out = out.unique([id_col, "model", time_col], keep="first", maintain_order=True)
    return out.sort(id_col, "model", time_col, maintain_order=True) if sort else out


def forecast(
    series: FrameLike,
    h: int,
    *,
    level: Sequence[float] | float | None = (80, 95),
    models: str | Sequence[str] = "auto",
    freq: FreqLike | None = None,
    season_length: int | None = None,
    transform: Transform = "auto",
    candidates: Sequence[str] = AUTO_CANDIDATES,
    combine: Combine = "select",
    n_windows: int = 1,
    step: int = 1,
    n_jobs: int | None = -1,
    id_col: str = "series_id",
    time_col: str = "date",
    value_col: str = "value",
) -> pl.DataFrame:
    """Forecast every series ``h`` periods ahead with one or more models, with intervals.

    Parameters
    ----------
    series
        Long frame (or path) with one row per series and period: ``id_col``, ``time_col``
        (Date, Datetime, or text such as ``2024-01-31``, ``2024-01-31T00:00:00Z`` or
        ``2024-01``, read by :func:`forecasting.series.read_dates`) and ``value_col``.
        Periods must be regular and complete (build the frame with
        :func:`forecasting.to_series` to fill gaps); monthly series may sit on the same day
        of every month or on month ends (from 28 February to 31 March is one month). A
        pandas ``Series`` with a ``DatetimeIndex`` is one series (its name is the id).
    h : int
        Number of periods to forecast.
    level : float or sequence of float
        Prediction interval levels: percentages (``80``) or fractions (``0.8``, any value
        below 1); one ``lo-<level>``/``hi-<level>`` pair each, named in percent.
    models : str or sequence of str
        Any of :data:`MODEL_NAMES` (see the module docstring); ``"auto"`` by default.
    freq : str or Period, optional
        Period of the series (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, multiples such
        as ``"2w"``, or the pandas aliases ``"D"``, ``"W"``, ``"MS"``, ``"M"``, ``"ME"``,
        ``"QS"``, ``"Y"``); inferred from the dates when omitted.
    season_length : int, optional
        Seasonal period; by default from ``freq`` (12 for months, 4 quarters, 7 days...).
    transform : {"auto", "log", "none"}
        Every series is first divided by its mean absolute value, so units never matter.
        ``"auto"``: non-negative series are then modelled on a log scale (``log(u)`` for
        positive series, ``log(u + 1)`` for series with zeros; ``harmonic`` also weighs the
        raw scale in by AICc); ``"log"`` (or its old name ``"log1p"``): the same, always;
        ``"none"``: the raw values. Leading zeros of a series (the periods before its first
        non-zero value, e.g. a channel that started later) are not fitted (at least 4 points
        are kept): on a log scale a jump from 0 would read as explosive growth.
    candidates : sequence of str
        Models that ``auto`` combines (see :mod:`forecasting.auto`).
    combine : {"select", "equal", "weighted", "best"}
        How ``auto`` weights its candidates from their validation errors (see
        :mod:`forecasting.auto`): the batch's best equal-weight combination (default),
        equal weights, per-series weights, or the batch's best single candidate.
    n_windows, step : int
        The validation behind ``auto``: ``n_windows`` windows of ``h`` periods, the last one
        ending at the end of each series, ``step`` periods apart. A series whose window
        would leave fewer than 8 points to fit on is left out of the validation. The
        intervals are calibrated on these windows and on one more, from a later origin
        ``h // 2`` periods before the end, forecast by the models of the last window run on
        to it (see :mod:`forecasting.auto`).
    n_jobs : int or None
        Threads (-1: one per core, -2: all but one; 1 or ``None``: none). The models spend
        their time in NumPy, which runs in parallel in threads; no process is ever started,
        so a script without a ``if __name__ == "__main__":`` guard is never run again.
    id_col, time_col, value_col : str
        Column names of the input; the output keeps ``id_col`` and ``time_col``.

    Returns
    -------
    DataFrame
        ``id_col``, ``time_col`` (the future periods: ``Date``, or ``Datetime`` for
        ``Datetime`` input; month-end series stay on month ends), ``model``, ``mean`` (point
        forecast: the median when modelled on the log scale), then ``lo-<level>``,
        ``hi-<level>`` per level; sorted by series, model and date. A series too short for
        a model (:data:`forecasting.kernels.MIN_LENGTH`) is forecast by ``naive``, named so
        in ``model``, with a warning; a series of a single point gets null ``lo``/``hi``
        bounds, with a warning (one value tells nothing about its spread).

    Raises
    ------
    SchemaError
        Missing or mistyped columns.
    ValidationError
        Nulls, duplicates, gaps, bad ``h``/``level``/options.
    ModelError
        Unknown model names; forecasts that overflow (not finite).

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> s = pl.DataFrame({"series_id": "a", "value": [float(v) for v in range(1, 13)],
    ...     "date": pl.date_range(date(2024, 1, 1), date(2024, 12, 1), "1mo", eager=True)})
    >>> out = forecast(s, h=2, models="drift", transform="none")
    >>> out.select("date", pl.col("mean", "lo-80").round(9)).rows()
    [(datetime.date(2025, 1, 1), 13.0, 13.0), (datetime.date(2025, 2, 1), 14.0, 14.0)]
    """
    levels = check_levels(level)
    names = check_models(models, candidates)
    check_names(id_col, time_col, value_col, levels)
    panel = read_panel(series, freq, id_col, time_col, value_col)
    m = panel.season_length(season_length)
    opt = build_options(h, m, levels, transform, candidates, combine, n_windows, step)
    check_size(panel, names, opt)
    results, labels = forecast_arrays(panel.values, names, opt, n_jobs)
    check_finite(panel, results)
    warn_fallbacks(panel, labels)
    unknown_intervals(panel, results)
    return output_frame(panel, results, opt.h, levels, id_col, time_col, labels=labels)
