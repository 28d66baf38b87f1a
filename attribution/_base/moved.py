"""Old import paths that still work: a module that forwards its names with a warning."""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

__all__ = ["forward"]


def forward(
    old: str,
    new: str | Sequence[str],
    *,
    renamed: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build the module ``__getattr__`` and ``__dir__`` of ``old``, whose names live in ``new``.

    Use in the old module::

        __getattr__, __dir__ = forward(__name__, "attribution.kpis.roi")

    or, when the old module was split, with every module its names went to::

        __getattr__, __dir__ = forward(
            __name__,
            ["attribution.crm", "attribution.kpis.funnel"],
            renamed={"lead_conversion_rate": "attribution.kpis.funnel.crm_lead_conversion_rate"},
        )

    Each name taken from the old module works as before and raises a ``DeprecationWarning``
    that names where it lives now. A name is looked up in the ``__all__`` of each new module in
    turn, then as any attribute of them; ``renamed`` maps an old name to the full dotted path
    of its new name. Nothing is imported until a name is asked for.
    """
    modules = [new] if isinstance(new, str) else list(new)
    moves = dict(renamed or {})

    def find(name: str) -> tuple[str, Any] | None:
        loaded: list[ModuleType] = []
        for m in modules:
            module = importlib.import_module(m)
            if name in getattr(module, "__all__", ()):
                return m, getattr(module, name)
            loaded.append(module)
        for module in loaded:
            if hasattr(module, name):
                return module.__name__, getattr(module, name)
        return None

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in moves:
            where, new_name = moves[name].rsplit(".", 1)
            value = getattr(importlib.import_module(where), new_name)
            message = (
                f"{old}.{name} is now {where}.{new_name}; import {new_name} from {where} (the "
                "old name will be removed in a later release)."
            )
        else:
            found = find(name)
            if found is None:
                raise AttributeError(f"module {old!r} has no attribute {name!r}")
            where, value = found
            message = (
                f"{old} has moved to {where}; import {name} from {where} (the old path will be "
                "removed in a later release)."
            )
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return value

    def __dir__() -> list[str]:
        # Only the stub's own names: tools that walk dir() (doctest and fixture collection)
        # would otherwise touch every forwarded name and warn for each. The module docstring
        # says where the names went.
        return sorted(vars(sys.modules[old]))

    return __getattr__, __dir__
