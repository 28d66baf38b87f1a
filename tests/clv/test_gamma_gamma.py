"""Gamma-Gamma: published CDNOW figures, recovery on simulated spend and input checks."""

from __future__ import annotations

import numpy as np
import pytest

from attribution._base.errors import EmptyInputError, ValidationError
from attribution.clv import GammaGamma
from tests.clv.cdnow import fixed


def test_gamma_gamma_matches_fader_hardie_2013_cdnow(cdnow_exact):
    """Published p = 6.25, q = 3.74, gamma = 15.44 on the 946 repeat customers (exact values)."""
    m = GammaGamma().fit(cdnow_exact["frequency"], cdnow_exact["monetary_value"])
    assert {k: round(v, 2) for k, v in m.params_.items()} == {"p": 6.25, "q": 3.74, "v": 15.44}
    assert m.n_customers_ == 946
    assert m.log_likelihood_ == pytest.approx(-4055.9177, abs=1e-3)  # CLVTools


def test_gamma_gamma_on_rounded_summary_matches_lifetimes_quickstart(gg_cdnow, cdnow_summary):
    """lifetimes fits the 946 customers with frequency > 0 of its 2-decimal file: v = 15.45,
    and prints these conditional expected average profits (customers 1, 2, 3, 6, 9)."""
    assert {k: round(v, 2) for k, v in gg_cdnow.params_.items()} == {
        "p": 6.25,
        "q": 3.74,
        "v": 15.45,
    }
    first = cdnow_summary.head(9)
    got = gg_cdnow.expected_value(first["x"], first["zbar"])
    published = {0: 24.658619, 1: 18.911489, 2: 35.170981, 5: 71.462843, 8: 27.282408}
    for i, v in published.items():
        assert got[i] == pytest.approx(v, rel=1e-6)


def test_gamma_gamma_recovers_parameters_and_expected_value_is_posterior_mean():
    """Simulated spends recover (p, q, v); E[Z | x, m] is the conjugate posterior mean."""
    rng = np.random.default_rng(3)
    p, q, v = 6.0, 4.0, 15.0
    n = 6000
    x = rng.integers(1, 8, n)
    nu = rng.gamma(q, 1 / v, n)  # rate of each customer's spend
    spend_sum = rng.gamma(p * x, 1 / nu)  # sum of x Gamma(p, nu) purchases
    m = GammaGamma().fit(x, spend_sum / x)
    for key, true in {"p": p, "q": q, "v": v}.items():
        se = m.standard_errors_[key]
        assert abs(m.params_[key] - true) < 4 * se
    # E[Z | x, m] = p E[1/nu | data]; nu | data ~ Gamma(q + p x, v + x m)
    fitted = fixed(m.params_, GammaGamma)
    pp, qq, vv = (m.params_[k] for k in ("p", "q", "v"))
    xs, ms = np.array([1, 3, 0]), np.array([20.0, 35.0, np.nan])
    brute = pp * np.array(
        [
            (vv + xi * mi) / (qq + pp * xi - 1) if xi else vv / (qq - 1)
            for xi, mi in zip(xs, ms, strict=True)
        ]
    )
    np.testing.assert_allclose(fitted.expected_value(xs, ms), brute, rtol=1e-12)


def test_gamma_gamma_refuses_non_positive_spend_and_no_repeaters():
    with pytest.raises(
        ValidationError,
        match=r"monetary_value has 2 values that are missing, not "
        r"finite or not above 0 where frequency > 0 \(0 at row 1, nan at row 2\)",
    ):
        GammaGamma().fit([0, 1, 2, 3], [None, 0.0, None, 5.0])
    with pytest.raises(
        EmptyInputError,
        match=r"needs customers with a repeat purchase "
        r"\(frequency > 0\); none of the 2 rows has one",
    ):
        GammaGamma().fit([0, 0], [0.0, 1.0])
