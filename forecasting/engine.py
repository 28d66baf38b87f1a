"""The forecasting engine: long series in, forecasts of many series and models out.

:func:`forecast` takes long series (``series_id, date, value``) and returns one row per series,
future period and model: ``series_id, date, model, mean, lo-80, hi-80, lo-95, hi-95`` (one
``lo``/``hi`` pair per requested level). The models are the kernels of
:mod:`forecasting.kernels` (``naive``, ``seasonal_naive``, ``drift``, ``harmonic``, ``theta``,
``ets``, ``arima``) and their combination:

``auto``
    A combination of ``candidates`` (default ``harmonic`` and ``theta``) weighted by the
    inverse square of their mean squared error in a rolling-origin backtest (Bates & Granger
    1969, with a sharper weighting), or the single best one (``combine="best"``); see
    :func:`forecasting.backtest`. Points and interval bounds are averaged with the same
    weights (quantile averaging).

Non-negative series (every value >= 0) are modelled on the ``log1p`` scale by default
(``transform="auto"``): quantiles are transformed back exactly, so intervals stay >= 0, and
the ``mean`` column is then the back-transformed location, i.e. the forecast **median**
(which is also what the mean absolute error rewards). Lower bounds of non-negative series are
clipped at 0 for every model.

Speed: ``naive``, ``seasonal_naive``, ``drift``, ``harmonic`` and ``theta`` are vectorised
over all series of equal length (NumPy, no loop per series); ``ets`` and ``arima`` fit one
statsmodels model per series and candidate, tens of milliseconds each, so they run in a pool
of ``n_jobs`` processes.

The steps, each a public name of this module that :mod:`forecasting.backtest` builds on:
:func:`check_levels`, :func:`check_models` and :func:`build_options` check the arguments
into :class:`Options`; :func:`read_panel` reads and checks the series into a :class:`Panel`;
:func:`check_lengths` refuses series too short for a model; :func:`forecast_arrays` runs the
models over every series (grouped by length, vectorised, in processes when it pays off);
:func:`output_frame` lays the results out as the long output frame.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, Literal

import numpy as np
import polars as pl

from attribution._base.errors import EmptyInputError, ModelError, SchemaError, ValidationError
from attribution._base.frames import FrameLike, check_columns, to_lazy
from attribution._base.periods import (
    FreqLike,
    Period,
    as_period,
    infer_freq,
    is_month_end,
    regular_breaks,
    step_dates,
)
from forecasting.kernels import KERNELS, LOOPED, Result, Transform, run_kernel
from forecasting.kernels.scale import TINY
from forecasting.series import read_dates

__all__ = [
    "AUTO_CANDIDATES",
    "MODEL_NAMES",
    "forecast",
]

#: Every model name :func:`forecast` knows: the kernels and their combination ``auto``.
MODEL_NAMES: tuple[str, ...] = (*KERNELS, "auto")
#: Default candidates of ``auto``: the vectorised models that do well on trend + season data.
AUTO_CANDIDATES: tuple[str, ...] = ("harmonic", "theta")


# ----------------------------------------------------------------------------------------------
# running models over a batch of equal-length series


@dataclass(frozen=True)
class Options:
    """Checked settings of one run (:func:`build_options`); sent to worker processes.

    Attributes
    ----------
    h : int
        Periods ahead.
    m : int
        Season length.
    probs : ndarray
        Quantile probabilities, a lower and an upper one per level.
    transform : {"auto", "log1p", "none"}
        Scale of the models (see :mod:`forecasting.kernels.scale`).
    candidates : tuple of str
        Models that ``auto`` combines.
    combine : {"weighted", "best"}
        How ``auto`` combines them.
    n_windows, step : int
        The backtest behind ``auto``'s weights.
    """

    h: int
    m: int
    probs: np.ndarray
    transform: Transform
    candidates: tuple[str, ...]
    combine: Literal["weighted", "best"]
    n_windows: int
    step: int

    def run(self, name: str, y: np.ndarray) -> Result:
        """Forecast the batch ``y`` with the kernel ``name`` under these settings."""
        return run_kernel(name, y, self.h, self.m, self.probs, self.transform)


def window_cuts(n: int, h: int, n_windows: int, step: int) -> list[int]:
    """Training lengths of the backtest windows, oldest first (the last ends h before n)."""
    return [n - h - step * (n_windows - 1 - w) for w in range(n_windows)]


def _auto_weights(y: np.ndarray, opt: Options) -> np.ndarray:
    """Weights (S, C) of the candidates from their backtest mean squared error."""
    s, n = y.shape
    c = len(opt.candidates)
    cuts = window_cuts(n, opt.h, opt.n_windows, opt.step)
    if cuts[0] < 4:
        return np.full((s, c), 1.0 / c)
    sq = np.zeros((s, c))
    for cut in cuts:
        actual = y[:, cut : cut + opt.h]
        for j, name in enumerate(opt.candidates):
            mean, _ = opt.run(name, y[:, :cut])
            sq[:, j] += np.mean((mean - actual) ** 2, axis=1)
    if opt.combine == "best":
        w = np.zeros((s, c))
        w[np.arange(s), np.argmin(sq, axis=1)] = 1.0
        return w
    exact = sq <= TINY * (1 + np.max(sq, axis=1, keepdims=True))
    inv = np.where(
        exact.any(axis=1, keepdims=True), exact.astype(float), 1.0 / np.maximum(sq, 1e-150) ** 2
    )
    return inv / inv.sum(axis=1, keepdims=True)


def _run_batch(y: np.ndarray, models: Sequence[str], opt: Options) -> dict[str, Result]:
    """Every model over one batch of equal-length series; ``auto`` reuses its candidates' fits."""
    out: dict[str, Result] = {}
    fits: dict[str, Result] = {}

    def fit(name: str) -> Result:
        if name not in fits:
            fits[name] = opt.run(name, y)
        return fits[name]

    for name in models:
        if name == "auto":
            w = _auto_weights(y, opt)
            parts = [fit(c) for c in opt.candidates]
            mean = sum(w[:, j, None] * p[0] for j, p in enumerate(parts))
            q = sum(w[:, j, None, None] * p[1] for j, p in enumerate(parts))
            out[name] = (np.asarray(mean), np.asarray(q))
        else:
            out[name] = fit(name)
    return out


def _trim_leading_zeros(v: np.ndarray, keep: int = 4) -> np.ndarray:
    """Drop the zeros before a series' first non-zero value, keeping at least ``keep`` points."""
    nz = np.flatnonzero(v != 0)
    if len(nz) == 0:
        return v
    return v[min(int(nz[0]), max(len(v) - keep, 0)) :]


def _run_chunk(
    chunk: list[np.ndarray], models: Sequence[str], opt: Options
) -> dict[str, list[Result]]:
    """Forecast a list of series (any lengths): grouped by length, each group vectorised.

    Leading zeros (periods before a series' first non-zero value, e.g. a channel that started
    later) are not fitted; at least 4 points are kept.
    """
    chunk = [_trim_leading_zeros(v) for v in chunk]
    lengths = np.array([len(v) for v in chunk])
    out: dict[str, list[Result]] = {name: [] for name in models}
    order = []
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        order.append(rows)
        y = np.stack([chunk[i] for i in rows])
        for name, res in _run_batch(y, models, opt).items():
            out[name].append(res)
    perm = np.argsort(np.concatenate(order), kind="stable")
    merged = {}
    for name, parts in out.items():
        mean = np.concatenate([p[0] for p in parts])[perm]
        q = np.concatenate([p[1] for p in parts])[perm]
        merged[name] = [(mean, q)]
    return merged


def _n_workers(n_jobs: int | None) -> int:
    """Count the processes for ``n_jobs`` (-1: every core, -2: all but one; None or 0: one)."""
    cpus = os.cpu_count() or 1
    if n_jobs is None or n_jobs == 0:
        return 1
    return max(1, cpus + 1 + n_jobs if n_jobs < 0 else min(n_jobs, cpus))


def forecast_arrays(
    values: list[np.ndarray], models: Sequence[str], opt: Options, n_jobs: int | None
) -> dict[str, Result]:
    """Run the models over every series, in a process pool when it pays off."""
    workers = _n_workers(n_jobs)
    looped = any(
        name in LOOPED or (name == "auto" and set(opt.candidates) & set(LOOPED)) for name in models
    )
    big = len(values) >= (8 if looped else 20_000)
    if workers == 1 or not big:
        res = _run_chunk(values, models, opt)
        return {k: v[0] for k, v in res.items()}
    n_chunks = min(len(values), workers * 4)
    bounds = np.linspace(0, len(values), n_chunks + 1).astype(int)
    chunks = [values[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        parts = list(pool.map(_run_chunk, chunks, [models] * len(chunks), [opt] * len(chunks)))
    return {
        name: (
            np.concatenate([p[name][0][0] for p in parts]),
            np.concatenate([p[name][0][1] for p in parts]),
        )
        for name in models
    }


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
    """

    ids: pl.Series
    values: list[np.ndarray]
    first: pl.Series
    month_end: pl.Series
    period: Period
    dtype: pl.DataType

    def dates(self, rows: np.ndarray, steps: np.ndarray) -> pl.Series:
        """Return the date ``steps[i]`` periods after the first date of series ``rows[i]``.

        Month-end series stay on month ends; the dates have the input's type.
        """
        frame = pl.DataFrame(
            {
                "d": self.first.gather(rows),
                "k": pl.Series(steps, dtype=pl.Int64),
                "e": self.month_end.gather(rows),
            }
        )
        out = frame.select(step_dates(pl.col("d"), pl.col("k"), self.period, month_end=pl.col("e")))
        dates = out.to_series()
        if isinstance(self.dtype, pl.Datetime):
            dates = dates.cast(pl.Datetime(self.dtype.time_unit))
            if self.dtype.time_zone:
                dates = dates.dt.replace_time_zone(self.dtype.time_zone)
        return dates


def _level_label(level: float) -> str:
    """``80.0`` -> ``"80"``: the level as written in column names."""
    return f"{level:g}"


def check_levels(level: Sequence[float] | float | None) -> list[float]:
    """Interval levels in percent, sorted and unique; refuse values outside (0, 100)."""
    if level is None:
        return []
    levels = [level] if isinstance(level, int | float) else list(level)
    bad = [v for v in levels if not (isinstance(v, int | float) and 0 < v < 100)]
    if bad:
        raise ValidationError(
            f"level must be percentages strictly between 0 and 100; got {bad} "
            f"({len(bad)} bad value{'s' if len(bad) > 1 else ''})."
        )
    return sorted(set(float(v) for v in levels))


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
    lf = to_lazy(series, what="series")
    schema = lf.collect_schema()
    check_columns(schema, [id_col, time_col, value_col], "series")
    if not schema[value_col].is_numeric():
        raise SchemaError(
            f"Column {value_col!r} of the series has type {schema[value_col]}; expected numbers."
        )
    date = read_dates(lf, time_col, what="series")
    df = (
        lf.select(
            pl.col(id_col).alias("id"),
            date.alias("t"),
            pl.col(value_col).cast(pl.Float64).alias("v"),
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
        sample = ", ".join(
            f"{i} {t}" for i, t in dup.select("id", "t").unique(maintain_order=True).head(5).rows()
        )
        raise ValidationError(
            f"Columns {id_col!r}, {time_col!r} have {dup.height - dup.select('id', 't').n_unique()}"
            f" duplicated rows ({sample}); "
            "each series needs one value per date (aggregate with forecasting.to_series)."
        )
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
    groups = df.group_by("id", maintain_order=True).agg(
        pl.col("v"), pl.col("t").first().alias("first"), ends.alias("month_end")
    )
    values = [np.asarray(v, dtype=np.float64) for v in groups["v"].to_list()]
    dtype = schema[time_col] if isinstance(schema[time_col], pl.Datetime) else pl.Date()
    return Panel(groups["id"], values, groups["first"], groups["month_end"], period, dtype)


def check_models(models: str | Sequence[str], candidates: Sequence[str]) -> list[str]:
    """Model names in order without repeats; refuse unknown names and ``auto`` as candidate."""
    names = [models] if isinstance(models, str) else list(models)
    if not names:
        raise ModelError("models is empty; name at least one of: " + ", ".join(MODEL_NAMES))
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
    if transform not in ("auto", "log1p", "none"):
        raise ValidationError(f"transform must be 'auto', 'log1p' or 'none'; got {transform!r}.")
    if combine not in ("weighted", "best"):
        raise ValidationError(f"combine must be 'weighted' or 'best'; got {combine!r}.")
    for name, v in (("n_windows", n_windows), ("step", step), ("season_length", m)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValidationError(f"{name} must be a whole number >= 1; got {v!r}.")
    return Options(
        int(h),
        int(m),
        _probs(levels),
        transform,  # type: ignore[arg-type]
        tuple(candidates),
        combine,  # type: ignore[arg-type]
        int(n_windows),
        int(step),
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


def output_frame(
    panel: Panel,
    results: dict[str, Result],
    h: int,
    levels: list[float],
    id_col: str,
    time_col: str,
    ends: np.ndarray | None = None,
    sort: bool = True,
) -> pl.DataFrame:
    """Lay results out as the long output frame of :func:`forecast`.

    The forecasts of series ``i`` start the period after its point ``ends[i]`` (by default
    its last point); rows are sorted by series, model and date unless ``sort`` is false.
    """
    s = len(panel.values)
    if ends is None:
        ends = np.array([len(v) - 1 for v in panel.values])
    steps = np.repeat(ends, h) + np.tile(np.arange(1, h + 1), s)
    dates = panel.dates(np.repeat(np.arange(s), h), steps)
    frames = []
    for name, (mean, q) in results.items():
        cols: dict[str, Any] = {
            id_col: panel.ids.gather(np.repeat(np.arange(s), h)),
            time_col: dates,
            "model": pl.Series([name] * (s * h), dtype=pl.String),
            "mean": mean.reshape(-1),
        }
        for j, lv in enumerate(levels):
            cols[f"lo-{_level_label(lv)}"] = q[:, :, 2 * j].reshape(-1)
            cols[f"hi-{_level_label(lv)}"] = q[:, :, 2 * j + 1].reshape(-1)
        frames.append(pl.DataFrame(cols))
    out = pl.concat(frames)
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
    combine: Literal["weighted", "best"] = "weighted",
    n_windows: int = 3,
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
        of every month or on month ends (from 28 February to 31 March is one month).
    h : int
        Number of periods to forecast.
    level : sequence of float
        Prediction interval levels in percent; one ``lo-<level>``/``hi-<level>`` pair each.
    models : str or sequence of str
        Any of :data:`MODEL_NAMES` (see the module docstring); ``"auto"`` by default.
    freq : str or Period, optional
        Period of the series (``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, multiples such
        as ``"2w"``, or the pandas aliases ``"D"``, ``"W"``, ``"MS"``, ``"M"``, ``"ME"``,
        ``"QS"``, ``"Y"``); inferred from the dates when omitted.
    season_length : int, optional
        Seasonal period; by default from ``freq`` (12 for months, 4 quarters, 7 days...).
    transform : {"auto", "log1p", "none"}
        ``"auto"``: non-negative series are modelled on the log1p scale (``harmonic`` also
        weighs the raw scale in by AICc); ``"log1p"``: always (for non-negative series);
        ``"none"``: the raw values. Leading zeros of a series (the periods before its first
        non-zero value, e.g. a channel that started later) are not fitted (at least 4 points
        are kept): on a log scale a jump from 0 would read as explosive growth.
    candidates : sequence of str
        Models that ``auto`` combines (``ets`` and ``arima`` are allowed but slow: each is fit
        ``n_windows + 1`` times per series).
    combine : {"weighted", "best"}
        ``auto`` averages the candidates' forecasts and interval bounds with weights
        proportional to 1 / (backtest MSE)², or keeps the candidate with the smallest MSE.
    n_windows, step : int
        The backtest behind ``auto``: see :func:`forecasting.backtest` (the last window ends
        ``h`` periods before the end of each series; windows ``step`` periods apart). Series
        too short for it get equal weights.
    n_jobs : int or None
        Processes for the per-series statsmodels fits (``ets``, ``arima``); -1 uses every
        core, 1 (or ``None``) none. The vectorised models always run in this process.
    id_col, time_col, value_col : str
        Column names of the input; the output keeps ``id_col`` and ``time_col``.

    Returns
    -------
    DataFrame
        ``id_col``, ``time_col`` (the future periods: ``Date``, or ``Datetime`` for
        ``Datetime`` input; month-end series stay on month ends), ``model``, ``mean`` (point
        forecast: the median when modelled on the log1p scale), then ``lo-<level>``,
        ``hi-<level>`` per level; sorted by series, model and date.

    Raises
    ------
    SchemaError
        Missing or mistyped columns.
    ValidationError
        Nulls, duplicates, gaps, bad ``h``/``level``/options, series too short.
    ModelError
        Unknown model names.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> s = pl.DataFrame({"series_id": "a", "value": [float(v) for v in range(1, 13)],
    ...     "date": pl.date_range(date(2024, 1, 1), date(2024, 12, 1), "1mo", eager=True)})
    >>> out = forecast(s, h=2, models="drift", transform="none")
    >>> out.select("date", "mean", "lo-80").rows()  # doctest: +ELLIPSIS
    [(datetime.date(2025, 1, 1), 13.0, 13.0), (datetime.date(2025, 2, 1), 14.0, 14.0)]
    """
    levels = check_levels(level)
    names = check_models(models, candidates)
    panel = read_panel(series, freq, id_col, time_col, value_col)
    m = season_length if season_length is not None else panel.period.season_length
    opt = build_options(h, m, levels, transform, candidates, combine, n_windows, step)
    check_lengths(panel, 4 if "harmonic" in names or "auto" in names else 2, "forecasting")
    results = forecast_arrays(panel.values, names, opt, n_jobs)
    return output_frame(panel, results, opt.h, levels, id_col, time_col)
