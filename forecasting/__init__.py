"""Forecasting and growth figures built on attribution output.

Series from attribution results (:func:`series_from_attribution`) or any dated frame
(:func:`to_series`), forecasts with intervals for many series at once (:func:`forecast`),
rolling-origin backtests and accuracy metrics (:func:`backtest`, :func:`accuracy`), and
growth figures (:func:`cagr`, :func:`cagr_series`, :func:`cagr_forecast`, :func:`yoy`,
:func:`pop`, :func:`target_progress`) and budget scenarios (:func:`fit_response_curves`,
:func:`optimize_budget`).

=================== ===========================================================================
module              what
=================== ===========================================================================
``series``          long series from dated frames or attribution results; dates and periods
``engine``          :func:`forecast`: reading the panel, options, batches, workers, output
``kernels``         the models, one family per module, and their registry
``backtest``        rolling-origin backtests and :func:`accuracy`
``growth``          CAGR, period-over-period growth, progress toward targets
``budget``          response curves and the best split of a budget
=================== ===========================================================================

Dates and periods are read by :mod:`attribution._base` (the only part of :mod:`attribution`
imported here), so ``import forecasting`` loads no attribution model.
"""

import warnings
from typing import Any

from forecasting.backtest import RENAMED_EVALUATE, accuracy, backtest
from forecasting.budget import (
    BudgetPlan,
    ResponseCurves,
    fit_response_curves,
    geometric_adstock,
    optimize_budget,
    response,
    response_marginal,
)
from forecasting.engine import AUTO_CANDIDATES, MODEL_NAMES, forecast
from forecasting.growth import cagr, cagr_forecast, cagr_series, pop, target_progress, yoy
from forecasting.kernels import select_arima, select_ets
from forecasting.reconcile import hierarchy_matrix, reconcile
from forecasting.series import season_length, series_from_attribution, to_series

__all__ = [
    "AUTO_CANDIDATES",
    "MODEL_NAMES",
    "BudgetPlan",
    "ResponseCurves",
    "accuracy",
    "backtest",
    "cagr",
    "cagr_forecast",
    "cagr_series",
    "fit_response_curves",
    "forecast",
    "geometric_adstock",
    "hierarchy_matrix",
    "optimize_budget",
    "pop",
    "reconcile",
    "response",
    "response_marginal",
    "season_length",
    "select_arima",
    "select_ets",
    "series_from_attribution",
    "target_progress",
    "to_series",
    "yoy",
]


def __getattr__(name: str) -> Any:
    if name == "evaluate":  # renamed accuracy (see forecasting.backtest)
        warnings.warn(RENAMED_EVALUATE, DeprecationWarning, stacklevel=2)
        return accuracy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
