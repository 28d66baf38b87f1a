"""Tests of the seeded simulator with a known causal ground truth."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from attribution.datasets._simulate import (
    DEFAULT_CHANNELS,
    ChannelSpec,
    Simulation,
    simulate,
    simulate_events,
)

_EVENT_DTYPES: dict[str, pl.DataType] = {
    "user_id": pl.Int64(),
    "timestamp": pl.Datetime("us", "UTC"),
    "channel": pl.String(),
    "event": pl.String(),
    "revenue": pl.Float64(),
    "cost": pl.Float64(),
}
EVENT_SCHEMA = pl.Schema(_EVENT_DTYPES)

# Strong effects so that a couple of hundred users give plenty of conversions and
# counterfactual differences; "C" is pure confounding, "E" is unused noise.
SMALL_CHANNELS = (
    ChannelSpec("A", reach=1.5, effect=0.2, intent_targeting=0.5, cost_per_touch=1.0),
    ChannelSpec("B", reach=1.0, effect=0.1, cost_per_touch=0.25),
    ChannelSpec("C", reach=1.0, effect=0.0, intent_targeting=2.0, cost_per_touch=0.5),
    ChannelSpec("D", reach=0.5, effect=0.3, intent_targeting=-0.5),
    ChannelSpec("E", reach=0.8, effect=0.0),
)


@pytest.fixture(scope="module")
def default_sim() -> Simulation:
    return simulate(10_000, seed=11)


def truth_dict(sim: Simulation, column: str) -> dict[str, Any]:
    return dict(sim.truth.select("channel", column).iter_rows())


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_frames() -> None:
    a = simulate(2_000, seed=3, conversions_per_user=2)
    b = simulate(2_000, seed=3, conversions_per_user=2)
    for name in ("events", "truth", "spend", "latent"):
        assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.baseline_conversions == b.baseline_conversions
    assert a.total_conversions == b.total_conversions


def test_different_seed_gives_different_frames() -> None:
    a = simulate(2_000, seed=3)
    b = simulate(2_000, seed=4)
    assert not a.events.equals(b.events)
    assert not a.truth.equals(b.truth)


def test_params_reproduce_the_simulation() -> None:
    a = simulate(1_500, seed=5, channels=SMALL_CHANNELS, days=30, conversions_per_user=2)
    b = simulate(**a.params)
    assert_frame_equal(a.events, b.events)
    assert_frame_equal(a.truth, b.truth)
    assert a.params["channels"] == SMALL_CHANNELS


def test_simulate_events_is_seeded() -> None:
    assert_frame_equal(simulate_events(20_000, seed=1), simulate_events(20_000, seed=1))
    assert not simulate_events(20_000, seed=1).equals(simulate_events(20_000, seed=2))


# --- schema and values -----------------------------------------------------------------------


def test_events_schema_and_values(default_sim: Simulation) -> None:
    ev = default_sim.events
    assert ev.schema == EVENT_SCHEMA
    touch = ev["event"] == "touch"
    conv = ev["event"] == "conversion"
    assert bool((touch | conv).all())
    assert bool(ev["channel"].is_null().eq(conv).all())
    assert (ev.filter(touch)["revenue"] == 0.0).all()
    assert (ev.filter(conv)["revenue"] > 0.0).all()
    assert (ev.filter(conv)["cost"] == 0.0).all()
    assert ev["user_id"].is_between(1, 10_000).all() and (ev["user_id"] == 1).any()
    assert ev.filter(conv).height == default_sim.total_conversions
    # cost of each touch is the spec's cost_per_touch
    unit = {c.name: c.cost_per_touch for c in DEFAULT_CHANNELS}
    costs = ev.filter(touch).group_by("channel").agg(pl.col("cost").unique())
    for channel, values in costs.iter_rows():
        assert values == [unit[channel]]
    # each conversion row is worth the order value of its occasion
    assert ev.filter(conv)["revenue"].sum() == pytest.approx(
        default_sim.latent.filter("converted")["order_value"].sum()
    )


def test_rows_are_shuffled(default_sim: Simulation) -> None:
    ev = default_sim.events
    assert not ev["user_id"].is_sorted()
    assert not ev["timestamp"].is_sorted()
    assert not ev.sort("user_id", "timestamp").equals(ev)


def test_truth_and_spend_schema(default_sim: Simulation) -> None:
    assert default_sim.truth.schema == pl.Schema(
        {
            "channel": pl.String,
            "effect": pl.Float64,
            "touches": pl.Int64,
            "incremental_conversions": pl.Int64,
            "incremental_revenue": pl.Float64,
            "has_effect": pl.Boolean,
            "spend": pl.Float64,
        }
    )
    assert default_sim.truth["channel"].to_list() == [c.name for c in DEFAULT_CHANNELS]
    assert default_sim.spend.schema == pl.Schema(
        {"date": pl.Date, "channel": pl.String, "spend": pl.Float64}
    )
    assert isinstance(default_sim.total_conversions, int)
    assert isinstance(default_sim.baseline_conversions, float)


def test_default_channels_have_the_promised_roles() -> None:
    spec = {c.name: c for c in DEFAULT_CHANNELS}
    assert set(spec) == {
        "Paid Search",
        "Organic Search",
        "Email",
        "Display",
        "Social",
        "Direct",
        "Affiliate",
        "Retargeting",
    }
    assert spec["Retargeting"].effect == 0.0 and spec["Retargeting"].intent_targeting >= 1.5
    assert spec["Display"].effect == 0.0 and spec["Display"].intent_targeting == 0.0


def test_events_lie_in_the_window() -> None:
    sim = simulate(3_000, seed=2, start="2023-06-15T12:00:00Z", days=10, conversions_per_user=3)
    ts = sim.events["timestamp"]
    lo = datetime(2023, 6, 15, 12, tzinfo=timezone.utc)
    assert ts.min() >= lo  # type: ignore[operator]
    assert ts.max() < lo + timedelta(days=10)  # type: ignore[operator]
    assert sim.spend["date"].min() == lo.date()
    assert sim.spend["date"].max() == (lo + timedelta(days=10)).date()  # window ends at noon


def test_conversion_ends_its_journey_and_tails_are_rare() -> None:
    sim = simulate(20_000, seed=8)
    ev = sim.events
    conv_time = ev.filter(pl.col("event") == "conversion").select(
        "user_id", conv=pl.col("timestamp")
    )
    touches = ev.filter(pl.col("event") == "touch").join(conv_time, on="user_id")
    assert touches.filter(pl.col("timestamp") == pl.col("conv")).height == 0
    after = touches.filter(pl.col("timestamp") > pl.col("conv"))["user_id"].n_unique()
    share = after / conv_time.height
    assert 0.04 < share < 0.16  # post_purchase_rate = 0.1, minus buyers at the end of a slot
    none = simulate(20_000, seed=8, post_purchase_rate=0.0).events
    conv_time = none.filter(pl.col("event") == "conversion").select(
        "user_id", conv=pl.col("timestamp")
    )
    touches = none.filter(pl.col("event") == "touch").join(conv_time, on="user_id")
    assert touches.filter(pl.col("timestamp") >= pl.col("conv")).height == 0


# --- ground truth ----------------------------------------------------------------------------


def test_truth_zero_effect_means_zero_incremental(default_sim: Simulation) -> None:
    truth = default_sim.truth
    zero = truth.filter(pl.col("effect") == 0.0)
    assert set(zero["channel"]) == {"Display", "Retargeting"}
    assert (zero["incremental_conversions"] == 0).all()
    assert (zero["incremental_revenue"] == 0.0).all()
    positive = truth.filter(pl.col("effect") > 0.0)
    assert (positive["incremental_conversions"] > 0).all()
    assert (positive["incremental_revenue"] > 0.0).all()
    assert truth["has_effect"].to_list() == (truth["effect"] > 0).to_list()


def test_truth_bounds(default_sim: Simulation) -> None:
    total = default_sim.total_conversions
    base = default_sim.baseline_conversions
    assert 0 <= base <= total
    assert (default_sim.truth["incremental_conversions"] <= total - base).all()
    # about the planned scale: a realistic share of buyers, most of them caused by marketing
    assert 0.05 < total / 10_000 < 0.2
    assert base < 0.5 * total


def test_truth_touches_count_event_rows(default_sim: Simulation) -> None:
    rows = dict(
        default_sim.events.filter(pl.col("event") == "touch").group_by("channel").len().iter_rows()
    )
    assert truth_dict(default_sim, "touches") == rows


def _brute_force(sim: Simulation, specs: tuple[ChannelSpec, ...], k_max: int) -> dict[str, Any]:
    """Recompute conversions and counterfactuals user by user from the events and latents."""
    latent = {(r["user_id"], r["occasion"]): r for r in sim.latent.iter_rows(named=True)}
    rows: dict[int, list[tuple[datetime, str, str | None, float]]] = defaultdict(list)
    for user, ts, channel, event, revenue in sim.events.select(
        "user_id", "timestamp", "channel", "event", "revenue"
    ).iter_rows():
        rows[user].append((ts, event, channel, revenue))
    counts: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    revenue_of: dict[tuple[int, int], float] = {}
    for user, items in rows.items():
        conversions = sorted((ts, rev) for ts, event, _, rev in items if event == "conversion")
        for k, (_, rev) in enumerate(conversions):
            revenue_of[(user, k)] = rev
        for ts, event, channel, _ in items:
            if event == "touch":
                occasion = sum(1 for t, _ in conversions if t < ts)
                assert channel is not None
                if occasion < k_max:  # later touches are the post-purchase tail
                    counts[(user, occasion)][channel] += 1

    n_users = sim.params["n_users"]

    def probability(user: int, k: int, removed: set[str]) -> float:
        row = latent[(user, k)]
        survive = 1.0 - row["base_probability"]
        for spec in specs:
            if spec.name not in removed:
                survive *= (1.0 - spec.effect) ** counts[(user, k)][spec.name]
        return 1.0 - survive

    def run(removed: set[str]) -> tuple[int, float, list[tuple[int, int]]]:
        n, value, bought = 0, 0.0, []
        for user in range(1, n_users + 1):
            for k in range(k_max):
                row = latent[(user, k)]
                # a counterfactual never needs an occasion the log does not show
                assert row["realised"]
                if not row["uniform"] < probability(user, k, removed):
                    break
                n += 1
                value += row["order_value"]
                bought.append((user, k))
        return n, value, bought

    total, total_value, bought = run(set())
    result: dict[str, Any] = {"total": total, "bought": bought, "revenue_of": revenue_of}
    result["probability"] = {
        key: probability(*key, set()) for key, row in latent.items() if row["realised"]
    }
    result["incremental"] = {}
    result["incremental_revenue"] = {}
    for spec in specs:
        n, value, _ = run({spec.name})
        result["incremental"][spec.name] = total - n
        result["incremental_revenue"][spec.name] = total_value - value
    result["baseline"] = run({s.name for s in specs})[0]
    return result


@pytest.mark.parametrize("k_max", [1, 2, 3])
def test_truth_matches_brute_force(k_max: int) -> None:
    sim = simulate(
        200,
        seed=21 + k_max,
        channels=SMALL_CHANNELS,
        base_rate=0.1,
        days=30,
        conversions_per_user=k_max,
    )
    brute = _brute_force(sim, SMALL_CHANNELS, k_max)
    assert brute["total"] == sim.total_conversions
    assert brute["baseline"] == sim.baseline_conversions
    assert brute["incremental"] == truth_dict(sim, "incremental_conversions")
    revenue = truth_dict(sim, "incremental_revenue")
    for name, value in brute["incremental_revenue"].items():
        assert revenue[name] == pytest.approx(value, abs=0.006)
    # the latent state agrees with the log
    converted = {
        (u, k) for u, k, c in sim.latent.select("user_id", "occasion", "converted").rows() if c
    }
    assert converted == set(brute["bought"])
    for key, p in brute["probability"].items():
        row = sim.latent.filter(pl.col("user_id") == key[0], pl.col("occasion") == key[1])
        assert row["probability"].item() == pytest.approx(p, rel=1e-12, abs=1e-15)
    order_value = {
        (u, k): v for u, k, v in sim.latent.select("user_id", "occasion", "order_value").rows()
    }
    for key, rev in brute["revenue_of"].items():
        assert rev == order_value[key]
    # the test is not vacuous
    assert 20 < sim.total_conversions < 200
    assert brute["incremental"]["A"] > 0 and brute["incremental"]["C"] == 0
    if k_max > 1:
        assert sim.latent.filter(pl.col("occasion") == 1)["converted"].any()


def test_retargeting_follows_buyers_without_causing_them(default_sim: Simulation) -> None:
    ev = default_sim.events
    buyers = ev.filter(pl.col("event") == "conversion")["user_id"].unique()
    n_buyers = buyers.len()
    n_others = 10_000 - n_buyers
    seen = ev.filter(pl.col("channel") == "Retargeting").with_columns(
        buyer=pl.col("user_id").is_in(buyers.implode())
    )
    rate_buyers = int(seen["buyer"].sum()) / n_buyers
    rate_others = int((~seen["buyer"]).sum()) / n_others
    assert rate_buyers >= 2.0 * rate_others
    assert truth_dict(default_sim, "incremental_conversions")["Retargeting"] == 0
    # Display reaches at random: no such correlation
    shown = ev.filter(pl.col("channel") == "Display").with_columns(
        buyer=pl.col("user_id").is_in(buyers.implode())
    )
    ratio = (int(shown["buyer"].sum()) / n_buyers) / (int((~shown["buyer"]).sum()) / n_others)
    assert 0.7 < ratio < 1.4


@settings(max_examples=20, deadline=None)
@given(
    effects=st.lists(st.sampled_from([0.0, 0.05, 0.3]), min_size=1, max_size=4),
    targeting=st.floats(-1.0, 2.5),
    k_max=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_truth_properties_hold_for_any_channels(
    effects: list[float], targeting: float, k_max: int, seed: int
) -> None:
    specs = [
        ChannelSpec(f"c{i}", reach=1.0, effect=e, intent_targeting=targeting * (i % 2))
        for i, e in enumerate(effects)
    ]
    sim = simulate(300, seed=seed, channels=specs, conversions_per_user=k_max, days=20)
    total, base = sim.total_conversions, sim.baseline_conversions
    assert base <= total
    for _, effect, _, inc, inc_rev, has_effect, _ in sim.truth.iter_rows():
        assert 0 <= inc <= total - base
        assert has_effect == (effect > 0)
        if effect == 0.0:
            assert inc == 0 and inc_rev == 0.0
        assert (inc == 0) == (inc_rev == 0.0)
    if all(e == 0.0 for e in effects):
        assert base == total


# --- spend -----------------------------------------------------------------------------------


def test_spend_sums_to_touch_costs(default_sim: Simulation) -> None:
    ev = default_sim.events
    spend = default_sim.spend
    assert spend["spend"].sum() == pytest.approx(ev["cost"].sum(), rel=1e-12)
    per_channel = dict(spend.group_by("channel").agg(pl.col("spend").sum()).iter_rows())
    cost = dict(ev.group_by("channel").agg(pl.col("cost").sum()).drop_nulls().iter_rows())
    paid = {c.name for c in DEFAULT_CHANNELS if c.cost_per_touch > 0}
    assert set(per_channel) == paid
    for channel in paid:
        assert per_channel[channel] == pytest.approx(cost[channel], rel=1e-12)
        assert truth_dict(default_sim, "spend")[channel] == pytest.approx(cost[channel])
    daily = (
        ev.group_by(pl.col("timestamp").dt.date().alias("date"), "channel")
        .agg(pl.col("cost").sum())
        .filter(pl.col("channel").is_in(list(paid)))
    )
    joined = spend.join(daily, on=["date", "channel"], how="left").fill_null(0.0)
    assert np.allclose(joined["spend"], joined["cost"])
    assert spend.height == 90 * len(paid)  # every day of the window, every paid channel
    assert (spend["spend"] >= 0).all()


# --- fast generator --------------------------------------------------------------------------


def test_simulate_events_shape_and_rates() -> None:
    n = 200_000
    ev = simulate_events(n, seed=0)
    assert ev.schema == EVENT_SCHEMA
    assert abs(ev.height - n) <= 0.05 * n
    users = ev["user_id"].n_unique()
    assert 3.6 <= ev.height / users <= 4.0
    conv = ev.filter(pl.col("event") == "conversion")
    per_buyer = conv.group_by("user_id").len()
    assert 0.03 <= per_buyer.height / users <= 0.05
    assert (per_buyer["len"] == 2).sum() > 0 and per_buyer["len"].max() == 2
    assert (conv["revenue"] > 0).all() and conv["channel"].null_count() == conv.height
    touches = ev.filter(pl.col("event") == "touch")
    assert touches["channel"].null_count() == 0
    assert (touches["revenue"] == 0).all() and (touches["cost"] > 0).all()
    assert sorted(touches["channel"].unique()) == [f"ch{i:02d}" for i in range(10)]
    assert not ev["user_id"].is_sorted() and not ev["timestamp"].is_sorted()
    lo = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert ev["timestamp"].min() >= lo  # type: ignore[operator]
    assert ev["timestamp"].max() < lo + timedelta(days=90)  # type: ignore[operator]
    # every buyer's last conversion comes after all of its touches
    last = ev.group_by("user_id").agg(
        pl.col("timestamp").filter(pl.col("event") == "touch").max().alias("touch"),
        pl.col("timestamp").filter(pl.col("event") == "conversion").max().alias("conv"),
    )
    assert last.filter(pl.col("conv") <= pl.col("touch")).height == 0


def test_simulate_events_channel_count() -> None:
    ev = simulate_events(5_000, seed=1, n_channels=3)
    assert sorted(ev["channel"].drop_nulls().unique()) == ["ch00", "ch01", "ch02"]
    assert simulate_events(1, seed=0).height >= 1


# --- input checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channels": [ChannelSpec("x", 1.0, 1.0)]}, r"'x' has effect 1\.0"),
        ({"channels": [ChannelSpec("x", 1.0, -0.1)]}, r"effects must be in \[0, 1\)"),
        ({"channels": [ChannelSpec("x", -1.0, 0.1)]}, r"reach must be >= 0"),
        ({"channels": [ChannelSpec("x", 1.0, 0.1)] * 2}, r"unique; repeated: \['x'\]"),
        ({"channels": []}, "channels is empty"),
        ({"base_rate": 0.0}, r"base_rate=0\.0"),
        ({"days": 0}, "days=0"),
        ({"conversions_per_user": 0}, "conversions_per_user=0"),
        ({"start": "yesterday"}, "not an ISO date"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        simulate(10, **kwargs)


# --- bundled sample --------------------------------------------------------------------------


def test_bundled_sample_is_up_to_date(tmp_path: Path) -> None:
    from attribution.datasets import make_sample

    data = Path(make_sample.__file__).parent / "data"
    written = make_sample.write_sample(tmp_path)
    for path in written:
        assert path.read_bytes() == (data / path.name).read_bytes(), path.name
    events = pl.read_csv(data / "sample_events.csv")
    assert events.columns == ["user_id", "timestamp", "channel", "event", "revenue", "cost"]
    assert events["timestamp"].str.ends_with("Z").all()
    assert events["user_id"].is_sorted()
    assert (data / "sample_events.csv").stat().st_size < 1_000_000
    truth = pl.read_csv(data / "sample_truth.csv")
    sim = make_sample.sample_simulation()
    assert truth["incremental_conversions"].to_list() == (
        sim.truth["incremental_conversions"].to_list()
    )
    assert events.filter(pl.col("event") == "conversion").height == sim.total_conversions
    assert math.isclose(
        events["revenue"].sum(), sim.events["revenue"].sum(), rel_tol=0, abs_tol=1e-6
    )
