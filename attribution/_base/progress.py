"""A tiny progress display: one line per step with its duration, on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Print ``label ... 1.23 s`` for each step when enabled.

    Parameters
    ----------
    enabled : bool
        Print anything at all.
    stream : file, optional
        Where to print; stderr by default.
    """

    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Time one step and report it when it ends."""
        if not self.enabled:
            yield
            return
        self.stream.write(f"  {label} ...")
        self.stream.flush()
        t0 = time.perf_counter()
        try:
            yield
        except BaseException:
            self.stream.write(" failed\n")
            raise
        self.stream.write(f" {time.perf_counter() - t0:.2f} s\n")
        self.stream.flush()
