"""Tests of the GLM solver: the logistic fit against scikit-learn, the noisy-OR fit on known
effects, and the links."""

from __future__ import annotations

import numpy as np
import pytest

from attribution.models.glm import (
    fit_linear,
    link_derivatives,
    link_loss,
    link_probability,
    newton_glm,
)


def test_logistic_fit_matches_scikit_learn(rng) -> None:
    from sklearn.linear_model import LogisticRegression

    x = rng.poisson(1.0, size=(400, 3)).astype(float)
    eta = -2.0 + x @ np.array([0.5, 0.2, 0.8])
    pos = rng.binomial(5, 1 / (1 + np.exp(-eta))).astype(float)
    neg = 5.0 - pos
    alpha = 1e-3
    b0, coef = fit_linear(x, pos, neg, alpha, "logistic")
    xs = np.vstack([x, x])
    y = np.r_[np.ones(len(x)), np.zeros(len(x))]
    w = np.r_[pos, neg]
    keep = w > 0
    ref = LogisticRegression(C=1 / (alpha * w.sum()), tol=1e-10, max_iter=10_000)
    ref.fit(xs[keep], y[keep], sample_weight=w[keep])
    assert b0 == pytest.approx(ref.intercept_[0], abs=1e-5)
    np.testing.assert_allclose(coef, ref.coef_.ravel(), atol=1e-5)


@pytest.mark.parametrize("dense_newton", [4_500, 0])
def test_sparse_logistic_fit_matches_scikit_learn(rng, monkeypatch, dense_newton: int) -> None:
    # CSR features (many channels): the Newton system solved densely, or by conjugate
    # gradients on the sparse Hessian (_DENSE_NEWTON = 0); the same optimum as scikit-learn
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from attribution.models import glm

    monkeypatch.setattr(glm, "_DENSE_NEWTON", dense_newton)
    x = rng.poisson(0.3, size=(600, 8)).astype(float)
    eta = -1.5 + x @ np.linspace(0.1, 0.9, 8)
    pos = rng.binomial(4, 1 / (1 + np.exp(-eta))).astype(float)
    neg = 4.0 - pos
    alpha = 1e-3
    b0, coef = fit_linear(sp.csr_matrix(x), pos, neg, alpha, "logistic")
    xs = np.vstack([x, x])
    y = np.r_[np.ones(len(x)), np.zeros(len(x))]
    w = np.r_[pos, neg]
    keep = w > 0
    ref = LogisticRegression(C=1 / (alpha * w.sum()), tol=1e-10, max_iter=10_000)
    ref.fit(xs[keep], y[keep], sample_weight=w[keep])
    assert b0 == pytest.approx(ref.intercept_[0], abs=1e-5)
    np.testing.assert_allclose(coef, ref.coef_.ravel(), atol=1e-5)


def test_noisy_or_fit_recovers_known_effects(rng) -> None:
    # p = 1 - exp(-(0.03 + 0.05 x1 + 0.0 x2)); x2 has no effect
    n = 200_000
    x = rng.poisson(1.5, size=(n, 2)).astype(float)
    p = -np.expm1(-(0.03 + 0.05 * x[:, 0]))
    y = (rng.random(n) < p).astype(float)
    b0, coef = fit_linear(x, y, 1 - y, 1e-9, "noisy_or")
    assert b0 == pytest.approx(0.03, abs=0.006)
    assert coef[0] == pytest.approx(0.05, abs=0.006)
    assert 0 <= coef[1] < 0.006


def test_negative_coefficients_are_held_at_zero(rng) -> None:
    # the second column lowers the chance to convert: the active set drops it
    x = rng.poisson(1.0, size=(2_000, 2)).astype(float)
    p = 1 / (1 + np.exp(-(-1.0 + 0.6 * x[:, 0] - 0.8 * x[:, 1])))
    y = (rng.random(len(x)) < p).astype(float)
    _, coef = fit_linear(x, y, 1 - y, 1e-6, "logistic")
    assert coef[0] > 0 and coef[1] == 0.0
    unconstrained = newton_glm(x, y, np.ones(len(x)), 1e-6, "logistic")
    assert unconstrained[2] < 0


@pytest.mark.parametrize("link", ["logistic", "noisy_or"])
def test_link_derivatives_match_finite_differences(link: str) -> None:
    eta = np.array([0.05, 0.3, 1.0, 2.5])
    for y in (np.zeros(4), np.ones(4)):
        d1, d2 = link_derivatives(eta, y, link)

        def loss(e: np.ndarray, y: np.ndarray = y) -> np.ndarray:
            return link_loss(e, y, link)

        h = 1e-6
        np.testing.assert_allclose(
            d1, (loss(eta + h) - loss(eta - h)) / (2 * h), rtol=1e-6, atol=1e-8
        )
        h = 1e-4
        np.testing.assert_allclose(
            d2, (loss(eta + h) - 2 * loss(eta) + loss(eta - h)) / h**2, rtol=1e-4, atol=1e-6
        )
        # the loss is -log p(y | eta)
        p = link_probability(eta, link)
        np.testing.assert_allclose(
            link_loss(eta, y, link), -np.log(np.where(y > 0, p, 1 - p)), rtol=1e-12
        )
