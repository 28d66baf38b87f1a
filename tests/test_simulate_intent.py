"""Simulated channels that seek intent (follow-ups, late touches) and the daily-hazard family."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from attribution.datasets import (
    DAILY_CHANNELS,
    ChannelSpec,
    DailyChannel,
    simulate,
    simulate_daily,
)
from attribution.datasets.scenarios import (
    ALL_SCENARIOS,
    DAILY_SCENARIOS,
    INTENT_SETTINGS,
    SCENARIOS,
    scenario,
)

CHANNELS = (
    ChannelSpec("A", reach=1.0, effect=0.05),
    ChannelSpec("B", reach=0.8, effect=0.02),
    ChannelSpec("R", reach=0.6, effect=0.0, intent_targeting=1.5, follows=True),
)


def _touches(sim) -> pl.DataFrame:
    return sim.events.filter(pl.col("event") == "touch").sort("user_id", "timestamp")


def test_a_following_channel_comes_after_a_touch_of_another() -> None:
    sim = simulate(3_000, seed=1, channels=CHANNELS, post_purchase_rate=0.0)
    t = _touches(sim)
    first_lead = (
        t.filter(pl.col("channel") != "R")
        .group_by("user_id")
        .agg(pl.col("timestamp").min().alias("lead"))
    )
    follow = t.filter(pl.col("channel") == "R").join(first_lead, on="user_id", how="left")
    assert follow.height > 100
    assert follow["lead"].null_count() == 0  # nobody untouched by A or B is retargeted
    assert (follow["timestamp"] >= follow["lead"]).all()
    assert int(sim.truth.filter(pl.col("channel") == "R")["incremental_conversions"][0]) == 0


def test_late_touches_move_in_time_only() -> None:
    early = simulate(3_000, seed=2, channels=CHANNELS[:2], post_purchase_rate=0.0)
    late_chans = (replace(CHANNELS[0], late_share=1.0, late_hours=2.0), CHANNELS[1])
    late = simulate(3_000, seed=2, channels=late_chans, post_purchase_rate=0.0)
    # the counts and the conversions are the same draws: the truth does not move
    assert late.truth.equals(early.truth)
    assert late.total_conversions == early.total_conversions
    conv = late.events.filter(pl.col("event") == "conversion").select("user_id", conv="timestamp")
    a = _touches(late).filter(pl.col("channel") == "A").join(conv, on="user_id")
    gap = (a["conv"] - a["timestamp"]).dt.total_seconds() / 3600
    assert (gap > 0).all()
    assert gap.median() < 3.0  # within hours of the purchase (mean 2 h)


def test_default_channels_draw_exactly_as_before() -> None:
    # ChannelSpec's new fields default to what earlier versions drew (pinned on main)
    sim = scenario("default", 5_000, seed=3)
    assert sim.truth["incremental_conversions"].to_list() == [146, 86, 70, 0, 46, 13, 74, 0]
    assert int(sim.events.hash_rows().sum()) == 4094145504092216781


def test_intent_settings_are_named_and_confounded() -> None:
    assert set(INTENT_SETTINGS) <= set(ALL_SCENARIOS)
    assert all(ALL_SCENARIOS[n].confounded for n in INTENT_SETTINGS)
    assert all(s.simulator == "journey" for s in SCENARIOS.values())
    assert all(s.simulator == "daily" for s in DAILY_SCENARIOS.values())
    assert not DAILY_SCENARIOS["daily_no_confounding"].confounded
    sim = scenario("brand_search", 2_000, seed=1)
    assert "Brand Search" in sim.truth["channel"].to_list()
    # two intent-seeking channels, neither with an effect; every other channel at random
    chans = ALL_SCENARIOS["retargeting_display"].kwargs["channels"]
    seeking = sorted(c.name for c in chans if c.intent_targeting > 0)
    assert seeking == ["Display", "Retargeting"]
    sim = scenario("retargeting_display", 2_000, seed=1)
    no_effect = sim.truth.filter(~pl.col("has_effect"))
    assert sorted(no_effect["channel"].to_list()) == seeking
    assert no_effect["incremental_conversions"].to_list() == [0, 0]
    with pytest.raises(ValueError, match="late_share"):
        simulate(100, channels=(ChannelSpec("x", reach=1.0, effect=0.0, late_share=1.5),))


def test_daily_truth_is_a_replay_of_the_same_draws() -> None:
    sim = simulate_daily(3_000, seed=4)
    ev = sim.events
    conv = ev.filter(pl.col("event") == "conversion")
    assert conv.height == sim.total_conversions
    assert conv["user_id"].n_unique() == conv.height  # one purchase per user
    # users stop at their conversion: no touch after it
    last_touch = (
        ev.filter(pl.col("event") == "touch").group_by("user_id").agg(pl.col("timestamp").max())
    )
    after = conv.join(last_touch, on="user_id", suffix="_touch").filter(
        pl.col("timestamp_touch") > pl.col("timestamp")
    )
    assert after.height == 0
    truth = sim.truth
    assert truth.filter(~pl.col("has_effect"))["incremental_conversions"].to_list() == [0, 0, 0]
    inc = truth["incremental_conversions"].to_numpy()
    assert (inc >= 0).all() and inc.sum() <= sim.total_conversions - sim.baseline_conversions + 1
    lat = sim.latent
    assert int((lat["conversion_day"] >= 0).sum()) == sim.total_conversions


def test_daily_channels_add_up_without_interactions() -> None:
    # one channel: its incremental conversions are total minus baseline exactly
    one = (DailyChannel("A", 0.2, 1.0, decay=0.5),)
    sim = simulate_daily(4_000, seed=1, channels=one)
    inc = int(sim.truth["incremental_conversions"][0])
    assert inc == sim.total_conversions - sim.baseline_conversions
    assert inc > 0


def test_daily_intent_crowds_touches_before_the_purchase() -> None:
    seeking = tuple(replace(c, seek=1.5) if c.name == "Display" else c for c in DAILY_CHANNELS)
    sim = simulate_daily(4_000, seed=3, channels=seeking)
    ev = sim.events
    conv = ev.filter(pl.col("event") == "conversion").select("user_id", conv="timestamp")
    t = ev.filter(pl.col("event") == "touch").join(conv, on="user_id")
    days = (t["conv"] - t["timestamp"]).dt.total_seconds() / 86_400
    t = t.with_columns(days=days)
    share = t.group_by("channel").agg((pl.col("days") <= 2).mean().alias("near"))
    near = dict(share.iter_rows())
    others = np.median([v for k, v in near.items() if k not in ("Display", "Retargeting")])
    assert near["Display"] > 1.3 * others
    with pytest.raises(ValueError, match="decay in"):
        simulate_daily(10, channels=(DailyChannel("A", 0.1, 0.1, decay=1.0),))
