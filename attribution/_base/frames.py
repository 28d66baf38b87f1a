"""Frames in: the accepted input types, reading them lazily, and one validation harness.

Every function of both packages that takes a table accepts a :data:`FrameLike` and turns it
into a ``LazyFrame`` with :func:`to_lazy`, which reads nothing but the schema. Column checks
(:func:`check_columns`) need only the schema; value rules (:class:`Rule`) are counted in one
aggregate pass by :func:`check_rules`, and only a broken rule reads a few rows to quote them.

Files are read lazily, so a broken file may only show when a reader collects. The readers run
their work inside :func:`reading`, which turns the errors of polars, pyarrow and the operating
system into :class:`~attribution._base.errors.ReadError` naming the file and, where it can be
found, the row, the line and the column (:func:`diagnose` looks for them, on failure only).
"""

from __future__ import annotations

import codecs
import csv
import functools
import inspect
import json
import mmap
import os
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias, TypeVar, Union

import polars as pl

from attribution._base.errors import (
    AttributionError,
    EmptyInputError,
    ReadError,
    SchemaError,
    ValidationError,
    describe_rows,
)

if TYPE_CHECKING:  # pandas is optional: only its type is named here
    import pandas as pd
    from polars._typing import PolarsDataType

__all__ = [
    "ROW",
    "By",
    "FrameLike",
    "Rule",
    "as_list",
    "bad_rows",
    "check_columns",
    "check_rules",
    "csv_preamble",
    "csv_separator",
    "diagnose",
    "is_empty",
    "is_text",
    "numeric_expr",
    "ratio",
    "read_error",
    "reading",
    "reading_all",
    "reads",
    "remember_source",
    "scan_csv",
    "scan_ndjson",
    "source_path",
    "to_lazy",
]

#: Anything the readers accept: a path (Parquet, CSV, NDJSON, or a directory of Parquet
#: files), a Polars ``DataFrame`` or ``LazyFrame``, or a pandas ``DataFrame`` (the readers of
#: dated series also take a pandas ``Series`` with a ``DatetimeIndex``: see :func:`to_lazy`).
FrameLike: TypeAlias = Union[str, "os.PathLike[str]", pl.DataFrame, pl.LazyFrame, "pd.DataFrame"]
P = ParamSpec("P")
R = TypeVar("R")

#: Group keys: one column name, several, or none.
By: TypeAlias = str | Sequence[str] | None

#: Name of the row-index column added to quote offending rows (row numbers count from 0).
ROW = "__row"

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".tsv", ".txt"}
_NDJSON = {".ndjson", ".jsonl", ".json"}


def to_lazy(
    source: FrameLike,
    *,
    what: str = "input",
    id_columns: Sequence[str] = (),
    value_columns: Sequence[str | None] = (),
    series: tuple[str, str, str | None] | None = None,
) -> pl.LazyFrame:
    """Turn any accepted input into a LazyFrame without reading more than the schema.

    Parameters
    ----------
    source
        A path (``.parquet``/``.pq``, ``.csv``/``.tsv``, ``.ndjson``/``.jsonl``, ``.json``
        holding one record per line or one array of records, or a directory of Parquet
        files), a Polars ``DataFrame``/``LazyFrame`` or a pandas ``DataFrame``.
    what
        Name of the input, used in error messages.
    id_columns
        Identifier columns. A CSV file has no types, so these are read as text (guessing
        numbers would drop leading zeros, and ids beyond Int64 would not parse) and become
        Int64 only when every value is a canonical integer that fits (this reads those
        columns once). The partition values of a partitioned Parquet folder
        (``user_id=007/part-0.parquet``) of these columns stay text too. Other sources keep
        their types.
    value_columns
        Numeric value columns (revenue, cost, counts). A CSV or NDJSON file's types are
        guessed from its first rows (an NDJSON file's from all of them), so a column of whole
        numbers there (``0`` on touch rows) would refuse a later ``12.5``: these are read as
        Float64 when guessed as integers.
    series
        ``(time_col, value_col, id_col)`` of a reader of dated series: a pandas ``Series``
        with a ``DatetimeIndex`` (or ``PeriodIndex``) is then read as one series, its index
        as ``time_col``, its values as ``value_col`` and its name as the series id in
        ``id_col`` (``"total"`` when unnamed; no id column when ``id_col`` is None). Other
        readers refuse a pandas ``Series`` by name.
    """
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"The {what} file {str(path)!r} does not exist.")
        with reading(path, what):
            lf = _scan(path, what, id_columns, [c for c in value_columns if c is not None])
            names = lf.collect_schema().names()  # a file that is not what its name says fails
        if any("\ufffd" in n or "\x00" in n for n in names):  # a header that is not UTF-8
            found = diagnose(path, what)
            raise ReadError(
                found or f"The {what} file {str(path)!r} has a header that is not text."
            )
        return remember_source(lf, path)
    module = type(source).__module__
    if module.startswith("pandas") and _is_pandas_series(source):
        return _from_pandas_series(source, what, series)
    if module.startswith("pandas"):
        return _from_pandas(source, what)
    if module.startswith("pyspark"):
        raise SchemaError(
            "A Spark DataFrame cannot be read into memory here; pass it to "
            "attribution.attribute(sdf, ...) or attribution.spark.build_paths_spark(sdf, ...), "
            "which build the path table on the cluster (pip install '.[spark]')."
        )
    raise SchemaError(
        f"Cannot read the {what} from a {type(source).__name__}; expected a file path, a "
        "Polars or pandas DataFrame, or a Polars LazyFrame."
    )


def _is_pandas_series(source: object) -> bool:
    import pandas as pd  # the source is a pandas object, so pandas is installed

    return isinstance(source, pd.Series)


def _from_pandas_series(
    source: pd.Series, what: str, series: tuple[str, str, str | None] | None
) -> pl.LazyFrame:
    """One dated series from a pandas ``Series`` (see :func:`to_lazy`); refuse anything else."""
    import pandas as pd

    if series is None:
        raise SchemaError(
            f"Cannot read the {what} from a pandas Series; expected a table (a file path, a "
            "Polars or pandas DataFrame, or a Polars LazyFrame): turn it into one first, e.g. "
            "with series.reset_index() or series.to_frame()."
        )
    time_col, value_col, id_col = series
    index = source.index
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    columns = ", ".join(repr(c) for c in (id_col, time_col, value_col) if c)
    if not isinstance(index, pd.DatetimeIndex):
        raise SchemaError(
            f"A pandas Series given as the {what} needs its dates as its index (a "
            f"DatetimeIndex or PeriodIndex); got a {type(index).__name__}. Pass a DataFrame "
            f"with the columns {columns} instead, or set the dates as the index "
            "(series.set_axis(pd.to_datetime(dates)))."
        )
    frame = pd.DataFrame({time_col: index, value_col: source.to_numpy()})
    lf = _from_pandas(frame, what)
    if id_col is None:
        return lf
    name = "total" if source.name is None else str(source.name)
    return lf.select(pl.lit(name, pl.String).alias(id_col), pl.all())


def _from_pandas(frame: pd.DataFrame, what: str) -> pl.LazyFrame:
    """Convert a pandas frame; a named index becomes columns (``df.set_index("user_id")``).

    A column whose objects are of several Python types (``"007"`` beside ``7``) has no
    single type: it is refused by name, with its types and first rows of the rarer ones.
    """
    import pandas as pd

    names = [n for n in frame.index.names if n is not None]
    keep_index = bool(names) and not any(n in frame.columns for n in names)
    # pandas periods (df["month"] = df["date"].dt.to_period("M")) have no Polars type: each
    # is read as its first instant, as a PeriodIndex of a Series is
    if keep_index and any(
        isinstance(level.dtype, pd.PeriodDtype) for level in getattr(frame.index, "levels", [])
    ):  # periods in a MultiIndex (series id, period), as sktime keeps panels
        frame, keep_index = frame.reset_index(), False
    periods = [c for c in frame.columns if isinstance(frame[c].dtype, pd.PeriodDtype)]
    if periods:
        frame = frame.copy(deep=False)
        for c in periods:
            frame[c] = frame[c].dt.to_timestamp()
    if keep_index and isinstance(frame.index, pd.PeriodIndex):
        frame = frame.set_axis(frame.index.to_timestamp())
    try:
        return pl.from_pandas(frame, include_index=keep_index).lazy()
    except Exception as exc:
        if not _is_failure_of_reading(exc) and not isinstance(exc, TypeError | ValueError):
            raise
        for name in frame.columns:
            kinds = frame[name].map(lambda v: type(v).__name__, na_action="ignore")
            counts = kinds.value_counts()
            if len(counts) < 2:
                continue
            common = counts.index[0]
            rare = [i for i, k in enumerate(kinds.tolist()) if isinstance(k, str) and k != common]
            values = frame[name].iloc[rare[:5]].tolist()
            shown = ", ".join(f"{n} ×{k}" for n, k in counts.items())
            raise SchemaError(
                f"Column {str(name)!r} of the {what} holds values of several types ({shown}: "
                f"{describe_rows(rare, values=values)}); expected one type: convert it first, "
                f"e.g. df[{str(name)!r}].astype('string') for text."
            ) from None
        raise SchemaError(
            f"Cannot read the {what} from this pandas DataFrame: {_first_line(exc)}."
        ) from None


def _integer_ids(lf: pl.LazyFrame, names: Sequence[str]) -> pl.LazyFrame:
    """Text id columns become Int64 where every value is a canonical integer that fits."""
    present = [c for c in names if c in lf.collect_schema()]
    if not present:
        return lf
    text = {c: pl.col(c) for c in present}
    number = {c: t.str.to_integer(strict=False) for c, t in text.items()}
    canonical = lf.select(
        (t.is_null() | (number[c].cast(pl.String) == t).fill_null(False)).all().alias(c)
        for c, t in text.items()
    )
    ok = canonical.collect().row(0, named=True)
    return lf.with_columns(number[c].alias(c) for c in present if ok[c])


# LazyFrames read from a file, and the file: a later error of reading can then name it.
# Keyed by id(); the weak reference tells a live frame from a new one that reused the id.
_SOURCES: dict[int, tuple[weakref.ref[pl.LazyFrame], Path]] = {}


def remember_source(lf: pl.LazyFrame, source: object) -> pl.LazyFrame:
    """Remember the file ``lf`` reads (when ``source`` is a path or such a frame); return ``lf``.

    :func:`to_lazy` does it for the frames it scans; a reader that returns a frame derived
    from one (:func:`attribution.read_events`) does it for its own, so that an error of
    reading met later, when the frame is collected, still names the file.
    """
    path = source_path(source)
    if path is not None:
        key = id(lf)
        _SOURCES[key] = (weakref.ref(lf, lambda _: _SOURCES.pop(key, None)), path)
    return lf


def source_path(source: object) -> Path | None:
    """Return the file behind ``source``: a path, or a frame :func:`remember_source` knows."""
    if isinstance(source, str | os.PathLike):
        return Path(source)
    entry = _SOURCES.get(id(source))
    if entry is None or entry[0]() is not source:
        return None
    return entry[1]


def _scan(
    path: Path, what: str, id_columns: Sequence[str] = (), value_columns: Sequence[str] = ()
) -> pl.LazyFrame:
    if path.is_dir():
        # hidden and underscore names are not data (Spark's _temporary, macOS' ._ copies)
        files = sorted(
            f
            for f in path.rglob("*.parquet")
            if not any(p.startswith((".", "_")) for p in f.relative_to(path).parts)
        )
        if not files:
            raise EmptyInputError(f"The {what} directory {str(path)!r} has no .parquet files.")
        # a partitioned folder (Spark, Hive: channel=email/part-0.parquet) keeps its
        # partition columns in the folder names, not in the files
        keys = {
            part.split("=", 1)[0]
            for f in files
            for part in f.relative_to(path).parts[:-1]
            if "=" in part
        }
        if not keys:
            return pl.scan_parquet(files)
        # polars guesses a partition's type from its values: user_id=007 would become 7, the
        # same user as user_id=7; id partitions stay text
        ids: dict[str, PolarsDataType] = {c: pl.String for c in id_columns if c in keys}
        lf = pl.scan_parquet(files, hive_partitioning=True, hive_schema=ids or None)
        # polars reads partitions from the whole path: keep those below the folder
        above = [c for c in lf.collect_schema().names() if _is_key_above(c, path, keys)]
        return lf.drop(above) if above else lf
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise EmptyInputError(f"The {what} file {str(path)!r} is empty (0 bytes).")
    if suffix in _PARQUET:
        return pl.scan_parquet(path)
    if suffix in _CSV:
        text: dict[str, PolarsDataType] = dict.fromkeys(id_columns, pl.String)
        lf = scan_csv(path, infer_schema_length=_INFER_ROWS, schema_overrides=text)
        floats = _guessed_integers(lf, value_columns)
        if floats:
            lf = scan_csv(
                path, infer_schema_length=_INFER_ROWS, schema_overrides={**text, **floats}
            )
        if csv_separator(path) != ",":
            lf = _decimal_commas(lf, value_columns)
        return _integer_ids(lf, id_columns) if id_columns else lf
    if suffix == ".json" and _first_char(path) == "[":
        # one JSON array of records (pandas' to_json(orient="records"), many APIs)
        records = pl.read_json(path, infer_schema_length=None)
        if records.height == 0:
            raise EmptyInputError(f"The {what} file {str(path)!r} is an empty JSON array.")
        return records.lazy()
    if suffix in _NDJSON:
        lf = scan_ndjson(path)
        floats = _guessed_integers(lf, value_columns)
        return lf.with_columns(pl.col(c).cast(t) for c, t in floats.items()) if floats else lf
    raise SchemaError(
        f"Cannot read {str(path)!r}: unknown file type {suffix!r}; expected one of "
        f"{sorted(_PARQUET | _CSV | _NDJSON)} or a directory of Parquet files."
    )


#: A number written with a decimal comma, without a thousands separator: ``-1,5``, ``12``.
_DECIMAL_COMMA = r"^[+-]?\d+(,\d+)?$"


def _decimal_commas(lf: pl.LazyFrame, names: Sequence[str]) -> pl.LazyFrame:
    """Value columns written with a decimal comma (``1,5``) become Float64 (reads them once).

    A ``;``-separated file is what spreadsheets write in locales whose decimal mark is a
    comma. A text value column is read so only when every value is such a number and one
    has a comma; otherwise it is left to :func:`numeric_expr`, which refuses it by row.
    """
    schema = lf.collect_schema()
    text = [c for c in names if c in schema and is_text(schema[c])]
    if not text:
        return lf
    stripped = {c: pl.col(c).str.strip_chars() for c in text}
    found = lf.select(
        *(
            (t.is_null() | (t == "") | t.str.contains(_DECIMAL_COMMA)).all().alias(c)
            for c, t in stripped.items()
        ),
        *(t.str.contains(",").any().alias(f"{c}__comma") for c, t in stripped.items()),
    ).collect()
    row = found.row(0, named=True)
    commas = [c for c in text if row[c] and row[f"{c}__comma"]]
    return lf.with_columns(
        pl.when(stripped[c] != "")
        .then(stripped[c].str.replace(",", ".", literal=True))
        .cast(pl.Float64)
        .alias(c)
        for c in commas
    )


def _guessed_integers(lf: pl.LazyFrame, names: Sequence[str]) -> dict[str, PolarsDataType]:
    """Value columns that a text file's first rows typed as integers, to be read as floats."""
    if not names:
        return {}
    schema = lf.collect_schema()
    return {c: pl.Float64 for c in names if c in schema and schema[c].is_integer()}


def _is_key_above(name: str, folder: Path, keys: set[str]) -> bool:
    """Whether ``name`` is a ``name=value`` folder above ``folder``, not one of its partitions."""
    above = {p.split("=", 1)[0] for p in folder.resolve().parts if "=" in p}
    return name in above and name not in keys


def _first_char(path: Path) -> str:
    """Return the first character of a text file that is not a space or a byte-order mark."""
    with open(path, "rb") as f:
        head = f.read(4096)
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")[:1]


def csv_preamble(path: Path) -> tuple[int, str | None]:
    r"""Return the lines before a CSV file's header, and the separator they name.

    Two kinds of line come before a header: Excel's ``sep=;`` directive (first line only),
    which names the separator, and comment lines starting with ``#`` (as some exporters
    write a title or a date). Both are skipped; a ``#`` after the header is data. A line
    starting with ``#`` that has as many separators as the line after it is the header
    (a first column named ``#``, as row-numbered exports have).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "e.csv"
    >>> _ = path.write_text("sep=;\n# exported 2024-03-01\nuser_id;channel\n1;a\n")
    >>> csv_preamble(path)
    (2, ';')
    """
    count, named = 0, None
    with open(path, "rb") as f:
        lines = [
            raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
            for _, raw in zip(range(1000), f, strict=False)
        ]
    for number, line in enumerate(lines):
        directive = re.fullmatch(r"sep=(.)", line.strip(" "), flags=re.IGNORECASE)
        if number == 0 and directive is not None:
            count, named = 1, directive.group(1)
        elif line.lstrip().startswith("#") and not _same_fields(line, lines[number + 1 :]):
            count = number + 1
        else:
            break
    return count, named


def _same_fields(line: str, rest: list[str]) -> bool:
    """Whether ``line`` has as many of some separator as the next line without a ``#``."""
    after = next((r for r in rest if not r.lstrip().startswith("#")), None)
    if after is None:
        return False
    return any(line.count(sep) == after.count(sep) > 0 for sep in (",", ";", "\t", "|"))


def csv_separator(path: Path) -> str:
    """Return the field separator of a CSV file: tab for ``.tsv``, else read from its header.

    Excel's ``sep=;`` first line names it. Otherwise the header line (outside quotes, after
    any comment lines, see :func:`csv_preamble`) decides: a comma if it has one, else the most
    frequent of semicolon (spreadsheets in locales whose decimal mark is a comma), tab and
    ``|``.
    """
    return _separator(path, *csv_preamble(path))


def _separator(path: Path, skip: int, named: str | None) -> str:
    """Return the separator of :func:`csv_separator`, given the file's :func:`csv_preamble`."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    if named is not None:
        return named
    with open(path, "rb") as f:
        for _ in range(skip):
            f.readline(1 << 16)
        first = f.readline(1 << 16)
    header = re.sub(r'"[^"]*"', "", first.decode("utf-8", errors="replace"))
    if "," in header:
        return ","
    counts = {sep: header.count(sep) for sep in (";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


#: A line of spaces or tabs only, which polars reads as a row of one blank field.
_SPACES_LINE = rb"(?m)^[ \t]+\r?(\n|\Z)"


def _has_blank_lines(path: Path) -> bool:
    """Whether a text file has an empty line (a trailing one, as editors and Excel leave)."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return False
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as text:
            crlf = text.find(b"\r\n", 0, 1 << 16) >= 0
            return text.find(b"\n\r\n" if crlf else b"\n\n") >= 0


#: The rest of a line of spaces or tabs only, from its first character.
_SPACES_REST = re.compile(rb"[ \t]+\r?(\n|\Z)")


def _has_space_lines(path: Path) -> bool:
    """Whether a text file has a line of spaces or tabs only (as ``_SPACES_LINE`` finds).

    Only lines that start with a space or a tab are tried, found with ``bytes.find`` (a
    regular expression tried at every position of a large file took 2.7 times polars' read).
    """
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return False
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as text:
            if _SPACES_REST.match(text, 0):
                return True
            for lead in (b"\n ", b"\n\t"):
                at = text.find(lead)
                while at >= 0:
                    if _SPACES_REST.match(text, at + 1):
                        return True
                    at = text.find(lead, at + 1)
            return False


def scan_ndjson(path: Path) -> pl.LazyFrame:
    """Scan a newline-delimited JSON file, each field's type inferred from the whole file.

    A field may change type far down a file (whole numbers, then ``12.5``; numbers, then
    text): guessed from the first rows, it would fail there. A file that starts with a UTF-8
    byte-order mark (Windows editors write one) is read without it, in memory.
    """
    with open(path, "rb") as f:
        bom = f.read(3) == codecs.BOM_UTF8
    if not bom:
        return pl.scan_ndjson(path, infer_schema_length=None)
    return pl.read_ndjson(path.read_bytes()[3:], infer_schema_length=None).lazy()


def scan_csv(path: Path, **options: Any) -> pl.LazyFrame:
    """Scan a CSV file with its own separator (:func:`csv_separator`), skipping blank lines.

    Lines before the header (:func:`csv_preamble`: ``sep=;``, ``#`` comments) are skipped.
    Polars reads an empty line as a row of nulls; a row whose every field is empty is left
    out when the file has empty lines (row numbers in messages then count the rows kept). A
    line of spaces only is an empty line too: such a file is read in memory without them.
    """
    skip, named = csv_preamble(path)
    sep = _separator(path, skip, named)
    source: Path | bytes = path
    if _has_space_lines(path):
        source = re.sub(_SPACES_LINE, b"", path.read_bytes())
    lf = pl.scan_csv(source, separator=sep, skip_lines=skip, **options)
    if _has_blank_lines(path):
        lf = lf.filter(~pl.all_horizontal(pl.all().is_null()))
    return lf


# ----------------------------------------------------------------------------------------------
# errors of reading files

#: Rows from which the CSV and NDJSON readers guess each column's type.
_INFER_ROWS = 10_000

# Errors that mean the input itself could not be read: these become a ReadError even when
# diagnose() cannot say where (the others only when it can).
_READ_FAILURES: tuple[type[BaseException], ...] = (
    pl.exceptions.ComputeError,
    pl.exceptions.InvalidOperationError,  # a value of the file that its column cannot hold
    pl.exceptions.SchemaError,
    pl.exceptions.ShapeError,
    pl.exceptions.NoDataError,
    pl.exceptions.PanicException,
    OSError,
    UnicodeError,
)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".")


def _is_failure_of_reading(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return (
        isinstance(exc, pl.exceptions.PolarsError | pl.exceptions.PanicException)
        or isinstance(exc, OSError | UnicodeError)
        or module.startswith("pyarrow")
    )


def read_error(exc: BaseException, sources: Sequence[tuple[object, str]]) -> ReadError | None:
    """Explain ``exc``, raised while reading ``sources``, as a :class:`ReadError` (or None).

    ``sources`` pairs each input the reader was given with its name (``"event log"``). For a
    path, :func:`diagnose` looks for the broken file, row, line and column; a polars, pyarrow
    or OS error that it cannot place still becomes a ``ReadError`` naming the files when it is
    an error of reading. A polars error from a frame already in memory is not one (None: the
    caller re-raises it).
    """
    if isinstance(exc, AttributionError | FileNotFoundError) or not _is_failure_of_reading(exc):
        return None
    hard = isinstance(exc, _READ_FAILURES) or (type(exc).__module__ or "").startswith("pyarrow")
    named = []
    for source, what in sources:
        path = source_path(source)
        if path is not None:
            # an error of reading, or a folder whose files disagree (polars may then say only
            # that a column is missing): look for the broken file, row and column
            found = diagnose(path, what, exc) if hard or path.is_dir() else None
            if found is not None:
                return ReadError(found)
            named.append(f"the {what} {str(path)!r}")
        elif isinstance(source, pl.LazyFrame):  # perhaps a scan of the caller's own
            named.append(f"the {what}")
    if hard and named:
        return ReadError(f"Cannot read {' or '.join(named)}: {_first_line(exc)}.")
    return None


@contextmanager
def reading(source: object, what: str = "input") -> Iterator[None]:
    """Run a reader's work; errors of reading ``source`` become a :class:`ReadError`.

    The package's own errors, ``FileNotFoundError``, interrupts and errors that are not
    about reading pass through unchanged (see :func:`read_error`).

    Examples
    --------
    >>> import polars as pl
    >>> with reading("events.csv", "event log"):
    ...     raise pl.exceptions.ComputeError("invalid utf-8 sequence")
    Traceback (most recent call last):
    ...
    attribution.ReadError: Cannot read the event log 'events.csv': invalid utf-8 sequence.
    """
    with reading_all([(source, what)]):
        yield


@contextmanager
def reading_all(sources: Sequence[tuple[object, str]]) -> Iterator[None]:
    """Run a reader's work on several inputs, as :func:`reading` does for one.

    ``sources`` are ``(source, what)`` pairs; the :class:`ReadError` names the one the error
    is about, where :func:`read_error` can tell.
    """
    try:
        yield
    except Exception as exc:
        error = read_error(exc, sources)
        if error is None:
            raise
        raise error from exc
    except pl.exceptions.PanicException as exc:  # a BaseException: not caught above
        error = read_error(exc, sources)
        if error is None:
            raise
        raise error from exc


def reads(**labels: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a reader: errors of reading the named arguments become a :class:`ReadError`.

    Each keyword names a parameter of the reader and what it holds, e.g.
    ``@reads(source="event log", conversions="conversions table")``. On a polars, pyarrow or
    OS error, the files given for those parameters are examined (:func:`read_error`).

    Examples
    --------
    >>> import polars as pl
    >>> @reads(source="spend table")
    ... def read(source):
    ...     raise pl.exceptions.ComputeError("invalid utf-8 sequence")
    >>> read("spend.csv")
    Traceback (most recent call last):
    ...
    attribution.ReadError: Cannot read the spend table 'spend.csv': invalid utf-8 sequence.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)

        def sources(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[tuple[object, str]]:
            try:
                bound = signature.bind_partial(*args, **kwargs).arguments
            except TypeError:
                return []
            return [(bound[name], what) for name, what in labels.items() if name in bound]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                error = read_error(exc, sources(args, kwargs))
                if error is None:
                    raise
                raise error from exc
            except pl.exceptions.PanicException as exc:
                error = read_error(exc, sources(args, kwargs))
                if error is None:
                    raise
                raise error from exc

        return wrapper

    return decorate


def diagnose(
    path: str | os.PathLike[str], what: str, exc: BaseException | None = None
) -> str | None:
    """Say what is wrong with the file (or Parquet folder) at ``path``; None if nothing is found.

    Looks, in this order, for: a file that cannot be opened; a Parquet file without the
    Parquet markers (not Parquet, or cut short) or with a broken footer; Parquet files of one
    folder that disagree on their columns or types; bytes that are not UTF-8 in a text file
    (line, row and CSV column); a CSV row whose field count differs from the header's; a CSV
    value of a column whose type was guessed from the first rows (when ``exc`` says so); a
    line of an NDJSON file that is not JSON. Reads the whole file at most once or twice: call
    it when reading has failed, not before.
    """
    path = Path(path)
    try:
        if not path.exists():
            return None
        if path.is_dir():
            return _diagnose_folder(path, what)
        suffix = path.suffix.lower()
        if suffix in _PARQUET:
            return _diagnose_parquet(path, what)
        if suffix in _CSV | _NDJSON:
            return _diagnose_text(path, what, csv_file=suffix in _CSV, exc=exc)
    except OSError as err:
        return f"The {what} file {str(path)!r} cannot be read: {err.strerror or err}."
    except Exception:  # pragma: no cover - a diagnosis never hides the first error
        return None
    return None


def _diagnose_parquet(path: Path, what: str, name: str | None = None) -> str | None:
    shown = repr(name or str(path))
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(max(size - 4, 0))
        tail = f.read(4)
    if head != b"PAR1":
        return (
            f"The {what} file {shown} is not a Parquet file: it does not start with the "
            "Parquet marker PAR1 (is it another format with a .parquet name?)."
        )
    if size < 12 or tail not in (b"PAR1", b"PARE"):
        return (
            f"The {what} file {shown} is truncated or damaged: a Parquet file ends with the "
            f"marker PAR1, and this one ({size:,} bytes) does not. Was it still being written?"
        )
    try:
        pl.read_parquet_schema(path)
    except Exception as exc:
        return f"The {what} file {shown} has a damaged Parquet footer: {_first_line(exc)}."
    return None


def _diagnose_folder(path: Path, what: str) -> str | None:
    files = sorted(path.rglob("*.parquet"))
    schemas: dict[str, pl.Schema] = {}
    for f in files:
        name = f.relative_to(path).as_posix()
        found = _diagnose_parquet(f, what, f"{path / name}")
        if found is not None:
            return found
        schemas[name] = pl.Schema(pl.read_parquet_schema(f))
    columns: dict[str, dict[str, list[str]]] = {}  # column -> type -> files
    for name, schema in schemas.items():
        for col, dtype in schema.items():
            columns.setdefault(col, {}).setdefault(str(dtype), []).append(name)
    rule = "every file of a folder must have the same columns and types"

    def some(names: list[str]) -> str:
        shown = ", ".join(repr(n) for n in names[:3])
        return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")

    for col, by_type in columns.items():
        having = [n for names in by_type.values() for n in names]
        if len(having) < len(schemas):
            lacking = [n for n in schemas if n not in having]
            return (
                f"The Parquet files of the {what} folder {str(path)!r} disagree: column {col!r} "
                f"is in {some(having)} but not in {some(lacking)}; {rule}."
            )
        if len(by_type) > 1:
            kinds = sorted(by_type.items(), key=lambda kv: -len(kv[1]))
            listed = "; ".join(
                f"{dtype} in {len(names)} file{'s' if len(names) > 1 else ''} ({some(names)})"
                for dtype, names in kinds
            )
            return (
                f"The Parquet files of the {what} folder {str(path)!r} disagree on the type of "
                f"column {col!r}: {listed}; {rule}."
            )
    return None


def _first_bad_utf8(path: Path) -> tuple[int, bytes, int] | None:
    """(line number from 1, the line's bytes, offset of the first bad byte) or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    number, line = 0, b""
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                return number, line, exc.start
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return number, line, len(line)
    return None


def _diagnose_text(
    path: Path, what: str, *, csv_file: bool, exc: BaseException | None
) -> str | None:
    shown = repr(str(path))
    with open(path, "rb") as f:
        head = f.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        # Excel's "Unicode Text" and PowerShell write UTF-16: latin1 advice would garble it
        return (
            f"The {what} file {shown} is UTF-16 text, not UTF-8 (byte 0x{head[0]:02x} at line 1 "
            "is UTF-16's byte-order mark). Save it as UTF-8 (for example: iconv -f utf-16 -t "
            "utf-8 in.csv > out.csv)."
        )
    sep = csv_separator(path)
    skip = csv_preamble(path)[0] if csv_file else 0
    first_data_line = 2 + skip if csv_file else 1
    bad = _first_bad_utf8(path)
    if bad is not None:
        number, line, start = bad
        where = f"line {number}"
        if number >= first_data_line:
            where += f" (row {number - first_data_line})"
        if csv_file:
            header = _csv_header(path, sep)
            prefix = line[:start].decode("utf-8", errors="replace")
            index = len(next(csv.reader([prefix], delimiter=sep), [""])) - 1
            if header and 0 <= index < len(header) and number >= first_data_line:
                where += f", column {header[index]!r}"
        byte = f"byte 0x{line[start]:02x}" if start < len(line) else "the last bytes"
        return (
            f"The {what} file {shown} is not UTF-8 text: {byte} at {where} is not valid UTF-8. "
            "Save it as UTF-8 (for example: iconv -f latin1 -t utf-8 in.csv > out.csv)."
        )
    if csv_file:
        return _diagnose_csv(path, what, sep, exc)
    return _diagnose_ndjson(path, what)


def _csv_header(path: Path, sep: str) -> list[str]:
    skip = csv_preamble(path)[0]
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for _ in range(skip):
            f.readline()
        return next(csv.reader(f, delimiter=sep), [])


def _diagnose_csv(path: Path, what: str, sep: str, exc: BaseException | None) -> str | None:
    shown = repr(str(path))
    skip = csv_preamble(path)[0]
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for _ in range(skip):
            f.readline()
        reader = csv.reader(f, delimiter=sep)
        try:
            header = next(reader, [])
            for row, record in enumerate(reader):
                if record and len(record) != len(header):
                    more = "more" if len(record) > len(header) else "fewer"
                    return (
                        f"The {what} file {shown} has a row with {more} fields than its header: "
                        f"row {row} (line {reader.line_num + skip}) has {len(record)} fields, the "
                        f"header {len(header)} ({', '.join(repr(h) for h in header)})."
                    )
        except csv.Error:
            pass
    # polars' words for a quote it cannot place: lines that do not split, or a text value
    # that is "not text" (a field that opens with a quote and goes on after its closing one)
    if "malformed" in str(exc) or re.search(r"as dtype `?(str|String)\b", str(exc)):
        stray = _stray_quote(path, what, sep, skip)
        if stray is not None:
            return stray
    found = re.search(r"could not parse `(.*?)` as dtype `?(\w+)`? at column '(.*?)'", str(exc))
    if found is None:
        return None
    value, dtype, column = found.groups()
    where = (
        pl.scan_csv(path, separator=sep, infer_schema=False, skip_lines=skip)
        .with_row_index(ROW)
        .filter(pl.col(column) == value)
        .select(ROW)
        .head(1)
        .collect()
    )
    at = f" at row {where[ROW][0]}" if where.height else ""
    return (
        f"Column {column!r} of the {what} file {shown} holds {value!r}{at}, which is not of "
        f"the type {dtype} its first {_INFER_ROWS:,} rows have (the type of a CSV column is "
        "guessed from its first rows). Fix the value, or write the file with a type per column "
        "(Parquet)."
    )


#: A field written in quotes, the quotes inside doubled (possessive: no backtracking).
_QUOTED_FIELD = re.compile(r'"(?:[^"]|"")*+"')


def _stray_field(line: str, sep: str) -> tuple[int, str] | None:
    """Return (index, text) of the first field of ``line`` with a stray quote, or None.

    The index is -1 when a field written in quotes is not closed on the line (a quoted field
    over several lines: its quotes may be right).
    """
    pos, index = 0, 0
    while pos <= len(line):
        if line.startswith('"', pos):
            closed = _QUOTED_FIELD.match(line, pos)
            if closed is None:
                return -1, ""
            end = closed.end()
            if end < len(line) and line[end] != sep:  # '"Best" shoes'
                cut = line.find(sep, end)
                return index, line[pos : len(line) if cut < 0 else cut]
        else:
            cut = line.find(sep, pos)
            end = len(line) if cut < 0 else cut
            if '"' in line[pos:end]:  # 'Shoes, "cheap" 5" tall'
                return index, line[pos:end]
        pos, index = end + 1, index + 1
    return None


def _stray_quote(path: Path, what: str, sep: str, skip: int) -> str | None:
    """Name the first field holding a quote outside the quoting rules of CSV, or None.

    A quote may stand only in a field written in quotes, with the quotes inside doubled;
    polars splits a file into lines by counting quotes, so a stray one (Snowplow's
    tab-separated exports write a page title ``Shoes, "cheap" 5" tall`` as it is) makes the
    read fail as "malformed". None also when a quoted field runs over several lines (rows
    can then not be counted line by line).
    """
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        for _ in range(skip):
            f.readline()
        header = next(csv.reader([f.readline()], delimiter=sep), [])
        for row, line in enumerate(f):
            found = _stray_field(line.rstrip("\r\n"), sep)
            if found is None:
                continue
            index, value = found
            if index < 0:
                return None
            column = f", column {header[index]!r}" if index < len(header) else ""
            written = '"' + value.replace('"', '""') + '"'
            return (
                f"The {what} file {str(path)!r} has a quote in a field that is not written in "
                f"quotes: row {row} (line {row + 2 + skip}){column} holds {value!r}. A quote "
                "may stand only in a field written in quotes, with the quotes inside doubled "
                f"({written}); export the file with quoting (Snowplow's tab-separated files "
                "have none) or as Parquet."
            )
    return None


def _json_kind(value: object) -> str:
    """Return the kind of a JSON value: a record, a list or a single value."""
    if isinstance(value, dict):
        return "a record"
    if isinstance(value, list):
        return "a list"
    return "a single value"


def _diagnose_ndjson(path: Path, what: str) -> str | None:
    # the first line of each kind of value of each field: a field that is a record on one line
    # and a number on another has no column type
    kinds: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                return (
                    f"The {what} file {str(path)!r} is not NDJSON: line {number} (row "
                    f"{number - 1}) is not one JSON value ({err.msg} at character {err.pos + 1})."
                )
            if not isinstance(record, dict):
                continue
            for name, value in record.items():
                if value is None:
                    continue
                seen = kinds.setdefault(name, {})
                seen.setdefault(_json_kind(value), number)
                if len(seen) > 1:
                    (kind, first), (other, line_no) = seen.items()
                    return (
                        f"Field {name!r} of the {what} file {str(path)!r} is {kind} at line "
                        f"{first} (row {first - 1}) but {other} at line {line_no} (row "
                        f"{line_no - 1}); a field must hold one kind of value on every line."
                    )
    return None


def is_empty(lf: pl.LazyFrame) -> bool:
    """Whether a frame has no rows (reads at most one row)."""
    return lf.head(1).collect().height == 0


def as_list(by: By) -> list[str]:
    """Group keys as a list: ``None`` is no key, a string is one.

    Examples
    --------
    >>> as_list(None), as_list("channel"), as_list(("a", "b"))
    ([], ['channel'], ['a', 'b'])
    """
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def is_text(dtype: pl.DataType) -> bool:
    """Whether a column holds text: String, Categorical or Enum."""
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def check_columns(schema: pl.Schema, needed: Sequence[str], what: str) -> None:
    """Raise a SchemaError naming missing columns and listing the ones found."""
    missing = [c for c in needed if c not in schema]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in schema.names() if not c.startswith("__"))
        noun = "Column" if len(missing) == 1 else "Columns"
        verb = "is" if len(missing) == 1 else "are"
        # a header written in another case or with spaces around a name (" user_id")
        key = {c.strip().lower(): c for c in schema.names()}
        near = [(c, key[str(c).strip().lower()]) for c in missing if str(c).strip().lower() in key]
        hint = "".join(
            f" {n!r} differs from {c!r} only in case or spaces."
            if isinstance(c, str)
            else f" Column names are text: pass {n!r}, not {c!r}."
            for c, n in near
        )
        # a field of a nested record (NDJSON's {"context": {"campaign": {"source": ...}}})
        nested = sorted(
            {
                c.split(".")[0]
                for c in missing
                if isinstance(c, str)
                and "." in c
                and isinstance(schema.get(c.split(".")[0]), pl.Struct)
            }
        )
        hint += "".join(
            f" {r!r} is a nested record, whose fields are not columns: flatten the records "
            f"first (pandas.json_normalize names their fields '{r}.<field>.<field>', as "
            "asked here)."
            for r in nested
        )
        raise SchemaError(
            f"{noun} {names} {verb} missing from the {what}; found columns: {found or 'none'}."
            f"{hint} Pass the right name with the matching *_col parameter."
        )


def bad_rows(lf: pl.LazyFrame, bad: pl.Expr, value: pl.Expr, limit: int = 5) -> pl.DataFrame:
    """Return the first ``limit`` rows where ``bad`` holds, to name in an error (reads the frame).

    Columns: ``ROW`` (the row number, from 0), ``v`` (``value`` on that row) and ``n`` (how
    many rows ``bad`` holds on). Empty when there are none.
    """
    return (
        lf.with_row_index(ROW)
        .filter(bad)
        .select(pl.col(ROW), value.alias("v"), pl.len().alias("n"))
        .head(limit)
        .collect()
    )


def numeric_expr(lf: pl.LazyFrame, name: str, dtype: pl.DataType, rule: str) -> pl.Expr:
    """Build a Float64 expression for a numeric column, accepting numbers written as text.

    CSV readers type an all-empty column, or one with a stray word, as text. Text is parsed
    here; values that are not numbers raise a :class:`ValidationError` naming them (this reads
    that one column).
    """
    col = pl.col(name)
    if dtype.is_numeric() or dtype == pl.Null:
        return col.cast(pl.Float64)
    if not is_text(dtype):
        raise SchemaError(f"Column {name!r} has type {dtype}; expected a number ({rule}).")
    text = col.cast(pl.String).str.strip_chars()
    parsed = pl.when(text != "").then(text).cast(pl.Float64, strict=False)
    bad = text.is_not_null() & (text != "") & parsed.is_null()
    sample = bad_rows(lf, bad, text, limit=6)
    if sample.height:
        hint = ""
        if any("," in v for v in sample["v"].to_list()):
            hint = (
                " Numbers with a decimal comma ('1,5') are read from a CSV file separated by "
                "';' when every value of the column is one; a thousands separator ('1.234,5') "
                "is not read: write the numbers without it."
            )
        raise ValidationError(
            f"Column {name!r} has {sample['n'][0]} values that are not numbers "
            f"({describe_rows(sample[ROW].to_list(), values=sample['v'].to_list())}); "
            f"expected {rule}.{hint}"
        )
    return parsed


@dataclass(frozen=True)
class Rule:
    """A value rule: rows where ``bad`` is true break it.

    Parameters
    ----------
    column : str
        The user's column, named in the message and quoted for its values.
    bad : Expr
        True on rows that break the rule.
    noun : str
        What the offending rows are, after their count: ``"nulls"``, ``"negative values"``.
    rule : str
        What is expected, after the semicolon.
    show_values : bool
        Quote the offending values (not useful for nulls).
    """

    column: str
    bad: pl.Expr
    noun: str
    rule: str
    show_values: bool = True


def check_rules(lf: pl.LazyFrame, rules: Sequence[Rule], what: str) -> int:
    """Count every rule's offending rows in one pass; raise on the first broken rule.

    ``lf`` must carry the row index :data:`ROW` (``lf.with_row_index(ROW)``). Returns the
    number of rows; an empty frame raises :class:`EmptyInputError`.

    Examples
    --------
    >>> lf = pl.LazyFrame({"x": [1.0, -2.0, 3.0]}).with_row_index(ROW)
    >>> check_rules(lf, [Rule("x", pl.col("x") < 0, "negative values", "≥ 0")], "t")
    Traceback (most recent call last):
    ...
    attribution.ValidationError: Column 'x' of the t has 1 negative values (-2 at row 1); ≥ 0.
    """
    counts = lf.select(
        pl.len().alias("rows"), *(r.bad.sum().alias(f"r{i}") for i, r in enumerate(rules))
    ).collect()
    n_rows = int(counts["rows"][0])
    if n_rows == 0:
        raise EmptyInputError(f"The {what} is empty (0 rows).")
    for i, r in enumerate(rules):
        n_bad = int(counts[f"r{i}"][0] or 0)
        if not n_bad:
            continue
        sample = lf.filter(r.bad).select(ROW, pl.col(r.column).alias("v")).head(5).collect()
        values = sample["v"].to_list() if r.show_values else None
        raise ValidationError(
            f"Column {r.column!r} of the {what} has {n_bad} {r.noun} "
            f"({describe_rows(sample[ROW].to_list(), values=values, total=n_bad)}); {r.rule}."
        )
    return n_rows


def ratio(num: str | pl.Expr, den: str | pl.Expr, scale: float = 1.0) -> pl.Expr:
    """``scale × num / den``, null when the denominator is 0 or null (never infinite).

    Examples
    --------
    >>> pl.DataFrame({"a": [1, 2], "b": [4, 0]}).select(ratio("a", "b")).to_series().to_list()
    [0.25, None]
    """
    n = pl.col(num) if isinstance(num, str) else num
    d = pl.col(den) if isinstance(den, str) else den
    return pl.when(d > 0).then(scale * n / d).otherwise(None)
