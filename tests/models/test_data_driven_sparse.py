"""Data-driven attribution over many channels: sparse features, Hessian-free Newton steps.

The sparse path must give the dense path's results (to the solvers' tolerance) wherever both
apply; the references are the dense features, the dense Cholesky Newton iteration, the dense
credit (itself checked against brute-force Shapley values in test_data_driven.py) and a closed
form for a one-feature logistic fit.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import attribution as at
import attribution.models.data_driven as dd
from attribution.datasets import simulate_events
from attribution.datasets.scenarios import scenario
from attribution.models.data_driven import _credit_rows, _credit_rows_sparse, _Fitted
from attribution.models.features import group_rows, journey_features
from attribution.models.glm import fit_linear, newton_glm
from attribution.models.hazard import hazard_features, interval_samples


@pytest.fixture(scope="module")
def journeys():
    sim = scenario("no_confounding", 3_000, seed=7)
    return at.build_journeys(sim.events, lookback_days=30)


@pytest.mark.parametrize("names", [["count", "log_count"], ["decay"], ["log_count", "recency"]])
def test_sparse_features_hold_the_dense_values(journeys, names) -> None:
    seq = journeys.sequences()
    dense = journey_features(seq, names)
    sparse = journey_features(seq, names, sparse=True)
    assert sp.issparse(sparse)
    assert sparse.has_sorted_indices
    np.testing.assert_array_equal(sparse.toarray(), dense)
    assert sparse.nnz == np.count_nonzero(dense)  # only the channels touched


def test_sparse_hazard_features_hold_the_dense_values(journeys) -> None:
    seq = journeys.sequences()
    rows = np.flatnonzero(seq.lengths > 0)
    row, tau, _, _ = interval_samples(seq, rows, 2, np.random.default_rng(0))
    dense = hazard_features(seq, row, tau, 5.0)
    sparse = hazard_features(seq, row, tau, 5.0, sparse=True)
    np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-13, atol=0)


def test_grouping_sparse_rows_gives_the_dense_groups(journeys) -> None:
    seq = journeys.sequences()
    x = journey_features(seq, ["count"])
    pos, neg = seq.conversions, seq.nulls
    xd, pd_, nd = group_rows(x, pos, neg)
    xs, ps, ns = group_rows(sp.csr_matrix(x), pos, neg)
    assert xs.shape == xd.shape
    # the same rows with the same weights, whatever the order
    key_d = {tuple(r): (p, n) for r, p, n in zip(xd.tolist(), pd_, nd, strict=True)}
    key_s = {tuple(r): (p, n) for r, p, n in zip(xs.toarray().tolist(), ps, ns, strict=True)}
    assert key_d == key_s


def test_sparse_newton_solves_a_closed_form() -> None:
    """One binary feature: the fit is the log odds of each group (1:3, then 3:1)."""
    x = sp.csr_matrix(np.array([[0.0], [0.0], [1.0], [1.0]]))
    theta = newton_glm(
        x, np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0, 3.0, 3.0, 1.0]), 1e-12, "logistic"
    )
    np.testing.assert_allclose(theta, [np.log(1 / 3), np.log(3) - np.log(1 / 3)], atol=1e-8)


@pytest.mark.parametrize("link", ["logistic", "noisy_or"])
@pytest.mark.parametrize("alpha", [1e-6, 1e-2])
def test_sparse_fit_equals_the_dense_fit(link: str, alpha: float) -> None:
    rng = np.random.default_rng(1)
    n, p = 4_000, 30
    x = (rng.random((n, p)) < 0.1) * rng.integers(1, 4, (n, p)).astype(np.float64)
    eta = -3.0 + x @ np.r_[rng.random(p // 2), -0.3 * rng.random(p - p // 2)]
    y = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
    pos, neg = y.astype(np.float64), 1.0 - y
    b_dense, c_dense = fit_linear(x, pos, neg, alpha, link)
    b_sparse, c_sparse = fit_linear(sp.csr_matrix(x), pos, neg, alpha, link)
    assert (c_dense == 0).any()  # the active set dropped some columns
    np.testing.assert_array_equal(c_sparse == 0, c_dense == 0)
    assert b_sparse == pytest.approx(b_dense, abs=1e-8)
    np.testing.assert_allclose(c_sparse, c_dense, atol=1e-8)


@pytest.mark.parametrize("method", ["shapley", "removal"])
@pytest.mark.parametrize("kind", ["logistic", "noisy_or"])
def test_sparse_credit_equals_the_dense_credit_with_synergies(journeys, method, kind) -> None:
    """Shares, baseline and removal effects per row, a model with synergy terms and intent."""
    conv = journeys.sequences().converting
    k = len(conv.channels)
    rng = np.random.default_rng(3)
    feats = ("log_count", "recency")
    model = _Fitted(
        kind,
        feats,
        k,
        intercept=-2.5 if kind == "logistic" else 0.05,
        coef=rng.uniform(0.0, 0.6, 2 * k),
        pairs=np.array([[0, 1], [1, 3], [2, 5]]),
        pair_coef=np.array([0.4, 0.2, 0.7]),
        selection=rng.uniform(0.0, 0.2, 2 * k),  # as lift tests leave it
    )
    x = journey_features(conv, feats)
    counts = np.bincount(conv.row_of_touch * k + conv.codes, minlength=conv.n_rows * k)
    counts = counts.reshape(conv.n_rows, k)
    share, base, p_all = _credit_rows(model, x, counts, method, 3)
    removal = DataDrivenLike(model).removal(x, counts, p_all)
    cnt = dd._channel_counts(conv)
    s, b, p, r = _credit_rows_sparse(model, sp.csr_matrix(x), cnt, method, 3)
    rows = dd._entry_rows(cnt)
    np.testing.assert_allclose(s, share[rows, cnt.indices], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(b, base, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(p, p_all, rtol=1e-12)
    np.testing.assert_allclose(r, removal[rows, cnt.indices], rtol=1e-10, atol=1e-15)
    assert (np.bincount(rows, minlength=conv.n_rows) > 3).any()  # some rows use the rule


class DataDrivenLike:
    """The dense removal effects of :class:`DataDrivenModel` for a given fitted model."""

    def __init__(self, model: _Fitted) -> None:
        self.model = model

    def removal(self, x: np.ndarray, counts: np.ndarray, p_all: np.ndarray) -> np.ndarray:
        return dd.DataDrivenModel._removal(None, self.model, x, counts, p_all)  # type: ignore[arg-type]


def _results(journeys, monkeypatch, sparse: bool, **params) -> at.Attribution:
    monkeypatch.setattr(dd, "_SPARSE_CHANNELS", 0 if sparse else 10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        return at.attribute(journeys, "data_driven", **params)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"time_model": "hazard"},
        {"features": "log_counts", "estimator": "logistic", "method": "removal"},
    ],
)
def test_sparse_path_equals_the_dense_path(journeys, monkeypatch, params) -> None:
    dense = _results(journeys, monkeypatch, False, **params)
    sparse = _results(journeys, monkeypatch, True, **params)
    assert not dense.tables["diagnostics"]["sparse_features"][0]
    assert sparse.tables["diagnostics"]["sparse_features"][0]
    sel_d, sel_s = dense.tables["model_selection"], sparse.tables["model_selection"]
    assert sel_d.drop("cv_log_loss").equals(sel_s.drop("cv_log_loss"))
    logistic = (sel_d["estimator"] != "noisy_or").to_numpy()
    np.testing.assert_allclose(
        sel_s["cv_log_loss"].to_numpy()[logistic],
        sel_d["cv_log_loss"].to_numpy()[logistic],
        rtol=1e-8,
    )
    # a noisy-OR fit whose unconstrained optimum lies where some η → 0 (before its active set
    # drops the negative coefficients) follows rounding there: close, not equal
    np.testing.assert_allclose(sel_s["cv_log_loss"], sel_d["cv_log_loss"], rtol=1e-2)
    a, b = dense.channels.sort("channel"), sparse.channels.sort("channel")
    assert a["channel"].to_list() == b["channel"].to_list()
    np.testing.assert_allclose(b["conversions"], a["conversions"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(b["revenue"], a["revenue"], rtol=1e-6, atol=1e-4)
    ea, eb = dense.tables["effects"], sparse.tables["effects"]
    for col in ("removal_conversions", "journeys_with_channel"):
        np.testing.assert_allclose(eb[col], ea[col], rtol=1e-6, atol=1e-6)
    for col in ("n_unique_rows", "time_model"):
        assert dense.tables["diagnostics"][col][0] == sparse.tables["diagnostics"][col][0]


def test_sparse_path_with_lift_tests_equals_the_dense_path(journeys, monkeypatch) -> None:
    tests = pl.DataFrame(
        {
            "channel": [journeys.channels[0]],
            "incremental_conversions": [5.0],
            "lower": [2.0],
            "upper": [8.0],
        }
    )
    dense = _results(journeys, monkeypatch, False, lift_tests=tests)
    sparse = _results(journeys, monkeypatch, True, lift_tests=tests)
    for table in ("lift_tests", "log_only"):
        a, b = dense.tables[table], sparse.tables[table]
        for col in a.columns:
            if a[col].dtype == pl.Float64:
                np.testing.assert_allclose(b[col], a[col], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        sparse.channels.sort("channel")["conversions"],
        dense.channels.sort("channel")["conversions"],
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.slow
def test_thousands_of_channels_are_fitted_not_refused() -> None:
    """A small log over 2,000+ channels: sparse features, the logistic link, complete credit."""
    journeys = at.build_journeys(simulate_events(12_000, seed=2, n_channels=2_500))
    assert len(journeys.channels) > 2_000
    res = at.attribute(journeys, "data_driven", features="counts", alphas=(1e-2,), diagnose=False)
    diag = res.tables["diagnostics"]
    assert diag["sparse_features"][0]
    assert diag["estimators_tried"][0] == "logistic"  # more than _MANY_CHANNELS channels
    assert set(res.tables["model_selection"]["estimator"]) == {"logistic"}
    assert res.channels["conversions"].sum() == pytest.approx(journeys.n_conversions)
    assert (res.channels["conversions"] >= 0).all()
    eff = res.tables["effects"]
    assert (eff["removal_conversions"] <= eff["journeys_with_channel"] + 1e-9).all()


def test_boosting_refuses_dense_features_that_would_not_fit(monkeypatch) -> None:
    journeys = at.build_journeys(simulate_events(5_000, seed=1, n_channels=100))
    monkeypatch.setattr(dd, "_DENSE_BYTES", 2**20)
    with pytest.raises(at.ModelError, match=r"needs dense features: [\d,]+ journeys × 100 "):
        at.attribute(journeys, "data_driven", estimator="boosting")
