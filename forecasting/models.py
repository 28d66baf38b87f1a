"""Moved: the engine to :mod:`forecasting.engine`, the kernels to :mod:`forecasting.kernels`.

This path forwards the old public names (``forecast``, ``MODEL_NAMES``, ``AUTO_CANDIDATES``,
``select_arima``, ``select_ets``) from :mod:`forecasting` with a ``DeprecationWarning``.
"""

from attribution._base.moved import forward

__getattr__, _ = forward(__name__, "forecasting")


def __dir__() -> list[str]:
    return ["AUTO_CANDIDATES", "MODEL_NAMES", "forecast", "select_arima", "select_ets"]
