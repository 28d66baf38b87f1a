"""Tests of the data-driven model: fitted conversion model + counterfactual Shapley credit."""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.datasets.scenarios import scenario
from attribution.evaluation import evaluate
from attribution.journeys import Sequences
from attribution.models.data_driven import DataDrivenModel, _credit_rows, _Fitted
from attribution.models.features import journey_features
from tests.conftest import random_events


@pytest.fixture(scope="module")
def sim_journeys():
    sim = scenario("no_confounding", 4_000, seed=5)
    return sim, at.build_journeys(sim.events, lookback_days=30)


def _brute_shapley(v: dict[frozenset, float], players: list[int]) -> dict[int, float]:
    """Shapley values by averaging marginal contributions over every ordering."""
    phi = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for order in perms:
        seen: frozenset = frozenset()
        for p in order:
            phi[p] += v[seen | {p}] - v[seen]
            seen = seen | {p}
    return {p: x / len(perms) for p, x in phi.items()}


def _scores_by_model(sim, models: dict) -> dict[str, dict]:
    """``evaluate``'s summary row of each model, by name, against the simulation's truth."""
    ev = evaluate(
        sim.events, sim.truth, baseline_conversions=sim.baseline_conversions, models=models
    )
    return {r["model"]: r for r in ev.summary.iter_rows(named=True)}


def test_credit_plus_baseline_sums_to_conversions(sim_journeys) -> None:
    _, journeys = sim_journeys
    res = at.attribute(journeys, "data_driven")
    ch = res.channels
    base = res.tables["baseline"]
    assert base["channel"].to_list() == ["(baseline)"]
    assert ch.filter(pl.col("channel") == "(baseline)").equals(base)
    total = ch["conversions"].sum()
    assert total == pytest.approx(journeys.n_conversions, rel=1e-9)
    assert (ch["conversions"] >= 0).all()
    revenue = ch["revenue"].sum()
    assert revenue == pytest.approx(journeys.revenue[journeys.converted].sum(), rel=1e-9)
    # each converting journey: touch credits + its baseline share = 1, so touch credits <= 1
    tp = res.touchpoints
    per_journey = tp.group_by("journey_id").agg(pl.col("credit").sum())["credit"]
    assert (per_journey <= 1 + 1e-9).all() and (per_journey >= 0).all()
    assert per_journey.sum() == pytest.approx(
        ch.filter(~pl.col("channel").is_in([at.NO_TOUCH, "(baseline)"]))["conversions"].sum(),
        rel=1e-9,
    )


def test_exact_shapley_matches_brute_force_on_fitted_model(sim_journeys) -> None:
    _, journeys = sim_journeys
    for estimator in ("logistic", "noisy_or"):
        model = DataDrivenModel(features="log_counts", estimator=estimator, alphas=[1e-4])
        model.fit(journeys)
        out = model.credit(journeys)
        seq = out.touch_seq
        assert seq is not None and out.touch_credit is not None
        # pick the converting journey with the most distinct channels
        k = len(seq.channels)
        x_all = journey_features(seq, ["log_count"])
        present = x_all > 0
        r = int(np.argmax(present.sum(axis=1)))
        players = list(np.flatnonzero(present[r]))
        assert len(players) >= 3

        def v(coalition: frozenset, r=r, model=model, x_all=x_all, k=k) -> float:
            x = x_all[r].copy()
            for c in range(k):
                if c not in coalition:
                    x[c] = 0.0
            return float(model.model_.predict(x[None, :])[0])

        games = {
            frozenset(s): v(frozenset(s))
            for n in range(len(players) + 1)
            for s in itertools.combinations(players, n)
        }
        expected = _brute_shapley(games, players)
        p_all = games[frozenset(players)]
        lo, hi = seq.indptr[r], seq.indptr[r + 1]
        got = np.bincount(seq.codes[lo:hi], weights=out.touch_credit[lo:hi], minlength=k)
        for c in players:
            assert got[c] == pytest.approx(max(expected[c], 0.0) / p_all, abs=1e-9), estimator


def test_boosting_credit_is_complete() -> None:
    sim = scenario("short_journeys", 2_000, seed=2)
    journeys = at.build_journeys(sim.events)
    res = at.attribute(journeys, "data_driven", estimator="boosting", features="counts")
    total = res.channels["conversions"].sum()
    assert total == pytest.approx(journeys.n_conversions)
    assert (res.channels["conversions"] >= 0).all()
    assert res.tables["model_selection"]["estimator"].to_list() == ["boosting"]


def test_path_table_equals_journeys_with_time_free_features(sim_journeys) -> None:
    # a path table has no users, so it is pooled; pooled journeys must give the same answer
    _, journeys = sim_journeys
    params = {"features": "log_counts", "estimator": "logistic"}
    a = at.attribute(journeys, "data_driven", returning="pool", **params)
    b = at.attribute(journeys.to_paths(), "data_driven", **params)
    np.testing.assert_allclose(
        a.channels["conversions"].to_numpy(),
        b.channels["conversions"].to_numpy(),
        rtol=1e-6,
        atol=1e-9,
    )
    assert a.tables["baseline"]["conversions"][0] == pytest.approx(
        b.tables["baseline"]["conversions"][0], rel=1e-7
    )


def test_removal_equals_shapley_for_one_channel_journeys() -> None:
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["a", "b", "a > a", "b > b > b"],
                "total_conversions": [30, 10, 20, 12],
                "total_null": [300, 400, 100, 150],
            }
        )
    )
    kw = {"features": "counts", "estimator": "logistic"}
    s = at.attribute(pt, "data_driven", method="shapley", **kw).channels
    r = at.attribute(pt, "data_driven", method="removal", **kw).channels
    np.testing.assert_allclose(s["conversions"].to_numpy(), r["conversions"].to_numpy())


def test_removal_rule_rescales_to_the_gap() -> None:
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["a > b", "a", "b", "c > a > b"],
                "total_conversions": [40, 10, 10, 15],
                "total_null": [100, 200, 200, 50],
            }
        )
    )
    res = at.attribute(pt, "data_driven", method="removal", features="counts")
    total = res.channels["conversions"].sum()
    assert total == pytest.approx(75.0)


def test_fitted_model_is_inspectable(sim_journeys) -> None:
    _, journeys = sim_journeys
    model = DataDrivenModel().fit(journeys)
    assert model.estimator_ in ("logistic", "noisy_or")
    assert model.cv_results_["selected"].sum() == 1
    assert set(model.cv_results_["feature_set"]) >= {"counts", "log_counts", "decay"}
    diag = model.diagnostics_.row(0, named=True)
    assert diag["cv_log_loss"] < diag["null_log_loss"]  # it predicts better than a constant
    assert 0.5 < diag["auc"] <= 1
    assert (model.coef_["coefficient"] >= 0).all()
    p = model.predict_proba(journeys)
    assert p.shape == (journeys.n_journeys,) and ((p > 0) & (p < 1)).all()


def test_errors_are_clear(sim_journeys) -> None:
    _, journeys = sim_journeys
    only_conv = at.read_paths(pl.DataFrame({"path": ["a", "b > a"], "total_conversions": [3, 2]}))
    with pytest.raises(at.ModelError, match="no non-converting ones"):
        at.attribute(only_conv, "data_driven")
    with pytest.raises(at.ModelError, match="Unknown feature set 'nope'"):
        at.attribute(journeys, "data_driven", features="nope")
    with pytest.raises(at.ModelError, match="'decay' needs touch times"):
        at.attribute(journeys.to_paths(), "data_driven", features="decay")
    with pytest.raises(at.ModelError, match="estimator must be"):
        at.attribute(journeys, "data_driven", estimator="forest")
    with pytest.raises(at.ModelError, match="not fitted yet"):
        DataDrivenModel().predict_proba(journeys)
    # were ValueErrors from min() and NumPy: 'min() arg is an empty sequence', 'expected
    # non-negative integer'
    with pytest.raises(at.ModelError, match="features names no feature set"):
        at.attribute(journeys, "data_driven", features=[])
    # were TypeErrors from NumPy and '<', and 'negative dimensions are not allowed'
    for name, value in (("folds", 2.5), ("folds", "3"), ("cv_rows", -5), ("cv_rows", 2.5)):
        with pytest.raises(at.ModelError, match=f"{name} must be a whole number in"):
            at.attribute(journeys, "data_driven", **{name: value})
    for seed in (-1, 1.5, True):
        with pytest.raises(at.ModelError, match=f"seed must be a whole number ≥ 0; got {seed}"):
            at.attribute(journeys, "data_driven", seed=seed)


def test_more_channels_than_max_fit_channels_are_refused_and_skipped(sim_journeys) -> None:
    _, journeys = sim_journeys
    k = len(journeys.channels)
    with pytest.raises(
        at.ModelError,
        match=rf"data_driven fits at most max_fit_channels={k - 1} channels; this log has {k}\.",
    ):
        at.attribute(journeys, "data_driven", max_fit_channels=k - 1)
    for bad in (0, True, 2.5):
        with pytest.raises(at.ModelError, match="max_fit_channels must be an integer"):
            at.attribute(journeys, "data_driven", max_fit_channels=bad)
    with pytest.warns(at.SkippedModelWarning, match="'data_driven' skipped"):
        side = at.attribute_all(
            journeys, ["linear", "data_driven"], skip_refused=True, max_fit_channels=k - 1
        )
    assert side["model"].unique().to_list() == ["linear"]


def test_seq_weights_are_counts_not_flags() -> None:
    """Doubling every count leaves shares unchanged (the model sees the same rates)."""
    base = dict(
        channels=("a", "b"),
        indptr=np.array([0, 1, 2, 4, 5]),
        codes=np.array([0, 1, 0, 1, 0], dtype=np.int32),
        value=np.array([10.0, 5.0, 20.0, 0.0]),
    )
    one = Sequences(
        conversions=np.array([3.0, 1.0, 4.0, 0.0]), nulls=np.array([30.0, 20.0, 10.0, 9.0]), **base
    )
    two = Sequences(
        conversions=np.array([6.0, 2.0, 8.0, 0.0]), nulls=np.array([60.0, 40.0, 20.0, 18.0]), **base
    )
    kw = {"features": "counts", "estimator": "logistic", "alphas": [1e-9]}
    a = DataDrivenModel(**kw).fit(one).credit(one)
    b = DataDrivenModel(**kw).fit(two).credit(two)
    np.testing.assert_allclose(2 * a.conversions, b.conversions, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["no_confounding", "short_journeys"])
def test_beats_path_models_without_confounding(name: str) -> None:
    sim = scenario(name, 15_000, seed=11)
    ev = evaluate(
        sim.events, sim.truth, baseline_conversions=sim.baseline_conversions, lookback_days=30
    )
    s = ev.summary
    dda = s.filter(pl.col("model") == "data_driven").row(0, named=True)
    best_path = s.filter(pl.col("kind") == "path-based")["total_abs_error"].min()
    assert dda["total_abs_error"] <= 0.5 * best_path
    assert dda["no_effect_share"] <= 0.05
    assert math.isfinite(dda["share_abs_error"])


def test_post_purchase_tails_are_left_out_of_the_first_journey_model() -> None:
    # one purchase per user: the returning journeys are the tails after it, all
    # non-converting, so "separate" must equal a pooled fit on journeys without those tails
    sim = scenario("no_confounding", 5_000, seed=3, post_purchase_rate=0.5)
    tails = at.build_journeys(sim.events)
    assert tails.returning.sum() > 100 and not tails.converted[tails.returning].any()
    no_tails = at.build_journeys(sim.events, non_converting="never_converted")
    a = at.attribute(tails, "data_driven")
    b = at.attribute(no_tails, "data_driven", returning="pool")
    np.testing.assert_allclose(
        a.channels["conversions"].to_numpy(), b.channels["conversions"].to_numpy(), rtol=1e-9
    )
    assert a.tables["diagnostics"]["population"].to_list() == ["first"]
    assert b.tables["diagnostics"]["population"].to_list() == ["all"]


def test_returning_customers_get_their_own_model() -> None:
    sim = scenario("no_confounding", 6_000, seed=4, conversions_per_user=3)
    journeys = at.build_journeys(sim.events)
    seq = journeys.sequences()
    ret = journeys.returning
    assert journeys.converted[ret].sum() >= 30
    kw = {"features": "counts", "estimator": "noisy_or", "min_returning": 30}
    model = DataDrivenModel(**kw).fit(journeys)
    assert model.returning_model_ is not None
    out = model.credit(journeys)
    assert out.tables["diagnostics"]["population"].to_list() == ["first", "returning"]
    assert set(out.tables["coefficients"]["population"]) == {"first", "returning"}
    # each population's credit is what a model fitted on that population alone gives it
    parts = [seq.subset(~ret), seq.subset(ret)]
    alone = [DataDrivenModel(**kw, returning="pool").fit(p) for p in parts]
    expected = sum(m.credit(p).conversions for m, p in zip(alone, parts, strict=True))
    np.testing.assert_allclose(out.conversions, expected, rtol=1e-9)
    assert out.extra_rows[0][1] == pytest.approx(
        sum(m.credit(p).extra_rows[0][1] for m, p in zip(alone, parts, strict=True)), rel=1e-9
    )
    prob = model.predict_proba(journeys)
    np.testing.assert_allclose(prob[ret], alone[1].predict_proba(parts[1]), rtol=1e-12)
    np.testing.assert_allclose(prob[~ret], alone[0].predict_proba(parts[0]), rtol=1e-12)
    # too few returning conversions for a model of their own: the first model credits them
    few = DataDrivenModel(**{**kw, "min_returning": 10**6}).fit(journeys)
    assert few.returning_model_ is None
    np.testing.assert_allclose(
        few.credit(journeys).conversions, alone[0].credit(seq).conversions, rtol=1e-9
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_separate_returning_model_is_closer_to_the_truth_with_tails(seed: int) -> None:
    # half of the buyers are touched after their purchase: a pooled fit reads those tails
    # as failed journeys (few touches, no purchase) and overstates every channel
    sim = scenario("no_confounding", 20_000, seed=seed, post_purchase_rate=0.5)
    models = {
        "separate": ("data_driven", {}),
        "pool": ("data_driven", {"returning": "pool"}),
    }
    s = _scores_by_model(sim, models)
    assert s["separate"]["total_abs_error"] < 0.75 * s["pool"]["total_abs_error"]
    assert s["separate"]["no_effect_share"] <= 0.05


@pytest.mark.parametrize(("features", "kind"), [("counts", "noisy_or"), ("decay", "logistic")])
def test_shapley_with_synergy_terms_matches_brute_force(rng, features: str, kind: str) -> None:
    # a model with synergy terms, credited by _credit_rows, against the Shapley values of
    # the game "predict with only these channels' features", by permutations
    k, n = 5, 40
    x = rng.exponential(1.0, size=(n, k)) * (rng.random((n, k)) < 0.7)
    if features == "counts":
        x = np.ceil(x)
    pairs = np.array([[0, 1], [1, 3], [2, 4]])
    model = _Fitted(
        kind,
        (features,),
        k,
        intercept=-2.0 if kind == "logistic" else 0.05,
        coef=rng.uniform(0.0, 0.4, size=k),
        pairs=pairs,
        pair_coef=np.array([0.5, 0.2, 0.8]),
    )
    counts = (x > 0).astype(np.int64)
    share, baseline, p_all = _credit_rows(model, x, counts, "shapley", 12)
    exposure = -np.expm1(-x) if features == "decay" else (x > 0).astype(float)
    for r in range(n):
        players = list(np.flatnonzero(counts[r]))

        def v(coalition: frozenset, r=r) -> float:
            keep = np.array([c in coalition for c in range(k)])
            xr = np.where(keep, x[r], 0.0)
            eta = model.intercept + xr @ model.coef
            eta += sum(
                g * exposure[r, a] * exposure[r, b] * keep[a] * keep[b]
                for (a, b), g in zip(pairs.tolist(), model.pair_coef, strict=True)
            )
            return float(1 / (1 + np.exp(-eta)) if kind == "logistic" else -np.expm1(-eta))

        games = {
            frozenset(s): v(frozenset(s))
            for m in range(len(players) + 1)
            for s in itertools.combinations(players, m)
        }
        expected = _brute_shapley(games, players)
        full = games[frozenset(players)]
        assert p_all[r] == pytest.approx(full, rel=1e-12)
        assert baseline[r] == pytest.approx(games[frozenset()] / full, rel=1e-9)
        for c in players:
            assert share[r, c] == pytest.approx(expected[c] / full, abs=1e-12)


def test_planted_synergies_are_found_and_kept_apart_from_main_effects() -> None:
    # the simulator multiplies the chance of *not* converting by (1 - gamma) when both
    # channels of a pair touched the user: a noisy-OR synergy of -log(1 - gamma)
    sim = scenario("interactions", 20_000, seed=3)
    journeys = at.build_journeys(sim.events)
    model = DataDrivenModel(features="counts", estimator="noisy_or", alphas=[1e-4]).fit(journeys)
    planted = {("Email", "Paid Search"): 0.06, ("Affiliate", "Social"): 0.08}
    assert {frozenset(p) for p in model.pairs_} == {frozenset(p) for p in planted}
    chosen = model.cv_results_.filter(pl.col("selected"))
    assert chosen.height == 1 and chosen["pairs"][0] == 2
    coef = dict(
        model.coef_.filter(pl.col("feature") == "synergy")
        .select("channel", "coefficient")
        .iter_rows()
    )
    for (a, b), gamma in planted.items():
        got = coef.get(f"{a} × {b}", coef.get(f"{b} × {a}"))
        assert got == pytest.approx(-math.log1p(-gamma), rel=0.5)
    none = DataDrivenModel(
        features="counts", estimator="noisy_or", alphas=[1e-4], interactions="none"
    ).fit(journeys)
    assert none.pairs_ == [] and "synergy" not in none.coef_["feature"].to_list()
    # the same log without synergies: no pair survives the out-of-fold test
    plain = at.build_journeys(scenario("no_confounding", 20_000, seed=3).events)
    assert DataDrivenModel(features="counts", estimator="noisy_or").fit(plain).pairs_ == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_synergy_terms_bring_credit_closer_to_the_truth(seed: int) -> None:
    sim = scenario("interactions", 20_000, seed=seed)
    models = {
        "auto": ("data_driven", {}),
        "none": ("data_driven", {"interactions": "none"}),
    }
    s = _scores_by_model(sim, models)
    assert s["auto"]["total_abs_error"] < 0.8 * s["none"]["total_abs_error"]
    assert s["auto"]["no_effect_share"] <= 0.05


def _hazard_log(n: int, seed: int, gamma: float) -> pl.DataFrame:
    """A log drawn from the hazard model itself: daily logistic hazard on decayed exposure
    (half-life 7 days) of channels a, b, c, plus ``gamma`` times the saturated exposures of a
    and b; touches stop at the conversion."""
    rng = np.random.default_rng(seed)
    days, k = 60, 3
    beta, b0 = np.array([0.5, 0.4, 0.3]), -5.5
    touch = rng.random((n, days, k)) < 0.08
    exposure = np.zeros((n, k))
    alive = np.ones(n, dtype=bool)
    conv_day = np.full(n, -1)
    for t in range(days):
        exposure = exposure * 2 ** (-1 / 7) + touch[:, t, :]
        sat = -np.expm1(-exposure)
        eta = b0 + exposure @ beta + gamma * sat[:, 0] * sat[:, 1]
        hit = alive & (rng.random(n) < 1 / (1 + np.exp(-eta)))
        conv_day[hit] = t
        alive &= ~hit
    u, t, c = np.nonzero(touch)
    keep = (conv_day[u] < 0) | (t <= conv_day[u])
    u, t, c = u[keep], t[keep], c[keep]
    buyers = np.flatnonzero(conv_day >= 0)
    hours = np.r_[t * 24 + 1, conv_day[buyers] * 24 + 23].astype(np.int64)
    return pl.DataFrame(
        {
            "user_id": np.r_[u, buyers],
            "timestamp": pl.Series(hours * 3_600_000_000, dtype=pl.Int64).cast(
                pl.Datetime("us", "UTC")
            ),
            "channel": [("a", "b", "c")[i] for i in c] + [None] * len(buyers),
            "event": ["touch"] * len(u) + ["conversion"] * len(buyers),
            "revenue": np.r_[np.zeros(len(u)), np.ones(len(buyers))],
        }
    )


def test_hazard_model_finds_a_planted_synergy() -> None:
    with_pair = at.build_journeys(_hazard_log(15_000, 1, gamma=1.5))
    model = DataDrivenModel(time_model="hazard").fit(with_pair)
    coef = dict(model.coef_.select("channel", "coefficient").iter_rows())
    assert ("a", "b") in model.pairs_
    assert coef["a × b"] == pytest.approx(1.5, rel=0.3)
    assert all(coef[f"{x} × {y}"] < 0.25 * coef["a × b"] for x, y in model.pairs_ if y != "b")
    assert [coef[c] for c in "abc"] == pytest.approx([0.5, 0.4, 0.3], abs=0.1)
    plain = at.build_journeys(_hazard_log(15_000, 1, gamma=0.0))
    assert DataDrivenModel(time_model="hazard").fit(plain).pairs_ == []


def test_names_that_moved_out_are_still_importable_from_here() -> None:
    from attribution.models import base, data_driven, features, shapley

    assert data_driven.BASELINE is base.BASELINE == "(baseline)"
    assert data_driven.FEATURE_SETS is features.FEATURE_SETS
    assert data_driven.journey_features is features.journey_features
    assert data_driven.shapley_weights is shapley.shapley_weights


def test_identification_warning_names_only_the_checks_that_ran(rng) -> None:
    """A lookback check that did not run (no touch long before its conversion here) is not
    reported: the warning said 'and nan% with a 0-day lookback'."""
    journeys = at.build_journeys(random_events(rng, 500, n_users=40))
    with pytest.warns(at.IdentificationWarning) as caught:
        res = at.attribute(journeys, "data_driven")
    assert res.tables["diagnostics"]["lookback_instability"].to_list() == [None]
    message = str(caught[0].message)
    assert "of the conversions between folds" in message
    assert "nan" not in message and "lookback" not in message


def _converting_with_touches(journeys: at.Journeys) -> int:
    """Converting journeys that have touches, counted from the journeys' own arrays."""
    lengths = np.diff(journeys.indptr)
    return int(np.count_nonzero((lengths > 0) & journeys.converted))


def test_more_folds_than_converting_journeys_are_refused_naming_both_numbers() -> None:
    # was: folds=1000 on a few hundred journeys ran 1,000 fits (about 60 s)
    events = random_events(np.random.default_rng(3), 600, n_users=60)
    journeys = at.build_journeys(events)
    n = _converting_with_touches(journeys)
    assert 3 < n < 1_000
    for call in (
        lambda f: at.attribute(journeys, "data_driven", folds=f),
        lambda f: at.attribute_all(journeys, models=["data_driven"], folds=f),
        lambda f: DataDrivenModel(folds=f).fit(journeys),
    ):
        for folds in (n + 1, 1_000):
            with pytest.raises(
                at.ModelError,
                match=rf"folds={folds:,} is more than the {n:,} converting journeys with touches"
                rf".*folds ≤ {n:,}",
            ):
                call(folds)
    res = at.attribute(journeys, "data_driven", folds=n, features="counts", diagnose=False)
    assert res.channels["conversions"].sum() == pytest.approx(journeys.n_conversions)


def test_fold_limit_on_a_path_table_counts_converting_paths_and_keeps_the_default() -> None:
    paths = pl.DataFrame(
        {
            "path": ["a > b", "b", "a", "c > a", "c"],
            "total_conversions": [4, 3, 2, 0, 0],
            "total_null": [3, 5, 4, 2, 6],
        }
    )
    pt = at.read_paths(paths)
    n = paths.filter(pl.col("total_conversions") > 0).height
    with pytest.raises(at.ModelError, match=rf"folds=4 is more than the {n} converting paths"):
        at.attribute(pt, "data_driven", folds=4)
    # the default 3 still runs on logs that small, even with fewer converting paths than 3
    for frame in (paths, paths.filter(pl.col("path") != "a")):
        credited = at.attribute(at.read_paths(frame), "data_driven").channels["conversions"]
        assert credited.sum() == pytest.approx(frame["total_conversions"].sum())
