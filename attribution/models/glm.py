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
"""

from __future__ import annotations

import numpy as np

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
    x: np.ndarray, pos: np.ndarray, neg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    xs = np.vstack([x[has_pos], x[has_neg]])
    y = np.concatenate([np.ones(int(has_pos.sum())), np.zeros(int(has_neg.sum()))])
    w = np.concatenate([pos[has_pos], neg[has_neg]])
    return xs, y, w


def newton_glm(x: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float, link: str) -> np.ndarray:
    """Minimise ``Σ w loss(η, y) / Σ w + alpha / 2 * ||β||²`` over ``η = b + x β``.

    ``link`` is ``"logistic"`` (``p = 1 / (1 + e^-η)``) or ``"noisy_or"`` (``p = 1 − e^-η``,
    ``η > 0``). Newton's method with backtracking (both losses are convex in ``η``); returns
    ``[b, β...]``. The intercept is not penalised.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [0.0], [1.0], [1.0]])
    >>> theta = newton_glm(x, np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0, 3.0, 3.0, 1.0]),
    ...                    1e-12, "logistic")
    >>> np.round(theta, 6).tolist()  # log odds 1:3, then 3:1
    [-1.098612, 2.197225]
    """
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
    x: np.ndarray, pos: np.ndarray, neg: np.ndarray, alpha: float, link: str
) -> tuple[float, np.ndarray]:
    """Weighted L2-penalised GLM with non-negative coefficients.

    Columns whose coefficient comes out negative are dropped (held at 0) and the rest refitted,
    until every coefficient is ``≥ 0`` (an active-set loop; touches cannot lower the chance
    to convert).

    Parameters
    ----------
    x : ndarray, shape (n_rows, n_features)
        Features of each row.
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
    active = x.max(axis=0, initial=0.0) > 0
    xs, y, w = stack_outcomes(x, pos, neg)
    intercept = 0.0
    for _ in range(p + 1):
        idx = np.flatnonzero(active)
        theta = newton_glm(xs[:, idx], y, w, alpha, link)
        intercept, beta = float(theta[0]), theta[1:]
        coef[:] = 0.0
        coef[idx] = beta
        if (beta >= 0).all():
            break
        active[idx[beta < 0]] = False
    return intercept, coef
