"""BG/NBD + Gamma-Gamma CLV: published CDNOW figures, numerical checks and brute force.

References used:

* Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way" (BG/NBD on the CDNOW
  sample: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4) and Hardie's
  spreadsheet figures quoted in lifetimes' tests (E[X(t)] table, E[Y(39) | 2, 30.43, 38.86]
  = 1.226);
* Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (p = 6.25, q = 3.74,
  gamma = 15.44 on the 946 repeat customers), as CLVTools' test_correctness_gg.R quotes them
  with its log-likelihood -4055.9177; CLVTools' test_correctness_bgnbd.R estimates on the
  exact CDNOW weeks (r = 0.2425945, alpha = 4.4136019, a = 0.7929199, b = 2.4258881,
  LL = -9582.429);
* lifetimes' Quickstart (docs/Quickstart.md) outputs on the CDNOW summary it ships;
* numerical integration over the mixing distributions, Monte-Carlo simulation of the BG/NBD
  process and a brute-force RFM summary written here.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from attribution._base.errors import (
    EmptyInputError,
    ModelError,
    SchemaError,
    ValidationError,
)
from attribution.clv_models import (
    BGNBD,
    GammaGamma,
    clv_probabilistic,
    customer_lifetime_value,
    rfm_summary,
    summarise_clv,
)

CDNOW = Path(__file__).parent / "data" / "cdnow"
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CLVTOOLS_BGNBD = {"r": 0.2425945, "alpha": 4.4136019, "a": 0.7929199, "b": 2.4258881}


@pytest.fixture(scope="module")
def cdnow_summary() -> pl.DataFrame:
    """lifetimes' CDNOW summary: ID, x, t_x, T (weeks, 2 decimals), zbar."""
    return pl.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="module")
def cdnow_transactions() -> pl.DataFrame:
    """The CDNOW sample's 6,919 purchases (78 weeks): sample id, date, dollars."""
    rows = [line.split() for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines()]
    return pl.DataFrame(
        {
            "user_id": [int(r[1]) for r in rows],
            "timestamp": [r[2] for r in rows],
            "revenue": [float(r[4]) for r in rows],
        }
    ).with_columns(pl.col("timestamp").str.to_date("%Y%m%d"))


@pytest.fixture(scope="module")
def cdnow_exact(cdnow_transactions: pl.DataFrame) -> pl.DataFrame:
    """The 39-week calibration summary computed from the transactions (exact weeks)."""
    return rfm_summary(cdnow_transactions, observation_end="1997-09-30", time_unit="W")


@pytest.fixture(scope="module")
def bg_cdnow(cdnow_summary: pl.DataFrame) -> BGNBD:
    return BGNBD().fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])


@pytest.fixture(scope="module")
def gg_cdnow(cdnow_summary: pl.DataFrame) -> GammaGamma:
    return GammaGamma().fit(cdnow_summary["x"], cdnow_summary["zbar"])


def fixed(params: dict[str, float], cls: type = BGNBD):
    model = cls()
    model.params_ = dict(params)
    return model


# --------------------------------------------------------------------------------------------
# published CDNOW figures


def test_rfm_summary_reproduces_lifetimes_cdnow_summary(cdnow_exact, cdnow_summary):
    """The transactions summarised per day, in weeks, to 1997-09-30 give the shipped summary."""
    joined = cdnow_exact.join(cdnow_summary, left_on="user_id", right_on="ID", how="full")
    assert joined.height == 2357 == cdnow_exact.height
    assert (joined["frequency"] == joined["x"]).all()
    # the shipped file rounds weeks and dollars to 2 decimals
    assert (joined["recency"] - joined["t_x"]).abs().max() <= 0.005 + 1e-9
    assert (joined["T"] - joined["T_right"]).abs().max() <= 0.005 + 1e-9
    repeat = joined.filter(pl.col("x") > 0)
    assert (repeat["monetary_value"] - repeat["zbar"]).abs().max() <= 0.005 + 1e-9
    assert joined.filter(pl.col("x") == 0)["monetary_value"].null_count() == 1411


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


def test_customer_lifetime_value_matches_lifetimes_quickstart(bg_cdnow, gg_cdnow, cdnow_summary):
    """lifetimes' CLV example: 12 steps of 30 time units, 1% per step (its freq="D" factor)."""
    first = cdnow_summary.head(9)
    got = customer_lifetime_value(
        bg_cdnow,
        gg_cdnow,
        first["x"],
        first["t_x"],
        first["T"],
        first["zbar"],
        periods=12,
        period_length=30.0,
        discount_rate=0.01,
    )
    published = {0: 140.096211, 1: 18.943467, 2: 38.180574, 5: 1003.868107, 6: 28.109683}
    published[8] = 167.418216
    for i, v in published.items():
        assert got[i] == pytest.approx(v, abs=1e-5)


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


# --------------------------------------------------------------------------------------------
# estimator behaviour


def test_analytic_gradients_match_finite_differences(cdnow_summary):
    """The fitters' analytic gradients against central differences of the log-likelihoods."""
    from attribution.clv_models import _bgnbd_loglik, _gg_loglik

    x = cdnow_summary["x"].to_numpy().astype(float)
    tx, T = cdnow_summary["t_x"].to_numpy(), cdnow_summary["T"].to_numpy()
    m = cdnow_summary["zbar"].to_numpy()
    cases = [
        (lambda p, g=False: _bgnbd_loglik(p, x, tx, T, g), np.array([0.3, 5.0, 0.7, 2.0])),
        (
            lambda p, g=False: _gg_loglik(p, x[x > 0], m[x > 0], g),
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


def test_log_likelihood_sums_to_the_fitted_total_and_penalizer_shrinks(bg_cdnow, cdnow_summary):
    per = bg_cdnow.log_likelihood(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])
    assert per.sum() == pytest.approx(bg_cdnow.log_likelihood_, rel=1e-12)
    shrunk = BGNBD(penalizer=0.1).fit(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])
    size = lambda m: sum(v * v for v in m.params_.values())  # noqa: E731
    assert size(shrunk) < size(bg_cdnow)
    assert shrunk.log_likelihood_ < bg_cdnow.log_likelihood_


def test_summary_frame_and_repr(bg_cdnow):
    s = bg_cdnow.summary_
    assert s.columns == ["param", "estimate", "standard_error", "lower_95", "upper_95"]
    assert s["param"].to_list() == ["r", "alpha", "a", "b"]
    assert (s["lower_95"] < s["estimate"]).all() and (s["estimate"] < s["upper_95"]).all()
    assert "r=0.2426" in repr(bg_cdnow)
    assert repr(BGNBD(0.5)) == "BGNBD(penalizer=0.5)"


def test_predictions_broadcast_over_a_time_grid(bg_cdnow):
    t = np.array([1.0, 5.0, 10.0])[:, None]
    grid = bg_cdnow.expected_purchases(t, [0, 3], [0.0, 20.0], [30.0, 30.0])
    assert grid.shape == (3, 2)
    assert (np.diff(grid, axis=0) > 0).all()  # more time, more purchases
    assert float(bg_cdnow.expected_purchases(0.0, 3, 20.0, 30.0)) == 0.0


# --------------------------------------------------------------------------------------------
# rfm_summary against a brute force


def _brute_rfm(rows, end, grain_days, unit_days, grain):
    """Per user: distinct purchase periods, sums per period, then the textbook definitions."""

    def index(ts: datetime) -> int:
        day = (ts.date() - date(1970, 1, 1)).days
        if grain == "h":
            return int((ts - datetime(1970, 1, 1)).total_seconds() // 3600)
        return day if grain == "D" else (day + 3) // 7

    last = index(end) if end is not None else max(index(ts) for _, ts, _ in rows)
    periods: dict = {}
    for user, ts, value in rows:
        i = index(ts)
        if i <= last:
            periods.setdefault(user, {}).setdefault(i, 0.0)
            periods[user][i] += value
    out = []
    for user in sorted(periods):
        ks = sorted(periods[user])
        scale = grain_days / unit_days
        repeat = [periods[user][k] for k in ks[1:]]
        out.append(
            (
                user,
                len(ks) - 1,
                (ks[-1] - ks[0]) * scale,
                (last - ks[0]) * scale,
                sum(repeat) / len(repeat) if repeat else None,
            )
        )
    return out


@pytest.mark.parametrize(
    ("grain", "unit", "end"),
    [
        ("D", None, None),
        ("D", "W", datetime(2024, 3, 15, 12)),
        ("W", None, datetime(2024, 2, 20)),
        ("h", "D", None),
        ("D", "M", datetime(2024, 4, 1)),
    ],
)
def test_rfm_summary_matches_brute_force(grain, unit, end):
    rng = np.random.default_rng(11)
    n = 400
    start = datetime(2024, 1, 1)
    stamps = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 120 * 1440, n)]
    users = rng.integers(0, 40, n).tolist()
    values = np.round(rng.gamma(2.0, 20.0, n), 2).tolist()
    tx = pl.DataFrame({"user_id": users, "timestamp": stamps, "revenue": values})
    got = rfm_summary(tx, observation_end=end, freq=grain, time_unit=unit)
    days = {"h": 1 / 24, "D": 1.0, "W": 7.0, "M": 365.25 / 12}
    brute = _brute_rfm(
        list(zip(users, stamps, values, strict=True)), end, days[grain], days[unit or grain], grain
    )
    assert got.height == len(brute)
    for row, ref in zip(got.rows(), brute, strict=True):
        assert row[:2] == ref[:2]
        assert row[2] == pytest.approx(ref[2], rel=1e-12)
        assert row[3] == pytest.approx(ref[3], rel=1e-12)
        assert (row[4] is None) == (ref[4] is None)
        if ref[4] is not None:
            assert row[4] == pytest.approx(ref[4], rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_rfm_summary_ignores_row_order_and_laziness(seed):
    rng = np.random.default_rng(seed)
    n = 30
    tx = pl.DataFrame(
        {
            "user_id": rng.integers(0, 6, n),
            "timestamp": [
                date(2024, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 60, n)
            ],
            "revenue": np.round(rng.gamma(2.0, 9.0, n), 2),
        }
    )
    base = rfm_summary(tx)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=int(seed % 1000))
    assert rfm_summary(shuffled).equals(base)
    assert rfm_summary(tx.lazy()).equals(base)
    assert (base["recency"] <= base["T"]).all()


def test_rfm_summary_reads_iso_strings_and_time_zones():
    tx = pl.DataFrame(
        {
            "uid": ["a", "a", "b"],
            "when": [
                "2024-03-30T23:30:00+00:00",
                "2024-03-31T00:30:00+00:00",
                "2024-03-01T00:00:00+00:00",
            ],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    # as naive UTC strings the two purchases of "a" fall on different days
    plain = rfm_summary(
        tx.with_columns(pl.col("when").str.slice(0, 19)),
        user_col="uid",
        time_col="when",
        value_col="amount",
    )
    assert plain.filter(pl.col("uid") == "a")["frequency"].item() == 1
    # in Sydney (UTC+11) both are on 31 March: one purchase worth 3.0
    local = tx.with_columns(
        pl.col("when").str.to_datetime(time_zone="UTC").dt.convert_time_zone("Australia/Sydney")
    ).filter(pl.col("uid") == "a")
    out = rfm_summary(local, user_col="uid", time_col="when", value_col="amount")
    assert out.rows() == [("a", 0, 0.0, 0.0, None)]


# --------------------------------------------------------------------------------------------
# clv_probabilistic and summaries


def test_clv_probabilistic_on_cdnow_composes_the_models(cdnow_transactions, cdnow_exact):
    """Undiscounted CLV telescopes to E[purchases over the horizon] x E[value]; discounted is
    the month-by-month brute-force sum."""
    kw = {"observation_end": "1997-09-30", "horizon_months": 12}
    flat = clv_probabilistic(cdnow_transactions, discount_rate_annual=0.0, **kw)
    out = clv_probabilistic(cdnow_transactions, discount_rate_annual=0.1, **kw)
    assert out.columns == [
        "user_id",
        "first_purchase",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "p_alive",
        "expected_purchases",
        "expected_value",
        "clv",
    ]
    assert out.select(cdnow_exact.columns).equals(cdnow_exact)
    np.testing.assert_allclose(
        flat["clv"], flat["expected_purchases"] * flat["expected_value"], rtol=1e-10
    )
    bg = BGNBD().fit(cdnow_exact["frequency"], cdnow_exact["recency"], cdnow_exact["T"])
    gg = GammaGamma().fit(cdnow_exact["frequency"], cdnow_exact["monetary_value"])
    assert out["p_alive"].to_numpy() == pytest.approx(
        bg.p_alive(cdnow_exact["frequency"], cdnow_exact["recency"], cdnow_exact["T"])
    )
    month = 365.25 / 12 / 7
    monthly = 1.1 ** (1 / 12) - 1
    i = 5  # customer 6: 7 repeat purchases
    f, rec, age = cdnow_exact.row(i)[1:4]
    value = float(gg.expected_value(f, cdnow_exact["monetary_value"][i]))
    brute = 0.0
    for k in range(1, 13):
        step = bg.expected_purchases(k * month, f, rec, age) - bg.expected_purchases(
            (k - 1) * month, f, rec, age
        )
        brute += value * float(step) / (1 + monthly) ** k
    assert out["clv"][i] == pytest.approx(brute, rel=1e-10)
    assert out["clv"][i] < flat["clv"][i]


def test_clv_by_channel_is_the_sum_of_its_customers(cdnow_transactions):
    rng = np.random.default_rng(5)
    ids = np.arange(1, 2358)
    channel = rng.choice(["email", "search", "social"], ids.size)
    acquisition = pl.DataFrame({"user_id": ids[:-7], "channel": channel[:-7]})
    per = clv_probabilistic(
        cdnow_transactions, observation_end="1997-09-30", acquisition=acquisition
    )
    assert per["channel"].null_count() == 7
    table = summarise_clv(per)
    assert table["channel"].to_list() == ["email", "search", "social", None]
    clv = per["clv"].to_numpy()
    for row in table.iter_rows(named=True):
        unlisted = np.isin(ids, ids[-7:])
        mask = (channel == row["channel"]) & ~unlisted if row["channel"] else unlisted
        assert row["customers"] == mask.sum()
        assert row["clv_total"] == pytest.approx(clv[mask].sum(), rel=1e-12)
        assert row["clv_mean"] == pytest.approx(clv[mask].mean(), rel=1e-12)


def test_clv_probabilistic_uses_models_given_to_it(cdnow_transactions, bg_cdnow, gg_cdnow):
    out = clv_probabilistic(
        cdnow_transactions,
        observation_end="1997-09-30",
        purchase_model=bg_cdnow,
        value_model=gg_cdnow,
    )
    x, m = out["frequency"], out["monetary_value"]
    np.testing.assert_allclose(out["expected_value"], gg_cdnow.expected_value(x, m), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# errors


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


def test_models_refuse_to_predict_before_fit_and_bad_t(bg_cdnow):
    with pytest.raises(ModelError, match=r"BGNBD is not fitted yet; call fit\(...\) first"):
        BGNBD().p_alive([1], [1], [2])
    with pytest.raises(ModelError, match="GammaGamma is not fitted yet"):
        GammaGamma().expected_value([1], [2.0])
    with pytest.raises(ValidationError, match=r"t has 1 value below 0 \(-1 at row 0\)"):
        bg_cdnow.expected_purchases(-1.0, 1, 1.0, 2.0)


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


def test_bgnbd_reports_when_the_data_cannot_identify_it():
    # no repeat purchase at all: the likelihood only grows as r -> 0 (or alpha -> infinity)
    with pytest.raises(
        ModelError,
        match=r"BG/NBD needs at least one repeat purchase \(frequency > 0\) to separate "
        r"purchase rates from drop-out; none of the 3 customers has one",
    ):
        BGNBD().fit([0, 0, 0], [0, 0, 0], [5.0, 6.0, 7.0])


def test_rfm_summary_errors_name_column_rule_rows_and_count():
    good = {"user_id": [1, 2, 3], "timestamp": ["2024-01-01"] * 3, "revenue": [1.0, 2.0, 3.0]}
    with pytest.raises(SchemaError, match=r"Column 'revenue' is missing from the transaction log"):
        rfm_summary(pl.DataFrame(good).drop("revenue"))
    with pytest.raises(
        SchemaError,
        match=r"Column 'revenue' of the transaction log has type "
        r"String; expected numbers",
    ):
        rfm_summary(pl.DataFrame({**good, "revenue": ["a", "b", "c"]}))
    with pytest.raises(SchemaError, match=r"Column 'timestamp' .* has type Int64; expected dates"):
        rfm_summary(pl.DataFrame({**good, "timestamp": [1, 2, 3]}))
    with pytest.raises(
        ValidationError,
        match=r"Column 'user_id' of the transaction log has 1 row "
        r"with null ids \(null at row 1 \(user_id null\)\)",
    ):
        rfm_summary(pl.DataFrame({**good, "user_id": [1, None, 3]}))
    with pytest.raises(
        ValidationError,
        match=r"Column 'timestamp' of the transaction log has 2 "
        r"rows that are not dates \('soon' at row 0 \(user_id 1\), 'x' at row 2 "
        r"\(user_id 3\)\); expected ISO dates",
    ):
        rfm_summary(pl.DataFrame({**good, "timestamp": ["soon", "2024-01-01", "x"]}))
    with pytest.raises(
        ValidationError,
        match=r"Column 'revenue' .* has 1 row with negative "
        r"values \(-2 at row 1 \(user_id 2\)\); values must be >= 0",
    ):
        rfm_summary(pl.DataFrame({**good, "revenue": [1.0, -2.0, 3.0]}))
    with pytest.raises(EmptyInputError, match="The transaction log has no rows"):
        rfm_summary(pl.DataFrame(good).head(0))
    with pytest.raises(
        EmptyInputError,
        match="No purchase of the transaction log is on or before observation_end '2023-12-31'",
    ):
        rfm_summary(pl.DataFrame(good), observation_end="2023-12-31")
    with pytest.raises(ValidationError, match=r"observation_end must be a date.*got 'later'"):
        rfm_summary(pl.DataFrame(good), observation_end="later")
    with pytest.raises(ValidationError, match=r"freq must be one of \['D', 'W', 'h'\]; got 'M'"):
        rfm_summary(pl.DataFrame(good), freq="M")  # type: ignore[arg-type]


def test_clv_probabilistic_errors(cdnow_transactions):
    with pytest.raises(ValidationError, match="horizon_months must be a whole number >= 1; got 0"):
        clv_probabilistic(cdnow_transactions, horizon_months=0)
    with pytest.raises(ValidationError, match=r"discount_rate_annual must be >= 0; got -0.1"):
        clv_probabilistic(cdnow_transactions, discount_rate_annual=-0.1)
    twice = pl.DataFrame({"user_id": [1, 1, 2], "channel": ["a", "b", "a"]})
    with pytest.raises(
        ValidationError,
        match=r"Column 'channel' of the acquisition table gives 1 "
        r"customers more than one channel \(user_id 1\)",
    ):
        clv_probabilistic(cdnow_transactions, acquisition=twice)
    with pytest.raises(
        SchemaError,
        match=r"Column 'user_id' of the acquisition table has type "
        r"String but the transaction log's has type Int64",
    ):
        clv_probabilistic(
            cdnow_transactions, acquisition=pl.DataFrame({"user_id": ["1"], "channel": ["a"]})
        )
