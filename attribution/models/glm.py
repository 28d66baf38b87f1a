"""Binary-outcome GLMs on weighted rows: link functions, one Newton solver, the linear fitter.

Rows carry weights of both outcomes (a journey, or a unique path with its conversions and
non-conversions); :func:`stack_outcomes` turns them into weighted samples. Two links are known
(:data:`LINKS`):

- ``"logistic"``: ``p = 1 / (1 + e^-η)``;
- ``"noisy_or"``: ``p = 1 − e^-η`` with ``η > 0`` (independent causes, each of which may
  convert on its own).

:func:`newton_glm` minimises the weighted mean negative log-likelihood plus an L2 penalty by
Newton's method with backtracking (both losses are convex in ``η``); :func:`fit_linear` keeps
the coefficients non-negative by an active-set loop around it.

Feature matrices may be sparse (``scipy.sparse`` CSR, for many channels). The Newton iteration
then never forms the Hessian: each step is solved by conjugate gradients on Hessian-vector
products (two sparse products each), preconditioned by its diagonal (a dense ``p × p``
factorisation on every step would cost ``p³``); the active-set loop starts each refit from the
previous coefficients, and callers may pass a start (a warm start from a nearby fit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from attribution.models.features import Features, is_sparse

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "LINKS",
    "fit_linear",
    "link_derivatives",
    "link_loss",
    "link_probability",
    "newton_glm",
    "sigmoid",
    "stack_outcomes",
]

#: The links of the linear conversion models.
LINKS: tuple[str, ...] = ("logistic", "noisy_or")
_DENSE_STEP = 600  # sparse features: fewer columns than this, Newton steps solved densely


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
    if is_sparse(x):
        import scipy.sparse as sp

        xs: Features = sp.vstack([x[has_pos], x[has_neg]], format="csr")
    else:
        xs = np.vstack([x[has_pos], x[has_neg]])
    y = np.concatenate([np.ones(int(has_pos.sum())), np.zeros(int(has_neg.sum()))])
    w = np.concatenate([pos[has_pos], neg[has_neg]])
    return xs, y, w


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
    ``[b, β...]``. The intercept is not penalised. A sparse ``x`` takes the sparse steps of
    the module docstring, starting from ``start`` (``[b, β...]``) when its loss is finite.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [0.0], [1.0], [1.0]])
    >>> theta = newton_glm(x, np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0, 3.0, 3.0, 1.0]),
    ...                    1e-12, "logistic")
    >>> np.round(theta, 6).tolist()  # log odds 1:3, then 3:1
    [-1.098612, 2.197225]
    """
    if is_sparse(x):
        return _newton_sparse(x, y, w, alpha, link, start)
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


def _newton_sparse(
    x: sp.csr_matrix,
    y: np.ndarray,
    w: np.ndarray,
    alpha: float,
    link: str,
    start: np.ndarray | None,
) -> np.ndarray:
    """:func:`newton_glm` of a CSR ``x``: Hessian-free Newton steps by conjugate gradients.

    From 600 columns, the Hessian ``Xᵀ W X + diag(pen)`` is applied as two sparse products per
    iteration, never formed; the conjugate gradients are preconditioned by its diagonal and
    solved to the relative residual of :func:`_cg_tolerance`. Below, it is a sparse product
    solved densely, as the dense iteration does (the noisy-OR's unconstrained optimum can lie
    where some ``η → 0``, and there the iterates follow the steps closely). The line search
    and the stopping rules are those of the dense iteration.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import LinearOperator, cg

    p = x.shape[1]
    x = sp.csr_matrix(x)
    x_t = sp.csr_matrix(x.T)
    x_sq_t = sp.csr_matrix(x.multiply(x).T)
    wn = w / w.sum()
    pen = np.full(p + 1, alpha)
    pen[0] = 0.0
    rate = float(np.clip((wn * y).sum(), 1e-9, 1 - 1e-9))

    def eta_of(t: np.ndarray) -> np.ndarray:
        return np.asarray(t[0] + x @ t[1:])

    def objective_at(eta: np.ndarray, t: np.ndarray) -> float:
        return float((wn * link_loss(eta, y, link)).sum() + 0.5 * (pen * t * t).sum())

    theta = np.zeros(p + 1)
    theta[0] = np.log(rate / (1 - rate)) if link == "logistic" else -np.log1p(-rate)
    eta = eta_of(theta)
    f = objective_at(eta, theta)
    if start is not None and len(start) == p + 1:
        eta_start = eta_of(start)
        f_start = objective_at(eta_start, start)
        if np.isfinite(f_start) and f_start < f:
            theta, eta, f = start.astype(np.float64, copy=True), eta_start, f_start
    for _ in range(200):
        d1, d2 = link_derivatives(eta, y, link)
        r1, r2 = wn * d1, wn * d2
        grad = np.r_[r1.sum(), x_t @ r1] + pen * theta
        diag = np.r_[r2.sum(), x_sq_t @ r2] + pen + 1e-12

        if p < _DENSE_STEP:  # a small system: formed and solved as the dense iteration does
            side = x_t @ r2
            hess = np.empty((p + 1, p + 1))
            hess[0, 0] = r2.sum()
            hess[0, 1:] = hess[1:, 0] = side
            hess[1:, 1:] = (x_t @ sp.diags(r2) @ x).toarray()
            hess += np.diag(pen)
            hess[np.diag_indices_from(hess)] += 1e-12
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:  # pragma: no cover - singular despite the ridge
                step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        else:

            def hess_times(v: np.ndarray, r2: np.ndarray = r2) -> np.ndarray:
                u = r2 * (v[0] + x @ v[1:])
                return np.r_[u.sum(), x_t @ u] + (pen + 1e-12) * v

            op = LinearOperator((p + 1, p + 1), matvec=hess_times, dtype=np.float64)
            precond = LinearOperator(
                (p + 1, p + 1),
                matvec=lambda v, d=diag: v / np.where(d > 0, d, 1.0),
                dtype=np.float64,
            )
            step, _ = cg(
                op, grad, rtol=_cg_tolerance(grad, link), atol=0.0, maxiter=10 * (p + 1), M=precond
            )
        x_step = step[0] + x @ step[1:]
        t = 1.0
        slope = float(grad @ -step)
        while True:
            cand_eta = eta - t * x_step
            cand = theta - t * step
            f_new = objective_at(cand_eta, cand)
            if f_new <= f + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        if not np.isfinite(f_new):  # pragma: no cover - no finite step
            break
        theta, eta, f_old, f = cand, cand_eta, f, f_new
        if float(np.abs(t * step).max()) < 1e-9 or f_old - f < 1e-13 * max(abs(f), 1.0):
            break
    return theta


def _cg_tolerance(grad: np.ndarray, link: str) -> float:
    """Relative residual a conjugate-gradient Newton step is solved to.

    The logistic loss is strictly convex with a unique optimum, so its steps may be inexact
    while the gradient is large (``min(0.1, √‖g‖)``, at least ``1e-10``: the forcing terms of
    an inexact Newton method, which converges to the same point). The noisy-OR's iterates can
    approach the edge ``η → 0``, where they follow the steps closely: ``1e-10``.
    """
    if link != "logistic":
        return 1e-10
    return max(1e-10, min(0.1, float(np.sqrt(np.sqrt(grad @ grad)))))


def fit_linear(
    x: Features, pos: np.ndarray, neg: np.ndarray, alpha: float, link: str
) -> tuple[float, np.ndarray]:
    """Weighted L2-penalised GLM with non-negative coefficients.

    Columns whose coefficient comes out negative are dropped (held at 0) and the rest refitted,
    until every coefficient is ``≥ 0`` (an active-set loop; touches cannot lower the chance
    to convert).

    Parameters
    ----------
    x : ndarray or csr_matrix, shape (n_rows, n_features)
        Features of each row (a sparse matrix takes the sparse Newton steps).
    pos, neg : ndarray, shape (n_rows,)
        Weight of the row's conversions and of its non-conversions.
    alpha : float
        L2 penalty (per unit weight: the objective is the mean loss plus ``alpha / 2 ||β||²``).
    link : {"logistic", "noisy_or"}
        The link (module docstring).

    Returns
    -------
    intercept : float
    coef : ndarray, shape (n_features,)
        All ``≥ 0``; a column that never takes a positive value keeps 0.
    """
    p = x.shape[1]
    coef = np.zeros(p)
    sparse = is_sparse(x)
    if sparse:
        import scipy.sparse as sp

        x = sp.csr_matrix(x)
        top = np.zeros(p)
        if x.nnz:
            np.maximum.at(top, x.indices, x.data)
        active = top > 0
    else:
        active = x.max(axis=0, initial=0.0) > 0
    xs, y, w = stack_outcomes(x, pos, neg)
    if sparse:
        xs = sp.csc_matrix(xs)  # cheap column subsets
    intercept = 0.0
    start: np.ndarray | None = None
    for _ in range(p + 1):
        idx = np.flatnonzero(active)
        if sparse and start is not None:
            start = np.r_[intercept, coef[idx]]
        theta = newton_glm(xs[:, idx], y, w, alpha, link, start)
        start = theta
        intercept, beta = float(theta[0]), theta[1:]
        coef[:] = 0.0
        coef[idx] = beta
        if (beta >= 0).all():
            break
        active[idx[beta < 0]] = False
    return intercept, coef
