"""Lift tests inside the data-driven fit: the effect/selection split of a tested channel."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats

import attribution as at
from attribution.datasets.scenarios import scenario
from attribution.evaluation import score_credit, simulated_lift_tests, truth_credit
from attribution.models.base import credit_frame
from attribution.models.data_driven import DataDrivenModel, _clearly_lower, _precision_weighted
from attribution.models.features import FEATURE_SETS, journey_features


@pytest.fixture(scope="module")
def display_log():
    """Display bought on intent (no effect): the log gives it a large share of credit."""
    sim = scenario("display_on_intent", 8_000, seed=3)
    journeys = at.build_journeys(sim.events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        log_only = at.attribute(journeys, "data_driven")
    return sim, journeys, log_only


def _exact(channel: str, value: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "channel": [channel],
            "incremental_conversions": [value],
            "lower": [value],
            "upper": [value],
        }
    )


def _removal(result: at.Attribution) -> dict[str, float]:
    eff = result.tables["effects"]
    return dict(zip(eff["channel"], eff["removal_conversions"], strict=True))


def test_an_exact_test_is_met_and_predictions_do_not_change(display_log) -> None:
    sim, journeys, _ = display_log
    truth = dict(sim.truth.select("channel", "incremental_conversions").iter_rows())
    tests = pl.concat([_exact("Display", 0.0), _exact("Paid Search", float(truth["Paid Search"]))])
    model = DataDrivenModel(diagnose=False).fit(journeys, lift_tests=tests)
    # the split keeps the likelihood: every prediction is that of the model refitted with the
    # tested channels as controls
    seq = journeys.sequences()
    fitted, control = model.model_, model.control_model_
    assert control is not None and fitted.features == control.features
    x = journey_features(seq, fitted.features, half_life_days=model.half_life_)
    np.testing.assert_allclose(fitted.predict(x), control.predict(x), rtol=1e-12)
    # the extra features are the tested channels' only: every other channel keeps the
    # chosen set's shape
    n_base = len(FEATURE_SETS[model.feature_set_][0])
    assert len(control.features) > n_base
    k = len(seq.channels)
    assert control.coef is not None
    extra = control.coef[n_base * k :].reshape(-1, k)
    tested = [seq.channels.index(c) for c in ("Display", "Paid Search")]
    others = [c for c in range(k) if c not in tested]
    assert (extra[:, others] == 0).all()
    assert (extra[:, tested] > 0).any()
    res = at.attribute(journeys, "data_driven", lift_tests=tests, diagnose=False)
    removal = _removal(res)
    assert removal["Display"] == pytest.approx(0.0, abs=1e-6)
    assert removal["Paid Search"] == pytest.approx(truth["Paid Search"], rel=1e-6)
    table = res.tables["lift_tests"]
    assert table["reached"].all()
    assert table.columns == [
        "channel",
        "test",
        "lower",
        "upper",
        "model_lift_log",
        "target",
        "effect_scale",
        "reached",
        "model_lift",
    ]
    # credit still sums to the conversions
    assert res.channels["conversions"].sum() == pytest.approx(journeys.n_conversions, rel=1e-9)
    assert (res.channels["conversions"] >= -1e-9).all()


@pytest.mark.parametrize("interactions", ["none", "auto"])
def test_the_log_only_answer_is_the_fit_without_tests(display_log, interactions: str) -> None:
    _, journeys, _ = display_log
    tests = _exact("Display", 0.0)
    kw = {"interactions": interactions, "diagnose": False}
    res = at.attribute(journeys, "data_driven", lift_tests=tests, **kw)
    log_only = at.attribute(journeys, "data_driven", **kw)
    log = res.tables["log_only"]
    expected = credit_frame(log_only)
    assert log["channel"].to_list() == expected["channel"].to_list()
    np.testing.assert_allclose(log["conversions"], expected["conversions"], rtol=1e-9)
    np.testing.assert_allclose(log["revenue"], expected["revenue"], rtol=1e-9)
    removal = _removal(log_only)
    np.testing.assert_allclose(
        log["removal_conversions"][:-1], [removal[c] for c in log["channel"][:-1]], rtol=1e-9
    )


def test_a_test_that_finds_intent_moves_credit_to_the_baseline_and_others(display_log) -> None:
    sim, journeys, log_only = display_log
    total = float(journeys.n_conversions)
    t = truth_credit(sim.truth, total, baseline_conversions=sim.baseline_conversions)
    tests = simulated_lift_tests(sim.truth, ["Display"], total_conversions=total, seed=1)
    res = at.attribute(journeys, "data_driven", lift_tests=tests)

    def scores(frame: pl.DataFrame) -> dict[str, float]:
        return score_credit(frame.select("channel", credit="conversions"), t)[1]

    before, after = scores(credit_frame(log_only)), scores(credit_frame(res))
    assert before["no_effect_share"] > 0.10  # the log credits Display
    assert after["no_effect_share"] < 0.03
    assert after["total_abs_error"] < 0.5 * before["total_abs_error"]
    # the untested channels move too: the tested channel's selection is in their game
    cmp = at.compare_lift_tests(res, tests, channels="all").filter(pl.col("test").is_null())
    untested = cmp.filter(pl.col("channel") != "(baseline)")
    moved = (untested["in_fit"] - untested["credit"]).abs().sum()
    assert moved > 1e-3 * total
    # the refit describes itself, and keeps the log model's identification checks
    diag, log_diag = res.tables["diagnostics"], log_only.tables["diagnostics"]
    assert diag["cv_gain"].to_list() == log_diag["cv_gain"].to_list()
    assert diag["warning"].to_list() == log_diag["warning"].to_list()
    selected = res.tables["model_selection"].filter(pl.col("selected"))
    assert diag["cv_log_loss"][0] == pytest.approx(selected["cv_log_loss"].min())


def test_shapley_with_a_selection_part_matches_brute_force(display_log) -> None:
    """The tested channel's selection stays in every coalition's prediction."""
    _, journeys, _ = display_log
    tests = _exact("Display", 0.0)
    for kind in ("logistic", "noisy_or"):
        model = DataDrivenModel(
            features="log_counts", estimator=kind, alphas=[1e-4], diagnose=False
        ).fit(journeys, lift_tests=tests)
        out = model.credit(journeys)
        seq = out.touch_seq
        assert seq is not None and out.touch_credit is not None
        k = len(seq.channels)
        fitted = model.model_
        x_all = journey_features(seq, fitted.features, half_life_days=model.half_life_)
        present = x_all[:, :k] > 0
        d = seq.channels.index("Display")
        rows = np.flatnonzero(present[:, d] & (present.sum(axis=1) >= 3))
        r = int(rows[0])
        players = list(np.flatnonzero(present[r]))
        assert fitted.selection is not None and fitted.selection[d::k].sum() > 0

        def v(coalition: frozenset, r=r, fitted=fitted, x_all=x_all, k=k) -> float:
            x = x_all[r].copy()
            for c in range(k):
                if c not in coalition:
                    x[c::k] = 0.0
            return float(fitted.predict(x[None, :], full=x_all[r][None, :])[0])

        games = {
            frozenset(s): v(frozenset(s))
            for n in range(len(players) + 1)
            for s in itertools.combinations(players, n)
        }
        phi = dict.fromkeys(players, 0.0)
        orders = list(itertools.permutations(players))
        for order in orders:
            seen: frozenset = frozenset()
            for p in order:
                phi[p] += (games[seen | {p}] - games[seen]) / len(orders)
                seen = seen | {p}
        p_all = games[frozenset(players)]
        lo, hi = seq.indptr[r], seq.indptr[r + 1]
        got = np.bincount(seq.codes[lo:hi], weights=out.touch_credit[lo:hi], minlength=k)
        for c in players:
            assert got[c] == pytest.approx(max(phi[c], 0.0) / p_all, abs=1e-9), kind
        assert got[d] == pytest.approx(0.0, abs=1e-9)  # an exact zero test: no effect


def test_precision_weighting_is_the_normal_posterior_mean() -> None:
    # prior N(model, (prior * max(model, test))^2), test N(test, se^2): the posterior mean
    for test, se, model, prior in [(10.0, 2.0, 50.0, 1.0), (80.0, 30.0, 40.0, 0.5)]:
        sd = prior * max(model, test)
        grid = np.linspace(-500, 500, 200_001)
        post = stats.norm.pdf(grid, model, sd) * stats.norm.pdf(test, grid, se)
        expected = float((grid * post).sum() / post.sum())
        assert _precision_weighted(test, se, model, prior) == pytest.approx(expected, rel=1e-6)
    assert _precision_weighted(7.0, 0.0, 50.0, 1.0) == 7.0  # an exact test is met


def test_a_wide_test_moves_the_model_less_than_a_narrow_one(display_log) -> None:
    _, journeys, log_only = display_log
    r_log = _removal(log_only)["Display"]

    def after(half: float) -> float:
        tests = pl.DataFrame(
            {
                "channel": ["Display"],
                "incremental_conversions": [0.0],
                "lower": [-half],
                "upper": [half],
            }
        )
        res = at.attribute(journeys, "data_driven", lift_tests=tests, diagnose=False)
        return _removal(res)["Display"]

    narrow, wide = after(0.05 * r_log), after(3.0 * r_log)
    assert narrow < 0.01 * r_log
    assert 0.3 * r_log < wide < r_log


def test_lift_test_errors(display_log) -> None:
    _, journeys, _ = display_log
    with pytest.raises(at.ModelError, match=r"channels the journeys do not have: \['TV'\]"):
        at.attribute(journeys, "data_driven", lift_tests=_exact("TV", 1.0), diagnose=False)
    with pytest.raises(at.ModelError, match="need a linear conversion model"):
        at.attribute(
            journeys,
            "data_driven",
            lift_tests=_exact("Display", 0.0),
            estimator="boosting",
            features="counts",
            diagnose=False,
        )
    with pytest.raises(at.ModelError, match="lift_prior must be > 0"):
        at.attribute(journeys, "data_driven", lift_tests=_exact("Display", 0.0), lift_prior=0.0)


def test_hazard_model_takes_lift_tests() -> None:
    sim = scenario("daily_display_on_intent", 4_000, seed=2)
    journeys = at.build_journeys(sim.events)
    tests = _exact("Display", 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        res = at.attribute(journeys, "data_driven", lift_tests=tests)
    assert res.tables["diagnostics"]["time_model"][0] == "hazard"
    assert _removal(res)["Display"] == pytest.approx(0.0, abs=1e-6)
    # a test that finds the channel empty: its synergies are refitted away, not emptied
    coef = res.tables["coefficients"].filter(pl.col("feature") == "synergy")
    assert not coef["channel"].str.contains("Display").any()
    credit = dict(credit_frame(res).select("channel", "conversions").iter_rows())
    assert credit["Display"] == pytest.approx(0.0, abs=1e-6)


def _selected_paths() -> tuple[pl.DataFrame, float, float]:
    """Paths of expected counts where channel S finds likely buyers and causes nothing.

    A user's chance to buy without marketing is 0.30 when S reaches them (whatever the number
    of its touches) and 0.04 otherwise; each touch of A multiplies the chance of *not* buying
    by 0.85 (a noisy-OR); C does nothing; reach is independent. Returns the path table and
    A's conversions and the baseline's, in closed form: a conversion of probability ``p``
    and baseline ``b`` is lost without A with probability ``(p − b) / p``.
    """
    p_s = {0: 0.6, 1: 0.2, 2: 0.12, 3: 0.08}
    p_a = {0: 0.5, 1: 0.3, 2: 0.2}
    rows = []
    for s, a, c in itertools.product(p_s, p_a, (0, 1)):
        if s + a + c == 0:
            continue  # a log shows no non-buyer without touches
        n = 2_000_000 * p_s[s] * p_a[a] * 0.5
        b = 0.30 if s else 0.04
        p = 1 - (1 - b) * 0.85**a
        path = " > ".join(["S"] * s + ["A"] * a + ["C"] * c)
        rows.append((path, round(n * p), round(n * (1 - p)), p, b))
    df = pl.DataFrame(
        rows, schema=["path", "total_conversions", "total_null", "p", "b"], orient="row"
    )
    conv = df["total_conversions"].cast(pl.Float64)
    a_true = float((conv * (df["p"] - df["b"]) / df["p"]).sum())
    base_true = float((conv * df["b"] / df["p"]).sum())
    return df.select("path", "total_conversions", "total_null"), a_true, base_true


def test_a_tested_channel_controls_for_the_selection_it_finds() -> None:
    """The refit with S as a control recovers the untested channel and the baseline exactly.

    S's selection is a step at its first touch; the counts the model credits cannot hold it,
    so on the log alone it leaks into the intercept and into A: the post-hoc calibration
    keeps that error, and a split of the log's own model leaves 0.2 % of it (A at 172,409).
    With S's presence among its controls the refit is the true model.
    """
    paths, a_true, base_true = _selected_paths()
    journeys = at.read_paths(paths)
    test = _exact("S", 0.0)
    kw = {"features": "counts", "diagnose": False}
    log_result = at.attribute(journeys, "data_driven", **kw)
    log_only = dict(credit_frame(log_result).select("channel", "conversions").iter_rows())
    res = at.attribute(journeys, "data_driven", lift_tests=test, **kw)
    in_fit = dict(credit_frame(res).select("channel", "conversions").iter_rows())
    post = dict(at.calibrate(log_result, test).select("channel", "conversions").iter_rows())
    assert in_fit["A"] == pytest.approx(a_true, rel=1e-4)
    assert in_fit["(baseline)"] == pytest.approx(base_true, rel=1e-4)
    assert in_fit["S"] == pytest.approx(0.0, abs=1e-6)
    assert in_fit["C"] == pytest.approx(0.0, abs=1e-3 * a_true)
    # the log alone, and the calibration after it, are off by several per cent
    assert abs(log_only["A"] / a_true - 1) > 0.03
    assert abs(post["A"] / a_true - 1) > 0.03
    assert abs(post["(baseline)"] / base_true - 1) > 0.02
    # the tested channel's step is in its selection: its presence carries it
    control = res.tables["coefficients"].filter(pl.col("channel") == "S")
    assert control.filter(pl.col("feature") == "presence")["coefficient"][0] > 0


def test_presence_feature() -> None:
    pt = at.read_paths(pl.DataFrame({"path": ["a > b > a", "b"], "total_conversions": [1, 1]}))
    x = journey_features(pt.sequences(), ["presence", "count"])
    assert sorted(x.tolist()) == [[0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 2.0, 1.0]]


def test_clearly_lower_is_a_paired_z_test_over_rows_or_journeys() -> None:
    """``_clearly_lower`` against the z statistic of the per-row loss differences, by hand."""
    rng = np.random.default_rng(5)
    n = 400
    pos = rng.integers(0, 3, n).astype(float)
    neg = rng.integers(0, 3, n).astype(float)
    base = rng.uniform(0.2, 0.8, n)

    def z(prob: np.ndarray, groups: np.ndarray) -> float:
        def loss(p: np.ndarray) -> np.ndarray:
            return -(pos * np.log(p) + neg * np.log(1 - p))

        d = np.array([(loss(base) - loss(prob))[groups == g].sum() for g in np.unique(groups)])
        return float(d.mean() / (d.std() / np.sqrt(len(d))))

    rows, journeys = np.arange(n), rng.integers(0, 60, n)
    seen = set()
    for shift in (0.0, 0.02, 0.05, 0.2):
        # move each probability towards the rows' observed rate: a better model by `shift`
        rate = np.where(pos + neg > 0, pos / np.maximum(pos + neg, 1), 0.5)
        prob = np.clip(base + shift * (rate - base) + rng.normal(0, 0.01, n), 0.01, 0.99)
        for groups, arg in ((rows, None), (journeys, journeys)):
            expected = z(prob, groups) > 2.0
            assert _clearly_lower(base, prob, pos, neg, arg) is expected
            seen.add(expected)
    assert seen == {True, False}  # both answers were checked


def test_the_refit_keeps_to_the_link_that_survives_unseen_intent() -> None:
    """On the closed-form log the logistic link's credit is off and the noisy-OR's exact.

    S finds likely buyers; A reaches people at random and acts as a noisy-OR. With S as a
    control the noisy-OR link is the true model, and a channel reaching people at random
    keeps its effect whatever their baseline; the logistic link's odds ratio does not
    (non-collapsible), so its credit of A is off. With a test the refit keeps to the
    noisy-OR unless the log clearly prefers the logistic (it does not here).
    """
    paths, a_true, base_true = _selected_paths()
    journeys = at.read_paths(paths)
    test = _exact("S", 0.0)
    kw = {"features": "counts", "diagnose": False}
    credit = {}
    for kind in ("logistic", "noisy_or", "auto"):
        res = at.attribute(journeys, "data_driven", lift_tests=test, estimator=kind, **kw)
        credit[kind] = dict(credit_frame(res).select("channel", "conversions").iter_rows())
        chosen = res.tables["model_selection"].filter(pl.col("selected"))
        if kind == "auto":
            assert chosen["estimator"].to_list() == ["noisy_or"]
    assert credit["noisy_or"]["A"] == pytest.approx(a_true, rel=1e-4)
    assert credit["auto"]["A"] == pytest.approx(a_true, rel=1e-4)
    assert abs(credit["logistic"]["A"] / a_true - 1) > 0.02
    assert abs(credit["logistic"]["(baseline)"] / base_true - 1) > 0.01


def test_a_narrow_logistic_win_does_not_choose_the_refit_link() -> None:
    """Three intent-seeking channels, two tested exactly: the refit keeps to the noisy-OR.

    Here the logistic link's out-of-fold log loss is the lower one, by less than its noise;
    its refit leaves the untested channels short and twice the error (against the
    simulator's truth) of the noisy-OR refit that the rule keeps.
    """
    sim = scenario("intent_seeking", 8_000, seed=0)
    journeys = at.build_journeys(sim.events)
    truth = dict(sim.truth.select("channel", "incremental_conversions").iter_rows())
    tests = pl.concat([_exact(c, float(truth[c])) for c in ("Brand Search", "Retargeting")])
    t = truth_credit(
        sim.truth, journeys.n_conversions, baseline_conversions=sim.baseline_conversions
    )
    fits, errors = {}, {}
    for kind in ("auto", "noisy_or", "logistic"):
        res = at.attribute(
            journeys, "data_driven", lift_tests=tests, estimator=kind, diagnose=False
        )
        fits[kind] = credit_frame(res)
        errors[kind] = score_credit(fits[kind].select("channel", credit="conversions"), t)[1][
            "total_abs_error"
        ]
        if kind == "auto":
            sel = res.tables["model_selection"]
            best = dict(sel.group_by("estimator").agg(pl.col("cv_log_loss").min()).iter_rows())
            assert best["logistic"] < best["noisy_or"]  # the log's own choice
            assert sel.filter(pl.col("selected"))["estimator"].to_list() == ["noisy_or"]
    # the refit is the noisy-OR one (exact tests: the log model's link does not matter)
    np.testing.assert_allclose(fits["auto"]["conversions"], fits["noisy_or"]["conversions"])
    assert errors["auto"] < 0.6 * errors["logistic"]
