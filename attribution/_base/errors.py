"""The package's own error hierarchy (re-exported as ``attribution.AttributionError`` etc.).

Every problem with a user's input raises a subclass of :class:`AttributionError`, itself a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not know us.
Messages name the column, the rule, a few offending values or rows and how many there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AttributionError",
    "DataQualityWarning",
    "EmptyInputError",
    "IdentificationWarning",
    "ModelError",
    "OutputError",
    "ReadError",
    "SchemaError",
    "SkippedModelWarning",
    "ValidationError",
    "describe_rows",
]


class AttributionError(ValueError):
    """Base class of every error this package raises about its input."""


class SchemaError(AttributionError):
    """A column is missing or has a type that cannot be converted to the contract's type."""


class ValidationError(AttributionError):
    """Values break a rule of the data contract (nulls, negatives, unknown labels...)."""


class EmptyInputError(ValidationError):
    """The input has no rows (or no rows left after filtering)."""


class ModelError(AttributionError):
    """A model was asked for something it cannot do with the given input or parameters."""


class ReadError(AttributionError):
    """A file cannot be read as the table its name says.

    Not Parquet, CSV or NDJSON as its suffix says, not UTF-8 text, truncated, a row with more
    fields than the header, or Parquet files of one folder that disagree on their columns. The
    message names the file and, where known, the row, the line and the column.
    """


class OutputError(AttributionError):
    """An output location cannot be written.

    A file where a folder is needed, a folder below a file, or no permission to write there.
    """


class SkippedModelWarning(UserWarning):
    """A model refused the input and was left out of a side-by-side run (its reason follows)."""


class IdentificationWarning(UserWarning):
    """A fitted model's credit is not identified by the log.

    The log is too small, the model predicts no better than no channel, or its credit is
    unstable; the result is still returned, to be read with its intervals.
    """


class DataQualityWarning(UserWarning):
    """The input can be read, but a defect in it limits what the results can tell.

    An example: user ids that a spreadsheet rounded to scientific notation, so that visitors who
    share the rounded value are read as one user. The warning says what was found and how many
    rows it touches; ``warnings.simplefilter("error", DataQualityWarning)`` makes it an error.
    """


# Users meet these classes as ``attribution.SchemaError`` and so on: tracebacks say so too.
for _cls in (
    AttributionError,
    SchemaError,
    ValidationError,
    EmptyInputError,
    ModelError,
    ReadError,
    OutputError,
    SkippedModelWarning,
    IdentificationWarning,
    DataQualityWarning,
):
    _cls.__module__ = "attribution"


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe_rows(
    rows: Sequence[int],
    *,
    values: Sequence[Any] | None = None,
    ids: Sequence[Any] | None = None,
    id_name: str = "user_id",
    limit: int = 5,
    total: int | None = None,
) -> str:
    """Describe up to ``limit`` offending rows as ``'x' at row 3 (user_id 7), ...``.

    Row numbers count data rows from 0, as ``pl.DataFrame.with_row_index`` does. ``total`` is
    the number of offending rows when more exist than were passed in.
    """
    parts = []
    for i, row in enumerate(rows[:limit]):
        text = f"row {row}"
        if ids is not None:
            text += f" ({id_name} {_fmt(ids[i])})"
        if values is not None:
            text = f"{_fmt(values[i])} at {text}"
        parts.append(text)
    more = (total if total is not None else len(rows)) - min(len(rows), limit)
    return ", ".join(parts) + (", ..." if more > 0 else "")
