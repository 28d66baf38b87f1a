"""Growth rates: compound annual growth (CAGR)."""

from __future__ import annotations

import math

from attribution._errors import ValidationError

__all__ = ["cagr"]


def cagr(start: float, end: float, years: float) -> float:
    """Compound annual growth rate: ``(end / start) ** (1 / years) - 1``.

    Parameters
    ----------
    start, end : float
        Values at the start and the end of the span; both must be > 0.
    years : float
        Length of the span in years (> 0; fractions allowed).

    Returns
    -------
    float
        The yearly rate as a fraction (0.26 is 26 % a year).

    Raises
    ------
    ValidationError
        A non-positive value or span, where the rate is undefined.

    Examples
    --------
    Sales from 1,000 € to 2,000 € in three years (the seed example):

    >>> round(cagr(1000, 2000, years=3), 4)
    0.2599
    """
    for name, v in (("start", start), ("end", end), ("years", years)):
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise ValidationError(f"cagr: {name} must be a finite number > 0; got {v!r}.")
    return float((end / start) ** (1.0 / years) - 1.0)
