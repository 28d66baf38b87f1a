"""The BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005) and its pure kernels.

Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2). The kernels work on arrays of per-customer
summaries (``x`` = frequency, ``tx`` = recency, ``T`` = age) and a parameter vector
``(r, alpha, a, b)``:

* :func:`bgnbd_loglik` -- the log-likelihood (eq. 6) and its gradient;
* :func:`bgnbd_log_p_alive` -- the log probability that a customer is still active;
* :func:`bgnbd_expected_purchases` -- expected purchases in a future period (eq. 10; eq. 9 for
  a new customer).

:class:`BGNBD` fits them by maximum likelihood (:mod:`attribution.clv.fitting`) and checks
its inputs. Checked against the published CDNOW figures (2,357 customers, weeks):
``r = 0.243, alpha = 4.414, a = 0.793, b = 2.426``, log-likelihood -9582.4
(``tests/clv/test_bg_nbd.py``).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from attribution._base.errors import ModelError, ValidationError
from attribution.clv.fitting import (
    ArrayLike,
    FittedModel,
    as_float,
    check_counts,
    check_finite,
    compress_rows,
    fit_arrays,
    fit_ml,
    per_count,
    refuse,
)

__all__ = ["BGNBD", "bgnbd_expected_purchases", "bgnbd_log_p_alive", "bgnbd_loglik"]


def bgnbd_loglik(
    params: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    grad: bool = False,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer BG/NBD log-likelihood (FHL 2005, eq. 6) and its gradient in (r, alpha, a, b).

    ``L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
    + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))``, summed in
    log space (the two terms as a log-sum-exp). The Gamma, Beta and digamma terms depend on
    ``x`` only and are evaluated once per distinct count (``counts``, from
    :func:`~attribution.clv.fitting.per_count`).

    Returns
    -------
    tuple of ndarray
        The log-likelihood per customer and, when ``grad``, its gradient (one row per
        customer; an empty ``(0, 4)`` array otherwise).
    """
    r, alpha, a, b = params
    lv, idx = counts if counts is not None else per_count(x)
    has = lv > 0
    lm1 = np.where(has, lv - 1, 0.0)  # keeps b + x - 1 > 0 where the second term is unused
    log_alpha = np.log(alpha)
    base = special.betaln(a, b)
    common = (special.gammaln(r + lv) - special.gammaln(r) + r * log_alpha)[idx]
    beta1 = (special.betaln(a, b + lv) - base)[idx]
    beta2 = np.where(has, special.betaln(a + 1, b + lm1) - base, -np.inf)[idx]
    log_aT = np.log(alpha + T)
    log_atx = np.log(alpha + tx)
    log_t1 = beta1 - (r + x) * log_aT
    log_t2 = beta2 - (r + x) * log_atx
    log_sum = np.logaddexp(log_t1, log_t2)
    ll = common + log_sum
    if not grad:
        return ll, np.empty((0, 4))
    w2 = np.exp(log_t2 - log_sum)
    w1 = 1.0 - w2
    psi = special.digamma
    shared = psi(a + b) - psi(a + b + lv)
    d_r = (psi(r + lv) - psi(r) + log_alpha)[idx] - w1 * log_aT - w2 * log_atx
    d_alpha = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + tx))
    d_a = shared[idx] + w2 / a
    d_b = (shared - psi(b))[idx] + w1 * psi(b + lv)[idx] + w2 * psi(b + lm1)[idx]
    return ll, np.column_stack([d_r, d_alpha, d_a, d_b])


def bgnbd_log_p_alive(
    params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Log probability that each customer is still active at ``T``.

    ``log P(alive) = -log(1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))`` (FHL 2005
    technical note): 0 for customers without repeat purchases, who can only drop out right
    after a purchase.
    """
    r, alpha, a, b = params
    has = x > 0
    xm1 = np.where(has, x - 1, 0.0)
    log_ratio = np.log(a) - np.log(b + xm1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    out: np.ndarray = -np.where(has, np.logaddexp(0.0, log_ratio), 0.0)
    return out


def bgnbd_expected_purchases(
    params: np.ndarray, t: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Compute expected purchases in ``(T, T + t]`` given the history (FHL 2005, eq. 10).

    ``(a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]
    * P(alive)`` with ``z = t/(alpha+T+t)``. The Gauss hypergeometric function is evaluated
    after Euler's transformation, ``2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z)``,
    which turns the bracket into ``1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``: the powers
    of ``1 - z`` cancel analytically and the series stays small for large ``x``. With
    ``x = t_x = T = 0`` this is the unconditional expectation E[X(t)] (eq. 9).

    Raises
    ------
    ModelError
        The expectation is not finite (``a = 1`` exactly is a removable singularity).
    """
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    bracket = 1.0 - np.exp((a - 1) * np.log1p(-z)) * hyp
    out: np.ndarray = (
        (a + b + x - 1) / (a - 1) * bracket * np.exp(bgnbd_log_p_alive(params, x, tx, T))
    )
    bad = ~np.isfinite(out)
    if bad.any():
        raise ModelError(
            f"The BG/NBD expectation is not finite for {int(bad.sum())} customers (a = {a:.6g}; "
            "a = 1 exactly is a removable singularity of eq. 10)."
        )
    return out


def _check_rfm(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> None:
    """Check the rules of a frequency / recency / age summary (arrays already broadcast)."""
    check_counts("frequency", x)
    check_finite("recency", tx)
    check_finite("T", T)
    refuse("recency", tx < 0, tx, "below 0", "recency is a time since the first purchase")
    refuse(
        "recency",
        tx > T * (1 + 1e-12),
        tx,
        "greater than T in the same row",
        "the last purchase cannot come after the end of observation",
    )
    refuse(
        "recency",
        (x == 0) & (tx != 0),
        tx,
        "other than 0 where frequency is 0",
        "a customer without repeat purchases has recency 0",
    )


def _check_t(t: np.ndarray) -> None:
    check_finite("t", t)
    refuse("t", t < 0, t, "below 0", "t is a length of time")


class BGNBD(FittedModel):
    """Beta-geometric / negative binomial model of repeat purchases (Fader, Hardie & Lee 2005).

    While active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)`` (shape, rate);
    after each purchase they become inactive with probability ``p ~ Beta(a, b)``. Fitting uses
    the closed-form likelihood of the paper (eq. 6) maximised over log parameters; the summary
    of each customer is ``frequency`` (repeat purchases), ``recency`` (time of the last purchase
    since the first) and ``T`` (time from the first purchase to the end of observation), all in
    one time unit (see :func:`~attribution.clv.frames.rfm_summary`). Matches the published
    CDNOW estimates.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters added to the mean negative log-likelihood (as lifetimes'
        ``penalizer_coef``); 0 is plain maximum likelihood.

    Attributes
    ----------
    params_ : dict
        ``r, alpha, a, b``.
    standard_errors_ : dict
        From the inverse Hessian of the (penalised) negative log-likelihood; NaN when it is not
        positive definite.
    summary_ : DataFrame
        ``param, estimate, standard_error, lower_95, upper_95`` (Wald intervals).
    log_likelihood_ : float
        Total log-likelihood at the estimate.
    n_customers_ : int
        Number of customers (sum of weights) fitted.

    Examples
    --------
    Simulate 3,000 customers observed for 39 weeks and recover the parameters:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> T = np.full(3000, 39.0)
    >>> lam, p = rng.gamma(0.25, 1 / 4.4, T.size), rng.beta(0.8, 2.4, T.size)
    >>> buys = rng.poisson(lam * T)
    >>> x = np.minimum(buys, rng.geometric(p))  # drop out after the K-th purchase
    >>> tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), buys - x + 1), 0.0)
    >>> m = BGNBD().fit(x, tx, T)
    >>> {k: round(v, 2) for k, v in m.params_.items()}  # drawn from 0.25, 4.4, 0.8, 2.4
    {'r': 0.24, 'alpha': 4.24, 'a': 0.64, 'b': 1.75}
    >>> float(m.p_alive(0, 0, 39.0))  # no repeat purchase: still active in the BG/NBD
    1.0
    """

    param_names = ("r", "alpha", "a", "b")

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        weights: ArrayLike | None = None,
    ) -> BGNBD:
        """Estimate ``r, alpha, a, b`` by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like
            One value per customer (lists, NumPy arrays, Polars or pandas Series).
        weights : array-like, optional
            Number of customers each row stands for (default 1).

        Returns
        -------
        BGNBD
            ``self``, fitted.

        Raises
        ------
        ValidationError
            Non-finite values, negative or fractional frequency, recency outside ``[0, T]``,
            or recency other than 0 where frequency is 0 (the rows are quoted).
        ModelError
            The optimiser did not converge.
        """
        pen = self._penalty()
        (x, tx, T_), w = fit_arrays(("frequency", "recency", "T"), (frequency, recency, T), weights)
        _check_rfm(x, tx, T_)
        if not (w[x > 0] > 0).any():
            raise ModelError(
                f"BG/NBD needs at least one repeat purchase (frequency > 0) to separate purchase "
                f"rates from drop-out; none of the {x.size} customers has one."
            )
        (x, tx, T_), w = compress_rows([x, tx, T_], w)

        counts = per_count(x)

        def loglik(p: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray]:
            return bgnbd_loglik(p, x, tx, T_, grad, counts)

        start = np.log([1.0, max(float(np.average(T_, weights=w)), 1e-3), 1.0, 1.0])
        params, se, ll = fit_ml(loglik, start, w, pen, "BG/NBD", self.param_names)
        self._store(params, se, ll, round(w.sum()))
        return self

    def _history(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *extra: np.ndarray
    ) -> list[np.ndarray]:
        arrays = [as_float(frequency, "frequency"), as_float(recency, "recency")]
        arrays += [as_float(T, "T"), *extra]
        try:
            out = list(np.broadcast_arrays(*arrays))
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValidationError(
                f"Inputs cannot be broadcast together: shapes {shapes}."
            ) from None
        flat = [np.ravel(a) for a in out[:3]]
        _check_rfm(*flat)
        return out

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray:
        """Predict the number of purchases in the next ``t`` time units, given each history.

        The conditional expectation of eq. 10 (Fader, Hardie & Lee 2005). Arguments broadcast
        against each other (e.g. ``t[:, None]`` against per-customer rows gives a grid).

        Parameters
        ----------
        t : float or array-like
            Length of the future period (>= 0), in the unit of ``recency`` and ``T``.
        frequency, recency, T : array-like
            The customers' summaries.

        Returns
        -------
        ndarray
            Expected purchases, the broadcast shape of the inputs.

        Examples
        --------
        >>> m = BGNBD()
        >>> m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> round(float(m.expected_purchases(39, 2, 30.43, 38.86)), 3)  # FHL 2005 worked example
        1.226
        """
        params = self._params()
        tt = as_float(t, "t")
        x, tx, T_, tb = self._history(frequency, recency, T, tt)
        _check_t(np.ravel(tb))
        return bgnbd_expected_purchases(params, tb, x, tx, T_)

    def expected_purchases_new(self, t: ArrayLike) -> np.ndarray:
        """Predict a new customer's purchases in the ``t`` time units after the first, E[X(t)].

        Eq. 9 of Fader, Hardie & Lee (2005): ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r
        2F1(r, b; a+b-1; t/(alpha+t))]``.

        Examples
        --------
        >>> m = BGNBD()
        >>> m.params_ = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}
        >>> round(float(m.expected_purchases_new(78.0)), 3)  # CDNOW, 78 weeks
        1.858
        """
        params = self._params()
        tt = np.asarray(as_float(t, "t"))
        _check_t(np.ravel(tt))
        zero = np.zeros_like(tt)
        return bgnbd_expected_purchases(params, tt, zero, zero, zero)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Probability that each customer is still active at the end of observation.

        ``1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))`` (FHL 2005 technical note);
        1 for customers without repeat purchases, since in the BG/NBD a customer can only drop
        out right after a purchase.

        Examples
        --------
        >>> m = BGNBD()
        >>> m.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> m.p_alive([0, 2], [0, 30.43], [38.86, 38.86]).round(3).tolist()
        [1.0, 0.727]
        """
        params = self._params()
        x, tx, T_ = self._history(frequency, recency, T)
        out: np.ndarray = np.exp(bgnbd_log_p_alive(params, x, tx, T_))
        return out

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Each customer's log-likelihood under the fitted parameters (eq. 6)."""
        params = self._params()
        x, tx, T_ = self._history(frequency, recency, T)
        return bgnbd_loglik(params, x, tx, T_)[0]
