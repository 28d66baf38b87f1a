"""Binary-outcome GLMs on weighted rows: link functions, one Newton solver, the linear fitter.

Rows carry weights of both outcomes (a journey, or a unique path with its conversions and
non-conversions); :func:`stack_outcomes` turns them into weighted samples. Two links are known
(:data:`LINKS`):

- ``"logistic"``: ``p = 1 / (1 + e^-η)``;
- ``"noisy_or"``: ``p = 1 − e^-η`` with ``η > 0`` (independent causes, each of which may
  convert on its own).

:func:`newton_glm` minimises the weighted mean negative log-likelihood plus an L2 penalty by
Newton's method with backtracking (both losses are convex in ``η``); :func:`fit_linear` keeps
the coefficients non-negative by an active-set loop around it. Feature matrices may be sparse
(CSR, for many channels): the Hessian ``Xᵀ W X`` is then a sparse product and each Newton step
is solved by conjugate gradients (:func:`newton_step`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import cho_factor, cho_solve
from scipy.sparse.linalg import cg

from attribution.models.features import Features

__all__ = [
    "LINKS",
    "fit_linear",
    "link_derivatives",
    "link_loss",
    "link_probability",
    "newton_glm",
    "newton_step",
    "sigmoid",
    "stack_outcomes",
]

#: The links of the linear conversion models.
LINKS: tuple[str, ...] = ("logistic", "noisy_or")
_DENSE_NEWTON = 4_500  # Newton systems up to this size are solved densely (Cholesky)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + e^-z)``, computed through ``tanh`` (no overflow).

    Examples
    --------
    >>> import numpy as np
    >>> sigmoid(np.array([0.0, 800.0])).tolist()
    [0.5, 1.0]
    """
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def link_probability(eta: np.ndarray, link: str) -> np.ndarray:
    """Conversion probability at linear predictor ``eta`` (the inverse link).

    Examples
    --------
    >>> import numpy as np
    >>> link_probability(np.array([0.0, np.log(2.0)]), "noisy_or").tolist()
    [0.0, 0.5]
    """
    if link == "logistic":
        return sigmoid(eta)
    return -np.expm1(-np.maximum(eta, 0.0))


def link_loss(eta: np.ndarray, y: np.ndarray, link: str) -> np.ndarray:
    """Per-sample negative log-likelihood at linear predictor ``eta``."""
    if link == "logistic":
        return np.logaddexp(0.0, eta) - y * eta
    with np.errstate(divide="ignore", invalid="ignore"):
        # p = 1 - exp(-eta): y = 1 costs -log(1 - e^-eta), y = 0 costs eta; eta must be > 0
        pos_cost = -np.log(-np.expm1(-np.maximum(eta, 0.0)))
    return np.where(eta > 0, np.where(y > 0, pos_cost, eta), np.inf)


def link_derivatives(eta: np.ndarray, y: np.ndarray, link: str) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivatives of :func:`link_loss` in ``eta``."""
    if link == "logistic":
        mu = sigmoid(eta)
        return mu - y, mu * (1 - mu)
    em1 = np.expm1(np.maximum(eta, 1e-300))  # e^eta - 1 > 0
    d1 = np.where(y > 0, -1.0 / em1, 1.0)
    d2 = np.where(y > 0, (em1 + 1.0) / (em1 * em1), 0.0)
    return d1, d2


def stack_outcomes(
    x: Features, pos: np.ndarray, neg: np.ndarray
) -> tuple[Features, np.ndarray, np.ndarray]:
    """Rows with both outcomes as two weighted samples (y = 1 with ``pos``, y = 0 with ``neg``).

    Returns
    -------
    xs, y, w : ndarray
        The rows with ``pos > 0`` (outcome 1), then the rows with ``neg > 0`` (outcome 0),
        and the weight of each sample.

    Examples
    --------
    >>> import numpy as np
    >>> xs, y, w = stack_outcomes(np.array([[1.0], [2.0]]), np.array([3.0, 0.0]),
    ...                           np.array([1.0, 5.0]))
    >>> xs.ravel().tolist(), y.tolist(), w.tolist()
    ([1.0, 1.0, 2.0], [1.0, 0.0, 0.0], [3.0, 1.0, 5.0])
    """
    has_pos, has_neg = pos > 0, neg > 0
    if sp.issparse(x):
        xs: Features = sp.vstack([x[has_pos], x[has_neg]], format="csr")
    else:
        xs = np.vstack([x[has_pos], x[has_neg]])
    y = np.concatenate([np.ones(int(has_pos.sum())), np.zeros(int(has_neg.sum()))])
    w = np.concatenate([pos[has_pos], neg[has_neg]])
    return xs, y, w


def newton_step(hess: np.ndarray | sp.csr_matrix, grad: np.ndarray) -> np.ndarray:
    """Solve ``hess · step = grad`` for a symmetric positive definite Hessian.

    A dense ``hess`` is factored by Cholesky (LAPACK), reading its upper triangle only; a
    sparse one is solved by conjugate gradients preconditioned by its diagonal, to a relative
    residual of ``1e-12``.
    """
    if not sp.issparse(hess):
        try:
            factor = cho_factor(hess, lower=False, check_finite=False)
            return np.asarray(cho_solve(factor, grad, check_finite=False))
        except np.linalg.LinAlgError:  # pragma: no cover - singular despite the ridge
            full = np.triu(hess) + np.triu(hess, 1).T
            return np.asarray(np.linalg.lstsq(full, grad, rcond=None)[0])
    p = hess.shape[0]
    diag = hess.diagonal()
    precond = sp.diags(1.0 / np.where(diag > 0, diag, 1.0))
    step, _ = cg(hess, grad, rtol=1e-12, atol=0.0, maxiter=10 * p, M=precond)
    return np.asarray(step)


class _Gram:
    """``Xᵀ diag(v) X`` of a fixed CSR ``X`` with a leading column of ones, for any ``v``.

    The products of every pair of entries of a row are listed once (upper triangle, without
    the ones column, whose row of the Gram matrix is ``Xᵀ v``); each call sums them with the
    row weights into the fixed pattern (one ``bincount``).
    """

    def __init__(self, x: sp.csr_matrix) -> None:
        x = sp.csr_matrix(x)
        x.sort_indices()
        self.x, self.x_t = x, x.T.tocsr()
        q = x.shape[1]
        lengths = np.diff(x.indptr)
        per_row = lengths * lengths
        row = np.repeat(np.arange(x.shape[0]), per_row)
        within = np.arange(int(per_row.sum())) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        span = lengths[row]
        ia = x.indptr[row] + within // np.maximum(span, 1)
        ib = x.indptr[row] + within % np.maximum(span, 1)
        upper = x.indices[ia] <= x.indices[ib]
        ia, ib, self.row = ia[upper], ib[upper], row[upper]
        self.prod = x.data[ia] * x.data[ib]
        self.size = q + 1
        if self.size <= _DENSE_NEWTON:  # summed straight into the dense upper triangle
            self.target = (x.indices[ia].astype(np.int64) + 1) * self.size + x.indices[ib] + 1
            self.a = self.b = np.zeros(0, dtype=np.int64)
        else:
            flat = x.indices[ia].astype(np.int64) * q + x.indices[ib]
            keys, self.target = np.unique(flat, return_inverse=True)
            self.a, self.b = keys // q, keys % q

    def __call__(self, v: np.ndarray, diagonal: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """Return the Gram matrix of ``[1, X]`` weighted by ``v``, plus ``diag(diagonal)``.

        Dense (its upper triangle only; the lower one is 0) up to ``_DENSE_NEWTON`` columns,
        else a symmetric CSR matrix.
        """
        q = self.size
        weights = self.prod * v[self.row]
        side = self.x_t @ v
        if q <= _DENSE_NEWTON:
            h = np.bincount(self.target, weights=weights, minlength=q * q).reshape(q, q)
            h[0, 0] = v.sum()
            h[0, 1:] = side
            h[np.diag_indices(q)] += diagonal
            return h
        vals = np.bincount(self.target, weights=weights, minlength=len(self.a))
        off = self.a != self.b
        rows = np.concatenate([self.a + 1, self.b[off] + 1, np.zeros(q - 1, int), np.arange(1, q)])
        cols = np.concatenate([self.b + 1, self.a[off] + 1, np.arange(1, q), np.zeros(q - 1, int)])
        data = np.concatenate([vals, vals[off], side, side])
        h = sp.csr_matrix((data, (rows, cols)), shape=(q, q))
        return (h + sp.diags(np.r_[v.sum(), np.zeros(q - 1)] + diagonal)).tocsr()


def _newton_sparse(
    x: sp.csr_matrix,
    y: np.ndarray,
    w: np.ndarray,
    alpha: float,
    link: str,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`newton_glm` for a CSR ``x``: sparse products, the line search on ``η``.

    The same iteration as the dense one: Newton steps (:func:`newton_step` on the sparse
    Hessian ``Xᵀ W X``), Armijo backtracking by halves (for ``"noisy_or"``, halving first
    until every ``η`` stays positive, where the loss is finite), the same stopping rules.
    ``start`` (``[b, β...]``) is where Newton starts when its loss is finite there.
    """
    n, p = x.shape
    xt = sp.hstack([np.ones((n, 1)), x], format="csr")
    xt_t = xt.T.tocsr()
    gram = _Gram(x)
    wn = w / w.sum()
    pen = np.full(p + 1, alpha)
    pen[0] = 0.0
    theta = np.zeros(p + 1)
    rate = float(np.clip((wn * y).sum(), 1e-9, 1 - 1e-9))
    theta[0] = np.log(rate / (1 - rate)) if link == "logistic" else -np.log1p(-rate)

    def objective(eta: np.ndarray, t: np.ndarray) -> float:
        return float((wn * link_loss(eta, y, link)).sum() + 0.5 * (pen * t * t).sum())

    eta = xt @ theta
    f = objective(eta, theta)
    if start is not None:
        warm = xt @ start
        f_warm = objective(warm, start)
        if np.isfinite(f_warm) and f_warm < f:
            theta, eta, f = start.astype(np.float64), warm, f_warm
    for _ in range(200):
        d1, d2 = link_derivatives(eta, y, link)
        grad = xt_t @ (wn * d1) + pen * theta
        step = newton_step(gram(wn * d2, pen + 1e-12), grad)
        d_eta = xt @ step
        t = 1.0
        if link == "noisy_or":  # η − t dη > 0 wherever dη > 0
            up = d_eta > 0
            if up.any():
                t_max = float(np.min(eta[up] / d_eta[up]))
                while t >= t_max and t >= 1e-10:
                    t *= 0.5
        decrease = float(grad @ -step)
        while True:
            cand = theta - t * step
            f_new = objective(eta - t * d_eta, cand)
            if f_new <= f + 1e-4 * t * decrease or t < 1e-10:
                break
            t *= 0.5
        if not np.isfinite(f_new):  # pragma: no cover - no finite step
            break
        theta, f_old, f = cand, f, f_new
        eta = xt @ theta
        if float(np.abs(t * step).max()) < 1e-9 or f_old - f < 1e-13 * max(abs(f), 1.0):
            break
    return theta


def newton_glm(
    x: Features,
    y: np.ndarray,
    w: np.ndarray,
    alpha: float,
    link: str,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Minimise ``Σ w loss(η, y) / Σ w + alpha / 2 * ||β||²`` over ``η = b + x β``.

    ``link`` is ``"logistic"`` (``p = 1 / (1 + e^-η)``) or ``"noisy_or"`` (``p = 1 − e^-η``,
    ``η > 0``). Newton's method with backtracking (both losses are convex in ``η``); returns
    ``[b, β...]``. The intercept is not penalised. For a sparse ``x``, ``start`` (a previous
    solution) is where Newton starts when it is better than the default (the objective is
    strictly convex, so the minimum is the same).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [0.0], [1.0], [1.0]])
    >>> theta = newton_glm(x, np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0, 3.0, 3.0, 1.0]),
    ...                    1e-12, "logistic")
    >>> np.round(theta, 6).tolist()  # log odds 1:3, then 3:1
    [-1.098612, 2.197225]
    """
    if sp.issparse(x):
        return _newton_sparse(sp.csr_matrix(x), y, w, alpha, link, start)
    n, p = x.shape
    xt = np.hstack([np.ones((n, 1)), x])
    wn = w / w.sum()
    pen = np.full(p + 1, alpha)
    pen[0] = 0.0
    theta = np.zeros(p + 1)
    rate = float(np.clip((wn * y).sum(), 1e-9, 1 - 1e-9))
    theta[0] = np.log(rate / (1 - rate)) if link == "logistic" else -np.log1p(-rate)

    def objective(t: np.ndarray) -> float:
        return float((wn * link_loss(xt @ t, y, link)).sum() + 0.5 * (pen * t * t).sum())

    f = objective(theta)
    for _ in range(200):
        d1, d2 = link_derivatives(xt @ theta, y, link)
        grad = xt.T @ (wn * d1) + pen * theta
        hess = (xt * (wn * d2)[:, None]).T @ xt + np.diag(pen)
        hess[np.diag_indices_from(hess)] += 1e-12
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:  # pragma: no cover - singular despite the ridge
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:
            cand = theta - t * step
            f_new = objective(cand)
            if f_new <= f + 1e-4 * t * float(grad @ -step) or t < 1e-10:
                break
            t *= 0.5
        if not np.isfinite(f_new):  # pragma: no cover - no finite step
            break
        theta, f_old, f = cand, f, f_new
        if float(np.abs(t * step).max()) < 1e-9 or f_old - f < 1e-13 * max(abs(f), 1.0):
            break
    return theta


def fit_linear(
    x: Features,
    pos: np.ndarray,
    neg: np.ndarray,
    alpha: float,
    link: str,
    start: tuple[float, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """Weighted L2-penalised GLM with non-negative coefficients.

    Columns whose coefficient comes out negative are dropped (held at 0) and the rest refitted,
    until every coefficient is ``≥ 0`` (an active-set loop; touches cannot lower the chance
    to convert).

    Parameters
    ----------
    x : ndarray or csr_matrix, shape (n_rows, n_features)
        Features of each row (non-negative).
    pos, neg : ndarray, shape (n_rows,)
        Weight of the row's conversions and of its non-conversions.
    alpha : float
        L2 penalty (per unit weight: the objective is the mean loss plus ``alpha / 2 ||β||²``).
    link : {"logistic", "noisy_or"}
        The link (module docstring).
    start : (float, ndarray), optional
        A previous ``(intercept, coef)`` to start Newton from (sparse ``x`` and the logistic
        link, where each refit of the active-set loop also starts from the fit before it).

    Returns
    -------
    intercept : float
    coef : ndarray, shape (n_features,)
        All ``≥ 0``; a column that never takes a positive value keeps 0.
    """
    p = x.shape[1]
    coef = np.zeros(p)
    if sp.issparse(x):
        active = (
            np.asarray(x.max(axis=0).todense()).ravel() > 0 if x.shape[0] else np.zeros(p, bool)
        )
    else:
        active = x.max(axis=0, initial=0.0) > 0
    xs, y, w = stack_outcomes(x, pos, neg)
    intercept = 0.0
    # warm starts for the logistic link only: the noisy-OR optimum often lies at the edge of
    # its domain (η → 0), where Newton stops depends on where it started
    warm = sp.issparse(x) and link == "logistic"
    if warm and start is not None:
        intercept, coef[:] = start[0], np.maximum(start[1], 0.0)
    for round_ in range(p + 1):
        idx = np.flatnonzero(active)
        started = warm and (start is not None or round_ > 0)
        theta = newton_glm(
            xs[:, idx], y, w, alpha, link, np.r_[intercept, coef[idx]] if started else None
        )
        intercept, beta = float(theta[0]), theta[1:]
        coef[:] = 0.0
        coef[idx] = beta
        if (beta >= 0).all():
            break
        active[idx[beta < 0]] = False
    return intercept, coef
