"""Old import paths that still work: a module that forwards its names with a warning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["forward"]


def forward(old: str, new: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build the module ``__getattr__`` and ``__dir__`` of ``old``, whose names live in ``new``.

    Use in the old module::

        __getattr__, __dir__ = forward(__name__, "attribution.kpis.roi")

    Each name taken from the old module works as before and raises a ``DeprecationWarning``
    that names the new module. Nothing is imported until a name is asked for.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        module = importlib.import_module(new)
        try:
            value = getattr(module, name)
        except AttributeError:
            raise AttributeError(f"module {old!r} has no attribute {name!r}") from None
        warnings.warn(
            f"{old} has moved to {new}; import {name} from {new} (the old path will be "
            "removed in a later release).",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    def __dir__() -> list[str]:
        return list(getattr(importlib.import_module(new), "__all__", []))

    return __getattr__, __dir__
