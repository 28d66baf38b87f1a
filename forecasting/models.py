"""Moved: the engine to :mod:`forecasting.engine`, the kernels to :mod:`forecasting.kernels`.

This path forwards the old public names with a ``DeprecationWarning``: ``forecast``,
``MODEL_NAMES`` and ``AUTO_CANDIDATES`` from :mod:`forecasting.engine`; ``select_arima`` and
``select_ets`` from :mod:`forecasting.kernels`. All of them are also names of
:mod:`forecasting` itself.
"""

from attribution._base.moved import forward

__getattr__, __dir__ = forward(__name__, ["forecasting.engine", "forecasting.kernels"])
