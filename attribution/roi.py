"""Moved to :mod:`attribution.kpis.roi`; this path forwards with a ``DeprecationWarning``."""

from attribution._base.moved import forward

__getattr__, __dir__ = forward(__name__, "attribution.kpis.roi")
