"""The shared maximum-likelihood machinery: gradients, standard errors, weights, manners."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from attribution._base.errors import ModelError, ValidationError
from attribution.clv import BGNBD, GammaGamma
from attribution.clv.bg_nbd import bgnbd_loglik
from attribution.clv.gamma_gamma import gamma_gamma_loglik
from tests.clv.cdnow import PAPER_BGNBD


def test_analytic_gradients_match_finite_differences(cdnow_summary):
    """The fitters' analytic gradients against central differences of the log-likelihoods."""
    x = cdnow_summary["x"].to_numpy().astype(float)
    tx, T = cdnow_summary["t_x"].to_numpy(), cdnow_summary["T"].to_numpy()
    m = cdnow_summary["zbar"].to_numpy()
    cases = [
        (lambda p, g=False: bgnbd_loglik(p, x, tx, T, g), np.array([0.3, 5.0, 0.7, 2.0])),
        (
            lambda p, g=False: gamma_gamma_loglik(p, x[x > 0], m[x > 0], g),
            np.array([6.0, 3.5, 15.0]),
        ),
    ]
    for loglik, params in cases:
        analytic = loglik(params, True)[1].sum(axis=0)
        for j in range(params.size):
            h = 1e-6 * params[j]
            up, down = params.copy(), params.copy()
            up[j] += h
            down[j] -= h
            numeric = (loglik(up)[0].sum() - loglik(down)[0].sum()) / (2 * h)
            assert analytic[j] == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def _simulate_bgnbd(rng, params, n):
    """Calibration summaries (x, t_x, T) of n customers drawn from the BG/NBD."""
    T = rng.integers(189, 273, n) / 7  # first purchases over 12 weeks, 39-week window
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    purchases = rng.poisson(lam * T)
    x = np.minimum(purchases, rng.geometric(p))
    # the x-th of N uniform purchase times on [0, T] is T * Beta(x, N - x + 1)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), purchases - x + 1), 0.0)
    return x, tx, T


@pytest.mark.slow
def test_standard_errors_match_the_spread_of_estimates_over_simulated_samples():
    """Hessian standard errors ~ the standard deviation of estimates over 30 samples."""
    rng = np.random.default_rng(17)
    estimates, errors = [], []
    for _ in range(30):
        m = BGNBD().fit(*_simulate_bgnbd(rng, PAPER_BGNBD, 4000))
        estimates.append(list(m.params_.values()))
        errors.append(list(m.standard_errors_.values()))
    spread = np.std(estimates, axis=0, ddof=1)
    ratio = spread / np.median(errors, axis=0)
    assert np.all((ratio > 0.65) & (ratio < 1.5)), ratio
    # and the well-identified purchase-rate parameters are recovered
    mean = np.mean(estimates, axis=0)
    for j, key in enumerate(("r", "alpha")):
        assert abs(mean[j] - PAPER_BGNBD[key]) < 3 * spread[j] / np.sqrt(30)


def test_fit_warns_when_estimates_run_to_the_edge(cdnow_summary):
    """Customers who all buy at one Poisson rate and never leave: r, alpha -> inf, a -> 0."""
    rng = np.random.default_rng(9)
    T = np.full(3000, 52.0)
    purchases = rng.poisson(0.2 * T)
    tx = np.where(purchases > 0, T * rng.beta(np.maximum(purchases, 1), 1), 0.0)
    with pytest.warns(
        UserWarning,
        match=r"BG/NBD estimates are at the edge of the parameter "
        r"space \(.*a = .*\)",
    ):
        BGNBD().fit(purchases, tx, T)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BGNBD().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])


def test_weights_are_the_same_as_repeated_rows(cdnow_summary):
    """Fitting unique rows with counts equals fitting every row."""
    counts = cdnow_summary.group_by("x", "t_x", "T").len()
    full = BGNBD().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])
    weighted = BGNBD().fit(counts["x"], counts["t_x"], counts["T"], weights=counts["len"])
    for k in full.params_:
        assert weighted.params_[k] == pytest.approx(full.params_[k], rel=1e-7)
    assert weighted.log_likelihood_ == pytest.approx(full.log_likelihood_, rel=1e-12)


def test_summary_frame_and_repr(bg_cdnow):
    s = bg_cdnow.summary_
    assert s.columns == ["param", "estimate", "standard_error", "lower_95", "upper_95"]
    assert s["param"].to_list() == ["r", "alpha", "a", "b"]
    assert (s["lower_95"] < s["estimate"]).all() and (s["estimate"] < s["upper_95"]).all()
    assert "r=0.2426" in repr(bg_cdnow)
    assert repr(BGNBD(0.5)) == "BGNBD(penalizer=0.5)"


def test_models_refuse_to_predict_before_fit_and_bad_t(bg_cdnow):
    with pytest.raises(ModelError, match=r"BGNBD is not fitted yet; call fit\(...\) first"):
        BGNBD().p_alive([1], [1], [2])
    with pytest.raises(ModelError, match="GammaGamma is not fitted yet"):
        GammaGamma().expected_value([1], [2.0])
    with pytest.raises(ValidationError, match=r"t has 1 value below 0 \(-1 at row 0\)"):
        bg_cdnow.expected_purchases(-1.0, 1, 1.0, 2.0)
