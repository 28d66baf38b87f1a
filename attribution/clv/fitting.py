"""Maximum-likelihood fitting shared by the customer-value models.

Both :class:`~attribution.clv.bg_nbd.BGNBD` and :class:`~attribution.clv.gamma_gamma.GammaGamma`
maximise a closed-form log-likelihood over log parameters with analytic gradients. This module
holds what they share:

* reading and checking the per-customer arrays (:func:`as_float`, :func:`fit_arrays`,
  :func:`refuse` and the checks built on it), with messages that quote the offending rows;
* :func:`compress_rows`: identical rows merged into one with a weight (the likelihood depends
  on the values only), and :func:`per_count`, so that special functions run once per distinct
  purchase count;
* :func:`fit_ml`: BFGS, a Newton polish, standard errors from the inverse Hessian
  (:func:`hessian`) and a warning when estimates run to the edge of the parameter space;
* :class:`FittedModel`: the base class with estimator manners (hyperparameters in
  ``__init__``, ``fit`` returns ``self``, learned state ends in ``_``, predicting before
  ``fit`` is a clear error).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import polars as pl
from scipy import optimize, special

from attribution._base.errors import (
    EmptyInputError,
    ModelError,
    SchemaError,
    ValidationError,
    describe_rows,
)

__all__ = [
    "ArrayLike",
    "FittedModel",
    "as_float",
    "check_counts",
    "check_finite",
    "compress_rows",
    "fit_arrays",
    "fit_ml",
    "hessian",
    "per_count",
    "refuse",
    "same_length",
    "summary_frame",
]

#: Per-customer values: a list, a NumPy array, a Polars or pandas Series, or a scalar.
ArrayLike = Any


# --------------------------------------------------------------------------------------------
# input checks on arrays


def as_float(values: ArrayLike, name: str) -> np.ndarray:
    """One float array from a list, NumPy array, Polars or pandas Series (nulls become NaN)."""
    if isinstance(values, pl.Series):
        if not (values.dtype.is_numeric() or values.dtype == pl.Null):
            raise SchemaError(f"{name} has type {values.dtype}; expected numbers.")
        return values.cast(pl.Float64).to_numpy().astype(float, copy=False)
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise SchemaError(f"{name} must hold numbers; could not read it as floats.") from None


def refuse(name: str, mask: np.ndarray, values: np.ndarray, what: str, rule: str) -> None:
    """Raise a ValidationError quoting up to five offending rows of ``values``."""
    if not mask.any():
        return
    rows = np.flatnonzero(mask)
    n = rows.size
    quoted = describe_rows(rows[:5].tolist(), values=values[rows[:5]].tolist(), total=n)
    noun = "value" if n == 1 else "values"
    raise ValidationError(f"{name} has {n} {noun} {what} ({quoted}); {rule}.")


def check_finite(name: str, a: np.ndarray) -> None:
    """Refuse missing or infinite values."""
    refuse(name, ~np.isfinite(a), a, "that are missing or not finite", "values must be finite")


def check_counts(name: str, x: np.ndarray) -> None:
    """Refuse purchase counts that are not whole numbers >= 0."""
    check_finite(name, x)
    refuse(
        name,
        (x < 0) | (x != np.round(x)),
        x,
        "that are negative or not whole",
        "frequency counts repeat purchases, a whole number >= 0",
    )


def same_length(names: tuple[str, ...], arrays: tuple[np.ndarray, ...]) -> None:
    """Refuse arrays that are not 1-D or not of one length, naming their shapes."""
    sizes = [a.size for a in arrays]
    if any(a.ndim != 1 for a in arrays) or len(set(sizes)) > 1:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrays, strict=True))
        raise ValidationError(f"{', '.join(names)} must be 1-D arrays of one length; got {shapes}.")


def fit_arrays(
    names: tuple[str, ...], values: tuple[ArrayLike, ...], weights: ArrayLike | None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Read the columns a model is fitted on, and their weights (default 1 per row).

    Raises
    ------
    ValidationError
        Arrays of different lengths, or weights that are not finite or below 0.
    EmptyInputError
        No rows, or every weight is 0.
    """
    arrays = tuple(np.atleast_1d(as_float(v, n)) for n, v in zip(names, values, strict=True))
    same_length(names, arrays)
    if arrays[0].size == 0:
        raise EmptyInputError(f"Nothing to fit: {names[0]} is empty.")
    if weights is None:
        w = np.ones(arrays[0].size)
    else:
        w = np.atleast_1d(as_float(weights, "weights"))
        same_length((*names, "weights"), (*arrays, w))
        check_finite("weights", w)
        refuse("weights", w < 0, w, "below 0", "weights count customers, >= 0")
        if not w.sum() > 0:
            raise EmptyInputError("Nothing to fit: every weight is 0.")
    return list(arrays), w


def compress_rows(columns: list[np.ndarray], w: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Merge identical rows, summing their weights (the likelihood depends on values only)."""
    keep = w > 0
    stacked = np.column_stack([c[keep] for c in columns])
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w[keep], minlength=uniq.shape[0])
    return [uniq[:, j] for j in range(uniq.shape[1])], counts


def per_count(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct counts and each row's index into them: special functions run once per count."""
    levels, index = np.unique(x, return_inverse=True)
    return levels, index.ravel()


# --------------------------------------------------------------------------------------------
# maximum likelihood


def hessian(
    grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, h: np.ndarray
) -> np.ndarray:
    """Central-difference Hessian of a function from its analytic gradient (symmetrised)."""
    k = theta.size
    out = np.empty((k, k))
    for j in range(k):  # k is the number of parameters (3 or 4), not data rows
        step = np.zeros(k)
        step[j] = h[j]
        out[:, j] = (grad(theta + step) - grad(theta - step)) / (2 * h[j])
    return (out + out.T) / 2


def fit_ml(
    loglik: Callable[[np.ndarray, bool], tuple[np.ndarray, np.ndarray]],
    start: np.ndarray,
    weights: np.ndarray,
    penalizer: float,
    model: str,
    names: tuple[str, ...],
) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximise the weighted log-likelihood over log parameters.

    The objective is the mean negative log-likelihood plus ``penalizer * sum(params ** 2)``
    (the penalty of lifetimes' fitters).

    Parameters
    ----------
    loglik : callable
        ``loglik(params, grad)`` -> per-row log-likelihood and, when ``grad``, its gradient
        in the parameters (one row per data row).
    start : ndarray
        Starting point, log parameters.
    weights : ndarray
        Customers each row stands for.
    penalizer : float
        L2 penalty (>= 0).
    model : str
        The model's name in messages.
    names : tuple of str
        The parameters' names in messages.

    Returns
    -------
    tuple
        The parameters, their standard errors from the inverse Hessian of the total objective
        (NaN when it is not positive definite) and the total log-likelihood.

    Raises
    ------
    ModelError
        The optimiser did not converge.
    """
    total = float(weights.sum())

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        ll, grad = loglik(params, True)
        value = -float(weights @ ll) / total + penalizer * float(params @ params)
        g = -(weights @ grad) / total * params + 2 * penalizer * params * params
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return value, g

    res = optimize.minimize(
        objective, start, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000}
    )
    theta = res.x
    # BFGS stops on "precision loss" near the optimum; a few Newton steps on the exact
    # gradient polish the estimate to the last digits.
    for _ in range(20):
        g = objective(theta)[1]
        if np.max(np.abs(g)) < 1e-11:
            break
        hess = hessian(lambda th: objective(th)[1], theta, np.full(theta.size, 1e-5))
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or np.max(np.abs(step)) > 1.0:
            break
        candidate = theta - step
        if objective(candidate)[0] > objective(theta)[0] + 1e-12:
            break
        theta = candidate
    grad_norm = float(np.max(np.abs(objective(theta)[1])))
    if not np.isfinite(objective(theta)[0]) or grad_norm > 1e-5:
        raise ModelError(
            f"{model} maximum likelihood did not converge ({res.message}; largest gradient "
            f"{grad_norm:.3g}). The data may not identify the model (e.g. no repeat purchases); "
            "try penalizer > 0."
        )
    params = np.exp(theta)
    edge = np.abs(theta) > np.log(1e6)
    if edge.any():
        which = ", ".join(
            f"{k} = {v:.3g}" for k, v, e in zip(names, params, edge, strict=True) if e
        )
        warnings.warn(
            f"{model} estimates are at the edge of the parameter space ({which}): the data do "
            "not identify the model well (e.g. no heterogeneity or no drop-out); predictions "
            "may be unstable. Check the data, or try a penalizer (0.001 to 0.1).",
            UserWarning,
            stacklevel=4,
        )

    def total_grad(p: np.ndarray) -> np.ndarray:
        out: np.ndarray = -(weights @ loglik(p, True)[1]) + 2 * penalizer * total * p
        return out

    hess = hessian(total_grad, params, 1e-5 * params)
    se = np.full(params.size, np.nan)
    if np.all(np.isfinite(hess)) and np.all(np.linalg.eigvalsh(hess) > 0):
        se = np.sqrt(np.diag(np.linalg.inv(hess)))
    return params, se, float(weights @ loglik(params, False)[0])


def summary_frame(names: tuple[str, ...], params: np.ndarray, se: np.ndarray) -> pl.DataFrame:
    """``param, estimate, standard_error, lower_95, upper_95`` (Wald intervals; NaN as null)."""
    z = float(special.ndtri(0.975))
    return pl.DataFrame(
        {
            "param": list(names),
            "estimate": params,
            "standard_error": se,
            "lower_95": params - z * se,
            "upper_95": params + z * se,
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))


class FittedModel:
    """Parameters, standard errors and the fitted-state check shared by the models.

    Subclasses name their parameters in ``param_names``, check the penalizer with
    :meth:`_penalty` when ``fit`` starts, store the estimate with :meth:`_store` and read it
    back with :meth:`_params` (which refuses a model that is not fitted yet).

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters added to the mean negative log-likelihood (as lifetimes'
        ``penalizer_coef``); 0 is plain maximum likelihood.
    """

    #: The parameters, in the order of the log-likelihood kernel.
    param_names: ClassVar[tuple[str, ...]] = ()
    params_: dict[str, float]
    standard_errors_: dict[str, float]
    summary_: pl.DataFrame
    log_likelihood_: float
    n_customers_: int

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def _store(self, params: np.ndarray, se: np.ndarray, ll: float, n: int) -> None:
        names = self.param_names
        self.params_ = {k: float(v) for k, v in zip(names, params, strict=True)}
        self.standard_errors_ = {k: float(v) for k, v in zip(names, se, strict=True)}
        self.summary_ = summary_frame(names, params, se)
        self.log_likelihood_ = ll
        self.n_customers_ = n

    def _params(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise ModelError(f"{type(self).__name__} is not fitted yet; call fit(...) first.")
        return np.array([self.params_[k] for k in self.param_names])

    def _penalty(self) -> float:
        pen = float(self.penalizer)
        if not (np.isfinite(pen) and pen >= 0):
            raise ValidationError(
                f"penalizer must be a finite number >= 0; got {self.penalizer!r}."
            )
        return pen

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}(penalizer={self.penalizer!r})"
        fitted = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}(penalizer={self.penalizer!r}) fitted: {fitted}"
