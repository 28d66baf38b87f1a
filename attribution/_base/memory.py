"""The machine's memory, for refusing work that cannot fit before allocating it."""

from __future__ import annotations

import math  # noqa: F401 - the examples use it
import os

__all__ = ["memory_text", "physical_memory"]


def physical_memory() -> int:
    """Bytes of physical memory of this machine (0 when unknown)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return 0


def memory_text(log2_bytes: float) -> str:
    """Describe a size given as ``log2`` of its bytes: ``"about 96 MiB"``.

    Works for sizes no float can hold (the log is what is passed).

    Examples
    --------
    >>> memory_text(22 + math.log2(24)), memory_text(1043.6)
    ('about 96 MiB', 'about 2**1044 bytes')
    """
    if log2_bytes >= 70:
        return f"about 2**{log2_bytes:.0f} bytes"
    units = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    step = min(max(int(log2_bytes // 10), 0), len(units) - 1)
    return f"about {2.0 ** (log2_bytes - 10 * step):,.0f} {units[step]}"
