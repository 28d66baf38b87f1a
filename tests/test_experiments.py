"""Planning lift tests: the power calculation, the evidence of intent and the ranking."""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

import attribution as at
from attribution.datasets.scenarios import scenario
from attribution.evaluation import evaluate_experiments, simulated_lift_tests
from attribution.experiments import selection_evidence, users_per_arm
from attribution.journeys import Sequences


@pytest.mark.parametrize(
    ("p1", "p0", "power", "alpha"),
    [(0.06, 0.05, 0.8, 0.05), (0.2, 0.1, 0.9, 0.01), (0.011, 0.01, 0.8, 0.05)],
)
def test_arcsine_size_matches_statsmodels(p1: float, p0: float, power: float, alpha: float) -> None:
    expected = NormalIndPower().solve_power(
        effect_size=proportion_effectsize(p1, p0), alpha=alpha, power=power, ratio=1.0
    )
    # statsmodels solves for n numerically (to about 1e-6); the formula here is closed
    assert float(users_per_arm(p1, p0, power=power, alpha=alpha)) == pytest.approx(
        expected, rel=1e-5
    )


def test_pooled_size_is_the_textbook_formula_and_has_its_power() -> None:
    # Fleiss' formula written out: 0.06 against 0.05, 80 % power, 5 % two-sided
    p1, p0 = 0.06, 0.05
    bar = 0.055
    n = (1.959964 * (2 * bar * (1 - bar)) ** 0.5 + 0.841621 * (p1 * 0.94 + p0 * 0.95) ** 0.5) ** 2
    n /= (p1 - p0) ** 2
    got = float(users_per_arm(p1, p0, method="pooled"))
    assert got == pytest.approx(n, rel=1e-5)
    # the power of a pooled z-test at that size, by simulation (20,000 experiments)
    rng = np.random.default_rng(0)
    size = int(np.ceil(got))
    x1 = rng.binomial(size, p1, 20_000)
    x0 = rng.binomial(size, p0, 20_000)
    pool = (x1 + x0) / (2 * size)
    z = (x1 - x0) / size / np.sqrt(pool * (1 - pool) * 2 / size)
    assert np.mean(np.abs(z) > 1.959964) == pytest.approx(0.8, abs=0.015)


def test_size_errors_and_equal_rates() -> None:
    assert np.isinf(users_per_arm(0.1, 0.1))
    with pytest.raises(at.ValidationError, match="power and alpha"):
        users_per_arm(0.1, 0.05, power=1.0)
    with pytest.raises(at.ValidationError, match="between 0 and 1"):
        users_per_arm(1.2, 0.05)
    # a NaN rate gave a NaN size
    with pytest.raises(at.ValidationError, match=r"got nan \(treated\) and 0.05 \(control\)"):
        users_per_arm(np.array([0.06, np.nan]), 0.05)


def _seq(paths: list[list[tuple[str, float]]], converted: list[bool]) -> Sequences:
    """Journeys of (channel, days before the end) touches; the end is at day 100."""
    channels = tuple(sorted({c for p in paths for c, _ in p}))
    us = 86_400_000_000
    codes, times, indptr = [], [], [0]
    for p in paths:
        for c, d in p:
            codes.append(channels.index(c))
            times.append(int((100 - d) * us))
        indptr.append(len(codes))
    conv = np.array(converted, dtype=np.float64)
    ref = []
    for p, cv in zip(paths, converted, strict=True):
        last = max(int((100 - d) * us) for _, d in p)
        ref.append(int(100 * us) if cv else last)
    return Sequences(
        channels,
        np.array(indptr, dtype=np.int64),
        np.array(codes, dtype=np.int32),
        conv,
        conv * 10.0,
        1.0 - conv,
        np.array(times, dtype=np.int64),
        np.array(ref, dtype=np.int64),
    )


def test_near_conversion_matches_a_brute_force_count() -> None:
    rng = np.random.default_rng(3)
    names = ["a", "b", "c"]
    paths, conv = [], []
    for _ in range(400):
        n = int(rng.integers(1, 8))
        touches = [(str(rng.choice(names)), float(rng.uniform(0, 5))) for _ in range(n)]
        paths.append(sorted(touches, key=lambda t: -t[1]))  # in time order
        conv.append(bool(rng.random() < 0.3))
    seq = _seq(paths, conv)
    got = selection_evidence(seq, window_days=1.0)
    # brute force: per length stratum, near shares of converting against non-converting
    strata = [(2, 2), (3, 3), (4, 5), (6, 9), (10, 19), (20, 10**9)]
    for ch in names:
        num = den = 0.0
        for lo, hi in strata:
            tallies = {True: [0, 0], False: [0, 0]}  # converted -> [touches, near]
            for p, cv in zip(paths, conv, strict=True):
                if not lo <= len(p) <= hi:
                    continue
                end = 0.0 if cv else min(d for _, d in p)
                for c, d in p:
                    if c == ch:
                        tallies[cv][0] += 1
                        tallies[cv][1] += (d - end) <= 1.0
            (tc, nc), (tn, nn) = tallies[True], tallies[False]
            if tc and tn:
                num += nc
                den += tc * nn / tn
        row = got.filter(pl.col("channel") == ch).row(0, named=True)
        assert row["near_conversion"] == pytest.approx(num / den, rel=1e-9)


@pytest.fixture(scope="module")
def display_plan():
    sim = scenario("display_on_intent", 10_000, seed=4)
    journeys = at.build_journeys(sim.events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        plan = at.plan_experiments(journeys, n_tests=2)
    return sim, journeys, plan


def test_plan_ranks_the_channel_bought_on_intent_first(display_plan) -> None:
    _, _, plan = display_plan
    assert plan["rank"].to_list() == list(range(1, plan.height + 1))
    assert plan["channel"][0] == "Display"
    assert plan["test"].sum() <= 2 and bool(plan["test"][0])
    top = plan.row(0, named=True)
    assert top["intent_share"] > 0.3
    assert "just before conversion" in top["reason"]
    # the ranking follows the expected reduction of the error
    gains = plan["expected_error_reduction"].to_numpy()
    assert (np.diff(gains) <= 1e-9).all()


def test_plan_sizes_tests_by_the_power_calculation(display_plan) -> None:
    _, journeys, plan = display_plan
    row = plan.row(0, named=True)
    n = float(users_per_arm(row["treated_rate"], row["control_rate"]))
    assert row["users_per_arm"] == np.ceil(n)
    # the rates come from the journeys the channel reaches and the model's removal effect
    seq = journeys.sequences()
    display = seq.channels.index("Display")
    reached = np.zeros(seq.n_rows, dtype=bool)
    reached[seq.row_of_touch[seq.codes == display]] = True
    assert row["reach"] == pytest.approx(float(reached.sum()))
    assert row["treated_rate"] == pytest.approx(seq.conversions[reached].sum() / reached.sum())
    assert row["treated_rate"] - row["control_rate"] == pytest.approx(
        row["model_lift"] / row["reach"], rel=1e-9
    )


def test_plan_says_when_a_test_would_not_change_the_answer() -> None:
    sim = scenario("no_confounding", 8_000, seed=2)
    journeys = at.build_journeys(sim.events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        plan = at.plan_experiments(journeys, n_tests=2, min_reduction=0.05)
    big = plan.filter(pl.col("credit") > 0.05 * journeys.n_conversions)
    assert (big["intent_share"] < 0.3).all()
    quiet = plan.filter(~pl.col("would_change"))
    reduction = plan["expected_error_reduction"].to_numpy()
    assert ((reduction >= 0.05 * journeys.n_conversions) == plan["would_change"].to_numpy()).all()
    assert quiet.height > 0
    assert quiet["reason"].str.contains("would not change the answer").all()
    assert not quiet["test"].any()


def test_plan_on_a_path_table_uses_the_last_position() -> None:
    sim = scenario("brand_search", 6_000, seed=1)
    paths = at.build_journeys(sim.events).to_paths()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        plan = at.plan_experiments(paths, n_tests=1)
    assert plan["channel"][0] == "Brand Search"


def test_plan_says_when_a_test_cannot_be_sized() -> None:
    # a channel that reaches only journeys without a conversion: no rate to detect a lift of
    sim = scenario("short_journeys", 3_000, seed=1)
    events = sim.events.lazy().collect() if isinstance(sim.events, pl.LazyFrame) else sim.events
    buyers = events.filter(pl.col("event") == "conversion")["user_id"].unique()
    ghost = (
        events.filter((pl.col("event") == "touch") & ~pl.col("user_id").is_in(buyers.implode()))
        .unique("user_id", keep="first", maintain_order=True)
        .head(300)
        .with_columns(channel=pl.lit("Ghost"))
    )
    journeys = at.build_journeys(pl.concat([events, ghost]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.IdentificationWarning)
        plan = at.plan_experiments(journeys, n_tests=1)
    row = plan.filter(pl.col("channel") == "Ghost").row(0, named=True)
    assert row["treated_rate"] == 0.0 and np.isinf(row["users_per_arm"])
    assert "no conversion in the journeys it reaches" in row["reason"]
    assert "sized for" not in row["reason"]
    others = plan.filter(pl.col("channel") != "Ghost")
    assert not others["reason"].str.contains("no conversion in the journeys").any()


def test_plan_errors() -> None:
    sim = scenario("short_journeys", 2_000, seed=1)
    journeys = at.build_journeys(sim.events)
    with pytest.raises(at.ModelError, match="n_tests must be an integer ≥ 1"):
        at.plan_experiments(journeys, n_tests=0)
    # True was one test, and an infinite min_lift sized tests for a control rate of 0
    with pytest.raises(at.ModelError, match="n_tests must be an integer ≥ 1; got True"):
        at.plan_experiments(journeys, n_tests=True)
    with pytest.raises(at.ModelError, match=r"min_lift a finite number > 0; got 1\.0, inf"):
        at.plan_experiments(journeys, min_lift=float("inf"))
    with pytest.raises(at.ModelError, match="Unknown parameter"):
        at.plan_experiments(journeys, flavour="x")


def test_simulated_tests_are_centred_on_the_truth() -> None:
    truth = pl.DataFrame({"channel": ["a", "b"], "incremental_conversions": [200, 0]})
    draws = pl.concat(
        simulated_lift_tests(truth, ["a", "b"], total_conversions=1_000, seed=s) for s in range(300)
    )
    a = draws.filter(pl.col("channel") == "a")["incremental_conversions"]
    assert a.mean() == pytest.approx(200, abs=3 * 20 / np.sqrt(300))
    assert a.std() == pytest.approx(20, rel=0.15)
    covered = ((draws["lower"] <= 200) & (draws["upper"] >= 200)).filter(draws["channel"] == "a")
    assert covered.mean() == pytest.approx(0.95, abs=0.04)


def test_evaluate_experiments_reports_planner_and_random_tests() -> None:
    df = evaluate_experiments(["display_on_intent"], n_users=5_000, n_random=2)
    assert df["strategy"].to_list() == ["planner", "random", "random"]
    planner = df.row(0, named=True)
    assert "Display" in planner["tested"]
    assert planner["in_fit"] < planner["before"]
