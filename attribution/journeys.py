"""Journeys and path tables: the compact form every model works on.

The event log is sorted **once**, by a single packed 64-bit key (user code, time, touch before
conversion) when the ranges allow it, otherwise by two keys. After that, everything is NumPy over
whole columns: journeys are offsets (``indptr``) into one array of integer channel codes, in the
style of statsforecast's ``GroupedArray``. No Python loop runs per journey or per event.

Journey rules (each an option where users differ; see :func:`build_journeys`):

- a conversion closes a journey; the user's next touch starts a new one, so a user who converts
  three times has three converting journeys;
- a touch with the same timestamp as a conversion belongs to the journey that conversion closes;
- touches of one user at the very same instant are ordered by channel name (and simultaneous
  conversions by revenue), so the result never depends on the order of the input rows;
- touches after a user's last conversion form one non-converting journey;
- a lookback window keeps only touches within ``lookback_days`` before the conversion (before the
  last touch, for a non-converting journey); earlier touches are dropped, not moved;
- optional collapsing of consecutive repeats of a channel, and a cap on the number of touches
  (the last ``max_touches`` are kept).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import polars as pl

from attribution._base.errors import EmptyInputError, SchemaError, ValidationError, describe_rows
from attribution._base.frames import ROW, FrameLike, is_empty, numeric_expr, reads, to_lazy
from attribution._base.progress import Progress
from attribution.schema import (
    CRM_STAGES,
    EventColumns,
    bad_channel_names,
    canonical_columns,
    normalise_events,
    validate_events,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "BASELINE",
    "NO_TOUCH",
    "RESERVED_CHANNELS",
    "JourneyOptions",
    "JourneyParams",
    "Journeys",
    "PathTable",
    "Sequences",
    "build_journeys",
    "compress",
    "read_paths",
    "split_journey_params",
]

#: Channel name under which conversions with no touch in their window are reported.
NO_TOUCH = "(no touch)"
#: Name of the row of a model's credit that holds conversions expected without any marketing
#: (``data_driven``'s baseline; :func:`attribution.calibrate` folds ``"(no touch)"`` into it).
BASELINE = "(baseline)"
#: Channel names a log cannot use: the rows of credit that go to no channel.
RESERVED_CHANNELS: tuple[str, ...] = (NO_TOUCH, BASELINE)


def reserved_channel_error(name: str, where: str = "") -> ValidationError:
    """Return the error for a channel named as one of :data:`RESERVED_CHANNELS`."""
    what = (
        "conversions without touches"
        if name == NO_TOUCH
        else "the conversions a model credits to no channel (data_driven's baseline)"
    )
    return ValidationError(
        f"Channel name {name!r}{where} is reserved for {what}, and a channel of that name "
        f"would be merged with them; rename it (e.g. to {name.strip('()')!r})."
    )


_US_PER_DAY = 86_400_000_000
# a lookback longer than any span of times (2**62 µs is 146,000 years) keeps every touch
_LONGEST_WINDOW = 2**62


def lookback_window(lookback_days: float) -> int:
    """Return a lookback in whole microseconds, at most ``2**62`` (longer keeps every touch).

    Examples
    --------
    >>> lookback_window(1.5), lookback_window(1e300) == 2**62
    (129600000000, True)
    """
    return round(min(lookback_days * _US_PER_DAY, float(_LONGEST_WINDOW)))


NonConverting = Literal["after_last", "never_converted", "drop"]


class JourneyParams(TypedDict, total=False):
    """The keyword form of :class:`JourneyOptions` (every field is optional)."""

    lookback_days: float | None
    max_touches: int | None
    collapse_repeats: bool
    non_converting: NonConverting
    user_col: str
    time_col: str
    channel_col: str
    event_col: str | None
    revenue_col: str | None
    conversion_flag_col: str | None
    touch_events: str | Sequence[str]
    conversion_events: str | Sequence[str]
    time_zone: str
    epoch_unit: str | None
    time_format: str | None


@dataclass(frozen=True)
class JourneyOptions:
    """How an event log becomes journeys: one value, validated once.

    Every function that builds journeys (:func:`build_journeys`, :func:`attribution.attribute`
    on events, the bucketed and Spark builders, evaluation, stage attribution and the report)
    takes ``options=JourneyOptions(...)`` or the same names as keywords.

    Parameters
    ----------
    lookback_days : float, optional
        Keep only touches at most this many days before the conversion (for a non-converting
        journey: before its last touch). ``None`` keeps every touch.
    max_touches : int, optional
        Keep only the last ``max_touches`` touches of each journey (after the lookback and
        collapsing).
    collapse_repeats : bool
        Merge consecutive touches of the same channel into one (fractribution's ``exposure``
        transform). Off by default, as the peers count every touch.
    non_converting : {"after_last", "never_converted", "drop"}
        Which non-converting journeys to keep: the touches after each user's last conversion
        (default), only those of users who never converted (fractribution, Snowplow), or none.
    user_col, time_col, channel_col, event_col, revenue_col, conversion_flag_col, \
touch_events, conversion_events, time_zone, epoch_unit, time_format
        Where the contract's columns are and how to read them, as for
        :func:`attribution.read_events`. They are not used for events that
        :func:`attribution.read_events` returned (those are canonical already).

    Examples
    --------
    >>> opts = JourneyOptions(lookback_days=30, user_col="uid")
    >>> opts.journey_args()
    {'lookback_days': 30, 'max_touches': None, 'collapse_repeats': False, \
'non_converting': 'after_last'}
    >>> JourneyOptions.of(opts, max_touches=5).max_touches
    5
    >>> JourneyOptions(lookback_days=float("inf"))
    Traceback (most recent call last):
    ...
    attribution.ValidationError: lookback_days must be a finite number > 0, or None to keep ...
    """

    lookback_days: float | None = None
    max_touches: int | None = None
    collapse_repeats: bool = False
    non_converting: NonConverting = "after_last"
    user_col: str = "user_id"
    time_col: str = "timestamp"
    channel_col: str = "channel"
    event_col: str | None = "event"
    revenue_col: str | None = "revenue"
    conversion_flag_col: str | None = None
    touch_events: str | Sequence[str] = ("touch",)
    conversion_events: str | Sequence[str] = ("conversion",)
    time_zone: str = "UTC"
    epoch_unit: str | None = None
    time_format: str | None = None

    def __post_init__(self) -> None:
        lb = self.lookback_days
        if lb is not None and (
            isinstance(lb, bool)
            or not isinstance(lb, int | float)
            or not math.isfinite(lb)
            or not lb > 0
        ):
            raise ValidationError(
                "lookback_days must be a finite number > 0, or None to keep every touch; "
                f"got {lb!r}."
            )
        mt = self.max_touches
        if mt is not None and (
            isinstance(mt, bool)
            or not isinstance(mt, int | float)
            or not math.isfinite(mt)
            or int(mt) != mt
            or mt < 1
        ):
            raise ValidationError(f"max_touches must be a whole number ≥ 1 or None; got {mt!r}.")
        if mt is not None:
            object.__setattr__(self, "max_touches", int(mt))
        if not isinstance(self.collapse_repeats, bool):
            raise ValidationError(
                f"collapse_repeats must be True or False; got {self.collapse_repeats!r}."
            )
        if self.non_converting not in ("after_last", "never_converted", "drop"):
            raise ValidationError(
                "non_converting must be 'after_last', 'never_converted' or 'drop'; "
                f"got {self.non_converting!r}."
            )
        for name in ("touch_events", "conversion_events"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))

    @classmethod
    def of(
        cls, options: JourneyOptions | None = None, /, **params: Unpack[JourneyParams]
    ) -> JourneyOptions:
        """``options`` (or the defaults) with ``params`` replaced; unknown names are refused."""
        unknown = sorted(set(params) - set(JOURNEY_PARAMS))
        if unknown:
            raise ValidationError(
                f"Unknown journey option {unknown[0]!r}; expected one of "
                f"{', '.join(JOURNEY_PARAMS)}."
            )
        if options is not None and not isinstance(options, JourneyOptions):
            raise ValidationError(
                f"options must be a JourneyOptions; got a {type(options).__name__}."
            )
        base = options if options is not None else cls()
        return dataclasses.replace(base, **params) if params else base

    @property
    def columns(self) -> EventColumns:
        """The column mapping handed to the readers."""
        return EventColumns.from_params(
            user_col=self.user_col,
            time_col=self.time_col,
            channel_col=self.channel_col,
            event_col=self.event_col,
            revenue_col=self.revenue_col,
            conversion_flag_col=self.conversion_flag_col,
            touch_events=self.touch_events,
            conversion_events=self.conversion_events,
            time_zone=self.time_zone,
            epoch_unit=self.epoch_unit,
            time_format=self.time_format,
        )

    def journey_args(self) -> dict[str, Any]:
        """Return the four journey rules (lookback, max touches, collapsing, non-converting)."""
        return {
            "lookback_days": self.lookback_days,
            "max_touches": self.max_touches,
            "collapse_repeats": self.collapse_repeats,
            "non_converting": self.non_converting,
        }

    def column_params(self) -> dict[str, Any]:
        """Return the column parameters, as :func:`attribution.read_events` takes them."""
        return {name: getattr(self, name) for name in JOURNEY_PARAMS[4:]}


#: Names of the journey options, in :class:`JourneyOptions` field order.
JOURNEY_PARAMS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(JourneyOptions))


def split_journey_params(params: dict[str, Any]) -> tuple[JourneyParams, dict[str, Any]]:
    """Split keyword parameters into journey options and the rest (a model's own)."""
    journey = {k: v for k, v in params.items() if k in JOURNEY_PARAMS}
    rest = {k: v for k, v in params.items() if k not in JOURNEY_PARAMS}
    return journey, rest  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Sequences:
    """Kernel input shared by every model: sequences of channel codes with outcomes.

    A row is a journey (counts 0/1) or a unique path (counts are totals). Models are pure
    functions of this object. Derived per-touch arrays are computed once and cached.

    Attributes
    ----------
    channels : tuple of str
        Channel names; code ``i`` is ``channels[i]``. Sorted.
    indptr : ndarray of int64, shape (n_rows + 1,)
        Row ``r`` holds ``codes[indptr[r]:indptr[r + 1]]``.
    codes : ndarray of int32
        Channel code of every touch, in time order within a row.
    conversions, value, nulls : ndarray of float64, shape (n_rows,)
        Conversions, conversion value and non-conversions of each row.
    touch_time : ndarray of int64 or None
        Touch timestamps (µs since the epoch, UTC); ``None`` for path tables.
    ref_time : ndarray of int64 or None
        Each row's conversion time (its last touch when it did not convert).
    row_ids : ndarray of int64 or None
        For a subset of rows (:meth:`subset`): each row's index in the rows it was taken from.
    returning : ndarray of bool or None
        Whether the row follows an earlier conversion of the same user (a returning customer's
        journey, including the non-converting tail after a user's last purchase); ``None`` when
        unknown (path tables).
    """

    channels: tuple[str, ...]
    indptr: np.ndarray
    codes: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    touch_time: np.ndarray | None = None
    ref_time: np.ndarray | None = None
    row_ids: np.ndarray | None = None
    returning: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """Number of rows (journeys or paths)."""
        return len(self.indptr) - 1

    @cached_property
    def lengths(self) -> np.ndarray:
        """Number of touches of each row."""
        return np.diff(self.indptr)

    @cached_property
    def row_of_touch(self) -> np.ndarray:
        """Row index of every touch (``repeat(arange(n_rows), lengths)``)."""
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), self.lengths)

    @cached_property
    def position(self) -> np.ndarray:
        """0-based position of every touch within its row."""
        return np.arange(len(self.codes), dtype=np.int64) - self.indptr[self.row_of_touch]

    @cached_property
    def converting(self) -> Sequences:
        """The rows with conversions > 0 (``row_ids`` maps them back); ``self`` if all are."""
        keep = self.conversions > 0
        return self if keep.all() else self.subset(keep)

    def subset(self, keep: np.ndarray) -> Sequences:
        """Take the rows where ``keep`` (bool, one per row) is true, in order.

        ``row_ids`` of the result maps them back to this object's original rows.
        """
        rows = np.flatnonzero(keep)
        lengths = self.lengths[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        take = _shifted_touches(indptr, self.indptr[rows] - indptr[:-1])
        return Sequences(
            self.channels,
            indptr,
            self.codes[take],
            self.conversions[rows],
            self.value[rows],
            self.nulls[rows],
            None if self.touch_time is None else self.touch_time[take],
            None if self.ref_time is None else self.ref_time[rows],
            rows if self.row_ids is None else self.row_ids[rows],
            None if self.returning is None else self.returning[rows],
        )

    @property
    def ids(self) -> np.ndarray:
        """Row id of each row in the original journeys or path table."""
        return np.arange(self.n_rows) if self.row_ids is None else self.row_ids

    @cached_property
    def delta_days(self) -> np.ndarray | None:
        """Days from each touch to its row's conversion; ``None`` without touch times."""
        if self.touch_time is None or self.ref_time is None:
            return None
        return (self.ref_time[self.row_of_touch] - self.touch_time) / _US_PER_DAY


def _path_strings(
    channels: Sequence[str], indptr: np.ndarray, codes: np.ndarray, sep: str
) -> pl.Series:
    """Join each row's channel names with ``sep`` (vectorised through Polars)."""
    n = len(indptr) - 1
    lengths = np.diff(indptr)
    names = pl.Series("c", list(channels), dtype=pl.String)
    touches = pl.DataFrame(
        {
            "row": np.repeat(np.arange(n, dtype=np.int64), lengths),
            "c": names.gather(codes) if len(codes) else pl.Series("c", [], dtype=pl.String),
        }
    )
    joined = touches.group_by("row", maintain_order=True).agg(pl.col("c").str.join(sep))
    full = pl.DataFrame({"row": np.arange(n, dtype=np.int64)}).join(joined, on="row", how="left")
    return full["c"].fill_null("")


def _list_column(
    channels: Sequence[str], indptr: np.ndarray, codes: np.ndarray, name: str
) -> pl.Series:
    names = pl.Series(name, list(channels), dtype=pl.String)
    flat = names.gather(codes) if len(codes) else pl.Series(name, [], dtype=pl.String)
    offsets = pl.Series(indptr.astype(np.int64))
    return _lists_from_offsets(flat, offsets, name)


def _lists_from_offsets(flat: pl.Series, offsets: pl.Series, name: str) -> pl.Series:
    n = len(offsets) - 1
    lengths = np.diff(offsets.to_numpy())
    row = np.repeat(np.arange(n, dtype=np.int64), lengths)
    grouped = (
        pl.DataFrame({"row": row, name: flat})
        .group_by("row", maintain_order=True)
        .agg(pl.col(name))
    )
    full = pl.DataFrame({"row": np.arange(n, dtype=np.int64)}).join(grouped, on="row", how="left")
    return full[name].fill_null(pl.lit([], dtype=pl.List(flat.dtype))).alias(name)


@dataclass(frozen=True, eq=False)
class PathTable:
    """Unique paths with their conversions, conversion value and non-conversions.

    The compressed form of journeys (and the peers' input format). Build it with
    :meth:`Journeys.to_paths` or :func:`read_paths`.

    Attributes
    ----------
    channels : tuple of str
        Channel names, sorted; codes index into it.
    indptr, codes : ndarray
        Path ``p`` is ``codes[indptr[p]:indptr[p + 1]]``.
    conversions, value, nulls : ndarray of float64
        Per path: total conversions, total conversion value and total non-conversions.
    """

    channels: tuple[str, ...]
    indptr: np.ndarray
    codes: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray

    @property
    def n_paths(self) -> int:
        """Number of unique paths."""
        return len(self.indptr) - 1

    @property
    def total_conversions(self) -> float:
        """Sum of conversions over all paths."""
        return float(self.conversions.sum())

    def sequences(self) -> Sequences:
        """Kernel input (no touch times: models that need them refuse path tables)."""
        return self._sequences

    @cached_property
    def _sequences(self) -> Sequences:
        return Sequences(
            self.channels, self.indptr, self.codes, self.conversions, self.value, self.nulls
        )

    def to_frame(self, *, sep: str = " > ", peer_names: bool = False) -> pl.DataFrame:
        """Return the table as a frame: ``path, conversions, value, nulls``.

        Parameters
        ----------
        sep : str
            Separator between channels in ``path``.
        peer_names : bool
            Name the columns as ChannelAttribution does (``path, total_conversions,
            total_conversion_value, total_null``), and write the path of conversions that had
            no touch in their window as ``"(no touch)"`` (the peers' format has no empty path),
            so that :func:`read_paths` reads the file back as the same table.
        """
        names = (
            ("total_conversions", "total_conversion_value", "total_null")
            if peer_names
            else ("conversions", "value", "nulls")
        )
        path = _path_strings(self.channels, self.indptr, self.codes, sep)
        if peer_names:
            path = pl.select(
                pl.when(path == "").then(pl.lit(NO_TOUCH)).otherwise(path).alias("path")
            ).to_series()
        return pl.DataFrame(
            {
                "path": path,
                names[0]: self.conversions,
                names[1]: self.value,
                names[2]: self.nulls,
            }
        )

    @property
    def frame(self) -> pl.DataFrame:
        """Same as :meth:`to_frame` with defaults."""
        return self.to_frame()

    def __repr__(self) -> str:
        return (
            f"PathTable({self.n_paths} paths, {len(self.channels)} channels, "
            f"{self.total_conversions:g} conversions, {self.nulls.sum():g} nulls)"
        )


@dataclass(frozen=True, eq=False)
class Journeys:
    """Journeys, one per conversion plus non-converting tails, in compact form.

    Attributes
    ----------
    channels : tuple of str
        Channel names, sorted; ``codes`` index into it.
    indptr : ndarray of int64, shape (n_journeys + 1,)
        Journey ``j`` owns touches ``indptr[j]:indptr[j + 1]``.
    codes : ndarray of int32
        Channel code of every touch, time-ordered within a journey.
    touch_time : ndarray of int64
        Touch timestamps, microseconds since the Unix epoch (UTC).
    user_id : Series
        User of each journey.
    converted : ndarray of bool
        Whether the journey ends in a conversion.
    conversion_time : ndarray of int64
        Conversion timestamp (µs, UTC); for a non-converting journey, its last touch.
    revenue : ndarray of float64
        Conversion value (0 for non-converting journeys).
    options : dict
        The options the journeys were built with.
    """

    channels: tuple[str, ...]
    indptr: np.ndarray
    codes: np.ndarray
    touch_time: np.ndarray
    user_id: pl.Series
    converted: np.ndarray
    conversion_time: np.ndarray
    revenue: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return len(self.indptr) - 1

    @property
    def n_touches(self) -> int:
        """Number of touches over all journeys."""
        return len(self.codes)

    @property
    def n_conversions(self) -> int:
        """Number of converting journeys."""
        return int(self.converted.sum())

    def sequences(self) -> Sequences:
        """Kernel input: each journey a row with 0/1 conversion counts (cached)."""
        return self._sequences

    @cached_property
    def _sequences(self) -> Sequences:
        conv = self.converted.astype(np.float64)
        return Sequences(
            self.channels,
            self.indptr,
            self.codes,
            conv,
            np.where(self.converted, self.revenue, 0.0),
            1.0 - conv,
            self.touch_time,
            self.conversion_time,
            returning=self.returning,
        )

    @cached_property
    def returning(self) -> np.ndarray:
        """Whether each journey follows an earlier conversion of the same user (bool).

        A returning customer's journey: every converting journey after a user's first
        conversion, and the non-converting tail after the last one.
        """
        order = (
            pl.DataFrame({"u": self.user_id, "t": self.conversion_time})
            .with_row_index("i")
            .sort(["u", "t", "i"])
        )
        users = order["u"]
        follows = np.zeros(self.n_journeys, dtype=bool)
        if self.n_journeys > 1:
            follows[1:] = (users[1:] == users[:-1]).to_numpy()
        out = np.empty(self.n_journeys, dtype=bool)
        out[order["i"].to_numpy()] = follows
        return out

    def to_paths(self) -> PathTable:
        """Compress to unique paths with conversions, value and nulls.

        Paths are grouped exactly: by a 64-bit polynomial hash mixed with the length, then
        every journey is compared touch by touch with its group's representative (a collision
        falls back to exact grouping on list columns). Sorted by conversions, then nulls (both
        descending), then by length; remaining ties in a fixed, content-based order.
        """
        return compress(self.sequences())

    @property
    def frame(self) -> pl.DataFrame:
        """One row per journey.

        Columns: ``journey_id`` (Int64), ``user_id``, ``path`` (list of channel names),
        ``touch_times`` (list of datetimes, UTC), ``n_touches``, ``converted``,
        ``conversion_time`` (null when not converted), ``revenue``.
        """
        utc = pl.Datetime("us", "UTC")
        times = pl.Series("t", self.touch_time).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        conv_time = pl.Series("conversion_time", self.conversion_time)
        conv_time = conv_time.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        return pl.DataFrame(
            {
                "journey_id": np.arange(self.n_journeys, dtype=np.int64),
                "user_id": self.user_id,
                "path": _list_column(self.channels, self.indptr, self.codes, "path"),
                "touch_times": _lists_from_offsets(
                    times, pl.Series(self.indptr), "touch_times"
                ).cast(pl.List(utc)),
                "n_touches": np.diff(self.indptr),
                "converted": self.converted,
                "conversion_time": pl.Series(conv_time).set(pl.Series(~self.converted), None),
                "revenue": self.revenue,
            }
        )

    def __repr__(self) -> str:
        return (
            f"Journeys({self.n_journeys} journeys, {self.n_conversions} converting, "
            f"{self.n_touches} touches, {len(self.channels)} channels)"
        )


# ----------------------------------------------------------------------------------------------
# building journeys


@reads(events="event log")
def build_journeys(
    events: FrameLike,
    options: JourneyOptions | None = None,
    *,
    progress: bool = False,
    **params: Unpack[JourneyParams],
) -> Journeys:
    """Group an event log into journeys: per user, ordered touches up to each conversion.

    Parameters
    ----------
    events
        Output of :func:`attribution.read_events` (used as it is: already normalised and
        validated), or anything it accepts (path or frame), read with the column options.
    options : JourneyOptions, optional
        The journey rules and column names; see :class:`JourneyOptions`.
    progress : bool
        Print each step and its duration on stderr.
    **params
        Any field of :class:`JourneyOptions` (``lookback_days=30``, ``user_col="uid"``...),
        replacing the one in ``options``.

    Returns
    -------
    Journeys
        Converting journeys with no touch left in the window are kept (zero touches); models
        report their conversions under the channel ``"(no touch)"``.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> ev = pl.DataFrame({
    ...     "user_id": [1, 1, 1, 1, 1],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-05", "2024-01-06"],
    ...     "channel": ["seo", "email", None, "ads", "ads"],
    ...     "event": ["touch", "touch", "conversion", "touch", "touch"],
    ...     "revenue": [0.0, 0.0, 50.0, 0.0, 0.0]})
    >>> j = at.build_journeys(ev)
    >>> j.frame.select("path", "converted", "revenue").rows()
    [(['seo', 'email'], True, 50.0), (['ads', 'ads'], False, 0.0)]
    """
    opts = JourneyOptions.of(options, **params)
    prog = Progress(enabled=progress)
    with prog.step("reading events"):
        if isinstance(events, pl.LazyFrame) and canonical_columns(events) is not None:
            # from read_events: canonical already (row numbers count its rows)
            cols, normal = EventColumns(), events.with_row_index(ROW)
        else:
            cols = opts.columns
            source = to_lazy(
                events,
                what="event log",
                id_columns=[cols.user],
                value_columns=[cols.revenue, "cost"],
            )
            normal = normalise_events(source, cols, keep_categories=True)
        df = _collect_for_journeys(normal)
    with prog.step(f"validating {df.height:,} events"):
        _quick_validate(df, normal, cols)
        if (df["kind"] == _KIND_OTHER).any():
            df = df.filter(pl.col("kind") != _KIND_OTHER)
        if df.height == 0:
            raise EmptyInputError(
                "The event log has no touch or conversion rows (only CRM stages); journeys "
                "need touches."
            )
    with prog.step("sorting"):
        flat = _sort_events(df)
        del df
        if bad_channel_names(flat.channels):  # blank, padded or holding the path separator
            validate_events(normal, cols)  # names the rows
    with prog.step("building journeys"):
        journeys = _journeys_from_sorted(flat, **opts.journey_args())
    return journeys


_KIND_TOUCH, _KIND_CONV, _KIND_OTHER, _KIND_BAD = 0, 1, 2, 3


def _local_categorical() -> Any:
    """Return a Categorical with a dictionary of its own (not Polars' process-wide one)."""
    categories = getattr(pl, "Categories", None)
    return pl.Categorical if categories is None else pl.Categorical(categories.random())


def _collect_for_journeys(normal: pl.LazyFrame) -> pl.DataFrame:
    """One read of the log: ids, epoch micros, event kind, categorical channel, revenue."""
    ev = pl.col("event")
    kind = (
        pl.when(ev == "touch")
        .then(_KIND_TOUCH)
        .when(ev == "conversion")
        .then(_KIND_CONV)
        .when(ev.is_in(list(CRM_STAGES)))
        .then(_KIND_OTHER)
        .otherwise(_KIND_BAD)
        .cast(pl.Int8)
    )
    # a dictionary column keeps its codes; text is coded after the read (_text_channel_codes)
    chan: pl.Expr = pl.when(ev == "touch").then(pl.col("channel"))
    return normal.select(
        pl.col("user_id").alias("user"),
        pl.col("timestamp").dt.epoch("us").alias("ts"),
        kind.alias("kind"),
        chan.alias("chan"),
        pl.col("revenue"),
    ).collect()


def _quick_validate(df: pl.DataFrame, normal: pl.LazyFrame, cols: EventColumns) -> None:
    """Count rule violations on the collected columns; on any, let the full check explain."""
    rev = df["revenue"]
    touch = df["kind"] == _KIND_TOUCH
    bad = (
        df["user"].null_count()
        + (int((df["user"].str.len_bytes() == 0).sum()) if df["user"].dtype == pl.String else 0)
        + df["ts"].null_count()
        + int((df["kind"] == _KIND_BAD).sum())
        + int((rev < 0).sum())
        + int((~rev.is_finite()).sum())
        + int((touch & df["chan"].is_null()).sum())
        + int((touch & (rev != 0)).sum())  # revenue on a touch
        + (not math.isfinite(rev.sum() or 0.0))  # a total beyond the largest float
    )
    if df.height == 0 or bad:
        validate_events(normal, cols)
        if df.height == 0:  # pragma: no cover - validate_events raised already
            raise EmptyInputError("The event log is empty (0 rows).")
        raise ValidationError(
            "The event log breaks a rule of the data contract."
        )  # pragma: no cover


@dataclass
class _Flat:
    """Events sorted by (user, time, touch before conversion), as flat arrays."""

    channels: tuple[str, ...]
    user: np.ndarray  # user code per event (sorted order)
    time: np.ndarray  # µs since the epoch
    conv: np.ndarray  # bool
    code: np.ndarray  # channel code (touches)
    conv_revenue: np.ndarray  # revenue of each conversion, in sorted order
    user_ids: pl.Series  # user ids: code c is user_ids[c], or user_ids[user_pos[c]]
    user_pos: np.ndarray | None = None


def _channel_codes(chan: pl.Series) -> tuple[list[str], np.ndarray]:
    """Channel names in sorted order and each row's code into them (0 on null rows).

    Text is coded by :func:`_text_channel_codes` (or, should that find two names sharing a
    hash, through a Categorical of its own). A Categorical or Enum column's dictionary may
    hold names that do not occur (an Enum's full list, or Polars' process-wide dictionary),
    so the codes that occur are counted first; they are then mapped to the rank of their name.
    """
    if not isinstance(chan.dtype, pl.Categorical | pl.Enum):
        coded = _text_channel_codes(chan.cast(pl.String))
        if coded is not None:
            return coded
        chan = chan.cast(_local_categorical())
    dtype = chan.dtype
    phys = chan.to_physical().fill_null(0).to_numpy()
    categories = getattr(dtype, "categories", None)
    if categories is not None and not isinstance(dtype, pl.Enum) and not categories.is_global():
        present = np.arange(categories.to_series().len())  # its own: just the names that occur
    else:
        counts = np.bincount(phys)
        counts[0] -= chan.null_count()  # null rows were counted as code 0
        present = np.flatnonzero(counts)
    if isinstance(dtype, pl.Enum):
        dictionary = pl.Series(dtype.categories)
    elif categories is not None:
        dictionary = categories.to_series()
    else:  # pragma: no cover - Polars 1.x
        dictionary = chan.cat.get_categories()  # type: ignore[attr-defined]
    names = dictionary.gather(present).to_list()
    ranked, lookup = _rank_names(names, present, int(phys.max()) + 1 if len(phys) else 1)
    return ranked, lookup[phys]


def _rank_names(names: list[str], slots: np.ndarray, n_slots: int) -> tuple[list[str], np.ndarray]:
    """Sort channel names and code them by rank.

    ``names[i]`` sits in slot ``slots[i]`` of ``n_slots``. Returns the names in sorted order and
    each slot's code (the rank of its name; 0 for an empty slot), in the smallest unsigned type
    that holds them.
    """
    order = sorted(range(len(names)), key=names.__getitem__)
    n = len(names)
    small = np.uint8 if n <= 2**8 else np.uint16 if n <= 2**16 else np.uint32
    lookup = np.zeros(n_slots, dtype=small)
    lookup[slots[order]] = np.arange(n, dtype=small)
    return [names[i] for i in order], lookup


def _text_channel_codes(chan: pl.Series) -> tuple[list[str], np.ndarray] | None:
    """:func:`_channel_codes` for a text column, by hashing rather than a Categorical cast.

    Every row's name is hashed twice (two independent 64-bit hashes, as user ids are in
    :func:`_text_codes`); the first row of each distinct first hash stands for its name, and
    rows find their name's slot through a small table on the fewest low bits of the hash that
    keep the names apart. Every row's two hashes are then checked against its slot's, so two
    names share a code only if they agree on all 128 bits. Returns ``None`` when two rows
    share the first hash but not the second, or no table of at most 2**22 slots separates
    the names (the caller then codes through a Categorical).
    """
    h1, h2 = _hash_ids(chan)
    first = pl.Series(h1).arg_unique().to_numpy()
    reps = chan.gather(first)
    h1_rep = h1[first]
    k = len(first)
    for b in range(_bits(k), 23):
        mask = _U64(2**b - 1)
        low = h1_rep & mask
        if len(np.unique(low)) == k:
            break
    else:
        return None
    table = np.zeros(int(mask) + 1, dtype=np.int32)
    table[low.view(np.int64)] = np.arange(k, dtype=np.int32)
    low_bits = h1 & mask
    slot = table[low_bits.view(np.int64)]
    del table, low_bits
    if not (np.array_equal(h1, h1_rep[slot]) and np.array_equal(h2, h2[first][slot])):
        return None
    del h1, h2
    present = reps.is_not_null().to_numpy()
    names = reps.filter(pl.Series(present)).to_list()
    ranked, lookup = _rank_names(names, np.flatnonzero(present), k)  # a null's slot gets 0
    return ranked, lookup[slot]


def _bits(n: int) -> int:
    """Bits needed to store the values 0..n-1."""
    return max(int(n - 1).bit_length(), 1)


def _time_unit(ts: np.ndarray) -> int:
    """Return the coarsest of s, ms and µs (in µs) in which every timestamp is whole."""
    for unit in (1_000, 1_000_000):
        if np.any(ts[:4096] % unit) or np.any(ts % unit):
            return 1 if unit == 1_000 else 1_000
    return 1_000_000


_U64 = np.uint64
#: Bits of one sort key (a NumPy uint64); tests lower it to reach the split and general paths.
_WORD = 64
#: Bits of the uint32 that carries (part | row) when :func:`_sort_packed` splits the events.
_PERM_WORD = 32
#: Fewest events whose split sort runs its parts on threads (tests lower it).
_PARALLEL_ROWS = 1 << 20
#: Seeds of the two independent 64-bit hashes that group text ids (see :func:`_text_codes`).
_SEED_A, _SEED_B = 0x6A09E667F3BCC908, 0xBB67AE8584CAA73B


def _sort_events(df: pl.DataFrame) -> _Flat:
    """Sort the events by user, time, touch before conversion and channel name.

    Users get dense codes in id order (:func:`_user_codes`), times are counted from the
    earliest in the coarsest unit (s, ms or µs) that keeps every one exact, and each event
    becomes one unsigned key ``user | time | conversion bit | channel code``, sorted by value
    with NumPy's vectorised sort (:func:`_sort_packed`, which splits the events on the top
    bits of the user code when the fields need more than a word). Decoding is shifts and
    masks. Simultaneous conversions of a user are ordered by revenue.
    """
    # the channels are coded on a thread while this one reads the times and codes the users
    # (NumPy and Polars work on big arrays without holding the GIL)
    with ThreadPoolExecutor(1) as pool:
        channels = pool.submit(_channel_codes, df["chan"])
        is_conv = df["kind"] == _KIND_CONV
        conv = is_conv.to_numpy()
        conv_revenue = df["revenue"].filter(is_conv).fill_null(0.0).to_numpy()
        # low field: time | conversion bit | channel code (null, so 0, on conversions)
        low = df["ts"].to_numpy(writable=True).view(np.uint64)
        tmin, tmax = int(low.view(np.int64).min()), int(low.view(np.int64).max())
        unit = _time_unit(low.view(np.int64))
        low -= _U64(tmin % 2**64)
        if unit > 1:
            low //= _U64(unit)
        ucode, n_codes, user_ids, user_pos = _user_codes(df["user"])
        names, code = channels.result()
    del df
    reserved = [n for n in RESERVED_CHANNELS if n in names]
    if reserved:
        raise reserved_channel_error(reserved[0])
    b_c = _bits(len(names))
    low_bits = _bits((tmax - tmin) // unit + 1) + 1 + b_c
    low <<= _U64(1 + b_c)
    flags = conv.astype(np.uint32)
    flags <<= b_c
    flags |= code
    del code
    low |= flags
    del flags
    # conversions in the order of the sort (user, time), simultaneous ones by revenue
    conv_rows = np.flatnonzero(conv)
    del conv
    conv_revenue = conv_revenue[np.lexsort((conv_revenue, low[conv_rows], ucode[conv_rows]))]
    user_s, key = _sort_packed(ucode, low, _bits(n_codes), low_bits)
    del ucode, low
    code_s = np.empty(len(key), dtype=np.int32)
    np.bitwise_and(key, _U64(2**b_c - 1), out=code_s, casting="unsafe")
    key >>= _U64(b_c)
    conv_s = np.empty(len(key), dtype=np.uint8)
    np.bitwise_and(key, _U64(1), out=conv_s, casting="unsafe")
    key >>= _U64(1)
    time = key.view(np.int64)
    if unit > 1:
        time *= unit
    time += tmin
    return _Flat(
        channels=tuple(names),
        user=user_s,
        time=time,
        conv=conv_s.view(bool),
        code=code_s,
        conv_revenue=conv_revenue,
        user_ids=user_ids,
        user_pos=user_pos,
    )


def _sort_packed(
    ucode: np.ndarray, low: np.ndarray, b_u: int, low_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sort pairs (user code, low field) by value; returns both, sorted.

    ``ucode`` (uint64) holds values below ``2**b_u`` and is overwritten; ``low`` (uint64)
    values below ``2**low_bits``. With ``b_u + low_bits <= _WORD`` (64) the pairs are packed into
    one uint64 and sorted once. Otherwise the top ``k = b_u + low_bits - 64`` bits of the
    user code split the pairs into ``2**k`` parts (a stable argsort of small integers, which
    NumPy does as a radix sort), each part packed with the remaining user bits and sorted on
    its own. Beyond 16 split bits (or a low field as wide as a word) a lexicographic sort of
    the two arrays does it.

    Returns ``(user, low)``: user codes (int32 when they fit, else int64) and the low field.
    """
    n = len(low)
    small = np.int32 if b_u < 32 else np.int64
    user = np.empty(n, dtype=small)
    k = b_u + low_bits - _WORD
    if k > 16 or low_bits >= _WORD:
        order = np.lexsort((low, ucode))
        user[:] = ucode[order]
        return user, low[order]
    mask = _U64(2**low_bits - 1)
    if k <= 0:
        key = ucode
        key <<= _U64(low_bits)
        key |= low
        del low
        key.sort()
        np.right_shift(key, _U64(low_bits), out=user, casting="unsafe")
        key &= mask
        return user, key
    local = b_u - k
    b_r = _bits(n)
    if k + b_r <= _PERM_WORD:  # part | row in a uint32, sorted by value: the rows, part by part
        perm: np.ndarray = np.empty(n, dtype=np.uint32)
        np.right_shift(ucode, _U64(local), out=perm, casting="unsafe")
        perm <<= np.uint32(b_r)
        perm |= np.arange(n, dtype=np.uint32)
        perm.sort()
        bounds = np.arange(1, 2**k, dtype=np.uint32) << np.uint32(b_r)
        ends = np.append(np.searchsorted(perm, bounds), n)
        perm &= np.uint32(2**b_r - 1)
    else:
        part = np.empty(n, dtype=np.uint8 if k <= 8 else np.uint16)
        np.right_shift(ucode, _U64(local), out=part, casting="unsafe")
        ends = np.cumsum(np.bincount(part, minlength=2**k))
        perm = np.argsort(part, kind="stable")
        del part
    packed = ucode
    packed &= _U64(2**local - 1)
    packed <<= _U64(low_bits)
    packed |= low
    key = np.take(packed, perm, out=low, mode="clip")  # into memory touched already; unbuffered
    del packed, perm, low
    counts = np.diff(ends, prepend=0)

    def sort_part(p: int, a: int, b: int) -> None:  # NumPy sorts without holding the GIL
        chunk = key[a:b]
        chunk.sort()
        np.right_shift(chunk, _U64(low_bits), out=user[a:b], casting="unsafe")
        np.bitwise_or(user[a:b], p << local, out=user[a:b])
        chunk &= mask

    parts = [(p, a, b) for p, (a, b) in enumerate(zip(ends - counts, ends, strict=True)) if b > a]
    workers = min(_cpu_count(), len(parts))
    if workers > 1 and n >= _PARALLEL_ROWS:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda piece: sort_part(*piece), parts))
    else:
        for piece in parts:
            sort_part(*piece)
    return user, key


def _cpu_count() -> int:
    """CPUs this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _user_codes(user: pl.Series) -> tuple[np.ndarray, int, pl.Series, np.ndarray | None]:
    """Codes of the user ids, in id order, and the id of each code.

    Integers are ordered as numbers, text by its bytes (as Polars and Python sort strings).
    Returns ``(codes, n_codes, ids, pos)``: ``codes`` (uint64, one per row, below
    ``n_codes``); the id of code ``c`` is ``ids[c]`` or, when ``pos`` is given,
    ``ids[pos[c]]``. Codes that no row has may exist (a dense range of integer ids keeps the
    ids that do not occur; ranked ids leave room for the rare ids found late, see
    :func:`_place_strays`).
    """
    if user.dtype.is_integer():
        return _integer_codes(user)
    return _text_codes(user.cast(pl.String))


def _integer_codes(user: pl.Series) -> tuple[np.ndarray, int, pl.Series, None]:
    signed = not user.dtype.is_unsigned_integer()
    arr = user.cast(pl.Int64 if signed else pl.UInt64).to_numpy(writable=True)
    n = len(arr)
    lo, hi = int(arr.min()), int(arr.max())
    span = hi - lo + 1
    base = _U64(lo % 2**64)  # offsets from the smallest id: exact for int64 and uint64 ids
    if span <= 4 * n + 1024:
        ids = np.arange(span, dtype=np.uint64) + base
        v = arr.view(np.uint64)
        v -= base
    else:
        v = arr.view(np.uint64) - base
        rows, first = _group_rows(v, _bits(span))
        rep_v = v[rows[first]]
        codes = _scatter_groups(rows, first, _gap_codes(len(rep_v)))
        strays = _strays(v, codes, rep_v)
        extra, stray_id = np.unique(v[strays], return_inverse=True)
        at = np.searchsorted(rep_v, extra)  # ids found late, in order among the others
        v, source = _place_strays(codes, len(rep_v), at, strays, stray_id)
        ids = np.concatenate([rep_v, extra])[source] + base
    return (
        v,
        len(ids),
        pl.Series("user_id", ids.view(np.int64) if signed else ids, user.dtype),
        None,
    )


def _group_rows(v: np.ndarray, v_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by the top bits of ``v``, groups in order of ``v``.

    Returns ``(rows, first)``: row numbers in group order (ascending within a group) and a
    mask of the first row of each group. Each row's number rides in the low bits of a uint64
    whose top bits are the top bits of ``v``, so one value sort groups the rows. The groups
    are exact when ``v`` fits beside the row number; otherwise a group is all the rows whose
    top bits tie, and the caller checks every row against its group's first row
    (:func:`_strays`) and gives the rare ids that differ codes of their own
    (:func:`_place_strays`).
    """
    n = len(v)
    b_r = _bits(n)
    shift = min(max(0, v_bits + b_r - _WORD), 63)
    key = v >> _U64(shift) if shift else v.copy()
    key <<= _U64(b_r)
    key |= np.arange(n, dtype=np.uint32 if n < 2**32 else np.uint64)  # type: ignore[arg-type]
    key.sort()
    rows = np.empty(n, dtype=np.int32 if n < 2**31 else np.int64)
    np.bitwise_and(key, _U64(2**b_r - 1), out=rows, casting="unsafe")
    key >>= _U64(b_r)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    return rows, first


def _scatter_groups(rows: np.ndarray, first: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Each row's group's ``value`` (uint64), in row order."""
    starts = np.flatnonzero(first)
    sizes = np.diff(starts, append=len(rows))
    codes = np.empty(len(rows), dtype=np.uint64)
    codes[rows] = np.repeat(value, sizes)
    return codes


def _gap_codes(n: int) -> np.ndarray:
    """Codes ``2r + 1`` for ranks ``r < n``: the even codes are free for late ids."""
    return np.arange(1, 2 * n, 2, dtype=np.uint64)


def _strays(w: np.ndarray, codes: np.ndarray, w_of_rank: np.ndarray) -> np.ndarray:
    """Rows whose ``w`` differs from that of their gap code's rank (usually none)."""
    return np.flatnonzero(w != w_of_rank[codes >> _U64(1)])


def _mixed_rows(w: np.ndarray, rows: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Rows whose ``w`` differs from that of their group's first row (usually none).

    The groups are those of :func:`_group_rows`; ``w`` is read in group order, so only a
    group where ``w`` changes is looked at row by row. Returns row numbers, ascending.
    """
    ws = np.take(w, rows)  # faster than indexing with an array
    change = np.flatnonzero(ws[1:] != ws[:-1]) + 1
    change = change[~first[change]]  # a change inside a group, not at its start
    if len(change) == 0:
        return np.zeros(0, dtype=np.int64)
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    mixed = np.zeros(len(starts), dtype=bool)
    mixed[group[change]] = True
    at = np.flatnonzero(mixed[group])
    bad = at[ws[at] != ws[starts[group[at]]]]
    return np.sort(rows[bad].astype(np.int64))


def _place_strays(
    codes: np.ndarray, n_ranked: int, at: np.ndarray, strays: np.ndarray, stray_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Give ids found late codes of their own, in order among the ranked ones.

    ``codes`` are the gap codes of :func:`_gap_codes` for ``n_ranked`` ranked ids; late id
    ``j`` (in order) falls before ranked id ``at[j]``, and stray row ``strays[i]`` holds late
    id ``stray_id[i]``. A late id takes the free even code before its place; when two fall in
    the same place, every code is renumbered densely (one more pass over the rows).

    Returns ``(codes, source)``: ``source[c]`` is the ranked id (below ``n_ranked``) or the
    late id (``n_ranked + j``) of code ``c``; unused codes point at id 0.
    """
    m = len(at)
    if m == 0 or len(np.unique(at)) == m:
        source = np.zeros(2 * n_ranked + 1, dtype=np.int64)
        source[1::2] = np.arange(n_ranked)
        source[2 * at] = n_ranked + np.arange(m)
        codes[strays] = 2 * at[stray_id]
        return codes, source
    before = np.zeros(n_ranked + 1, dtype=np.int64)
    np.add.at(before, at, 1)
    moved = np.arange(n_ranked) + np.cumsum(before)[:n_ranked]
    remap = np.zeros(2 * n_ranked + 1, dtype=np.uint64)
    remap[1::2] = moved
    codes = remap[codes]
    late = at + np.arange(m)
    codes[strays] = late[stray_id]
    source = np.empty(n_ranked + m, dtype=np.int64)
    source[moved] = np.arange(n_ranked)
    source[late] = n_ranked + np.arange(m)
    return codes, source


def _text_codes(user: pl.Series) -> tuple[np.ndarray, int, pl.Series, np.ndarray]:
    """Codes of text ids in byte order, without a dictionary of millions of strings.

    Every id is hashed twice (two independent 64-bit hashes). Rows are grouped on the first
    (:func:`_group_rows`), the groups put in the order of their ids' text
    (:func:`_text_order`), and every row's second hash is checked against its group's: the
    rows of an id whose first hash ties with another's on the bits the sort uses (a few pairs
    in millions of ids) are strays, and their id gets a code of its own
    (:func:`_place_strays`). Two different ids share a code only if they agree on 104 bits of
    hash (the top 40 of the first and all 64 of the second).
    """
    h1, h2 = _hash_ids(user)
    rows, first = _group_rows(h1, 64)
    del h1
    with ThreadPoolExecutor(1) as pool:  # the strays are found while the groups are ranked
        mixed = pool.submit(_mixed_rows, h2, rows, first)
        names, order, rank = _rank_text_groups(user, rows, first)
        n_ranked = len(order)
        codes = _scatter_groups(rows, first, _gap_codes(n_ranked)[rank])
        strays = mixed.result()
    at = np.zeros(0, dtype=np.int64)
    stray_id = np.zeros(0, dtype=np.int64)
    late: list[str] = []
    if len(strays):  # a late id is a distinct (group, second hash) among the strays
        pairs = np.stack([codes[strays], h2[strays]])
        _, one_row, stray_id = np.unique(pairs, axis=1, return_index=True, return_inverse=True)
        texts = user.gather(strays[one_row]).to_list()
        where = [_text_position(names, order, t) for t in texts]
        by_text = sorted(range(len(texts)), key=lambda j: (where[j], texts[j].encode()))
        rename = np.empty(len(texts), dtype=np.int64)
        rename[by_text] = np.arange(len(texts))
        at = np.array([where[j] for j in by_text], dtype=np.int64)
        stray_id = rename[stray_id.ravel()]
        late = [texts[j] for j in by_text]
    codes, source = _place_strays(codes, n_ranked, at, strays, stray_id)
    ranked = source < n_ranked
    pos = np.where(ranked, order[np.where(ranked, source, 0)], len(names) + source - n_ranked)
    if late:
        names = pl.concat([names, pl.Series(late, dtype=pl.String)], rechunk=True)
    return codes, len(source), names.alias("user_id"), pos


def _text_position(names: pl.Series, order: np.ndarray, text: str) -> int:
    """How many of ``names`` (in the byte order ``order``) sort before ``text``."""
    lo, hi, target = 0, len(order), text.encode()
    while lo < hi:
        mid = (lo + hi) // 2
        if names[int(order[mid])].encode() < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _rank_text_groups(
    user: pl.Series, rows: np.ndarray, first: np.ndarray
) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Rank the groups of rows by the byte order of their first row's text.

    Returns ``(names, order, rank)``: the first row's text of every group, in row order; the
    positions of ``names`` in byte order; and the rank of each group.
    """
    reps = rows[first]  # first row of each group, groups in hash order
    n_groups = len(reps)
    # the representatives in row order (a filter reads them in one pass) and their groups
    b_g = _bits(n_groups)
    packed = reps.astype(np.uint64) << _U64(b_g)
    packed |= np.arange(n_groups, dtype=np.uint64)
    packed.sort()
    group_of = (packed & _U64(2**b_g - 1)).view(np.int64)
    mask = np.zeros(len(user), dtype=bool)
    mask[reps] = True
    names = user.filter(pl.Series(mask)).rechunk()
    del mask
    order = _text_order(names)
    rank = np.empty(n_groups, dtype=np.int64)
    rank[group_of[order]] = np.arange(n_groups)
    return names, order, rank


def _hash_ids(user: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of every id (Polars' hash with two seeds)."""
    return user.hash(seed=_SEED_A).to_numpy(), user.hash(seed=_SEED_B).to_numpy()


def _text_order(names: pl.Series) -> np.ndarray:
    """Positions of ``names`` (distinct strings) in byte order.

    A most-significant-first radix sort on eight-byte words: all names are sorted on their
    first word (one big-endian integer), then only the runs that tie are sorted on their next
    word, and so on; names equal up to the end of the shorter are ordered by length. Real ids
    leave few ties after a word or two, and sorting millions of strings as text is slow.
    """
    p = _word(names, 0)
    order = pl.Series(p).arg_sort().to_numpy().astype(np.int64)
    key = p[order]
    run = np.zeros(len(order), dtype=np.int64)
    sel = np.arange(len(order))  # positions in ``order`` still tied, with their run
    lengths: np.ndarray | None = None
    level = 0
    while True:
        same = (run[1:] == run[:-1]) & (key[1:] == key[:-1])
        if not same.any():
            return order
        tied = np.zeros(len(sel), dtype=bool)
        tied[1:] = same
        tied[:-1] |= same
        idx = np.flatnonzero(tied)
        starts = np.ones(len(sel), dtype=bool)
        starts[1:] = ~same
        run = np.cumsum(starts[idx]) - 1
        sel = sel[idx]
        sub = order[sel]
        level += 1
        if lengths is None:
            lengths = names.str.len_bytes().to_numpy()
        final = 8 * level >= int(lengths[sub].max())
        key = lengths[sub] if final else _word(names.gather(sub), level)
        o = np.lexsort((key, run))
        order[sel] = sub[o]
        if final:  # equal bytes to the end of the shorter: the shorter first
            return order
        run, key = run[o], key[o]


def _word(names: pl.Series, k: int) -> np.ndarray:
    """Bytes ``8k .. 8k+7`` of each string as a big-endian uint64 (zero bytes past its end)."""
    big: Any = "big"
    word = (
        names.cast(pl.Binary).bin.slice(8 * k, 8).bin.reinterpret(dtype=pl.UInt64, endianness=big)
    )
    short = word.is_null()
    if short.any():  # fewer bytes left: pad the text with NULs (a character is at least a byte)
        padded = names.filter(short).str.pad_end(8 * (k + 1), "\0").cast(pl.Binary)
        tail = padded.bin.slice(8 * k, 8).bin.reinterpret(dtype=pl.UInt64, endianness=big)
        word = word.scatter(short.arg_true(), tail)
    return word.to_numpy()


def _journeys_from_sorted(
    flat: _Flat,
    *,
    lookback_days: float | None,
    max_touches: int | None,
    collapse_repeats: bool,
    non_converting: NonConverting,
) -> Journeys:
    """Cut the sorted events into journeys: at every conversion and every change of user.

    Journeys are found from their first and last events (positions, not a pass per event);
    touches are assigned to journeys one by one only when an option filters them.
    """
    uc, ts, conv = flat.user, flat.time, flat.conv
    n = len(uc)
    start = np.empty(n, dtype=bool)
    start[0] = True
    np.not_equal(uc[1:], uc[:-1], out=start[1:])
    start[1:] |= conv[:-1]
    first = np.flatnonzero(start)
    del start
    nj = len(first)
    last = np.empty(nj, dtype=np.int64)
    np.subtract(first[1:], 1, out=last[:-1])
    last[-1] = n - 1
    # a journey ends with its conversion, or with its last touch (its reference time)
    converted = conv[last]
    ref_time = ts[last]
    juser = uc[first]
    del last
    # touches before a journey's first event: its events less the conversions, one per
    # converting journey before it
    indptr = np.empty(nj + 1, dtype=np.int64)
    indptr[0] = 0
    np.cumsum(converted[:-1], out=indptr[1:-1])
    np.subtract(first, indptr[:-1], out=indptr[:-1])
    indptr[-1] = n - int(converted.sum())
    del first
    revenue = np.zeros(nj, dtype=np.float64)
    revenue[converted] = flat.conv_revenue
    touch = ~conv
    tts = ts[touch]
    tcode = flat.code[touch]
    del touch

    keep_j: np.ndarray | None = None
    if non_converting == "drop":
        keep_j = converted.copy()
    elif non_converting == "never_converted":
        same_user_as_prev = np.zeros(nj, dtype=bool)
        same_user_as_prev[1:] = juser[1:] == juser[:-1]
        keep_j = converted | ~same_user_as_prev
    counts = np.diff(indptr)
    dropping = keep_j is not None and not keep_j.all()
    if dropping or lookback_days is not None or collapse_repeats or max_touches is not None:
        tj = np.repeat(np.arange(nj, dtype=np.int64), counts)
        keep_t = keep_j[tj] if dropping and keep_j is not None else np.ones(len(tj), dtype=bool)
        if lookback_days is not None:
            window = lookback_window(lookback_days)
            keep_t &= (ref_time[tj] - tts) <= window
        if not keep_t.all():
            tj, tts, tcode = tj[keep_t], tts[keep_t], tcode[keep_t]
        if collapse_repeats and len(tj):
            repeat = np.zeros(len(tj), dtype=bool)
            repeat[1:] = (tj[1:] == tj[:-1]) & (tcode[1:] == tcode[:-1])
            tj, tts, tcode = tj[~repeat], tts[~repeat], tcode[~repeat]
        counts = np.bincount(tj, minlength=nj)
        if max_touches is not None and len(tj):
            ends = np.cumsum(counts)
            from_end = ends[tj] - 1 - np.arange(len(tj))
            cap = from_end < max_touches
            tj, tts, tcode = tj[cap], tts[cap], tcode[cap]
            counts = np.minimum(counts, max_touches)
        del tj
    keep = converted | (counts > 0)
    if keep_j is not None:
        keep &= keep_j
    if not keep.all():
        counts, converted, ref_time, revenue, juser = (
            a[keep] for a in (counts, converted, ref_time, revenue, juser)
        )
    if len(counts) == 0:
        raise EmptyInputError("No journeys are left after applying the journey options.")
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    journeys = Journeys(
        channels=flat.channels,
        indptr=indptr,
        codes=tcode.astype(np.int32, copy=False),
        touch_time=tts,
        user_id=flat.user_ids.gather(
            juser if flat.user_pos is None else flat.user_pos[juser]
        ).alias("user_id"),
        converted=converted,
        conversion_time=ref_time,
        revenue=revenue,
        options={
            "lookback_days": lookback_days,
            "max_touches": max_touches,
            "collapse_repeats": collapse_repeats,
            "non_converting": non_converting,
        },
    )
    # journeys come in order of user and time, so a journey follows an earlier conversion
    # of its user exactly when the journey before it is the same user's (see ``returning``)
    returning = np.zeros(len(juser), dtype=bool)
    returning[1:] = juser[1:] == juser[:-1]
    object.__setattr__(journeys, "returning", returning)
    return journeys


# ----------------------------------------------------------------------------------------------
# path tables

_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _hash_rows(seq: Sequences) -> np.ndarray:
    """Hash each row's codes to 64 bits (polynomial hash mixed with the length).

    The polynomial is ``sum((code + 1) * P1**(position + 1))`` over the row, modulo 2**64. It
    is computed without per-touch positions: every touch is weighted by ``P1**(i + 1)`` for its
    index ``i`` in ``codes``, rows are summed, and each sum is brought back to its row's first
    touch by ``P1**-start`` (P1 is odd, so it has an inverse modulo 2**64).
    """
    lengths = seq.lengths
    n = len(seq.codes)
    terms = seq.codes.astype(np.uint64)
    starts = seq.indptr[:-1]
    back = np.ones(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        terms += np.uint64(1)
        for a in range(0, max(n, 1), _HASH_CHUNK):  # P1**i and P1**-i, a chunk at a time
            b = min(a + _HASH_CHUNK, n)
            terms[a:b] *= _powers(_P1, a + 1, b - a)
            rows = slice(*np.searchsorted(starts, [a, b]))
            back[rows] = _powers(_P1_INV, a, b - a + 1)[starts[rows] - a]
        h = np.zeros(seq.n_rows, dtype=np.uint64)
        _sum_u64(h, seq.indptr, terms)
        h *= back
        h ^= lengths.astype(np.uint64) * _P2
        h ^= h >> np.uint64(31)
        h *= _P2
    return h


#: Touches per chunk of the power tables in :func:`_hash_rows`.
_HASH_CHUNK = 1 << 22
_P1_INV = np.uint64(pow(int(_P1), -1, 2**64))


def _powers(base: np.uint64, first: int, n: int) -> np.ndarray:
    """Return ``base ** first, base ** (first + 1), ...`` (``n`` of them), modulo 2**64."""
    out = np.full(n, base, dtype=np.uint64)
    if n:
        out[0] = np.uint64(pow(int(base), first, 2**64))
        with np.errstate(over="ignore"):
            np.multiply.accumulate(out, out=out)
    return out


def _shifted_touches(indptr: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Every touch's index plus its row's ``shift`` (one value per row)."""
    out = np.repeat(shift, np.diff(indptr))
    out += np.arange(len(out), dtype=out.dtype)
    return out


def _sum_u64(out: np.ndarray, indptr: np.ndarray, values: np.ndarray) -> None:
    """Per-row wrap-around sums of uint64 values (``np.add.reduceat`` without empty-row traps)."""
    nonempty = indptr[1:] > indptr[:-1]
    if not nonempty.any():
        return
    starts = indptr[:-1][nonempty]
    with np.errstate(over="ignore"):
        out[nonempty] = np.add.reduceat(values, starts)


def _unique_rows(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(h, return_index=True, return_inverse=True)`` for uint64 ``h``, faster.

    :func:`_group_rows` groups the rows on the top bits of their value by one value sort (much
    faster than an argsort), in order of value and, within a group, of row. Should two
    different values share those top bits (rare), the rows are grouped by an argsort instead.
    Returns the distinct values (ascending), the first row of each and each row's group.
    """
    n = len(h)
    if n == 0:
        return h.copy(), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows, top_new = _group_rows(h, 64)
    hs = h[rows]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(hs[1:], hs[:-1], out=new[1:])
    if not np.array_equal(new, top_new):  # two values share the top bits
        rows = np.argsort(h, kind="stable")
        hs = h[rows]
        np.not_equal(hs[1:], hs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    group = np.empty(n, dtype=np.int64)
    group[rows] = np.cumsum(new) - 1
    return hs[starts], rows[starts].astype(np.int64, copy=False), group


def compress(seq: Sequences) -> PathTable:
    """Merge identical rows, summing their counts (exact: hashes are verified)."""
    lengths = seq.lengths
    h = _hash_rows(seq)
    uniq_h, rep, group = _unique_rows(h)
    n_groups = len(uniq_h)
    # exact check: same length and every touch equal to the representative's touch
    rep_row = rep[group]
    same = np.array_equal(lengths, lengths[rep_row]) and np.array_equal(
        seq.codes,
        seq.codes[_shifted_touches(seq.indptr, seq.indptr[:-1][rep_row] - seq.indptr[:-1])],
    )
    if not same:  # pragma: no cover - a 64-bit hash collision
        group, rep, n_groups = _exact_groups(seq)
    conversions = np.bincount(group, weights=seq.conversions, minlength=n_groups)
    value = np.bincount(group, weights=seq.value, minlength=n_groups)
    nulls = np.bincount(group, weights=seq.nulls, minlength=n_groups)
    # most conversions first, then most nulls, then shortest; ties by hash (deterministic):
    # the groups come in hash order, so a stable sort on the other keys keeps it for ties
    keys = (lengths[rep], -nulls, -conversions)
    order = np.lexsort(keys if same else (rep, *keys))
    rep = rep[order]
    base = PathTable(seq.channels, seq.indptr, seq.codes, seq.conversions, seq.value, seq.nulls)
    table = _take_paths(base, rep)
    return PathTable(
        seq.channels,
        table.indptr,
        table.codes,
        conversions[order],
        value[order],
        nulls[order],
    )


def _exact_groups(seq: Sequences) -> tuple[np.ndarray, np.ndarray, int]:  # pragma: no cover
    lists = _lists_from_offsets(pl.Series(seq.codes), pl.Series(seq.indptr), "p")
    group = pl.DataFrame({"p": lists}).select(pl.col("p").rank("dense") - 1).to_series()
    g = group.to_numpy().astype(np.int64)
    n_groups = int(g.max()) + 1
    rep = np.full(n_groups, -1, dtype=np.int64)
    rep[g[::-1]] = np.arange(len(g) - 1, -1, -1)
    return g, rep, n_groups


def _take_paths(table: PathTable, order: np.ndarray) -> PathTable:
    lengths = np.diff(table.indptr)[order]
    indptr = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    take = _shifted_touches(indptr, table.indptr[:-1][order] - indptr[:-1])
    return PathTable(
        table.channels,
        indptr,
        table.codes[take],
        table.conversions[order],
        table.value[order],
        table.nulls[order],
    )


#: GA's "channel repeated n times" in path exports: ``Direct × 2``, ``Direct×2``, ``Direct x 2``.
_REPEAT = r"^(.*?\S)(?:\s*×\s*|\s+[xX]\s*)(\d+)$"


#: The largest ``n`` of GA's ``X × n`` that :func:`read_paths` expands.
_MAX_REPEAT = 1_000_000


def _repeats(df: pl.DataFrame, parts: pl.Series, path_col: str, repeats: str) -> pl.Series:
    """Expand (or refuse) GA's ``X × n`` steps in the split paths; row ``__row`` of ``df``."""
    if repeats not in ("refuse", "expand", "keep"):
        raise ValidationError(
            f"repeats={repeats!r} is not a choice; expected 'refuse', 'expand' or 'keep'."
        )
    if repeats == "keep":
        return parts
    steps = pl.DataFrame({"__row": df["__row"], "__step": parts}).explode("__step")
    hit = steps["__step"].str.contains(_REPEAT)
    if not hit.any():
        return parts
    rows = steps.filter(hit)["__row"].unique(maintain_order=True)
    paths = df.filter(pl.col("__row").is_in(rows.implode()))
    where = describe_rows(paths["__row"].to_list(), values=paths["path"].to_list())
    if repeats == "refuse":
        raise ValidationError(
            f"Column {path_col!r} has {rows.len()} paths with Google Analytics' repeat "
            f"notation ({where}); pass repeats='expand' to read 'X × n' as n touches of X, or "
            "repeats='keep' to take such text as a channel name."
        )
    steps = steps.with_columns(
        pl.when(hit).then(pl.col("__step").str.extract(_REPEAT, 1)).otherwise("__step"),
        pl.when(hit)
        .then(pl.col("__step").str.extract(_REPEAT, 2).cast(pl.Int64, strict=False))
        .otherwise(1)
        .alias("__n"),
    )
    # zero, or too many digits for a count; or more touches than a path can hold in memory
    for broken, noun, rule in (
        (pl.col("__n") < 1, "below 1", "n ≥ 1"),
        (
            pl.col("__n").is_null() | (pl.col("__n") > _MAX_REPEAT),
            f"above {_MAX_REPEAT:,}",
            f"n ≤ {_MAX_REPEAT:,}",
        ),
    ):
        bad = steps.filter(broken)
        if bad.height:
            paths = df.filter(pl.col("__row").is_in(bad["__row"].unique().implode()))
            raise ValidationError(
                f"Column {path_col!r} has {paths.height} paths with a repeat count {noun} "
                f"({describe_rows(paths['__row'].to_list(), values=paths['path'].to_list())}); "
                f"'X × n' needs {rule}."
            )
    expanded = (
        steps.with_columns(pl.col("__step").repeat_by("__n"))
        .explode("__step")
        .group_by("__row", maintain_order=True)
        .agg("__step")
    )
    return expanded["__step"]


@reads(source="path table")
def read_paths(
    source: FrameLike,
    *,
    path_col: str = "path",
    conversions_col: str = "total_conversions",
    value_col: str | None = "total_conversion_value",
    null_col: str | None = "total_null",
    sep: str = ">",
    repeats: Literal["refuse", "expand", "keep"] = "refuse",
) -> PathTable:
    """Read a path table in the peers' format (``a > b > c`` with counts).

    Parameters
    ----------
    source
        CSV/Parquet/NDJSON path or a frame.
    path_col : str
        Column of paths: channel names separated by ``sep`` (surrounding spaces are stripped),
        or lists of channel names.
        The path ``"(no touch)"`` holds conversions without a touch (as written by
        :meth:`PathTable.to_frame` with ``peer_names=True``).
    conversions_col : str
        Conversions of each path.
    value_col, null_col : str or None
        Conversion value and non-conversions of each path; missing or ``None`` means 0.
    sep : str
        Channel separator.
    repeats : {"refuse", "expand", "keep"}
        Google Analytics' path exports write a channel repeated n times in a row as
        ``Direct × 2`` (also ``Direct ×2``, ``Direct×2``, ``Direct x 2``, ``Direct x2``).
        ``"expand"`` reads it as n touches of the channel (n from 1 to 1,000,000);
        ``"refuse"`` (default) raises a
        ValidationError naming the row and the value, so that ``Direct × 2`` never becomes a
        channel of its own by accident; ``"keep"`` takes the text as a channel name.

    Raises
    ------
    SchemaError, ValidationError
        Missing or non-numeric columns, null or empty paths, negative or non-finite counts,
        a value on a path without conversions, GA's repeat notation unless ``repeats`` says how
        to read it.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> pt = at.read_paths(pl.DataFrame({"path": ["a > b", "b"], "total_conversions": [2, 1],
    ...                                  "total_conversion_value": [20.0, 5.0],
    ...                                  "total_null": [1, 4]}))
    >>> pt.to_frame().rows()
    [('a > b', 2.0, 20.0, 1.0), ('b', 1.0, 5.0, 4.0)]
    >>> ga = pl.DataFrame({"path": ["Organic Search × 2 > Direct"], "total_conversions": [3]})
    >>> at.read_paths(ga, repeats="expand").to_frame()["path"].to_list()
    ['Organic Search > Organic Search > Direct']
    """
    lf = to_lazy(source, what="path table", value_columns=[conversions_col, value_col, null_col])
    schema = lf.collect_schema()
    for name in (path_col, conversions_col):
        if name not in schema:
            raise SchemaError(
                f"Column {name!r} is missing from the path table; found columns: "
                f"{', '.join(repr(c) for c in schema.names())}. Pass path_col=/conversions_col=."
            )
    numeric: dict[str, str | None] = {
        "conversions": conversions_col,
        "value": value_col if value_col in schema else None,
        "nulls": null_col if null_col in schema else None,
    }
    if not sep.strip():
        raise ValidationError(f"sep={sep!r} is not a separator; expected text such as '>'.")
    if is_empty(lf):
        raise EmptyInputError("The path table is empty (0 rows).")
    path_t = schema[path_col]
    if isinstance(path_t, pl.List | pl.Array):
        # a path already split into its channels: join them, refusing names that hold sep
        steps = pl.col(path_col).cast(pl.List(pl.String))
        holds = steps.list.eval(pl.element().str.contains(sep, literal=True)).list.any()
        found = lf.with_row_index("__row").filter(holds).select("__row", path_col).head(5)
        broken = found.collect()
        if broken.height:
            shown = describe_rows(broken["__row"].to_list(), values=broken[path_col].to_list())
            raise ValidationError(
                f"Column {path_col!r} holds lists of channels with names containing the "
                f"separator {sep!r} ({shown}); pass another sep=."
            )
        path = steps.list.join(f" {sep.strip()} ", ignore_nulls=False)
    else:
        path = pl.col(path_col).cast(pl.String)
    exprs = [path.alias("path")]
    for out, src in numeric.items():
        if src is None:
            exprs.append(pl.lit(0.0).alias(out))
            continue
        num = numeric_expr(lf, src, schema[src], "counts and values ≥ 0")
        exprs.append(num.fill_null(0.0).alias(out))
    df = lf.select(exprs).collect().with_row_index("__row")
    if df.height == 0:
        raise EmptyInputError("The path table is empty (0 rows).")
    bad_path = df["path"].is_null() | (df["path"].str.strip_chars() == "")
    if bad_path.any():
        rows = df.filter(bad_path)["__row"].to_list()
        raise ValidationError(
            f"Column {path_col!r} has {int(bad_path.sum())} null or empty paths "
            f"({describe_rows(rows)}); every path needs at least one channel."
        )
    for out, src in numeric.items():
        if src is None:
            continue
        col = df[out]
        bad = ~col.is_finite() | (col < 0)
        if bad.any():
            sub = df.filter(bad)
            raise ValidationError(
                f"Column {src!r} has {int(bad.sum())} negative or non-finite values "
                f"({describe_rows(sub['__row'].to_list(), values=sub[out].to_list())}); "
                "counts and values must be finite and ≥ 0."
            )
    orphan = (df["value"] > 0) & (df["conversions"] == 0)
    if orphan.any():
        sub = df.filter(orphan)
        raise ValidationError(
            f"Column {value_col!r} has {int(orphan.sum())} values on paths without conversions "
            f"({describe_rows(sub['__row'].to_list(), values=sub['value'].to_list())}); a "
            f"path's value is the value of its conversions ({conversions_col!r}), which no model "
            "can credit when there are none. Set those values to 0 or give the conversions."
        )
    if value_col in schema and not math.isfinite(df["value"].sum()):
        raise ValidationError(
            f"Column {value_col!r} sums to more than the largest 64-bit float (about 1.8e308), "
            "so totals and shares cannot be computed; scale the values down (e.g. to thousands)."
        )
    parts = df["path"].str.split(sep).list.eval(pl.element().str.strip_chars())
    empty_part = parts.list.eval(pl.element() == "").list.any()
    if empty_part.any():
        sub = df.filter(empty_part)
        raise ValidationError(
            f"Column {path_col!r} has {int(empty_part.sum())} paths with an empty channel name "
            f"({describe_rows(sub['__row'].to_list(), values=sub['path'].to_list())}); "
            f"channels are separated by {sep!r}."
        )
    parts = _repeats(df, parts, path_col, repeats)
    # conversions that had no touch in their window, as to_frame(peer_names=True) writes them
    parts = df.select(
        pl.when(pl.col("path").str.strip_chars() == NO_TOUCH)
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(parts)
    ).to_series()
    flat = parts.explode().drop_nulls()  # an empty list explodes to one null
    names = flat.unique().sort()
    reserved = names.filter(names.is_in(list(RESERVED_CHANNELS)))
    if reserved.len():
        name = reserved[0]
        with_name = df.filter(parts.list.contains(name))
        raise reserved_channel_error(
            name,
            f" in column {path_col!r} ("
            + describe_rows(with_name["__row"].to_list(), values=with_name["path"].to_list())
            + ")",
        )
    codes = flat.cast(pl.Enum(names.to_list())).to_physical().cast(pl.Int32).to_numpy()
    lengths = parts.list.len().to_numpy().astype(np.int64)
    indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    seq = Sequences(
        tuple(names.to_list()),
        indptr,
        codes,
        df["conversions"].to_numpy(),
        df["value"].to_numpy(),
        df["nulls"].to_numpy(),
    )
    return compress(seq)
