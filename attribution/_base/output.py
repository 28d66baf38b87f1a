"""Writing outputs atomically: a file appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from attribution._base.errors import SchemaError

__all__ = ["atomic_path", "write_frame"]


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only on success.

    Readers never see a half-written file: on any exception the temporary file is removed
    and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_frame(df: pl.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` atomically as Parquet or CSV, chosen by the target's suffix."""
    target = Path(target)
    writers: dict[str, Callable[[Path], None]] = {
        ".parquet": lambda p: df.write_parquet(p),
        ".csv": lambda p: df.write_csv(p),
    }
    suffix = target.suffix.lower()
    if suffix not in writers:
        raise SchemaError(f"Cannot write {str(target)!r}: expected a .parquet or .csv suffix.")
    with atomic_path(target) as tmp:
        writers[suffix](tmp)
    return target
