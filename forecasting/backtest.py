"""Rolling-origin backtests (time-series cross-validation) and forecast accuracy metrics.

:func:`backtest` refits every model on the start of each series and forecasts the periods
that follow, several times ("windows"); :func:`accuracy` turns those forecasts into MAE, RMSE,
MAPE, sMAPE, MASE and interval coverage, per model and horizon (or any grouping).

``accuracy`` was called ``evaluate``, a word that in :mod:`attribution` means scoring
attribution models against simulated truth; the old name still works with a
``DeprecationWarning``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from attribution._base.errors import SchemaError, ValidationError
from attribution._base.frames import FrameLike, check_columns
from attribution._base.periods import FreqLike
from forecasting.auto import Combine
from forecasting.engine import (
    AUTO_CANDIDATES,
    auto_min_length,
    build_options,
    check_finite,
    check_lengths,
    check_levels,
    check_models,
    check_names,
    check_size,
    check_windows,
    forecast_arrays,
    output_frame,
    read_panel,
    window_cuts,
)
from forecasting.kernels import MIN_LENGTH, Transform

__all__ = ["accuracy", "backtest"]

#: Message of the old name ``evaluate`` (see the module notes).
RENAMED_EVALUATE = (
    "forecasting.evaluate is now forecasting.accuracy (the accuracy of backtest forecasts; "
    "attribution.evaluate scores attribution models); the old name will be removed in a "
    "later release."
)


def _mase_scale(train: np.ndarray, m: int) -> float:
    """In-sample MAE of the seasonal naive method (lag ``m``; lag 1 if too short)."""
    lag = m if len(train) > m else 1
    if len(train) <= lag:
        return float("nan")
    return float(np.mean(np.abs(train[lag:] - train[:-lag])))


def backtest(
    series: FrameLike,
    h: int,
    *,
    models: str | Sequence[str] = "auto",
    n_windows: int = 3,
    step: int = 1,
    level: Sequence[float] | float | None = (80, 95),
    freq: FreqLike | None = None,
    season_length: int | None = None,
    transform: Transform = "auto",
    candidates: Sequence[str] = AUTO_CANDIDATES,
    combine: Combine = "select",
    n_jobs: int | None = -1,
    id_col: str = "series_id",
    time_col: str = "date",
    value_col: str = "value",
) -> pl.DataFrame:
    """Rolling-origin cross-validation: refit on the past, forecast the next ``h`` periods.

    In plain words, for a series of ``n`` periods:

    - ``h`` is how far each test forecast looks ahead (e.g. 12 months);
    - ``n_windows`` is how many times we pretend to stand at an earlier date, fit on what was
      known then, and forecast the next ``h`` periods;
    - ``step`` is how many periods apart those pretend dates are.

    The **last** window ends exactly at the end of the series, so its training part is the
    first ``n - h`` periods; each earlier window's training part is ``step`` periods shorter.
    With ``n = 36``, ``h = 12``, ``n_windows = 3``, ``step = 1`` the models are fitted on
    periods 1-22, 1-23 and 1-24 and tested on 23-34, 24-35 and 25-36; with ``step = 12``
    windows do not overlap but need ``n >= 12 + 2 * 12 + (training length)``. Every actual
    value of a test part is known, so nothing from the future leaks into a fit.

    Parameters
    ----------
    series
        Long frame as for :func:`forecasting.forecast` (regular, complete periods).
    h : int
        Forecast horizon of every window.
    models : str or sequence of str
        Models to test (see :data:`forecasting.MODEL_NAMES`).
    n_windows, step : int
        Number of windows and periods between their cut-off dates (see above).
    level, freq, season_length, transform, candidates, combine, n_jobs
        As for :func:`forecasting.forecast`.
    id_col, time_col, value_col : str
        Column names of the input (the output keeps ``id_col`` and ``time_col``).

    Returns
    -------
    DataFrame
        ``id_col``, ``cutoff`` (last training date), ``time_col``, ``horizon`` (1 .. h),
        ``model``, ``actual``, ``mean``, ``lo-<level>``/``hi-<level>``, ``scale`` (the MASE
        denominator: in-sample MAE of the seasonal naive method on that window's training
        part). Feed it to :func:`accuracy`.

    Raises
    ------
    ValidationError
        A series is too short for the windows (its first training part must have at least 4
        points, and as many as the models need: :data:`forecasting.kernels.MIN_LENGTH`), or
        invalid options.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> s = pl.DataFrame({"series_id": "a", "value": [float(v) for v in range(1, 11)],
    ...     "date": pl.date_range(date(2024, 1, 1), date(2024, 10, 1), "1mo", eager=True)})
    >>> cv = backtest(s, h=2, models="naive", n_windows=2, transform="none")
    >>> cv.select("cutoff", "horizon", "actual", "mean").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(2024, 7, 1), 1, 8.0, 7.0), (datetime.date(2024, 7, 1), 2, 9.0, 7.0),
     (datetime.date(2024, 8, 1), 1, 9.0, 8.0), (datetime.date(2024, 8, 1), 2, 10.0, 8.0)]
    """
    levels = check_levels(level)
    names = check_models(models, candidates)
    check_names(id_col, time_col, value_col, levels, ("cutoff", "horizon", "actual", "scale"))
    panel = read_panel(series, freq, id_col, time_col, value_col)
    m = panel.season_length(season_length)
    opt = build_options(h, m, levels, transform, candidates, combine, 1, 1)
    check_windows(n_windows, step)
    check_size(panel, names, opt)
    least = max(
        auto_min_length(opt.candidates) if name == "auto" else MIN_LENGTH[name] for name in names
    )
    need = opt.h + step * (n_windows - 1) + max(4, least)
    check_lengths(panel, need, f"a backtest with h={h}, n_windows={n_windows}, step={step}")
    frames = []
    for w in range(n_windows):
        cuts = [window_cuts(len(v), opt.h, n_windows, step)[w] for v in panel.values]
        train = [v[:c] for v, c in zip(panel.values, cuts, strict=True)]
        actual = np.concatenate([v[c : c + opt.h] for v, c in zip(panel.values, cuts, strict=True)])
        scale = np.repeat([_mase_scale(t, opt.m) for t in train], opt.h)
        origin = panel.dates(np.arange(len(cuts)), np.array(cuts) - 1)
        results, _ = forecast_arrays(train, names, opt, n_jobs)
        check_finite(panel, results)
        out = output_frame(
            panel, results, opt.h, levels, id_col, time_col, ends=np.array(cuts) - 1, sort=False
        )
        k = len(names)
        frames.append(
            out.with_columns(
                origin.gather(np.tile(np.repeat(np.arange(len(cuts)), opt.h), k)).alias("cutoff"),
                pl.Series("horizon", np.tile(np.arange(1, opt.h + 1), len(train) * k)),
                pl.Series("actual", np.tile(actual, k)),
                pl.Series("scale", np.tile(scale, k)).fill_nan(None),
            )
        )
    out = pl.concat(frames)
    first = [id_col, "cutoff", time_col, "horizon", "model", "actual"]
    rest = [c for c in out.columns if c not in first]
    return out.select(first + rest).sort(id_col, "model", "cutoff", "horizon")


def accuracy(
    cv: pl.DataFrame,
    *,
    by: str | Sequence[str] = ("model", "horizon"),
) -> pl.DataFrame:
    """Accuracy of backtest forecasts: MAE, RMSE, MAPE, sMAPE, MASE and interval coverage.

    With ``e = actual - mean``: ``mae = mean |e|``, ``rmse = sqrt(mean e²)``,
    ``mape = mean |e| / |actual|`` (points with ``actual = 0`` are left out),
    ``smape = mean 2|e| / (|actual| + |mean|)`` (points where both are 0 are left out),
    ``mase = mean |e| / scale`` (Hyndman & Koehler 2006; points with ``scale = 0`` left out),
    ``coverage-<level> = share of actuals inside [lo, hi]``. Percentages are fractions (0.05 is
    5 %). A metric with no usable point is null, never infinite.

    Parameters
    ----------
    cv : DataFrame
        Output of :func:`backtest`.
    by : str or sequence of str
        Grouping columns, e.g. ``("model", "horizon")`` (default), ``("series_id", "model")``
        or ``"model"``.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``n`` (points), ``mae``, ``rmse``, ``mape``, ``smape``, ``mase``
        and ``coverage-<level>`` per interval level found in ``cv``; sorted by ``by``.

    Examples
    --------
    >>> import polars as pl
    >>> cv = pl.DataFrame({"model": ["m", "m"], "horizon": [1, 1], "actual": [10.0, 0.0],
    ...     "mean": [8.0, 1.0], "scale": [2.0, 2.0], "lo-80": [9.0, 0.5], "hi-80": [11.0, 2.0]})
    >>> accuracy(cv).row(0, named=True)  # doctest: +NORMALIZE_WHITESPACE
    {'model': 'm', 'horizon': 1, 'n': 2, 'mae': 1.5, 'rmse': 1.5811388300841898, 'mape': 0.2,
     'smape': 1.1111111111111112, 'mase': 0.75, 'coverage-80': 0.5}
    """
    keys = [by] if isinstance(by, str) else list(by)
    check_columns(cv.collect_schema(), [*keys, "actual", "mean", "scale"], "backtest frame")
    levels = [c[3:] for c in cv.columns if c.startswith("lo-") and f"hi-{c[3:]}" in cv.columns]
    if not cv.schema["actual"].is_numeric():
        raise SchemaError(f"Column 'actual' has type {cv.schema['actual']}; expected numbers.")
    if cv.height == 0:
        raise ValidationError("The backtest frame is empty (0 rows).")
    a, f, e = pl.col("actual"), pl.col("mean"), (pl.col("actual") - pl.col("mean")).abs()
    denom = a.abs() + f.abs()
    aggs = [
        pl.len().alias("n"),
        e.mean().alias("mae"),
        # errors near 1e154 and beyond square past the largest float: then in units of the
        # largest error
        pl.when((e**2).mean().is_finite())
        .then((e**2).mean().sqrt())
        .otherwise(e.max() * ((e / e.max()) ** 2).mean().sqrt())
        .alias("rmse"),
        pl.when(a != 0).then(e / a.abs()).mean().alias("mape"),
        pl.when(denom != 0).then(2 * e / denom).mean().alias("smape"),
        pl.when(pl.col("scale") > 0).then(e / pl.col("scale")).mean().alias("mase"),
    ]
    for lv in levels:
        inside = (a >= pl.col(f"lo-{lv}")) & (a <= pl.col(f"hi-{lv}"))
        aggs.append(inside.cast(pl.Float64).mean().alias(f"coverage-{lv}"))
    return cv.group_by(keys).agg(aggs).sort(keys)


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        warnings.warn(RENAMED_EVALUATE, DeprecationWarning, stacklevel=2)
        return accuracy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
