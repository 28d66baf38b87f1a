"""Tests of the evaluation harness and the simulator settings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import attribution as at
from attribution.datasets import ChannelSpec, simulate
from attribution.datasets.scenarios import SCENARIOS, scenario
from attribution.evaluation import evaluate, evaluate_scenarios, score_credit, truth_credit

SAMPLE_TRUTH = Path(at.datasets.__file__).parent / "data" / "sample_truth.csv"


def test_truth_is_rescaled_to_the_conversions() -> None:
    t = pl.DataFrame({"channel": ["a", "b", "c"], "incremental_conversions": [30, 10, 0]})
    out = truth_credit(t, 100, baseline_conversions=50)
    # (N - B) / Σ inc = 50 / 40
    assert out["truth"].to_list() == [37.5, 12.5, 0.0, 50.0]
    assert out["has_effect"].to_list() == [True, True, False, None]
    # default baseline: N - Σ inc
    assert truth_credit(t, 100)["truth"].to_list() == [30.0, 10.0, 0.0, 60.0]
    # a "(baseline)" row is used when given
    withb = pl.concat(
        [t, pl.DataFrame({"channel": ["(baseline)"], "incremental_conversions": [20]})]
    )
    assert truth_credit(withb, 100)["truth"][-1] == 20.0


def test_truth_errors() -> None:
    t = pl.DataFrame({"channel": ["a", "b"], "incremental_conversions": [3, -1]})
    with pytest.raises(at.ValidationError, match=r"1 null, negative.*\['b'\]"):
        truth_credit(t, 10)
    with pytest.raises(at.SchemaError, match="'incremental_conversions' is missing"):
        truth_credit(t.drop("incremental_conversions"), 10)
    with pytest.raises(at.ValidationError, match="baseline_conversions is 20"):
        truth_credit(t.with_columns(incremental_conversions=pl.lit(1)), 10, baseline_conversions=20)


def test_score_by_hand() -> None:
    t = truth_credit(
        pl.DataFrame({"channel": ["a", "b"], "incremental_conversions": [4, 0]}),
        10,
        baseline_conversions=6,
    )
    credit = pl.DataFrame({"channel": ["a", "b", "(baseline)"], "credit": [5.0, 3.0, 2.0]})
    frame, s = score_credit(credit, t)
    # |5-4| + |3-0| + |2-6| = 8 over 10
    assert s["total_abs_error"] == pytest.approx(0.8)
    assert s["channel_abs_error"] == pytest.approx(0.4)
    assert s["no_effect_share"] == pytest.approx(0.3)
    # shares: 5/8, 3/8 vs 1, 0
    assert s["share_abs_error"] == pytest.approx(0.75)
    assert frame["error"].to_list() == [1.0, 3.0, -4.0]


def test_evaluate_accepts_any_truth_frame_and_scores_every_model() -> None:
    sim = simulate(3_000, seed=9)
    outside = sim.truth.select(
        pl.col("channel").alias("name"), pl.col("incremental_conversions").alias("lift")
    )
    ev = evaluate(
        sim.events,
        outside,
        channel_col="name",
        incremental_col="lift",
        baseline_conversions=sim.baseline_conversions,
        models={"lt": ("last_touch", {}), "td3": ("time_decay", {"half_life_days": 3})},
    )
    assert ev.summary["model"].to_list() == ["lt", "td3"]
    credit = ev.channels.group_by("model").agg(pl.col("credit").sum(), pl.col("truth").sum())
    assert credit["credit"].to_list() == pytest.approx([sim.total_conversions] * 2)
    assert credit["truth"].to_list() == pytest.approx([sim.total_conversions] * 2)
    with pytest.raises(at.ModelError, match="Unknown model 'nope'"):
        evaluate(sim.events, sim.truth, models=["nope"])


def test_default_simulation_is_unchanged_by_new_options() -> None:
    # the bundled sample's truth was written before `interactions` existed
    sim = simulate(3_000, seed=7)
    stored = pl.read_csv(SAMPLE_TRUTH)
    assert_frame_equal(
        sim.truth.select("channel", "incremental_conversions"),
        stored.select("channel", "incremental_conversions"),
        check_dtypes=False,
    )


def test_interactions_create_effects_only_together() -> None:
    chans = (ChannelSpec("A", reach=1.0, effect=0.0), ChannelSpec("B", reach=1.0, effect=0.0))
    plain = simulate(3_000, seed=2, channels=chans)
    syn = simulate(3_000, seed=2, channels=chans, interactions=[("A", "B", 0.3)])
    assert plain.truth["incremental_conversions"].to_list() == [0, 0]
    inc = syn.truth["incremental_conversions"].to_list()
    # removing either channel removes the synergy: both lose the same conversions
    assert inc[0] == inc[1] > 0
    assert syn.total_conversions - syn.baseline_conversions == inc[0]
    with pytest.raises(ValueError, match="unknown channels"):
        simulate(10, channels=chans, interactions=[("A", "Z", 0.1)])


def test_scenarios_run() -> None:
    assert {
        "no_confounding",
        "intent_confounding",
        "interactions",
        "long_journeys",
        "short_journeys",
    } <= set(SCENARIOS)
    sim = scenario("long_journeys", 500, seed=1)
    short = scenario("short_journeys", 500, seed=1)
    assert sim.truth["touches"].sum() > 5 * short.truth["touches"].sum()
    df = evaluate_scenarios(["short_journeys"], n_users=1_500, models=["linear", "data_driven"])
    assert df["model"].to_list() == ["linear", "data_driven"]
    assert df["kind"].to_list() == ["path-based", "data-driven"]


@pytest.mark.slow
def test_data_driven_not_worse_than_path_models_under_confounding() -> None:
    sim = scenario("intent_confounding", 15_000, seed=4)
    ev = evaluate(
        sim.events, sim.truth, baseline_conversions=sim.baseline_conversions, lookback_days=30
    )
    s = ev.summary
    dda = s.filter(pl.col("model") == "data_driven")["total_abs_error"][0]
    assert dda <= s.filter(pl.col("kind") == "path-based")["total_abs_error"].min()


def test_old_module_path_warns_and_at_evaluate_is_the_function() -> None:
    import importlib

    import attribution.evaluation as evaluation

    assert at.evaluate is evaluation.evaluate and callable(at.evaluate)
    assert at.evaluate_scenarios is evaluation.evaluate_scenarios
    assert at.evaluation is evaluation
    old = importlib.import_module("attribution.evaluate")
    assert old is not evaluation
    for name in ("evaluate", "evaluate_scenarios", "truth_credit", "score_credit", "Evaluation"):
        with pytest.warns(DeprecationWarning, match="attribution.evaluation"):
            assert getattr(old, name) is getattr(evaluation, name)
    with pytest.warns(DeprecationWarning, match="import truth_credit from attribution.evaluation"):
        from attribution.evaluate import truth_credit as old_truth
    assert old_truth is truth_credit
    # importing the old module does not replace the function on the package
    assert at.evaluate is evaluation.evaluate


def test_evaluate_takes_journey_options_like_build_journeys() -> None:
    sim = simulate(2_000, seed=6)
    kw = {"baseline_conversions": sim.baseline_conversions, "models": ["linear", "markov"]}
    journeys = at.build_journeys(sim.events, lookback_days=20, max_touches=5)
    expected = evaluate(journeys, sim.truth, **kw)
    by_keywords = evaluate(sim.events, sim.truth, lookback_days=20, max_touches=5, **kw)
    by_options = evaluate(
        sim.events, sim.truth, at.JourneyOptions(lookback_days=20, max_touches=5), **kw
    )
    mixed = evaluate(
        sim.events, sim.truth, at.JourneyOptions(lookback_days=20), max_touches=5, **kw
    )
    for ev in (by_keywords, by_options, mixed):
        assert_frame_equal(ev.summary, expected.summary)
        assert_frame_equal(ev.channels, expected.channels)
    # the event log's own column names go through the options
    renamed = sim.events.rename({"user_id": "uid"})
    assert_frame_equal(
        evaluate(renamed, sim.truth, lookback_days=20, max_touches=5, user_col="uid", **kw).summary,
        expected.summary,
    )
    with pytest.raises(at.ValidationError, match="Unknown journey option 'lookback'"):
        evaluate(sim.events, sim.truth, lookback=20, **kw)
    with pytest.raises(at.ModelError, match=r"Journey options \(lookback_days\) apply when"):
        evaluate(journeys, sim.truth, lookback_days=20, **kw)


def test_evaluate_reads_iso_text_with_zone_suffix() -> None:
    # timestamps written as ISO text ending in "Z" are read by the base layer, as datetimes are
    sim = simulate(1_500, seed=8)
    text = sim.events.with_columns(
        pl.col("timestamp").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
    )
    assert text.schema["timestamp"] == pl.String
    kw = {"baseline_conversions": sim.baseline_conversions, "models": ["time_decay", "markov"]}
    a = evaluate(sim.events, sim.truth, lookback_days=30, **kw)
    b = evaluate(text, sim.truth, lookback_days=30, **kw)
    assert_frame_equal(a.summary, b.summary)


def test_evaluate_scenarios_takes_journey_options() -> None:
    kw = {"n_users": 1_500, "models": ["linear"]}
    a = evaluate_scenarios(["short_journeys"], lookback_days=5, **kw)
    b = evaluate_scenarios(["short_journeys"], options=at.JourneyOptions(lookback_days=5), **kw)
    assert_frame_equal(a, b)
    every_touch = evaluate_scenarios(["short_journeys"], **kw)
    assert a["total_abs_error"][0] != every_touch["total_abs_error"][0]
