"""Moved to :mod:`attribution.cli.forecast`; this path forwards with a ``DeprecationWarning``."""

from attribution._base.moved import forward

__getattr__, __dir__ = forward(__name__, "attribution.cli.forecast")
