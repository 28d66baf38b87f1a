"""Model kernels: pure functions that forecast a batch of equal-length series at once.

Each family lives in its own module; the engine (:mod:`forecasting.engine`) looks them up by
name in :data:`KERNELS` (:mod:`.registry`). Models (*fpp3* is Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice*, 3rd ed.):

=================================== =========================================================
model                               module
=================================== =========================================================
``naive``, ``seasonal_naive``,      :mod:`.naive`: the benchmark methods of fpp3 §5.2 with
``drift``                           their residual-based intervals (§5.5)
``harmonic``                        :mod:`.harmonic`: trend + Fourier regressions averaged
                                    with Akaike weights
``theta``                           :mod:`.theta`: Hyndman & Billah's Theta method
``ets``, ``arima``                  :mod:`.statespace`: statsmodels fits chosen per series
=================================== =========================================================

Every kernel has the signature of :class:`Kernel` and models non-negative series on the
``log1p`` scale when asked (:mod:`.scale`). ``naive`` to ``theta`` are vectorised over the
batch (NumPy, no loop per series); ``ets`` and ``arima`` fit one statsmodels model per series.
Each module is named after its family and holds the kernel functions of that name
(``forecasting.kernels.theta.theta``); the registry is the way to run one by name.
"""

from forecasting.kernels.arima import select_arima
from forecasting.kernels.ets import select_ets
from forecasting.kernels.registry import KERNELS, MIN_LENGTH, RAGGED, Kernel, run_kernel
from forecasting.kernels.scale import Result, Transform

__all__ = [
    "KERNELS",
    "MIN_LENGTH",
    "RAGGED",
    "Kernel",
    "Result",
    "Transform",
    "run_kernel",
    "select_arima",
    "select_ets",
]
