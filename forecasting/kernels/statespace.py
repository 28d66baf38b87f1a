"""Moved: ETS to :mod:`forecasting.kernels.ets`, ARIMA to :mod:`forecasting.kernels.arima`.

Both are now fitted for a whole batch at once (they used to be statsmodels fits, one series
at a time). This path forwards the old public names (``ets``, ``arima``, ``select_ets``,
``select_arima``) with a ``DeprecationWarning``.
"""

from attribution._base.moved import forward

__getattr__, __dir__ = forward(__name__, ["forecasting.kernels.ets", "forecasting.kernels.arima"])
