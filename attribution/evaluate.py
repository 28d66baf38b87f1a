"""Moved to :mod:`attribution.evaluation`; this path forwards with a ``DeprecationWarning``.

``attribution.evaluate`` (the attribute of the package) is the function
:func:`attribution.evaluation.evaluate`.
"""

from attribution._base.moved import forward

__getattr__, __dir__ = forward(__name__, "attribution.evaluation")
