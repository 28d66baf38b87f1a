"""Tests of lift-test calibration and holdout analysis."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.calibration import calibrate, compare_lift_tests, holdout_lift

CREDIT = pl.DataFrame(
    {
        "channel": ["a", "b", "c", at.NO_TOUCH],
        "conversions": [50.0, 30.0, 15.0, 5.0],
        "revenue": [500.0, 600.0, 150.0, 40.0],
    }
)
TESTS = pl.DataFrame(
    {"channel": ["a"], "incremental_conversions": [20.0], "lower": [10.0], "upper": [30.0]}
)


def test_holdout_lift_matches_statsmodels(rng) -> None:
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    nt, nc = rng.integers(2_000, 20_000, 5), rng.integers(2_000, 20_000, 5)
    xt, xc = rng.binomial(nt, 0.06), rng.binomial(nc, 0.05)
    exp = pl.DataFrame(
        {
            "channel": list("vwxyz"),
            "treated_users": nt,
            "treated_conversions": xt,
            "control_users": nc,
            "control_conversions": xc,
        }
    )
    out = holdout_lift(exp, level=0.9)
    for i in range(5):
        lo, hi = confint_proportions_2indep(
            xt[i], nt[i], xc[i], nc[i], method="wald", compare="diff", alpha=0.1
        )
        row = out.row(i, named=True)
        assert row["lower"] == pytest.approx(lo * nt[i], rel=1e-9)
        assert row["upper"] == pytest.approx(hi * nt[i], rel=1e-9)
        _, p = proportions_ztest([xt[i], xc[i]], [nt[i], nc[i]])
        assert row["p_value"] == pytest.approx(p, rel=1e-9)
        rlo, rhi = confint_proportions_2indep(
            xt[i], nt[i], xc[i], nc[i], method="log", compare="ratio", alpha=0.1
        )
        assert row["lift_lower"] == pytest.approx(rlo - 1, rel=1e-9)
        assert row["lift_upper"] == pytest.approx(rhi - 1, rel=1e-9)


def test_holdout_zero_control_conversions_gives_null_lift() -> None:
    exp = pl.DataFrame(
        {
            "treated_users": [100],
            "treated_conversions": [5],
            "control_users": [100],
            "control_conversions": [0],
        }
    )
    row = holdout_lift(exp).row(0, named=True)
    assert row["lift"] is None and row["incremental_conversions"] == pytest.approx(5.0)


def test_holdout_rejects_bad_counts() -> None:
    exp = pl.DataFrame(
        {
            "treated_users": [100, 0],
            "treated_conversions": [5, 0],
            "control_users": [100, 10],
            "control_conversions": [3, 1],
        }
    )
    with pytest.raises(at.ValidationError, match=r"'treated_users' has 1 values ≤ 0.*\[1\]"):
        holdout_lift(exp)
    exp = exp.with_columns(
        treated_users=pl.Series([100, 10]), control_conversions=pl.Series([3, 11])
    )
    with pytest.raises(at.ValidationError, match="'control_conversions' has 1 values"):
        holdout_lift(exp)
    with pytest.raises(at.SchemaError, match="'control_users' is missing"):
        holdout_lift(exp.drop("control_users"))


def test_compare_reports_difference_and_interval() -> None:
    out = compare_lift_tests(CREDIT, TESTS).row(0, named=True)
    assert out["credit"] == 50.0 and out["difference"] == 30.0 and out["ratio"] == 2.5
    assert out["within_interval"] is False


def test_periods_are_summed_with_combined_intervals() -> None:
    tests = pl.DataFrame(
        {
            "channel": ["a", "a"],
            "period": ["q1", "q2"],
            "incremental_conversions": [10.0, 20.0],
            "lower": [7.0, 16.0],
            "upper": [13.0, 24.0],
        }
    )
    out = compare_lift_tests(CREDIT, tests).row(0, named=True)
    assert out["test"] == 30.0 and out["periods"] == 2
    assert out["upper"] - out["test"] == pytest.approx(5.0)  # sqrt(3² + 4²)


def test_calibrate_honours_tests_and_keeps_proportions() -> None:
    for remainder in ("scaled", "proportional", "baseline"):
        out = calibrate(CREDIT, TESTS, remainder=remainder)
        assert out["conversions"].sum() == pytest.approx(100.0)
        conv = dict(zip(out["channel"], out["conversions"], strict=True))
        assert conv["a"] == 20.0
        assert conv["b"] / conv["c"] == pytest.approx(2.0)  # model's proportion kept
    scaled = dict(
        calibrate(CREDIT, TESTS, remainder="scaled").select("channel", "conversions").iter_rows()
    )
    assert scaled["b"] == pytest.approx(30.0 * 20 / 50)  # pooled ratio of the tested channels
    assert scaled["(baseline)"] == pytest.approx(100 - 20 - 12 - 6)
    rev = calibrate(CREDIT, TESTS).filter(pl.col("channel") == "a")["revenue"][0]
    assert rev == pytest.approx(200.0)  # 10 per conversion, as the model had it


def test_remainder_baseline_shares_out_what_is_left_when_the_untested_exceed_it() -> None:
    """A test of 90 leaves 10 of 100: b and c (30 and 15 in the model) get 20/3 and 10/3."""
    tests = TESTS.with_columns(
        incremental_conversions=pl.lit(90.0), lower=pl.lit(80.0), upper=pl.lit(95.0)
    )
    for remainder in ("baseline", "scaled", "level"):
        out = calibrate(CREDIT, tests, remainder=remainder)
        conv = dict(out.select("channel", "conversions").iter_rows())
        assert sum(conv.values()) == pytest.approx(100.0)
        assert conv == pytest.approx({"a": 90.0, "b": 20 / 3, "c": 10 / 3, "(baseline)": 0.0})


def test_calibrate_errors() -> None:
    with pytest.raises(at.ModelError, match=r"does not have: \[.zz.\]"):
        calibrate(CREDIT, TESTS.with_columns(channel=pl.lit("zz")))
    with pytest.raises(at.ModelError, match="more than the 100 conversions"):
        calibrate(
            CREDIT, TESTS.with_columns(incremental_conversions=pl.lit(200.0), upper=pl.lit(300.0))
        )
    with pytest.raises(at.ValidationError, match="1 rows with a null or NaN estimate"):
        calibrate(CREDIT, TESTS.with_columns(lower=pl.lit(25.0)))


@pytest.mark.parametrize("column", ["incremental_conversions", "lower", "upper"])
def test_a_nan_in_a_lift_test_is_refused(column) -> None:
    """NaN is no estimate: it gave every channel NaN credit."""
    nan_test = TESTS.with_columns(pl.lit(float("nan")).alias(column))
    with pytest.raises(
        at.ValidationError, match=r"null or NaN estimate or bound.*channels \['a'\]"
    ):
        calibrate(CREDIT, nan_test)
    with pytest.raises(at.ValidationError, match="null or NaN"):
        compare_lift_tests(CREDIT, nan_test)


@pytest.mark.parametrize("name", ["(baseline)", at.NO_TOUCH])
def test_a_lift_test_of_the_baseline_is_refused(name) -> None:
    """A test of the baseline row was overwritten by the remainder (credit summed to 95 of 100)."""
    with pytest.raises(at.ValidationError, match=re.escape(f"Lift tests name '{name}'")):
        calibrate(CREDIT, TESTS.with_columns(channel=pl.lit(name)), remainder="scaled")


def test_a_frame_with_a_channel_on_several_rows_is_refused() -> None:
    """attribute_all's frame of two models was calibrated as one of 120 conversions, not 60,
    its rows doubled by the join."""
    pt = at.read_paths(
        pl.DataFrame(
            {"path": ["a", "b", "a > b"], "total_conversions": [30, 10, 20], "total_null": [1] * 3}
        )
    )
    both = at.attribute_all(pt, models=["linear", "last_touch"])
    with pytest.raises(at.ValidationError, match=r"2 channels on more than one row \('a', 'b'\)"):
        calibrate(both, TESTS)
    with pytest.raises(at.ValidationError, match="keep one model's rows"):
        compare_lift_tests(both, TESTS)
    one = calibrate(both.filter(pl.col("model") == "linear"), TESTS)
    assert one["conversions"].sum() == pytest.approx(60.0)


def test_calibrated_data_driven_on_simulation_honours_tests() -> None:
    from attribution.datasets.scenarios import scenario
    from attribution.evaluation import truth_credit

    sim = scenario("intent_confounding", 4_000, seed=3)
    j = at.build_journeys(sim.events, lookback_days=30)
    res = at.attribute(j, "data_driven")
    t = truth_credit(sim.truth, j.n_conversions, baseline_conversions=sim.baseline_conversions)
    tests = t.filter(pl.col("channel").is_in(["Retargeting", "Paid Search"])).select(
        "channel",
        incremental_conversions="truth",
        lower=pl.col("truth") - 1,
        upper=pl.col("truth") + 1,
    )
    effects = res.tables["effects"].select("channel", "removal_conversions")
    # the comparison holds the test against the model's removal effect, not its credit
    cmp = compare_lift_tests(res, tests).join(effects, on="channel")
    np.testing.assert_allclose(cmp["model_lift"], cmp["removal_conversions"])
    out = calibrate(res, tests)  # "level": the test on the model's credit scale
    assert out["conversions"].sum() == pytest.approx(j.n_conversions)
    got = (
        out.join(tests, on="channel")
        .join(effects, on="channel")
        .join(res.channels.select("channel", credit="conversions"), on="channel")
    )
    expect = np.where(
        got["removal_conversions"] > 0,
        got["credit"] * got["incremental_conversions"] / got["removal_conversions"],
        got["incremental_conversions"],
    )
    np.testing.assert_allclose(got["conversions"], expect)
    raw = calibrate(res, tests, remainder="baseline").join(tests, on="channel")
    np.testing.assert_allclose(raw["conversions"], raw["incremental_conversions"])


def test_compare_reports_the_post_hoc_and_the_in_fit_answers() -> None:
    from attribution.datasets.scenarios import scenario

    sim = scenario("retargeting", 5_000, seed=2)
    j = at.build_journeys(sim.events)
    inc = dict(sim.truth.select("channel", "incremental_conversions").iter_rows())
    tests = pl.DataFrame(
        {
            "channel": ["Retargeting", "Email"],
            "incremental_conversions": [0.0, float(inc["Email"])],
            "lower": [-3.0, inc["Email"] - 5.0],
            "upper": [3.0, inc["Email"] + 5.0],
        }
    )
    kw = {"interactions": "none", "diagnose": False}
    log_only = at.attribute(j, "data_driven", **kw)
    fitted = at.attribute(j, "data_driven", lift_tests=tests, **kw)
    # a result fitted without tests: no in-fit answer; post-hoc is calibrate's
    plain = compare_lift_tests(log_only, tests)
    assert plain["in_fit"].is_null().all()
    post = dict(calibrate(log_only, tests).select("channel", "conversions").iter_rows())
    np.testing.assert_allclose(plain["post_hoc"], [post[c] for c in plain["channel"]])
    # with tests: the log-only columns are the plain fit's, the in-fit ones the result's
    both = compare_lift_tests(fitted, tests, channels="all")
    tested = both.filter(pl.col("test").is_not_null()).sort("channel")
    plain = plain.sort("channel")
    for col in ("credit", "test", "model_lift", "post_hoc"):
        np.testing.assert_allclose(tested[col], plain[col], rtol=1e-9)
    credit = dict(fitted.channels.select("channel", "conversions").iter_rows())
    rows = both.filter(pl.col("channel") != "(baseline)")
    np.testing.assert_allclose(rows["in_fit"], [credit[c] for c in rows["channel"]])
    lift = dict(fitted.tables["effects"].select("channel", "removal_conversions").iter_rows())
    np.testing.assert_allclose(rows["in_fit_lift"], [lift[c] for c in rows["channel"]])
    # every channel of the result has a row; the tested ones meet their tests in the fit
    assert both.height == len(credit) - (at.NO_TOUCH in credit)
    assert tested.filter(pl.col("channel") == "Retargeting")["in_fit_lift"][0] < 3.0
    with pytest.raises(at.ModelError, match="channels must be 'tested' or 'all'"):
        compare_lift_tests(fitted, tests, channels="some")


def _posterior_level(test, lower, upper, lift, spread=0.5, level_spread=0.3) -> float:
    """exp(E[level | tests]) by adaptive quadrature (scipy), written from the model."""
    from scipy import integrate, stats

    use = (lower > 0) & (lift > 0) & (test > 0)
    logs = np.log(test[use] / lift[use])
    var = ((np.log(upper[use]) - np.log(lower[use])) / (2 * stats.norm.ppf(0.975))) ** 2
    scale = np.sqrt(spread**2 + var)

    def density(mu: float) -> float:
        like = np.prod(stats.cauchy.pdf(logs, loc=mu, scale=scale))
        return float(stats.norm.pdf(mu, scale=level_spread) * like)

    lim = 12 * level_spread
    num = integrate.quad(lambda m: m * density(m), -lim, lim, limit=200)[0]
    den = integrate.quad(density, -lim, lim, limit=200)[0]
    return float(np.exp(num / den))


def test_level_factor_matches_quadrature_and_limits(rng) -> None:
    from attribution.calibration import level_factor

    for n in (1, 2, 3, 5):
        test = rng.uniform(20, 200, n)
        lower, upper = test * rng.uniform(0.6, 0.95, n), test * rng.uniform(1.05, 1.4, n)
        lift = rng.uniform(20, 200, n)
        assert level_factor(test, lower, upper, lift) == pytest.approx(
            _posterior_level(test, lower, upper, lift), rel=1e-6
        )
    # many precise tests that agree: their common ratio
    many = np.full(400, 60.0)
    assert level_factor(many, many * 0.99, many * 1.01, np.full(400, 100.0)) == pytest.approx(
        0.6, rel=0.01
    )
    # tests that agree with the model, or are not significantly positive: no level
    lift = np.array([80.0, 120.0])
    assert level_factor(lift, lift * 0.9, lift * 1.1, lift) == pytest.approx(1.0, abs=1e-12)
    assert (
        level_factor(
            np.array([5.0, 0.0]),
            np.array([-3.0, -2.0]),
            np.array([13.0, 2.0]),
            np.array([50.0, 40.0]),
        )
        == 1.0
    )
    # tests pointing opposite ways by as much: no level
    two = np.array([50.0, 200.0])
    assert level_factor(two, two * 0.9, two * 1.1, np.full(2, 100.0)) == pytest.approx(
        1.0, abs=1e-9
    )
    # one test far off is read as that channel's own error: it moves the level less than a
    # test moderately off (heavy-tailed channel errors), and never past it
    one = np.array([100.0])

    def single(r: float) -> float:
        return level_factor(r * one, 0.9 * r * one, 1.1 * r * one, one * 100.0)

    assert single(0.6) < single(0.1) < 1.0
    assert single(0.6) > 0.6
    # a tighter channel spread makes each test say more about the level
    agree = np.array([60.0, 70.0])
    loose = level_factor(agree, agree * 0.9, agree * 1.1, np.full(2, 100.0), spread=0.5)
    tight = level_factor(agree, agree * 0.9, agree * 1.1, np.full(2, 100.0), spread=0.1)
    assert tight < loose < 1.0


def _untested_errors(model: np.ndarray, truth: np.ndarray, rel: float) -> np.ndarray:
    """Untested channels' error after / before calibration, for every pair of tested ones."""
    names = [f"c{i}" for i in range(len(truth))]
    credit = pl.DataFrame({"channel": [*names, at.NO_TOUCH], "conversions": [*model, 400.0]})
    out = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            tests = pl.DataFrame(
                {
                    "channel": [names[a], names[b]],
                    "incremental_conversions": truth[[a, b]],
                    "lower": truth[[a, b]] * (1 - rel),
                    "upper": truth[[a, b]] * (1 + rel),
                }
            )
            cal = calibrate(credit, tests, remainder="level")["conversions"].to_numpy()[:-1]
            rest = np.ones(len(names), dtype=bool)
            rest[[a, b]] = False
            before = np.abs(model - truth)[rest].sum()
            out.append(np.abs(cal - truth)[rest].sum() / before)
    return np.array(out)


def test_level_calibration_fixes_a_common_level_and_barely_moves_on_noise(rng) -> None:
    truth = rng.uniform(50, 300, 8)
    # a model 40 % too high on every channel (each also off by its own ~8 %)
    high = truth * 1.4 * np.exp(rng.normal(0, 0.08, 8))
    ratio = _untested_errors(high, truth, rel=0.1)
    assert (ratio < 1).mean() >= 0.9 and np.median(ratio) < 0.6
    # a model right in level, each channel off by its own ~20 %: two tests cannot tell that
    # from a small level error, so the untested move a little, in both directions
    noisy = truth * np.exp(rng.normal(0, 0.2, 8))
    ratio = _untested_errors(noisy, truth, rel=0.1)
    assert 0.85 < np.median(ratio) < 1.15
    assert (ratio < 1.25).mean() >= 0.75


def test_tests_without_an_interval_are_exact() -> None:
    from attribution.calibration import lift_tests_by_channel

    t = pl.DataFrame({"channel": ["a", "a"], "incremental_conversions": [10.0, 5.0]})
    assert lift_tests_by_channel(t).row(0) == ("a", 2, 15.0, 15.0, 15.0)
    with pytest.raises(at.SchemaError, match="'upper'"):
        lift_tests_by_channel(t.with_columns(lower=pl.col("incremental_conversions") - 1))
    exact = calibrate(CREDIT, TESTS.drop("lower", "upper"), remainder="baseline")
    bounded = calibrate(CREDIT, TESTS, remainder="baseline")
    np.testing.assert_allclose(exact["conversions"], bounded["conversions"])
