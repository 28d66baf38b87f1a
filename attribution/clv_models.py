"""Moved to :mod:`attribution.clv`; this path forwards with a ``DeprecationWarning``.

Every public name of the old module (``BGNBD``, ``GammaGamma``, ``rfm_summary``,
``clv_probabilistic``, ``summarise_clv``, ``customer_lifetime_value``) is a name of
:mod:`attribution.clv`.
"""

from attribution._base.moved import forward

__getattr__, __dir__ = forward(__name__, "attribution.clv")
