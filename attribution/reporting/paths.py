"""Path reports: top paths, assists, path length, time to convert, and comparisons.

Each report is a frame function over :class:`~attribution.Journeys` or a
:class:`~attribution.PathTable` (path-level figures) or over journeys only (figures that need
touch times). The work is NumPy over the compact arrays (``indptr`` offsets and integer channel
codes); no Python loop runs per journey or per path.

"Each figure against a target or the previous period": :func:`against` joins any of these
frames with a target (a number, a mapping or a frame) or with the same report for another
period, adding ``delta``, ``delta_pct`` and ``status``; :func:`by_period` runs a report once per
conversion period and :func:`period_over_period` compares each period with the one before.

Counts from a :class:`~attribution.PathTable` are totals per path, so path-level reports weight
every path by its conversions (and non-conversions); on journeys every weight is 0 or 1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from attribution._api import as_sequences
from attribution._base.errors import EmptyInputError, ModelError, SchemaError, ValidationError
from attribution._base.frames import FrameLike, check_columns, ratio
from attribution._base.periods import FreqLike, as_period
from attribution.journeys import NO_TOUCH, Journeys, PathTable, Sequences, compress

__all__ = [
    "DEFAULT_DAY_BINS",
    "against",
    "assists",
    "by_period",
    "path_length",
    "period_over_period",
    "time_to_convert",
    "time_to_convert_summary",
    "top_paths",
]

#: Default bucket edges of :func:`time_to_convert`, in days: ``[0, 1), [1, 2), [2, 4), ...,
#: [61, 91), [91, ∞)``.
DEFAULT_DAY_BINS: tuple[float, ...] = (0, 1, 2, 4, 8, 15, 31, 61, 91)

_US_PER_DAY = 86_400_000_000


# ----------------------------------------------------------------------------------------------
# input


def _sequences(data: Journeys | PathTable | FrameLike) -> Sequences:
    return as_sequences(data)[0]


def _need_journeys(data: Any, what: str) -> Journeys:
    if isinstance(data, Journeys):
        return data
    if isinstance(data, PathTable):
        raise ModelError(
            f"{what} needs touch and conversion times, and a path table has none: build "
            "journeys from events with attribution.build_journeys."
        )
    raise ModelError(
        f"{what} needs Journeys (from attribution.build_journeys); got a {type(data).__name__}."
    )


def _collapse(seq: Sequences) -> Sequences:
    """Drop touches that repeat the previous touch's channel within the same row."""
    row = seq.row_of_touch
    repeat = np.zeros(len(seq.codes), dtype=bool)
    repeat[1:] = (row[1:] == row[:-1]) & (seq.codes[1:] == seq.codes[:-1])
    if not repeat.any():
        return seq
    keep = ~repeat
    indptr = np.zeros(seq.n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row[keep], minlength=seq.n_rows), out=indptr[1:])
    return Sequences(
        seq.channels,
        indptr,
        seq.codes[keep],
        seq.conversions,
        seq.value,
        seq.nulls,
        None if seq.touch_time is None else seq.touch_time[keep],
        seq.ref_time,
    )


def _gather(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of the selected rows and the positions of their touches in the old arrays."""
    lengths = np.diff(indptr)[rows]
    new = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new[1:])
    take = np.repeat(indptr[:-1][rows] - new[:-1], lengths) + np.arange(new[-1])
    return new, take


def _subset(table: PathTable, rows: np.ndarray) -> PathTable:
    indptr, take = _gather(table.indptr, rows)
    return PathTable(
        table.channels,
        indptr,
        table.codes[take],
        table.conversions[rows],
        table.value[rows],
        table.nulls[rows],
    )


# ----------------------------------------------------------------------------------------------
# path-level reports


def top_paths(
    data: Journeys | PathTable | FrameLike,
    *,
    n: int | None = 10,
    sep: str = " > ",
    collapse_repeats: bool = False,
) -> pl.DataFrame:
    """List the paths that bring the most conversions.

    Parameters
    ----------
    data
        :class:`Journeys`, a :class:`PathTable`, a peer-format path frame or an event log
        (anything :func:`attribution.attribute` takes).
    n : int or None
        Number of paths to return; ``None`` returns every converting path.
    sep : str
        Separator between channel names in ``path``.
    collapse_repeats : bool
        Merge consecutive repeats of a channel first (``a > a > b`` becomes ``a > b``), as
        Snowplow's and fractribution's ``exposure`` transform does; paths that become equal are
        added up.

    Returns
    -------
    DataFrame
        One row per converting path (conversions > 0): ``path`` (conversions without any touch
        read ``(no touch)``), ``conversions``, ``revenue``, ``nulls`` (journeys on the same path
        that did not convert), ``conversion_rate`` = conversions / (conversions + nulls) and
        ``share`` = conversions / all conversions. Sorted by conversions (descending), then by
        path; the first ``n`` rows.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b", "b", "a > a > b"],
    ...     "total_conversions": [3, 1, 1], "total_conversion_value": [30.0, 5.0, 8.0],
    ...     "total_null": [7, 9, 0]}))
    >>> top_paths(pt, collapse_repeats=True).rows()
    [('a > b', 4.0, 38.0, 7.0, 0.36363636363636365, 0.8), ('b', 1.0, 5.0, 9.0, 0.1, 0.2)]
    """
    if n is not None and (not isinstance(n, int | np.integer) or n < 1):
        raise ValidationError(f"n must be a positive whole number or None; got {n!r}.")
    seq = _sequences(data)
    if collapse_repeats:
        seq = _collapse(seq)
    table = compress(seq)
    conv = table.conversions
    total = float(conv.sum())
    keep = conv > 0
    if n is not None and keep.sum() > n:  # name only the paths that can make the top n
        keep &= conv >= np.partition(conv[keep], -int(n))[-int(n)]
    frame = _subset(table, np.flatnonzero(keep)).to_frame(sep=sep).rename({"value": "revenue"})
    out = (
        frame.with_columns((pl.col("conversions") + pl.col("nulls")).alias("__seen"))
        .with_columns(
            pl.when(pl.col("path") == "").then(pl.lit(NO_TOUCH)).otherwise("path").alias("path"),
            ratio("conversions", "__seen").alias("conversion_rate"),
            (pl.col("conversions") / total if total > 0 else pl.lit(None, pl.Float64)).alias(
                "share"
            ),
        )
        .drop("__seen")
        .sort(["conversions", "path"], descending=[True, False])
    )
    return out if n is None else out.head(int(n))


def assists(data: Journeys | PathTable | FrameLike) -> pl.DataFrame:
    """Count, per channel, the conversions it assisted and the ones it closed.

    A channel *assists* a converting journey (or path) when it appears in it at any position
    other than the last touch. It is counted once per journey however often it appears, and,
    following Google Analytics' multi-channel funnels, a channel that is the last touch *and*
    also appears earlier counts both as an assist and as the last touch (``a > b > a`` gives
    ``a`` one assist and one last-touch conversion, ``b`` one assist). Every figure is weighted
    by the journey's conversions (a path table's totals). These are participation counts: they
    double count on purpose and do not add up to the conversions. Conversions without any
    touch (the models' ``(no touch)`` row) have no channel to credit and are left out.

    Parameters
    ----------
    data
        :class:`Journeys`, a :class:`PathTable`, a peer-format path frame or an event log.

    Returns
    -------
    DataFrame
        One row per channel, in channel-name order: ``channel``, ``assisted_conversions``,
        ``last_touch_conversions`` (as the last-touch model counts them),
        ``assist_ratio`` = assisted / last-touch conversions (GA's "assisted / last click";
        above 1 the channel mostly opens and nurtures, below 1 it mostly closes; null when the
        channel closed none), ``assisted_revenue`` (revenue of the journeys it assisted) and
        ``participation`` (conversions of the journeys in which it appears anywhere, counted
        once per journey).

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b > a", "b"],
    ...     "total_conversions": [2, 1], "total_conversion_value": [20.0, 4.0]}))
    >>> assists(pt).rows()
    [('a', 2.0, 2.0, 1.0, 20.0, 2.0), ('b', 2.0, 1.0, 2.0, 20.0, 3.0)]
    """
    seq = _sequences(data)
    n_chan = len(seq.channels)
    row = seq.row_of_touch
    conv_touch = seq.conversions[row] > 0
    last = seq.position == seq.lengths[row] - 1
    key = row * n_chan + seq.codes.astype(np.int64)

    def pairs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (row, channel) pairs among the masked touches, as (channel, row)."""
        k = np.sort(key[mask])  # rows stay in order; channels are sorted within a row
        k = k[np.concatenate(([True], k[1:] != k[:-1]))] if len(k) else k
        return k % n_chan, k // n_chan

    def tally(chan: np.ndarray, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return np.bincount(chan, weights=weights[rows], minlength=n_chan)

    closing = conv_touch & last
    a_chan, a_row = pairs(conv_touch & ~last)
    p_chan, p_row = pairs(conv_touch)
    return pl.DataFrame(
        {
            "channel": pl.Series(list(seq.channels), dtype=pl.String),
            "assisted_conversions": tally(a_chan, a_row, seq.conversions),
            "last_touch_conversions": np.bincount(
                seq.codes[closing], weights=seq.conversions[row[closing]], minlength=n_chan
            ),
            "assisted_revenue": tally(a_chan, a_row, seq.value),
            "participation": tally(p_chan, p_row, seq.conversions),
        },
        # np.bincount gives int64 zeros when nothing is counted: the types stay Float64
        schema_overrides={
            c: pl.Float64
            for c in (
                "assisted_conversions",
                "last_touch_conversions",
                "assisted_revenue",
                "participation",
            )
        },
    ).select(
        "channel",
        "assisted_conversions",
        "last_touch_conversions",
        ratio("assisted_conversions", "last_touch_conversions").alias("assist_ratio"),
        "assisted_revenue",
        "participation",
    )


def path_length(
    data: Journeys | PathTable | FrameLike,
    *,
    max_bucket: int | None = None,
    collapse_repeats: bool = False,
) -> pl.DataFrame:
    """Distribution of the number of touches per journey, converting and not.

    Parameters
    ----------
    data
        :class:`Journeys`, a :class:`PathTable`, a peer-format path frame or an event log.
    max_bucket : int, optional
        Put every journey with ``max_bucket`` touches or more in one last row (its ``label``
        reads ``"8+"`` for ``max_bucket=8``).
    collapse_repeats : bool
        Count touches after merging consecutive repeats of a channel.

    Returns
    -------
    DataFrame
        One row per length, every length from the shortest to the longest (or ``max_bucket``)
        present, in order: ``touches``, ``converting_journeys`` (conversions of journeys of that
        length), ``nonconverting_journeys``, ``conversion_rate`` = converting / all journeys of
        that length, ``share`` of all conversions, ``cumulative_share`` (conversions with at most
        that many touches) and ``label`` (the length as text). Length 0 appears when some
        conversions had no touch in their window.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a", "a > b", "a > b > c > d"],
    ...     "total_conversions": [1, 2, 1], "total_null": [3, 2, 0]}))
    >>> path_length(pt, max_bucket=3).select("touches", "converting_journeys",
    ...     "conversion_rate", "cumulative_share", "label").rows()
    [(1, 1.0, 0.25, 0.25, '1'), (2, 2.0, 0.5, 0.75, '2'), (3, 1.0, 1.0, 1.0, '3+')]
    """
    if max_bucket is not None and (not isinstance(max_bucket, int | np.integer) or max_bucket < 1):
        raise ValidationError(
            f"max_bucket must be a positive whole number or None; got {max_bucket!r}."
        )
    seq = _sequences(data)
    if collapse_repeats:
        seq = _collapse(seq)
    lengths = seq.lengths if max_bucket is None else np.minimum(seq.lengths, max_bucket)
    if len(lengths) == 0:
        raise EmptyInputError("path_length needs at least one journey or path; got none.")
    lo, hi = int(lengths.min()), int(lengths.max())
    conv = np.bincount(lengths, weights=seq.conversions, minlength=hi + 1)[lo:]
    nulls = np.bincount(lengths, weights=seq.nulls, minlength=hi + 1)[lo:]
    total = conv.sum()
    touches = np.arange(lo, hi + 1, dtype=np.int64)
    label = touches.astype(str).astype(object)
    if max_bucket is not None and hi == max_bucket:
        label[-1] = f"{max_bucket}+"
    share = conv / total if total > 0 else np.full(len(conv), np.nan)
    return pl.DataFrame(
        {
            "touches": touches,
            "converting_journeys": conv,
            "nonconverting_journeys": nulls,
            "__all": conv + nulls,
            "share": share,
            "cumulative_share": np.cumsum(share),
            "label": pl.Series(label.tolist(), dtype=pl.String),
        }
    ).select(
        "touches",
        "converting_journeys",
        "nonconverting_journeys",
        ratio("converting_journeys", "__all").alias("conversion_rate"),
        pl.col("share").fill_nan(None),
        pl.col("cumulative_share").fill_nan(None),
        "label",
    )


# ----------------------------------------------------------------------------------------------
# time to convert


def _days_to_convert(
    journeys: Journeys, start: Literal["first_touch", "last_touch"]
) -> tuple[np.ndarray, np.ndarray]:
    """Days from the first (or last) touch to the conversion, for converting journeys."""
    if start not in ("first_touch", "last_touch"):
        raise ValidationError(f"start must be 'first_touch' or 'last_touch'; got {start!r}.")
    lengths = np.diff(journeys.indptr)
    keep = journeys.converted & (lengths > 0)
    at = journeys.indptr[:-1][keep] if start == "first_touch" else journeys.indptr[1:][keep] - 1
    days = (journeys.conversion_time[keep] - journeys.touch_time[at]) / _US_PER_DAY
    return days, journeys.revenue[keep]


def time_to_convert(
    journeys: Journeys,
    *,
    bins_days: Sequence[float] = DEFAULT_DAY_BINS,
    start: Literal["first_touch", "last_touch"] = "first_touch",
) -> pl.DataFrame:
    """Distribution of the time from the first touch to the conversion, in day buckets.

    Only converting journeys with at least one touch (in the lookback window) count; the
    time is measured from the journey's first kept touch (or its last, ``start="last_touch"``).

    Parameters
    ----------
    journeys : Journeys
        Built by :func:`attribution.build_journeys` (a path table has no times).
    bins_days : sequence of float
        Bucket edges in days, strictly increasing, starting at 0. Bucket ``i`` holds times in
        ``[bins_days[i], bins_days[i + 1])``; the last bucket is open-ended.
    start : {"first_touch", "last_touch"}
        Where the clock starts.

    Returns
    -------
    DataFrame
        One row per bucket: ``bucket`` (label such as ``"2-4"`` or ``"91+"``), ``lo_days``,
        ``hi_days`` (null for the last bucket), ``conversions``, ``revenue``, ``share`` of the
        counted conversions and ``cumulative_share`` (converted within ``hi_days``). See
        :func:`time_to_convert_summary` for the median, mean and 90th percentile.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 1.0, 0.0, 1.0],
    ...     "timestamp": ["2024-01-01", "2024-01-01T12:00", "2024-01-01", "2024-01-04"]})
    >>> time_to_convert(at.build_journeys(ev), bins_days=(0, 1, 7)).select(
    ...     "bucket", "conversions", "cumulative_share").rows()
    [('0-1', 1, 0.5), ('1-7', 1, 1.0), ('7+', 0, 1.0)]
    """
    journeys = _need_journeys(journeys, "time_to_convert")
    edges = np.asarray(list(bins_days), dtype=np.float64)
    if (
        edges.ndim != 1
        or len(edges) == 0
        or edges[0] != 0
        or not np.all(np.isfinite(edges))
        or np.any(np.diff(edges) <= 0)
    ):
        raise ValidationError(
            f"bins_days must be strictly increasing finite day edges starting at 0; got "
            f"{tuple(bins_days)!r}."
        )
    days, revenue = _days_to_convert(journeys, start)
    idx = np.searchsorted(edges, days, side="right") - 1
    counts = np.bincount(idx, minlength=len(edges))
    rev = np.bincount(idx, weights=revenue, minlength=len(edges))
    total = int(counts.sum())
    hi = [*edges[1:].tolist(), None]
    labels = [f"{a:g}-{b:g}" for a, b in itertools.pairwise(edges)]
    labels.append(f"{edges[-1]:g}+")
    share = counts / total if total else np.full(len(counts), np.nan)
    return pl.DataFrame(
        {
            "bucket": labels,
            "lo_days": edges,
            "hi_days": pl.Series(hi, dtype=pl.Float64),
            "conversions": counts.astype(np.int64),
            "revenue": rev,
            "share": share,
            "cumulative_share": np.cumsum(share),
        }
    ).with_columns(pl.col("share", "cumulative_share").fill_nan(None))


def time_to_convert_summary(
    journeys: Journeys,
    *,
    start: Literal["first_touch", "last_touch"] = "first_touch",
) -> pl.DataFrame:
    """Summarise days from first touch to conversion: mean, median and 90th percentile.

    Parameters
    ----------
    journeys : Journeys
        Converting journeys with at least one touch count (as in :func:`time_to_convert`).
    start : {"first_touch", "last_touch"}
        Where the clock starts.

    Returns
    -------
    DataFrame
        One row: ``conversions`` (counted), ``no_touch_conversions`` (conversions without a
        touch, left out), ``mean_days``, ``median_days``, ``p90_days`` (linear interpolation
        between order statistics, NumPy's default) and ``max_days``; nulls when nothing counts.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 1.0, 0.0, 1.0],
    ...     "timestamp": ["2024-01-01", "2024-01-11", "2024-01-01", "2024-01-31"]})
    >>> time_to_convert_summary(at.build_journeys(ev)).row(0)
    (2, 0, 20.0, 20.0, 28.0, 30.0)
    """
    journeys = _need_journeys(journeys, "time_to_convert_summary")
    days, _ = _days_to_convert(journeys, start)
    stats: list[float | None] = [None] * 4
    if len(days):
        mean = float(days.mean())
        median, p90 = (float(q) for q in np.quantile(days, [0.5, 0.9]))
        stats = [mean, median, p90, float(days.max())]
    return pl.DataFrame(
        {
            "conversions": [len(days)],
            "no_touch_conversions": [journeys.n_conversions - len(days)],
            "mean_days": [stats[0]],
            "median_days": [stats[1]],
            "p90_days": [stats[2]],
            "max_days": [stats[3]],
        },
        schema_overrides={"conversions": pl.Int64, "no_touch_conversions": pl.Int64}
        | {c: pl.Float64 for c in ("mean_days", "median_days", "p90_days", "max_days")},
    )


# ----------------------------------------------------------------------------------------------
# periods


def _take_journeys(j: Journeys, rows: np.ndarray) -> Journeys:
    indptr, take = _gather(j.indptr, rows)
    return Journeys(
        channels=j.channels,
        indptr=indptr,
        codes=j.codes[take],
        touch_time=j.touch_time[take],
        user_id=j.user_id.gather(rows),
        converted=j.converted[rows],
        conversion_time=j.conversion_time[rows],
        revenue=j.revenue[rows],
        options=dict(j.options),
    )


def by_period(
    journeys: Journeys,
    fn: Callable[..., pl.DataFrame],
    *,
    freq: FreqLike = "1mo",
    **kwargs: Any,
) -> pl.DataFrame:
    """Run a report once per conversion period and stack the results.

    Journeys are split by the period of their conversion time (UTC); a non-converting journey
    falls in the period of its last touch. Every journey keeps all its touches, including
    those before the period started. Periods without any journey are left out.

    Parameters
    ----------
    journeys : Journeys
        Built by :func:`attribution.build_journeys`.
    fn : callable
        A report taking journeys first and returning a frame, e.g. :func:`top_paths`,
        :func:`assists`, :func:`path_length`, :func:`time_to_convert` or
        ``lambda j: at.attribute(j, "markov").channels``.
    freq : str or Period
        Period length: ``"1d"``, ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"`` (any count of a unit),
        or a pandas alias such as ``"D"``, ``"W"``, ``"MS"``, ``"M"``, ``"QS"``, ``"Y"``
        (or a ``Period``); weeks start on Monday.
    **kwargs
        Passed to ``fn``.

    Returns
    -------
    DataFrame
        ``period`` (start date of the period) followed by ``fn``'s columns, periods in order.

    Examples
    --------
    >>> import attribution as at, polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 5.0, 0.0, 7.0],
    ...     "timestamp": ["2024-01-30", "2024-02-02", "2024-03-01", "2024-03-02"]})
    >>> by_period(at.build_journeys(ev), top_paths).select("period", "path", "revenue").rows()
    [(datetime.date(2024, 2, 1), 'a', 5.0), (datetime.date(2024, 3, 1), 'b', 7.0)]
    """
    journeys = _need_journeys(journeys, "by_period")
    period = as_period(freq)
    assert period is not None  # None only when optional
    when = pl.Series("t", journeys.conversion_time).cast(pl.Datetime("us", "UTC"))
    starts = when.to_frame().select(period.truncate(pl.col("t")))["t"]
    codes = starts.to_physical().to_numpy().astype(np.int64)
    uniq, inverse = np.unique(codes, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
    frames = []
    for i, day in enumerate(uniq):
        rows = order[bounds[i] : bounds[i + 1]]
        out = fn(_take_journeys(journeys, rows), **kwargs)
        start = pl.Series("period", [int(day)], dtype=pl.Int32).cast(pl.Date)
        frames.append(out.select(pl.lit(start.item()).alias("period"), pl.all()))
    if not frames:
        raise EmptyInputError("by_period needs at least one journey; got none.")
    return pl.concat(frames, how="vertical_relaxed")


# ----------------------------------------------------------------------------------------------
# comparisons


def _keys(on: str | Sequence[str] | None) -> list[str]:
    if on is None:
        return []
    return [on] if isinstance(on, str) else list(on)


def _number(name: str, key: object, value: object) -> float:
    """One reference of a mapping as a float; a value that is not a number names its key."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(f"The {name} of {key!r} is {value!r}; expected a number.") from None


def _reference(
    ref: float | Mapping[Any, float] | pl.DataFrame | pl.LazyFrame,
    current: pl.DataFrame,
    keys: list[str],
    value: str,
    name: str,
) -> pl.DataFrame | float:
    """Build the frame ``keys..., name`` (or a plain number) to compare ``value`` with."""
    if isinstance(ref, int | float | np.integer | np.floating) and not isinstance(ref, bool):
        return float(ref)
    if isinstance(ref, Mapping):
        if len(keys) != 1:
            raise ValidationError(
                f"A mapping {name} needs exactly one key column in on=; got {keys!r}. Pass a "
                f"frame with the key columns and a {name!r} column instead."
            )
        key = keys[0]
        frame = pl.DataFrame(
            {key: list(ref.keys()), name: [_number(name, k, v) for k, v in ref.items()]},
            schema_overrides={name: pl.Float64},
        ).with_columns(pl.col(key).cast(current.schema[key]))
        return frame
    if isinstance(ref, pl.LazyFrame):
        ref = ref.collect()
    if not isinstance(ref, pl.DataFrame):
        raise ValidationError(
            f"{name} must be a number, a mapping from keys to numbers or a frame; got a "
            f"{type(ref).__name__}."
        )
    col = name if name in ref.columns else value
    check_columns(ref.collect_schema(), [*keys, col], f"{name} frame")
    for key in keys:
        if ref.schema[key] != current.schema[key]:
            raise SchemaError(
                f"Key column {key!r} is {ref.schema[key]} in the {name} frame but "
                f"{current.schema[key]} in the report; they must have the same type to be matched."
            )
    frame = ref.select(*keys, pl.col(col).cast(pl.Float64).alias(name))
    if not keys:
        if frame.height != 1:
            raise ValidationError(
                f"Without key columns (on=None) the {name} frame must have exactly one row; "
                f"it has {frame.height}."
            )
        value_ = frame[name].item()
        return float("nan") if value_ is None else float(value_)
    dup = frame.filter(pl.struct(keys).is_duplicated())
    if dup.height:
        examples = dup.select(keys).unique(maintain_order=True).head(3).rows()
        shown = ", ".join(str(r[0] if len(r) == 1 else r) for r in examples)
        raise ValidationError(
            f"The {name} frame has {dup.height} rows with repeated keys {keys!r} ({shown}); "
            "each key must appear once."
        )
    return frame


def against(
    current: pl.DataFrame | pl.LazyFrame,
    *,
    on: str | Sequence[str] | None,
    value: str,
    target: float | Mapping[Any, float] | pl.DataFrame | pl.LazyFrame | None = None,
    previous: float | Mapping[Any, float] | pl.DataFrame | pl.LazyFrame | None = None,
    higher_is_better: bool = True,
    tolerance: float = 0.0,
) -> pl.DataFrame:
    """Compare a report's figure with a target or with the previous period.

    Parameters
    ----------
    current : DataFrame or LazyFrame
        Any report frame (:func:`assists`, :func:`top_paths`, a KPI from
        :mod:`attribution.kpis.catalogue`, an attribution result's channels...).
    on : str, sequence of str or None
        Key columns that identify a row (``"channel"``, ``"path"``, ``["period", "channel"]``).
        ``None`` compares every row with a single reference (a number or a one-row frame).
    value : str
        The numeric column to compare.
    target, previous
        Exactly one of them: a number (the same reference for every row), a mapping from key
        to number (one key column), or a frame holding the ``on`` columns and a column named
        like the argument (``target``/``previous``) or like ``value`` (so the same report for
        the previous period can be passed as it is).
    higher_is_better : bool
        Direction of ``status``: ``False`` for costs, abandonment, bounce or churn.
    tolerance : float
        Absolute difference within which the figure counts as ``"same"``.

    Returns
    -------
    DataFrame
        ``current``'s rows and columns (left join: rows without a reference are kept, with
        nulls), then ``target`` or ``previous``, ``delta`` = value − reference,
        ``delta_pct`` = 100 × delta / |reference| (null when the reference is 0 or missing) and
        ``status``: ``"better"``, ``"worse"`` or ``"same"`` (null without a value or reference).
        A NaN or infinite value or reference is not compared: its delta, delta_pct and status
        are null.

    Raises
    ------
    SchemaError
        A key or value column is missing, a key column has another type in the reference
        frame, or ``current`` already has the output columns.
    ValidationError
        Both or neither of target and previous; repeated keys in the reference frame; a
        mapping's reference that is not a number; a tolerance that is not a finite number ≥ 0.

    Examples
    --------
    >>> import polars as pl
    >>> now = pl.DataFrame({"channel": ["a", "b", "c"], "conversions": [12.0, 8.0, 3.0]})
    >>> before = pl.DataFrame({"channel": ["a", "b"], "conversions": [10.0, 8.0]})
    >>> against(now, on="channel", value="conversions", previous=before).select(
    ...     "channel", "previous", "delta", "delta_pct", "status").rows()
    [('a', 10.0, 2.0, 20.0, 'better'), ('b', 8.0, 0.0, 0.0, 'same'), ('c', None, None, None, None)]
    """
    if (target is None) == (previous is None):
        raise ValidationError(
            "against needs exactly one of target= or previous=; got "
            + ("both." if target is not None else "neither.")
        )
    name, ref = ("target", target) if target is not None else ("previous", previous)
    assert ref is not None
    if (
        isinstance(tolerance, bool)
        or not isinstance(tolerance, int | float | np.integer | np.floating)
        or not (math.isfinite(tolerance) and tolerance >= 0)
    ):
        raise ValidationError(f"tolerance must be a finite number ≥ 0; got {tolerance!r}.")
    cur = current.collect() if isinstance(current, pl.LazyFrame) else current
    keys = _keys(on)
    check_columns(cur.collect_schema(), [*keys, value], "report")
    if not cur.schema[value].is_numeric():
        raise SchemaError(
            f"Column {value!r} of the report has type {cur.schema[value]}; expected numbers."
        )
    clash = [c for c in (name, "delta", "delta_pct", "status") if c in cur.columns]
    if clash:
        raise SchemaError(
            f"The report already has the column(s) {', '.join(repr(c) for c in clash)}; rename "
            "them before comparing."
        )
    reference = _reference(ref, cur, keys, value, name)
    if isinstance(reference, float):
        joined = cur.with_columns(
            pl.lit(None if np.isnan(reference) else reference, pl.Float64).alias(name)
        )
    else:
        joined = cur.join(reference, on=keys, how="left", nulls_equal=True, maintain_order="left")
    # a NaN or infinite figure or reference is not compared (NaN sorts above every number in
    # polars: its status was "better"; an infinite reference gave a NaN delta_pct)
    finite = [
        pl.when(e.is_finite()).then(e) for e in (pl.col(value).cast(pl.Float64), pl.col(name))
    ]
    delta = finite[0] - finite[1]
    sign = 1.0 if higher_is_better else -1.0
    return joined.with_columns(
        delta.alias("delta"),
        pl.when(finite[1] != 0)
        .then(100.0 * delta / finite[1].abs())
        .otherwise(None)
        .alias("delta_pct"),
        pl.when(delta.abs() <= tolerance)
        .then(pl.lit("same"))
        .when(delta * sign > 0)
        .then(pl.lit("better"))
        .when(delta * sign < 0)
        .then(pl.lit("worse"))
        .otherwise(None)
        .alias("status"),
    )


def period_over_period(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    on: str | Sequence[str] | None,
    value: str,
    period_col: str = "period",
    freq: FreqLike = "1mo",
    higher_is_better: bool = True,
    tolerance: float = 0.0,
) -> pl.DataFrame:
    """Compare each period's figure with the same key's figure one period earlier.

    Parameters
    ----------
    frame : DataFrame or LazyFrame
        A stacked report with a period column, e.g. the output of :func:`by_period`.
    on : str, sequence of str or None
        Key columns besides the period (``"channel"``, ``"path"``...); ``None`` for one row per
        period.
    value : str
        The numeric column to compare.
    period_col : str
        The period column (dates, period starts).
    freq : str or Period
        Period length, as for :func:`by_period`: the previous period of ``2024-03-01`` with
        ``"1mo"`` is ``2024-02-01`` (a calendar step, so a missing period gives nulls, not an
        older one).
    higher_is_better, tolerance
        As for :func:`against`.

    Returns
    -------
    DataFrame
        ``frame``'s rows and columns with ``previous``, ``delta``, ``delta_pct`` and ``status``
        as in :func:`against`.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> f = pl.DataFrame({"period": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 4, 1)],
    ...                   "conversions": [10.0, 15.0, 9.0]})
    >>> period_over_period(f, on=None, value="conversions").select(
    ...     "previous", "delta_pct", "status").rows()
    [(None, None, None), (10.0, 50.0, 'better'), (None, None, None)]
    """
    period = as_period(freq)
    assert period is not None  # None only when optional
    cur = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    keys = _keys(on)
    check_columns(cur.collect_schema(), [period_col, *keys, value], "report")
    prev = cur.select(
        pl.col(period_col).dt.offset_by(period.step),
        *keys,
        pl.col(value).alias("previous"),
    )
    return against(
        cur,
        on=[period_col, *keys],
        value=value,
        previous=prev,
        higher_is_better=higher_is_better,
        tolerance=tolerance,
    )
