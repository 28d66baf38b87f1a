"""Forecasting and growth figures built on attribution output.

For now: :func:`cagr`. Forecasts, backtests and budget scenarios follow (see the issues).
"""

from forecasting.growth import cagr

__all__ = ["cagr"]
