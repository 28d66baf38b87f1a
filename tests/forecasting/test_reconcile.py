from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

import forecasting as fc
from attribution import ValidationError
from forecasting.reconcile import reconciliation_matrix, shrink_covariance

HIER = pl.DataFrame({"channel": ["c0"] * 3 + ["c1"] * 3, "campaign": [f"k{i}" for i in range(6)]})


def test_summing_matrix_of_channels_and_campaigns():
    tree = fc.hierarchy_matrix(HIER)
    assert tree.nodes == ["total", "c0", "c1", "k0", "k1", "k2", "k3", "k4", "k5"]
    assert tree.summing.shape == (9, 6)
    np.testing.assert_array_equal(tree.summing[0], np.ones(6))
    np.testing.assert_array_equal(tree.summing[1], [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(tree.summing[3:], np.eye(6))
    assert fc.hierarchy_matrix(HIER, total=None).nodes[0] == "c0"


def test_bad_hierarchies_are_refused():
    with pytest.raises(ValidationError, match="named at two levels"):
        fc.hierarchy_matrix(pl.DataFrame({"channel": ["a", "b"], "campaign": ["a", "x"]}))
    with pytest.raises(ValidationError, match="more than one 'region'"):
        fc.hierarchy_matrix(
            pl.DataFrame(
                {"region": ["r", "r", "s"], "channel": list("abb"), "campaign": list("xyz")}
            )
        )
    with pytest.raises(ValidationError, match="more than one row"):
        fc.hierarchy_matrix(pl.DataFrame({"channel": ["a", "b"], "campaign": ["x", "x"]}))


def _gls(s, w, y):
    """Brute force: the coherent forecast closest to y in the metric W^-1 (weighted lstsq)."""
    root = np.linalg.cholesky(np.linalg.inv(w))
    b, *_ = np.linalg.lstsq(root.T @ s, root.T @ y, rcond=None)
    return s @ b


def test_projections_equal_least_squares_brute_force():
    rng = np.random.default_rng(1)
    s = fc.hierarchy_matrix(HIER).summing
    y = rng.normal(100, 20, 9)
    a = rng.normal(size=(9, 9))
    w = a @ a.T + np.eye(9)
    np.testing.assert_allclose(s @ reconciliation_matrix(s, "ols", None) @ y, _gls(s, np.eye(9), y))
    np.testing.assert_allclose(s @ reconciliation_matrix(s, "mint_shrink", w) @ y, _gls(s, w, y))
    np.testing.assert_allclose(
        s @ reconciliation_matrix(s, "wls", w) @ y, _gls(s, np.diag(np.diag(w)), y)
    )
    np.testing.assert_allclose(s @ reconciliation_matrix(s, "bottom_up", None) @ y, s @ y[3:])
    # a coherent forecast is left as it is by every projection
    coherent = s @ rng.normal(size=6)
    for method in ("ols", "wls", "mint_shrink"):
        np.testing.assert_allclose(s @ reconciliation_matrix(s, method, w) @ coherent, coherent)


def test_shrinkage_intensity_equals_its_definition():
    """The shrinkage intensity of R's hts::shrink.estim (Schäfer & Strimmer's lambda with the
    variance of each correlation as 1 / (T (T - 1)) sum (w - mean w)²), term by term."""
    rng = np.random.default_rng(2)
    e = rng.normal(size=(30, 4)) @ rng.normal(size=(4, 4))
    w, lam = shrink_covariance(e)
    t, n = e.shape
    sd = np.sqrt((e**2).mean(axis=0))
    x = e / sd
    num = den = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                wij = x[:, i] * x[:, j]
                num += np.sum((wij - wij.mean()) ** 2) / (t * (t - 1))
                den += wij.mean() ** 2
    assert lam == pytest.approx(min(1.0, num / den), rel=1e-10)
    cov = e.T @ e / t
    np.testing.assert_allclose(w, lam * np.diag(np.diag(cov)) + (1 - lam) * cov)


def _simulate(rng, n, h):
    """Six campaigns in two channels: common, channel and own shocks on a log scale."""
    t = np.arange(n + h)
    common = np.cumsum(rng.normal(0, 0.03, n + h))
    chan = np.cumsum(rng.normal(0, 0.03, (2, n + h)), axis=1)[[0, 0, 0, 1, 1, 1]]
    season = 0.2 * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 6.28, 6)[:, None])
    level = rng.uniform(50, 500, 6)[:, None]
    return level * np.exp(season + common + chan + rng.normal(0, 0.12, (6, n + h)))


@pytest.mark.slow
def test_reconciled_forecasts_add_up_and_are_at_least_as_accurate():
    rng = np.random.default_rng(20261202)
    tree = fc.hierarchy_matrix(HIER)
    n, h, reps = 48, 6, 12
    err = {m: 0.0 for m in ("base", "bottom_up", "ols", "mint_shrink")}
    inside = dict.fromkeys(err, 0.0)
    dates = pl.date_range(date(2020, 1, 1), date(2023, 12, 1), "1mo", eager=True)
    for _ in range(reps):
        values = tree.summing @ _simulate(rng, n, h)
        series = pl.concat(
            pl.DataFrame({"series_id": node, "date": dates, "value": values[j, :n]})
            for j, node in enumerate(tree.nodes)
        )
        kw = dict(h=h, models="theta", n_jobs=1)
        base = fc.forecast(series, **kw)
        cv = fc.backtest(series, n_windows=8, step=2, **kw)
        for method in err:
            out = (
                base if method == "base" else fc.reconcile(base, HIER, method=method, residuals=cv)
            )
            wide = out.pivot(on="series_id", index="date", values="mean").select(tree.nodes)
            got = wide.to_numpy().T  # nodes x h
            if method != "base":  # every aggregate is the sum of its parts
                np.testing.assert_allclose(got, tree.summing @ got[3:], rtol=1e-10)
            scale = np.abs(values[:, 12:n] - values[:, : n - 12]).mean(axis=1, keepdims=True)
            err[method] += np.mean(np.abs(got - values[:, n:]) / scale) / reps
            lo = out.pivot(on="series_id", index="date", values="lo-80").select(tree.nodes)
            hi = out.pivot(on="series_id", index="date", values="hi-80").select(tree.nodes)
            truth = values[:, n:].T
            inside[method] += np.mean((truth >= lo.to_numpy()) & (truth <= hi.to_numpy())) / reps
    assert err["mint_shrink"] < err["base"] and err["ols"] < err["base"]
    for method in ("bottom_up", "ols", "mint_shrink"):
        assert abs(inside[method] - inside["base"]) < 0.06, (method, inside)


def test_residuals_of_zero_give_the_ols_projection_and_keep_the_widths():
    # every node forecast exactly in every window: W = 0, which no method can invert; every
    # weighting of zero errors is alike, so the projection is the plain least squares one
    tree = fc.hierarchy_matrix(HIER)
    rng = np.random.default_rng(3)
    dates = [date(2024, m, 1) for m in (1, 2)]
    mean = rng.normal(100, 20, (2, 9))
    base = pl.DataFrame(
        {
            "series_id": np.repeat(tree.nodes, 2),
            "date": dates * 9,
            "model": "m",
            "mean": mean.T.ravel(),
        }
    ).with_columns((pl.col("mean") - 5).alias("lo-80"), (pl.col("mean") + 5).alias("hi-80"))
    cuts = [date(2023, m, 1) for m in range(1, 7)]
    zero = pl.DataFrame(
        {
            "series_id": np.repeat(tree.nodes, 6),
            "date": cuts * 9,
            "cutoff": cuts * 9,
            "model": "m",
            "actual": 1.0,
            "mean": 1.0,
        }
    )
    for method in ("wls", "mint_shrink"):
        out = fc.reconcile(base, HIER, method=method, residuals=zero)
        assert np.isfinite(out.select("mean", "lo-80", "hi-80").to_numpy()).all()
        got = out.pivot(on="series_id", index="date", values="mean").select(tree.nodes).to_numpy()
        np.testing.assert_allclose(got, mean @ _gls(tree.summing, np.eye(9), np.eye(9)).T)
        ols = fc.reconcile(base, HIER, method="ols")
        np.testing.assert_allclose(out["hi-80"] - out["lo-80"], ols["hi-80"] - ols["lo-80"])


def test_a_campaign_too_short_for_the_model_is_reconciled_with_its_fallback():
    # a campaign two months old is forecast by naive (labelled so); the hierarchy was
    # refused for it ("Model 'auto' has no forecasts for 1 nodes"); now its naive forecast
    # takes part in the reconciliation, which is the least squares projection (closed form)
    rng = np.random.default_rng(5)
    months = pl.date_range(date(2021, 1, 1), date(2023, 12, 1), "1mo", eager=True)
    a, b = 50 + rng.normal(0, 3, 36), 30 + rng.normal(0, 3, 36)
    new = np.r_[np.full(34, np.nan), 5.0, 6.0]
    values = {"brand": a, "generic": b, "new": new, "Search": a + b, "Social": new}
    values["total"] = a + b + np.nan_to_num(new)
    values["Social"] = np.nan_to_num(new)
    rows = [
        pl.DataFrame({"series_id": k, "date": months, "value": v}).drop_nulls().drop_nans()
        for k, v in values.items()
    ]
    hier = pl.DataFrame(
        {"channel": ["Search", "Search", "Social"], "campaign": ["brand", "generic", "new"]}
    )
    with pytest.warns(UserWarning, match="too short for 'auto'"):
        base = fc.forecast(pl.concat(rows), h=3, models="auto")
    assert base.filter(pl.col("series_id") == "new")["model"].unique().to_list() == ["naive"]
    out = fc.reconcile(base, hier, method="ols")
    assert out["model"].unique().to_list() == ["auto"] and out.height == 6 * 3
    tree = fc.hierarchy_matrix(hier)
    y = base.pivot(on="series_id", index="date", values="mean").sort("date").select(tree.nodes)
    got = out.pivot(on="series_id", index="date", values="mean").sort("date").select(tree.nodes)
    projection = _gls(tree.summing, np.eye(len(tree.nodes)), np.eye(len(tree.nodes)))
    np.testing.assert_allclose(got.to_numpy(), y.to_numpy() @ projection.T, rtol=1e-9)
