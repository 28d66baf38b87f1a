"""Frames in: the accepted input types, reading them lazily, and one validation harness.

Every function of both packages that takes a table accepts a :data:`FrameLike` and turns it
into a ``LazyFrame`` with :func:`to_lazy`, which reads nothing but the schema. Column checks
(:func:`check_columns`) need only the schema; value rules (:class:`Rule`) are counted in one
aggregate pass by :func:`check_rules`, and only a broken rule reads a few rows to quote them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, Union

import polars as pl

from attribution._base.errors import EmptyInputError, SchemaError, ValidationError, describe_rows

if TYPE_CHECKING:  # pandas is optional: only its type is named here
    import pandas as pd

__all__ = [
    "ROW",
    "By",
    "FrameLike",
    "Rule",
    "as_list",
    "check_columns",
    "check_rules",
    "is_empty",
    "is_text",
    "numeric_expr",
    "ratio",
    "to_lazy",
]

#: Anything the readers accept: a path (Parquet, CSV, NDJSON, or a directory of Parquet
#: files), a Polars ``DataFrame`` or ``LazyFrame``, or a pandas ``DataFrame``.
FrameLike: TypeAlias = Union[str, "os.PathLike[str]", pl.DataFrame, pl.LazyFrame, "pd.DataFrame"]
#: Group keys: one column name, several, or none.
By: TypeAlias = str | Sequence[str] | None

#: Name of the row-index column added to quote offending rows (row numbers count from 0).
ROW = "__row"

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".tsv", ".txt"}
_NDJSON = {".ndjson", ".jsonl", ".json"}


def to_lazy(
    source: FrameLike, *, what: str = "input", id_columns: Sequence[str] = ()
) -> pl.LazyFrame:
    """Turn any accepted input into a LazyFrame without reading more than the schema.

    Parameters
    ----------
    source
        A path (``.parquet``/``.pq``, ``.csv``/``.tsv``, ``.ndjson``/``.jsonl``, or a directory
        of Parquet files), a Polars ``DataFrame``/``LazyFrame`` or a pandas ``DataFrame``.
    what
        Name of the input, used in error messages.
    id_columns
        Identifier columns. A CSV file has no types, so these are read as text (guessing
        numbers would drop leading zeros, and ids beyond Int64 would not parse) and become
        Int64 only when every value is a canonical integer that fits (this reads those
        columns once). Other sources keep their types.
    """
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"The {what} file {str(path)!r} does not exist.")
        if path.is_dir():
            files = sorted(path.rglob("*.parquet"))
            if not files:
                raise EmptyInputError(f"The {what} directory {str(path)!r} has no .parquet files.")
            return pl.scan_parquet(files)
        suffix = path.suffix.lower()
        if path.stat().st_size == 0:
            raise EmptyInputError(f"The {what} file {str(path)!r} is empty (0 bytes).")
        if suffix in _PARQUET:
            return pl.scan_parquet(path)
        if suffix in _CSV:
            sep = "\t" if suffix == ".tsv" else ","
            text = dict.fromkeys(id_columns, pl.String)
            lf = pl.scan_csv(path, separator=sep, infer_schema_length=10_000, schema_overrides=text)
            return _integer_ids(lf, id_columns) if id_columns else lf
        if suffix in _NDJSON:
            return pl.scan_ndjson(path, infer_schema_length=10_000)
        raise SchemaError(
            f"Cannot read {str(path)!r}: unknown file type {suffix!r}; expected one of "
            f"{sorted(_PARQUET | _CSV | _NDJSON)} or a directory of Parquet files."
        )
    module = type(source).__module__
    if module.startswith("pandas"):
        return pl.from_pandas(source).lazy()
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
        raise SchemaError(
            f"{noun} {names} {verb} missing from the {what}; found columns: {found or 'none'}. "
            "Pass the right name with the matching *_col parameter."
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
    sample = (
        lf.with_row_index(ROW)
        .filter(bad)
        .select(pl.col(ROW), text.alias("v"), pl.len().alias("n"))
        .head(6)
        .collect()
    )
    if sample.height:
        raise ValidationError(
            f"Column {name!r} has {sample['n'][0]} values that are not numbers "
            f"({describe_rows(sample[ROW].to_list(), values=sample['v'].to_list())}); "
            f"expected {rule}."
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
