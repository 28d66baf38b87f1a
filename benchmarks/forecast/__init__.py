"""Forecast accuracy on public competition data, beside statsforecast (``make bench-forecast``)."""
