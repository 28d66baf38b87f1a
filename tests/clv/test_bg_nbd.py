"""BG/NBD: published CDNOW figures, numerical integration, simulation and input checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from attribution._base.errors import EmptyInputError, ModelError, ValidationError
from attribution.clv import BGNBD
from tests.clv.cdnow import CLVTOOLS_BGNBD, PAPER_BGNBD, fixed

# --------------------------------------------------------------------------------------------
# published CDNOW figures


def test_bgnbd_matches_fader_hardie_lee_2005_cdnow(bg_cdnow):
    """Published: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4."""
    got = {k: round(v, 3) for k, v in bg_cdnow.params_.items()}
    assert got == PAPER_BGNBD
    assert round(bg_cdnow.log_likelihood_, 1) == -9582.4
    assert bg_cdnow.n_customers_ == 2357


def test_bgnbd_on_exact_weeks_matches_clvtools(cdnow_exact):
    """CLVTools' estimates on the exact CDNOW weeks (7 digits) and its LL of -9582.429."""
    m = BGNBD().fit(cdnow_exact["frequency"], cdnow_exact["recency"], cdnow_exact["T"])
    for k, v in CLVTOOLS_BGNBD.items():
        assert m.params_[k] == pytest.approx(v, rel=1e-5)
    assert m.log_likelihood_ == pytest.approx(-9582.429, abs=1e-3)


def test_expected_purchases_match_lifetimes_quickstart_top_customers(bg_cdnow):
    """lifetimes' five customers with most expected purchases next week, as it prints them."""
    x = [18, 19, 17, 29, 26]
    tx = [35.14, 34.00, 28.43, 37.71, 30.86]
    T = [35.86, 34.14, 28.86, 38.00, 31.00]
    published = [0.424877, 0.474738, 0.486526, 0.662396, 0.710623]
    got = bg_cdnow.expected_purchases(1, x, tx, T)
    np.testing.assert_allclose(got, published, atol=2e-6)


def test_expected_purchases_match_hardie_spreadsheet(bg_cdnow):
    """Hardie's BG/NBD spreadsheet: E[X(t)] table (4 decimals) and E[Y(39) | 2, 30.43, 38.86]."""
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    published = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(bg_cdnow.expected_purchases_new(times), published, atol=5e-4)
    assert float(bg_cdnow.expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=5e-4)
    # with the paper's rounded parameters too (the published worked example)
    paper = fixed(PAPER_BGNBD)
    assert float(paper.expected_purchases(39, 2, 30.43, 38.86)) == pytest.approx(1.226, abs=5e-4)


# --------------------------------------------------------------------------------------------
# the formulas against the model's definition


def _posterior_integrals(params, t, x, tx, T, n=160):
    """Integrate the BG/NBD over its mixing distributions by Gauss quadrature.

    lambda ~ Gamma(r, alpha), p ~ Beta(a, b). Given (lambda, p) the data have likelihood
    A + [x > 0] B with A = (1-p)^x lambda^x e^(-lambda T) (still active at T) and
    B = p (1-p)^(x-1) lambda^x e^(-lambda t_x) (dropped after the last purchase); an active
    customer makes (1 - e^(-lambda p t)) / p purchases in the next t on average (FHL 2005,
    eq. 7). Returns (E[Y(t) | data], P(active | data)). Generalised Gauss-Laguerre in lambda
    and Gauss-Jacobi in p carry the Gamma and Beta kernels; no hypergeometric function.
    """
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    k = r + x

    def term(c, pa, pb, h):
        # int_0^inf int_0^1 lam^(k-1) e^(-c lam) p^pa (1-p)^pb h(lam, p) dp dlam
        y, wy = special.roots_genlaguerre(n, k - 1)
        z, wz = special.roots_jacobi(n, pb, pa)  # weight (1-z)^pb (1+z)^pa on [-1, 1]
        lam = (y / c)[:, None]
        p = ((1 + z) / 2)[None, :]
        scale = c**-k * 2.0 ** -(pa + pb + 1)
        return scale * float(wy @ h(lam, p) @ wz)

    one = lambda lam, p: np.ones(np.broadcast(lam, p).shape)  # noqa: E731
    active = term(alpha + T, a - 1, b + x - 1, one)
    dropped = term(alpha + tx, a, b + x - 2, one) if x > 0 else 0.0
    future = term(alpha + T, a - 1, b + x - 1, lambda lam, p: -np.expm1(-lam * p * t) / p)
    total = active + dropped
    return future / total, active / total


@pytest.mark.parametrize(
    ("t", "x", "tx", "T"),
    [
        (78.0, 0, 0.0, 0.0),
        (1.0, 0, 0.0, 0.0),
        (20.0, 0, 0.0, 30.0),
        (39.0, 2, 30.43, 38.86),
        (5.0, 1, 1.71, 38.86),
        (10.0, 29, 37.71, 38.0),
        (52.0, 7, 10.0, 38.86),
    ],
)
def test_conditional_expectation_and_p_alive_match_numerical_integration(t, x, tx, T):
    """Eq. 10 (hypergeometric) and P(alive) agree with integrating the model's definition."""
    model = fixed(CLVTOOLS_BGNBD)
    expected, alive = _posterior_integrals(CLVTOOLS_BGNBD, t, x, tx, T)
    assert float(model.expected_purchases(t, x, tx, T)) == pytest.approx(expected, rel=1e-9)
    assert float(model.p_alive(x, tx, T)) == pytest.approx(alive, rel=1e-9)


@pytest.mark.slow
def test_unconditional_expectation_matches_monte_carlo_simulation(bg_cdnow):
    """E[X(t)] against simulated customers: X(t) = min(N(t), K), N ~ Poisson(lambda t),
    K ~ Geometric(p) (the purchase after which the customer drops out)."""
    rng = np.random.default_rng(2005)
    n = 400_000
    r, alpha, a, b = (bg_cdnow.params_[k] for k in ("r", "alpha", "a", "b"))
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    k = rng.geometric(p)
    for t in (1.0, 10.0, 39.0, 78.0):
        draws = np.minimum(rng.poisson(lam * t), k)
        se = draws.std(ddof=1) / np.sqrt(n)
        assert abs(draws.mean() - float(bg_cdnow.expected_purchases_new(t))) < 4 * se


# --------------------------------------------------------------------------------------------
# estimator behaviour and errors


def test_log_likelihood_sums_to_the_fitted_total_and_penalizer_shrinks(bg_cdnow, cdnow_summary):
    per = bg_cdnow.log_likelihood(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])
    assert per.sum() == pytest.approx(bg_cdnow.log_likelihood_, rel=1e-12)
    shrunk = BGNBD(penalizer=0.1).fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])
    size = lambda m: sum(v * v for v in m.params_.values())  # noqa: E731
    assert size(shrunk) < size(bg_cdnow)
    assert shrunk.log_likelihood_ < bg_cdnow.log_likelihood_


def test_predictions_broadcast_over_a_time_grid(bg_cdnow):
    t = np.array([1.0, 5.0, 10.0])[:, None]
    grid = bg_cdnow.expected_purchases(t, [0, 3], [0.0, 20.0], [30.0, 30.0])
    assert grid.shape == (3, 2)
    assert (np.diff(grid, axis=0) > 0).all()  # more time, more purchases
    assert float(bg_cdnow.expected_purchases(0.0, 3, 20.0, 30.0)) == 0.0


def test_fit_rejects_bad_summaries_naming_rows():
    with pytest.raises(
        ValidationError,
        match=r"frequency has 2 values that are negative or not "
        r"whole \(-1 at row 1, 0.5 at row 3\); frequency counts repeat purchases",
    ):
        BGNBD().fit([1, -1, 0, 0.5], [1, 1, 0, 1], [5, 5, 5, 5])
    with pytest.raises(
        ValidationError,
        match=r"recency has 1 value greater than T in the same "
        r"row \(6 at row 0\)",
    ):
        BGNBD().fit([1, 0], [6.0, 0], [5, 5])
    with pytest.raises(
        ValidationError,
        match=r"recency has 1 value other than 0 where frequency "
        r"is 0 \(2 at row 1\); a customer without repeat purchases has recency 0",
    ):
        BGNBD().fit([1, 0], [1, 2], [5, 5])
    with pytest.raises(
        ValidationError,
        match=r"T has 1 value that are missing or not finite "
        r"\(nan at row 2\)",
    ):
        BGNBD().fit([1, 0, 0], [1, 0, 0], [5, 5, None])
    with pytest.raises(
        ValidationError,
        match=r"must be 1-D arrays of one length; got "
        r"frequency \(2,\), recency \(2,\), T \(3,\)",
    ):
        BGNBD().fit([1, 0], [1, 0], [5, 5, 5])
    with pytest.raises(EmptyInputError, match="Nothing to fit: frequency is empty"):
        BGNBD().fit([], [], [])
    with pytest.raises(ValidationError, match=r"penalizer must be a finite number >= 0; got -1"):
        BGNBD(penalizer=-1).fit([1], [1], [2])
    with pytest.raises(ValidationError, match=r"weights has 1 value below 0 \(-2 at row 1\)"):
        BGNBD().fit([1, 0], [1, 0], [5, 5], weights=[1, -2])


def test_bgnbd_reports_when_the_data_cannot_identify_it():
    # no repeat purchase at all: the likelihood only grows as r -> 0 (or alpha -> infinity)
    with pytest.raises(
        ModelError,
        match=r"BG/NBD needs at least one repeat purchase \(frequency > 0\) to separate "
        r"purchase rates from drop-out; none of the 3 customers has one",
    ):
        BGNBD().fit([0, 0, 0], [0, 0, 0], [5.0, 6.0, 7.0])
