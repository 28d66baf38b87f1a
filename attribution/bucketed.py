"""Out-of-core journeys: event logs larger than memory, one bucket of users at a time.

Every journey belongs to one user, so users can be split into buckets by a hash of their id
(``hash(user_id) % n_buckets``) and each bucket built into journeys on its own, in memory, with
:func:`attribution.build_journeys`. What has to be combined afterwards is small:

- the **path tables** of the buckets, merged exactly by :func:`merge_paths` (channel
  vocabularies remapped to one sorted vocabulary, identical paths summed, rows in the order of
  :meth:`Journeys.to_paths`), so every model that runs on a path table runs on the merged one:
  ``first_touch``, ``last_touch``, ``last_non_direct``, ``linear``, ``position_based``,
  ``markov`` (any order), ``shapley``, and ``time_decay`` with ``half_life_steps``;
- the **per-channel credit** of rule-based models that need touch times (``time_decay`` with
  ``half_life_days``): their credit is additive over journeys, so each bucket's per-channel
  sums are added up.

Models that learn from all journeys at once (``data_driven``) run on the merged path table, as
they would on ``journeys.to_paths()``: time-free features, and one model for new and returning
customers' journeys (a path table does not know users; in memory that is
``returning="pool"``).

Results equal the in-memory ones: path tables exactly (same channels, paths, order, counts;
conversion values up to the order of floating-point summation, ~1e-15 relative), model credit
to floating-point rounding. The input is read once: a streaming pass writes the columns that
journeys need into one Arrow IPC part per bucket in a temporary directory (uncompressed, about
32 bytes per event; removed afterwards, also on error), and each part is then read back whole.
Memory holds one bucket at a time.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from attribution._base.errors import EmptyInputError, ModelError, ValidationError
from attribution._base.frames import FrameLike, to_lazy
from attribution._base.progress import Progress
from attribution.io import read_events
from attribution.journeys import (
    JourneyOptions,
    JourneyParams,
    Journeys,
    PathTable,
    Sequences,
    build_journeys,
    compress,
    split_journey_params,
)
from attribution.models import Attribution, KernelOutput, get_model
from attribution.models.base import check_params
from attribution.schema import EVENT_COLUMNS, canonical_columns

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "BYTES_PER_EVENT",
    "attribute_bucketed",
    "build_paths_bucketed",
    "merge_paths",
    "plan_buckets",
]

#: Peak bytes of memory per event while one bucket is built into journeys and a path table
#: (measured on simulated logs: about 195 B with 20M events per bucket, the merged table of
#: 4.4M paths included).
BYTES_PER_EVENT = 200
#: Memory kept aside for the interpreter, the libraries and the merged path table.
_BASE_BYTES = 600 * 2**20
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_HASH_SEED = 0x5EED


def merge_paths(tables: Sequence[PathTable]) -> PathTable:
    """Merge path tables built from disjoint sets of journeys into one.

    Channels are remapped to the sorted union of the tables' channels and identical paths are
    summed, so merging the tables of any split of the users gives the table that
    :meth:`Journeys.to_paths` gives for all of them: same channels, same paths in the same
    order, same counts.

    Parameters
    ----------
    tables : sequence of PathTable
        At least one table.

    Returns
    -------
    PathTable

    Raises
    ------
    EmptyInputError
        No tables were given.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> a = at.read_paths(pl.DataFrame({"path": ["x > y", "y"], "total_conversions": [1, 2]}))
    >>> b = at.read_paths(pl.DataFrame({"path": ["w", "x > y"], "total_conversions": [1, 2]}))
    >>> merge_paths([a, b]).to_frame().select("path", "conversions").rows()
    [('x > y', 3.0), ('y', 2.0), ('w', 1.0)]
    """
    if not tables:
        raise EmptyInputError("merge_paths needs at least one path table; got none.")
    vocab = np.array(sorted(set().union(*(t.channels for t in tables))), dtype=object)
    parts: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    for t in tables:
        lookup = np.searchsorted(vocab, np.array(t.channels, dtype=object)).astype(np.int32)
        parts.append(lookup[t.codes] if len(t.codes) else np.zeros(0, dtype=np.int32))
        lengths.append(np.diff(t.indptr))
    all_lengths = np.concatenate(lengths)
    indptr = np.zeros(len(all_lengths) + 1, dtype=np.int64)
    np.cumsum(all_lengths, out=indptr[1:])
    seq = Sequences(
        tuple(str(c) for c in vocab),
        indptr,
        np.concatenate(parts).astype(np.int32, copy=False),
        np.concatenate([t.conversions for t in tables]),
        np.concatenate([t.value for t in tables]),
        np.concatenate([t.nulls for t in tables]),
    )
    return compress(seq)


#: Bucket path tables kept unmerged before they are merged into one (see :class:`_BucketTables`).
_MERGE_EVERY = 8


class _BucketTables:
    """The buckets' path tables, each compressed on a thread while the next bucket is built.

    A bucket's journeys are compressed to paths (:meth:`Journeys.to_paths`, NumPy work that
    runs without the GIL) while the next bucket is read and sorted; at most one bucket waits.
    The tables are kept for one merge at the end, merged every ``_MERGE_EVERY`` buckets:
    merging each into a running total would re-sort the total every time.
    """

    def __init__(self) -> None:
        self.tables: list[PathTable] = []
        self._pool = ThreadPoolExecutor(1)
        self._pending: Future[PathTable] | None = None

    def __enter__(self) -> _BucketTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, journeys: Journeys) -> None:
        """Compress ``journeys`` on the thread (once the previous bucket's table is in)."""
        self._collect()
        self._pending = self._pool.submit(journeys.to_paths)

    def merged(self) -> PathTable:
        """Return the merged table of every bucket added."""
        self._collect()
        return self.tables[0] if len(self.tables) == 1 else merge_paths(self.tables)

    def _collect(self) -> None:
        if self._pending is not None:
            table, self._pending = self._pending.result(), None
            self.tables.append(table)
            if len(self.tables) >= _MERGE_EVERY:
                self.tables[:] = [merge_paths(self.tables)]


def _parse_bytes(limit: int | float | str) -> int:
    if isinstance(limit, int | float):
        return int(limit)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", limit)
    unit = m.group(2).upper() if m else ""
    if m is None or unit not in _UNITS:
        raise ValidationError(
            f"memory_limit must be a number of bytes or a size such as '4GB' or '512MiB'; "
            f"got {limit!r}."
        )
    return int(float(m.group(1)) * _UNITS[unit])


def plan_buckets(
    source: FrameLike,
    *,
    memory_limit: int | float | str | None = None,
    n_buckets: int | None = None,
) -> int:
    """Choose the number of user buckets that keeps journey building within a memory limit.

    Parameters
    ----------
    source
        Event log: a Parquet file or directory of Parquet files (row count from the metadata),
        another file type or a frame (counted with one pass).
    memory_limit : int, float or str, optional
        Peak memory to aim for, in bytes or as ``"4GB"``, ``"512MiB"``... Buckets are sized at
        :data:`BYTES_PER_EVENT` per event after setting aside about 600 MiB for the interpreter,
        the libraries and the merged path table. Default ``"2GB"``.
    n_buckets : int, optional
        Use exactly this many buckets (then ``memory_limit`` is not used).

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ValidationError
        ``n_buckets`` is not a whole number ≥ 1, or ``memory_limit`` is not a size.

    Examples
    --------
    >>> import polars as pl
    >>> ev = pl.DataFrame({"user_id": range(10_000_000)})
    >>> plan_buckets(ev, memory_limit="2GB"), plan_buckets(ev, n_buckets=3)
    (2, 3)
    """
    if n_buckets is not None:
        if int(n_buckets) != n_buckets or n_buckets < 1:
            raise ValidationError(f"n_buckets must be a whole number ≥ 1; got {n_buckets!r}.")
        return int(n_buckets)
    limit = _parse_bytes(memory_limit if memory_limit is not None else "2GB")
    if limit <= 0:
        raise ValidationError(f"memory_limit must be > 0; got {memory_limit!r}.")
    n_rows = to_lazy(source, what="event log").select(pl.len()).collect().item()
    budget = max(limit - _BASE_BYTES, limit // 4)
    return max(1, math.ceil(n_rows * BYTES_PER_EVENT / budget))


def _journey_columns(lf: pl.LazyFrame) -> list[pl.Expr]:
    """Return the canonical columns that journeys read (no other is written to the buckets).

    Text channel and event columns are written as Categorical: a code of 4 bytes a row
    instead of a string view of 16 or more, so the parts are about 40 % smaller, and journey
    building reads the codes as it reads any dictionary column.
    """
    schema = lf.collect_schema()
    return [
        pl.col(c).cast(pl.Categorical)
        if c in ("channel", "event") and schema[c] == pl.String
        else pl.col(c)
        for c in EVENT_COLUMNS
    ]


def _canonical(source: FrameLike, opts: JourneyOptions) -> pl.LazyFrame:
    """Return the log as canonical events, read by the whole log's columns.

    The readings that a column decides as a whole (day/month order, epoch units, the type of
    a CSV's revenue) are made once, on every row, before the split: decided bucket by bucket,
    a bucket holding only ``05/06/2024`` would be refused (or read month-first) while the log
    reads day-first.
    """
    if isinstance(source, pl.LazyFrame) and canonical_columns(source) is not None:
        return source
    return read_events(source, validate=False, **opts.column_params())


@contextmanager
def _bucket_frames(
    source: FrameLike,
    opts: JourneyOptions,
    n_buckets: int,
    tmp_dir: str | os.PathLike[str] | None,
    prog: Progress,
) -> Iterator[Callable[[int], pl.LazyFrame]]:
    """Split the log into ``n_buckets`` parts by a hash of the user id, in one pass.

    Yields a function from a bucket number to that bucket's rows, to be asked for each bucket
    in turn: asking for bucket ``b`` deletes the parts of the buckets before it (on a thread,
    while bucket ``b`` is built), as they have been read. The parts are Arrow IPC
    files (uncompressed: writing them is what the split spends its time on) in a temporary
    directory (under ``tmp_dir``, or the system's temporary directory), written by a
    streaming sink and removed when the ``with`` block ends, however it ends.
    """
    lf = _canonical(source, opts)
    if n_buckets == 1:
        yield lambda b: lf
        return
    columns = _journey_columns(lf)
    key = (pl.col("user_id").hash(seed=_HASH_SEED) % n_buckets).alias("__bucket")
    with tempfile.TemporaryDirectory(prefix="attribution-buckets-", dir=tmp_dir) as tmp:
        root = Path(tmp)
        target = _partition_target(root, key)
        if target is None:  # pragma: no cover - Polars without partitioned sinks
            yield lambda b: lf.filter(key == b)
            return
        with prog.step(f"splitting into {n_buckets} buckets"):
            lf.select(columns).sink_ipc(target, compression=None, mkdir=True)
        written = {int(d.name.split("=")[1]) for d in root.iterdir()}
        # the parts of the buckets read already are deleted on a thread while the rest run
        with ThreadPoolExecutor(1) as remover:

            def bucket(b: int) -> pl.LazyFrame:
                for done in sorted(k for k in written if k < b):
                    written.discard(done)
                    remover.submit(shutil.rmtree, root / f"__bucket={done}", ignore_errors=True)
                files = sorted((root / f"__bucket={b}").iterdir()) if b in written else []
                if not files:
                    return lf.select(columns).clear()
                return pl.scan_ipc(files, hive_partitioning=False)

            yield bucket


def _partition_target(root: Path, key: pl.Expr) -> Any:
    """Return a partitioned-sink target for ``root/__bucket=<k>/<files>`` (None if none)."""
    partition_by = getattr(pl, "PartitionBy", None)
    if partition_by is not None:
        return partition_by(root, key=key, include_key=False)
    by_key = getattr(pl, "PartitionByKey", None)  # pragma: no cover - Polars 1.x
    return None if by_key is None else by_key(root, by=key, include_key=False)


def _for_each_bucket(
    source: FrameLike,
    n_buckets: int,
    opts: JourneyOptions,
    progress: bool,
    visit: Callable[[Journeys], None],
    tmp_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Build each bucket's journeys and pass them to ``visit``; returns non-empty buckets."""
    prog = Progress(enabled=progress)
    with _bucket_frames(source, opts, n_buckets, tmp_dir, prog) as bucket:
        return _visit_buckets(source, bucket, n_buckets, opts, prog, visit)


def _visit_buckets(
    source: FrameLike,
    bucket: Callable[[int], pl.LazyFrame],
    n_buckets: int,
    opts: JourneyOptions,
    prog: Progress,
    visit: Callable[[Journeys], None],
) -> int:
    built = 0
    rules = JourneyOptions(**opts.journey_args())  # the buckets hold canonical columns
    for b in range(n_buckets):
        with prog.step(f"bucket {b + 1}/{n_buckets}"):
            try:
                journeys = build_journeys(bucket(b), rules)
            except EmptyInputError:
                continue  # no users hashed here, or none left after the options
            except ValidationError:
                # row numbers in the message count within the bucket: explain on the whole log
                read_events(source, validate=True, **opts.column_params())
                raise
            visit(journeys)
            built += 1
            if prog.enabled:
                prog.stream.write(
                    f" {journeys.n_journeys:,} journeys, {journeys.n_conversions:,} conversions;"
                )
    if built == 0:
        raise EmptyInputError(
            "No journeys in any bucket: the event log has no touch or conversion rows, or none "
            "are left after applying the journey options."
        )
    return built


def build_paths_bucketed(
    source: FrameLike,
    options: JourneyOptions | None = None,
    *,
    n_buckets: int | None = None,
    memory_limit: int | float | str | None = None,
    progress: bool = False,
    tmp_dir: str | os.PathLike[str] | None = None,
    **params: Unpack[JourneyParams],
) -> PathTable:
    """Build the path table of an event log too large for memory, one user bucket at a time.

    Users are split by a hash of ``user_col`` into buckets in one streaming pass over
    ``source`` (the columns journeys need, one Arrow IPC part per bucket in a temporary
    directory); each part is then built into journeys and compressed to paths, and the path
    tables are merged with :func:`merge_paths`. The result equals
    ``build_journeys(source, ...).to_paths()``. The temporary directory is removed at the end,
    also when an error stops the run.

    Parameters
    ----------
    source
        Event log: a Parquet file or directory of Parquet files, a CSV or NDJSON file, or a
        frame (read once).
    n_buckets : int, optional
        Number of buckets; by default from ``memory_limit`` (see :func:`plan_buckets`).
    memory_limit : int, float or str, optional
        Peak memory to aim for (``"4GB"``...); default ``"2GB"``.
    options : JourneyOptions, optional
        Journey rules and column names, as for :func:`attribution.build_journeys` (the rules
        are per user, so they mean the same bucket by bucket).
    progress : bool
        Print the split and one line per bucket (duration, journeys, conversions) on stderr.
    tmp_dir : str or path, optional
        Where to write the bucket parts (uncompressed Arrow IPC: about 32 bytes per event of
        the usual columns); by default the system's temporary directory (``TMPDIR``).
    **params
        Any field of :class:`attribution.JourneyOptions`, replacing the one in ``options``.

    Returns
    -------
    PathTable

    Raises
    ------
    SchemaError, ValidationError, EmptyInputError
        As :func:`attribution.build_journeys`; row numbers in messages count rows of the
        whole log.

    Examples
    --------
    >>> import polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 3], "channel": ["a", None, "b", "a"],
    ...     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"],
    ...     "event": ["touch", "conversion", "touch", "touch"], "revenue": [0.0, 9.0, 0.0, 0.0]})
    >>> build_paths_bucketed(ev, n_buckets=2).to_frame().rows()
    [('a', 1.0, 9.0, 1.0), ('b', 0.0, 0.0, 1.0)]
    """
    opts = JourneyOptions.of(options, **params)
    n = plan_buckets(source, memory_limit=memory_limit, n_buckets=n_buckets)
    with _BucketTables() as tables:
        _for_each_bucket(source, n, opts, progress, tables.add, tmp_dir)
        return tables.merged()


def attribute_bucketed(
    source: FrameLike,
    model: str = "linear",
    options: JourneyOptions | None = None,
    *,
    n_buckets: int | None = None,
    memory_limit: int | float | str | None = None,
    progress: bool = False,
    tmp_dir: str | os.PathLike[str] | None = None,
    **params: Any,
) -> Attribution:
    """Attribute an event log too large for memory, one user bucket at a time.

    Every model but ``time_decay`` by days runs once on the merged path table of
    :func:`build_paths_bucketed` (``.touchpoints`` then refer to its paths). ``time_decay``
    with ``half_life_days`` needs touch times: it runs on each bucket's journeys and its
    per-channel credit is summed over the buckets (credit is additive over journeys); it has no
    ``.touchpoints``.
    Either way the per-channel result equals ``attribute(build_journeys(source, ...), model)``
    to floating-point rounding.

    Parameters
    ----------
    source, options, n_buckets, memory_limit, progress, tmp_dir
        As for :func:`build_paths_bucketed`.
    model : str
        A name in :data:`attribution.MODELS`.
    **params
        The model's own parameters (``order=2`` for ``markov``...) and any field of
        :class:`attribution.JourneyOptions`.

    Returns
    -------
    Attribution

    Raises
    ------
    ModelError
        Unknown model or parameter.

    Examples
    --------
    >>> import polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 1, 2, 2], "channel": ["a", "b", None, "b", None],
    ...     "timestamp": ["2024-01-01", "2024-01-03", "2024-01-03", "2024-01-01", "2024-01-02"],
    ...     "event": ["touch", "touch", "conversion", "touch", "conversion"],
    ...     "revenue": [0.0, 0.0, 10.0, 0.0, 4.0]})
    >>> attribute_bucketed(ev, "linear", n_buckets=2).channels.rows()
    [('a', 0.5, 5.0, 0.25), ('b', 1.5, 9.0, 0.75)]
    """
    journey_params, params = split_journey_params(params)
    opts = JourneyOptions.of(options, **journey_params)
    spec = get_model(model)
    check_params(spec, params)
    # additive models that need touch times: per-bucket credit, summed
    by_bucket = spec.needs_times and spec.counts_linear and params.get("half_life_steps") is None
    if not by_bucket:
        table = build_paths_bucketed(
            source,
            opts,
            n_buckets=n_buckets,
            memory_limit=memory_limit,
            progress=progress,
            tmp_dir=tmp_dir,
        )
        seq = table.sequences()
        return Attribution(model, dict(params), seq, spec.kernel(seq, **params), source="paths")

    n = plan_buckets(source, memory_limit=memory_limit, n_buckets=n_buckets)
    sums: list[tuple[tuple[str, ...], np.ndarray, np.ndarray]] = []
    with _BucketTables() as tables:

        def visit(journeys: Journeys) -> None:
            out = spec.kernel(journeys.sequences(), **params)
            sums.append((journeys.channels, out.conversions, out.revenue))
            tables.add(journeys)

        _for_each_bucket(source, n, opts, progress, visit, tmp_dir)
        merged = tables.merged()
    k = len(merged.channels)
    conversions, revenue = np.zeros(k), np.zeros(k)
    vocab = np.array(merged.channels, dtype=object)
    for names, conv, rev in sums:
        idx = np.searchsorted(vocab, np.array(names, dtype=object))
        np.add.at(conversions, idx, conv)
        np.add.at(revenue, idx, rev)
    if not np.isfinite(conversions).all():  # pragma: no cover - kernels return finite credit
        raise ModelError(f"Model {model!r} returned non-finite credit in a bucket.")
    out = KernelOutput(conversions, revenue)
    return Attribution(model, dict(params), merged.sequences(), out, source="journeys")
