from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from scipy import optimize

from attribution import ModelError, SchemaError, ValidationError
from forecasting.budget import (
    ResponseCurves,
    fit_response_curves,
    geometric_adstock,
    optimize_budget,
    response,
    response_marginal,
)


def _brute_adstock(x, decay):
    out, prev = [], x[0]
    for v in x:
        prev = (1 - decay) * v + decay * prev
        out.append(prev)
    return np.array(out)


@pytest.mark.parametrize("decay", [0.0, 0.3, 0.9])
def test_geometric_adstock_matches_the_recursion(rng, decay):
    x = rng.uniform(0, 100, 50)
    assert geometric_adstock(x, decay) == pytest.approx(_brute_adstock(x, decay), rel=1e-12)
    assert geometric_adstock(np.full(5, 7.0), decay) == pytest.approx(np.full(5, 7.0))


@pytest.mark.parametrize(
    ("curve", "params"),
    [("exponential", [300.0, 80.0]), ("hill", [300.0, 80.0, 0.7]), ("hill", [300.0, 80.0, 2.5])],
)
def test_marginal_is_the_derivative_of_the_response(curve, params):
    p = np.array(params)
    x = np.linspace(1.0, 400.0, 50)
    h = 1e-4
    numeric = (response(curve, p, x + h) - response(curve, p, x - h)) / (2 * h)
    assert response_marginal(curve, p, x) == pytest.approx(numeric, rel=1e-6)
    assert response(curve, p, np.array(0.0)) == 0.0


def _exp_closed_form(beta, theta, total):
    """Equal marginal returns β_i/θ_i e^{-x_i/θ_i} = μ with Σx = total, all interior."""
    log_mu = (np.sum(theta * np.log(beta / theta)) - total) / theta.sum()
    return theta * (np.log(beta / theta) - log_mu)


curve_params = st.lists(st.tuples(st.floats(10, 1e4), st.floats(1, 1e3)), min_size=2, max_size=6)


@settings(max_examples=60, deadline=None)
@given(curve_params, st.floats(0.0, 5.0))
def test_waterfill_finds_the_closed_form_optimum(params, spare):
    beta, theta = np.array(params).T
    # the smallest total at which every channel is interior (x_i > 0), plus some spare
    log_mu0 = np.min(np.log(beta / theta))
    x0 = theta * (np.log(beta / theta) - log_mu0)
    total = float(x0.sum() + spare * theta.sum())
    assume(total > 0)
    expected = _exp_closed_form(beta, theta, total)
    rc = ResponseCurves.from_params("exponential", {f"c{i}": p for i, p in enumerate(params)})
    plan = optimize_budget(rc, total, method="waterfill", n_samples=0)
    got = plan.channels["optimal_spend"].to_numpy()
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6 * max(total, 1.0))
    assert plan.summary["method"][0] == "waterfill"


def _random_bounds(draw, n, total):
    lo = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    width = np.array(draw(st.lists(st.floats(0, 2), min_size=n, max_size=n)))
    lo = lo * total / n * draw(st.floats(0, 1.2))
    hi = lo + width * total / n
    unbounded = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return lo, np.where(unbounded, np.inf, hi)


@st.composite
def scenarios(draw):
    curve = draw(st.sampled_from(["exponential", "hill"]))
    n = draw(st.integers(2, 5))
    k = 2 if curve == "exponential" else 3
    rows = []
    for _ in range(n):
        row = [draw(st.floats(10, 1e4)), draw(st.floats(1, 1e3))]
        if k == 3:
            row.append(draw(st.floats(0.3, 3.0)))
        rows.append(tuple(row))
    total = draw(st.floats(1.0, 5e3))
    lo, hi = _random_bounds(draw, n, total)
    return curve, rows, total, lo, hi


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
@example(  # pinned channels with an infinite marginal at 0 once stalled SLSQP
    (
        "hill",
        [(10.0, 1.0, 0.375), (10.0, 1.0, 0.375), (10.0, 1.0, 1.0), (333.0, 6.0, 2.0)],
        1.0,
        np.zeros(4),
        np.array([0.0, 0.05, 0.0, np.inf]),
    )
)
@example(
    (
        "hill",
        [(10.0, 1.0, 2.0), (10.0, 1.0, 0.5), (10.0, 1.0, 1.0)],
        1.0,
        np.zeros(3),
        np.array([2 / 3, 0.0, 2 / 3]),
    )
)
@example(  # room of 2.7e-17 below an infinite marginal at 0 was left unspent
    (
        "hill",
        [(10.0, 1.0, 0.3125), (10.0, 1.0, 1.0), (10.0, 1.0, 2.0)],
        1.0,
        np.zeros(3),
        np.array([2.70174832e-17, 0.0, np.inf]),
    )
)
def test_reallocation_respects_bounds_and_total_or_refuses(case):
    curve, rows, total, lo, hi = case
    names = [f"c{i}" for i in range(len(rows))]
    rc = ResponseCurves.from_params(curve, dict(zip(names, rows, strict=True)))
    lower = dict(zip(names, lo, strict=True))
    upper = dict(zip(names, hi, strict=True))
    if lo.sum() > total * (1 + 1e-12) or hi.sum() < total * (1 - 1e-12):
        with pytest.raises(ValidationError, match=r"Infeasible bounds: the (lower|upper) bounds"):
            optimize_budget(rc, total, lower=lower, upper=upper, n_samples=0)
        return
    plan = optimize_budget(rc, total, lower=lower, upper=upper, n_samples=0)
    x = plan.channels["optimal_spend"].to_numpy()
    assert np.all(x >= lo) and np.all(x <= hi)
    assert x.sum() == pytest.approx(total, rel=1e-9)
    assert x.sum() <= total * (1 + 1e-12)
    # never worse than an independent SLSQP run from a fresh feasible start
    p = np.array(rows)
    hi_f = np.minimum(hi, total)
    start = lo + (total - lo.sum()) * (hi_f - lo) / max((hi_f - lo).sum(), 1e-300)
    ref = optimize.minimize(
        lambda z: -response(curve, p, z).sum(),
        start,
        bounds=list(zip(lo, hi_f, strict=True)),
        constraints=[{"type": "eq", "fun": lambda z: z.sum() - total}],
        method="SLSQP",
    )
    mine = response(curve, p, x).sum()
    ref_x = np.clip(ref.x, lo, hi_f)
    if abs(ref_x.sum() - total) < 1e-6 * total:
        assert mine >= response(curve, p, ref_x).sum() * (1 - 1e-5) - 1e-9


@settings(max_examples=40, deadline=None)
@given(scenarios())
@example(  # a subnormal lower bound held its channel there (its marginal underflowed to 0)
    (
        "hill",
        [(10.0, 1.0, 1.0), (10.0, 2.0, 1.0)],
        6.0,
        np.array([0.0, 5e-324]),
        np.array([3.0, 6.0]),
    )
)
@example(
    (
        "hill",
        [(10.0, 1.0, 1.0), (10.0, 2.0, 1.0)],
        6.0,
        np.array([0.75, 5e-324]),
        np.array([3.75, 6.0]),
    )
)
def test_concave_optimum_has_equal_marginal_returns_kkt(case):
    curve, rows, total, lo, hi = case
    assume(curve == "exponential" or all(r[2] <= 1 for r in rows))
    assume(lo.sum() <= total <= hi.sum())
    names = [f"c{i}" for i in range(len(rows))]
    rc = ResponseCurves.from_params(curve, dict(zip(names, rows, strict=True)))
    plan = optimize_budget(
        rc,
        total,
        lower=dict(zip(names, lo, strict=True)),
        upper=dict(zip(names, hi, strict=True)),
        method="waterfill",
        n_samples=0,
    )
    x = plan.channels["optimal_spend"].to_numpy()
    m = response_marginal(curve, np.array(rows), x)
    tol = 1e-6 * total
    inside = (x > lo + tol) & (x < hi - tol)
    if inside.sum() >= 2:
        assert m[inside] == pytest.approx(np.full(inside.sum(), m[inside][0]), rel=1e-5)
    if inside.any():
        mu = m[inside][0]
        free = hi - lo > 2 * tol  # channels fixed by lower == upper say nothing
        at_lo, at_hi = free & (x <= lo + tol), free & (x >= hi - tol)
        assert np.all(m[at_lo] <= mu * (1 + 1e-5))  # held at lower: returns too low
        assert np.all(m[at_hi] >= mu * (1 - 1e-5))  # held at upper: returns too high


def test_s_shaped_hill_optimum_matches_a_grid_search():
    params = {"a": (500.0, 100.0, 3.0), "b": (300.0, 40.0, 2.0), "c": (200.0, 60.0, 0.8)}
    rc = ResponseCurves.from_params("hill", params)
    total = 200.0
    plan = optimize_budget(rc, total, n_samples=0)
    assert plan.summary["method"][0] == "slsqp"
    g = np.linspace(0, total, 801)
    xa, xb = np.meshgrid(g, g, indexing="ij")
    xc = total - xa - xb
    ok = xc >= 0
    p = np.array(list(params.values()))
    rev = sum(response("hill", p[i], v) for i, v in enumerate((xa, xb, np.maximum(xc, 0))))
    best = np.max(np.where(ok, rev, -np.inf))
    got = plan.summary["optimal_revenue"][0]
    assert got >= best - 1e-9 * best  # grid step 0.25: the optimizer is at least as good
    assert got == pytest.approx(best, rel=1e-3)
    with pytest.raises(ModelError, match="Water-filling needs concave curves"):
        optimize_budget(rc, total, method="waterfill")


def test_bad_bounds_are_clear_errors():
    rc = ResponseCurves.from_params(
        "exponential", {"a": (100.0, 10.0), "b": (50.0, 10.0)}, current_spend={"a": 5, "b": 5}
    )
    with pytest.raises(
        ValidationError, match=r"lower is above upper for 1 channels: 'b' \(6 > 2\)"
    ):
        optimize_budget(rc, lower={"b": 6.0}, upper={"b": 2.0})
    with pytest.raises(ValidationError, match="lower bounds sum to 12, more than the total 10"):
        optimize_budget(rc, lower=6.0)
    with pytest.raises(ValidationError, match="upper bounds sum to 8, less than the total 10"):
        optimize_budget(rc, upper=4.0)
    with pytest.raises(ValidationError, match=r"lower must be ≥ 0.*'a' \(-1\)"):
        optimize_budget(rc, lower={"a": -1.0})
    with pytest.raises(ValidationError, match="unknown channels 'tv'"):
        optimize_budget(rc, upper={"tv": 1.0})


def _simulate(rng, channels, n=156, sigma=None):
    """Weekly spend and revenue from known exponential curves with adstock."""
    start = dt.date(2021, 1, 4)
    dates = [start + dt.timedelta(weeks=i) for i in range(n)]
    frames = []
    for name, (beta, theta, decay, noise) in channels.items():
        spend = rng.uniform(0, 3 * theta, n) * (rng.random(n) > 0.1)
        mean = beta * (1 - np.exp(-geometric_adstock(spend, decay) / theta))
        revenue = mean + rng.normal(0, noise if sigma is None else sigma, n)
        frames.append(
            pl.DataFrame({"date": dates, "channel": name, "spend": spend, "revenue": revenue})
        )
    return pl.concat(frames)


TRUTH = {"search": (1000.0, 200.0, 0.5, 25.0), "social": (400.0, 50.0, 0.2, 10.0)}


def test_fit_recovers_known_curves_and_adstock(rng):
    frame = _simulate(rng, TRUTH)
    fit = fit_response_curves(frame.sample(fraction=1.0, shuffle=True, seed=2))
    table = fit.table()
    assert table.columns == ["channel", "parameter", "estimate", "std_error"]
    for name, (beta, theta, decay, noise) in TRUTH.items():
        rows = {r["parameter"]: r for r in table.filter(channel=name).iter_rows(named=True)}
        for par, true in (("beta", beta), ("theta", theta), ("decay", decay)):
            est, se = rows[par]["estimate"], rows[par]["std_error"]
            # unbiased to first order with Gaussian noise: within 4 standard errors, and the
            # standard errors are small enough for that to mean something (< 10 % of the value)
            assert abs(est - true) < 4 * se, (name, par, est, se)
            assert se < 0.1 * true
        assert rows["sigma"]["estimate"] == pytest.approx(noise, rel=0.2)


def test_fit_hill_without_adstock(rng):
    n = 200
    spend = rng.uniform(0, 300, n)
    revenue = 800 * spend**1.5 / (spend**1.5 + 100**1.5) + rng.normal(0, 15, n)
    dates = pl.date_range(
        dt.date(2020, 1, 1), dt.date(2020, 1, 1) + dt.timedelta(days=n - 1), eager=True
    )
    frame = pl.DataFrame({"day": dates, "ch": "tv", "cost": spend, "rev": revenue})
    fit = fit_response_curves(
        frame,
        curve="hill",
        adstock=False,
        date_col="day",
        channel_col="ch",
        spend_col="cost",
        revenue_col="rev",
    )
    se = fit.std_errors()[0]
    for est, true, s in zip(fit.params[0], (800.0, 100.0, 1.5), se, strict=True):
        assert abs(est - true) < 4 * s
    assert fit.decay[0] == 0.0


@pytest.mark.slow
def test_fit_standard_errors_have_nominal_coverage():
    """95 % Wald intervals of the decay and theta cover the truth in about 95 % of fits."""
    rng = np.random.default_rng(7)
    hits = {"theta": 0, "decay": 0}
    reps = 80
    for _ in range(reps):
        fit = fit_response_curves(_simulate(rng, {"a": TRUTH["search"]}, n=104))
        t = fit.table()
        est = dict(zip(t["parameter"], t["estimate"], strict=True))
        se = dict(zip(t["parameter"], t["std_error"], strict=True))
        hits["theta"] += abs(est["theta"] - 200.0) < 1.96 * se["theta"]
        hits["decay"] += abs(est["decay"] - 0.5) < 1.96 * se["decay"]
    for name, h in hits.items():
        # binomial sd at 95 % over 80 fits is 2.4 %; allow about 3 sd
        assert 0.87 <= h / reps <= 1.0, (name, h / reps)


def test_scenario_uncertainty_matches_the_delta_method(rng):
    fit = fit_response_curves(_simulate(rng, TRUTH))
    plan = optimize_budget(fit, level=95, n_samples=20000, seed=1)
    s = plan.summary.row(0, named=True)
    ch = plan.channels
    assert s["current_spend"] == pytest.approx(fit.current_spend.sum())
    assert s["optimal_spend"] == pytest.approx(s["current_spend"])
    assert s["optimal_revenue"] >= s["current_revenue"]
    assert s["uplift"] == pytest.approx(s["optimal_revenue"] - s["current_revenue"])
    assert s["optimal_revenue_lo"] < s["optimal_revenue"] < s["optimal_revenue_hi"]
    # delta method on the log parameters: var f = g' Σ g, summed over independent channels
    var = 0.0
    for i in range(len(fit.channels)):
        beta, theta = fit.params[i]
        x = ch["optimal_spend"][i]
        e = np.exp(-x / theta)
        grad = np.array([beta * (1 - e), -beta * e * x / theta])  # d f / d log(beta, theta)
        var += grad @ fit.cov_log[i] @ grad
    half = 1.959964 * np.sqrt(var)
    assert (s["optimal_revenue_hi"] - s["optimal_revenue_lo"]) / 2 == pytest.approx(half, rel=0.1)
    assert ch.columns[:7] == [
        "channel",
        "lower",
        "upper",
        "current_spend",
        "optimal_spend",
        "current_revenue",
        "optimal_revenue",
    ]
    assert ch["marginal_roi_optimal"].to_list() == pytest.approx(
        (ch["marginal_roas_optimal"] - 1).to_list()
    )
    assert ch["marginal_roas_optimal"][0] == pytest.approx(ch["marginal_roas_optimal"][1])


def test_fit_errors_name_column_rule_and_rows():
    frame = pl.DataFrame(
        {
            "date": ["2024-01-01", "2024-01-02", "2024-01-03"],
            "channel": "a",
            "spend": [1.0, -2.0, 3.0],
            "revenue": [1.0, 2.0, 3.0],
        }
    )
    with pytest.raises(ValidationError, match=r"'spend' has 1 values .*-2 at row 1.*≥ 0"):
        fit_response_curves(frame)
    with pytest.raises(SchemaError, match="Column 'revenue' is missing"):
        fit_response_curves(frame.drop("revenue"))
    dup = pl.concat([frame, frame]).with_columns(pl.col("spend").abs())
    with pytest.raises(ValidationError, match=r"3 duplicated \(date, channel\) pairs"):
        fit_response_curves(dup)
    with pytest.raises(ModelError, match="needs at least 5 periods; the spend and revenue"):
        fit_response_curves(frame.with_columns(pl.col("spend").abs()))
    idle = pl.DataFrame(
        {
            "date": pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 1, 9), eager=True),
            "channel": "z",
            "spend": 0.0,
            "revenue": 0.0,
        }
    )
    with pytest.raises(ModelError, match="1 channels never spend \\('z'\\)"):
        fit_response_curves(idle)


@pytest.mark.parametrize("shape", [0.5, 1.0, 2.0])
def test_hill_marginal_at_a_subnormal_spend_is_its_limit_at_zero(shape):
    # f'(x) = β s (x/K)^(s-1) / (K (1 + (x/K)^s)²) → ∞, β/K, 0 as x → 0 for s <, =, > 1
    limit = {0.5: np.inf, 1.0: 10.0 / 2.0, 2.0: 0.0}[shape]
    got = response_marginal("hill", np.array([10.0, 2.0, shape]), np.array(5e-324))
    assert float(got) == limit
    # and at an ordinary spend, the closed form
    x = 3.0
    want = 10.0 * shape * (x / 2.0) ** (shape - 1) / (2.0 * (1 + (x / 2.0) ** shape) ** 2)
    assert float(
        response_marginal("hill", np.array([10.0, 2.0, shape]), np.array(x))
    ) == pytest.approx(want, rel=1e-14)
