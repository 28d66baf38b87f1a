"""Customer lifetime value from the fitted models: the discounted sum over future periods.

:func:`customer_lifetime_value` multiplies expected purchases per future period from a fitted
:class:`~attribution.clv.bg_nbd.BGNBD` by the expected value per purchase from a fitted
:class:`~attribution.clv.gamma_gamma.GammaGamma`, discounted period by period
(:func:`~attribution.clv.frames.clv_probabilistic` runs it on a transaction log).
"""

from __future__ import annotations

import numpy as np

from attribution._base.errors import ValidationError
from attribution.clv.bg_nbd import BGNBD
from attribution.clv.fitting import ArrayLike, as_float, same_length
from attribution.clv.gamma_gamma import GammaGamma

__all__ = ["customer_lifetime_value"]


def customer_lifetime_value(
    purchases: BGNBD,
    values: GammaGamma,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    periods: int = 12,
    period_length: float,
    discount_rate: float,
) -> np.ndarray:
    """Discounted expected value of each customer's purchases over the next ``periods``.

    ``CLV = E[Z | x, m_x] * sum_k (E[Y(k L)] - E[Y((k-1) L)]) / (1 + d)^k`` for
    ``k = 1..periods``, where ``E[Y(t)]`` is the BG/NBD conditional expectation, ``L`` the
    period length in the model's time unit and ``d`` the discount rate per period: purchases
    of period ``k`` are discounted from its end (the convention of lifetimes'
    ``customer_lifetime_value``).

    Parameters
    ----------
    purchases : BGNBD
        A fitted purchase model.
    values : GammaGamma
        A fitted value model.
    frequency, recency, T, monetary_value : array-like
        One value per customer (``monetary_value`` may be null where frequency is 0).
    periods : int
        Number of future periods (>= 1).
    period_length : float
        Length of a period in the unit of ``recency`` and ``T`` (e.g. ``365.25 / 12 / 7`` for
        months when the summary is in weeks).
    discount_rate : float
        Discount rate per period (>= 0).

    Returns
    -------
    ndarray
        One CLV per customer.

    Examples
    --------
    >>> bg, gg = BGNBD(), GammaGamma()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> clv = customer_lifetime_value(bg, gg, [0], [0], [38.86], [None],
    ...                               period_length=4.35, discount_rate=0.01)
    >>> bool(clv[0] > 0)
    True
    """
    if isinstance(periods, bool) or not isinstance(periods, int | np.integer) or periods < 1:
        raise ValidationError(f"periods must be a whole number >= 1; got {periods!r}.")
    if not (np.isfinite(period_length) and period_length > 0):
        raise ValidationError(f"period_length must be > 0; got {period_length!r}.")
    if not (np.isfinite(discount_rate) and discount_rate >= 0):
        raise ValidationError(f"discount_rate must be >= 0; got {discount_rate!r}.")
    x = np.atleast_1d(as_float(frequency, "frequency"))
    tx = np.atleast_1d(as_float(recency, "recency"))
    T_ = np.atleast_1d(as_float(T, "T"))
    m = np.atleast_1d(as_float(monetary_value, "monetary_value"))
    same_length(("frequency", "recency", "T", "monetary_value"), (x, tx, T_, m))
    value = values.expected_value(x, m)
    grid = period_length * np.arange(periods + 1, dtype=float)[:, None]
    cumulative = purchases.expected_purchases(grid, x[None, :], tx[None, :], T_[None, :])
    per_period = np.diff(cumulative, axis=0)
    discount = (1.0 + discount_rate) ** -np.arange(1, periods + 1, dtype=float)
    out: np.ndarray = value * (discount @ per_period)
    return out
