"""Heuristic models: ChannelAttribution's output, brute force, closed forms and properties."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
from tests.conftest import DATA, REFERENCE, random_events

HEURISTICS = [
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
]


def test_heuristics_match_channelattribution_2_2_5_exactly():
    """first/last/linear conversions and values equal CA's heuristic_models to 1e-9."""
    pt = at.read_paths(DATA / "channelattribution_paths" / "paths.csv")
    ref = pl.read_csv(REFERENCE / "channelattribution" / "heuristic_models.csv").sort(
        "channel_name"
    )
    for ours, theirs in [
        ("first_touch", "first_touch"),
        ("last_touch", "last_touch"),
        ("linear", "linear_touch"),
    ]:
        got = at.attribute(pt, ours).channels.sort("channel")
        assert got["channel"].to_list() == ref["channel_name"].to_list()
        np.testing.assert_allclose(
            got["conversions"], ref[f"{theirs}_conversions"], rtol=0, atol=1e-9
        )
        np.testing.assert_allclose(got["revenue"], ref[f"{theirs}_value"], rtol=1e-12, atol=1e-9)


def brute_force(journeys: at.Journeys, model: str, **params) -> dict[str, tuple[float, float]]:
    """Per-journey credit with plain Python loops, straight from each model's definition."""
    f = journeys.frame.filter("converted")
    conv = defaultdict(float)
    rev = defaultdict(float)
    direct = {c.lower() for c in params.get("direct_channels", ("direct",))}
    half = params.get("half_life_days", 7.0)
    for path, times, ctime, revenue in zip(
        f["path"], f["touch_times"], f["conversion_time"], f["revenue"], strict=True
    ):
        n = len(path)
        if n == 0:
            credit = {at.NO_TOUCH: 1.0}
            shares = []
        else:
            if model == "first_touch":
                shares = [1.0] + [0.0] * (n - 1)
            elif model == "last_touch":
                shares = [0.0] * (n - 1) + [1.0]
            elif model == "last_non_direct":
                idx = max((i for i, c in enumerate(path) if c.lower() not in direct), default=n - 1)
                shares = [1.0 if i == idx else 0.0 for i in range(n)]
            elif model == "linear":
                shares = [1.0 / n] * n
            elif model == "time_decay":
                w = [2 ** (-((ctime - t).total_seconds() / 86400) / half) for t in times]
                shares = [x / sum(w) for x in w]
            elif model == "position_based":
                if n == 1:
                    shares = [1.0]
                elif n == 2:
                    shares = [0.5, 0.5]
                else:
                    shares = [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
            credit = defaultdict(float)
            for c, s in zip(path, shares, strict=True):
                credit[c] += s
        for c, s in credit.items():
            conv[c] += s
            rev[c] += s * revenue
    return {c: (conv[c], rev[c]) for c in conv}


@pytest.mark.parametrize("model", HEURISTICS)
def test_heuristics_match_brute_force(rng, model):
    ev = random_events(rng, 3000, n_users=150, channels=["direct", "seo", "email", "ads"])
    j = at.build_journeys(ev, lookback_days=20)
    got = at.attribute(j, model).channels
    ref = brute_force(j, model)
    for channel, conversions, revenue in got.select("channel", "conversions", "revenue").rows():
        c, r = ref.get(channel, (0.0, 0.0))
        assert conversions == pytest.approx(c, abs=1e-9)
        assert revenue == pytest.approx(r, abs=1e-7)


def test_time_decay_closed_form():
    """Touches 7 and 0 days before the conversion weigh 1/2 and 1: credit 1/3 and 2/3."""
    ts = pl.datetime(2024, 1, 1, time_zone="UTC")
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 1],
            "channel": ["early", "late", None],
            "event": ["touch", "touch", "conversion"],
            "revenue": [0.0, 0.0, 30.0],
            "day": [0, 7, 7],
        }
    ).with_columns((ts + pl.duration(days=pl.col("day"))).alias("timestamp"))
    res = at.attribute(at.build_journeys(ev), "time_decay").channels.sort("channel")
    assert res["conversions"].to_list() == pytest.approx([1 / 3, 2 / 3])
    assert res["revenue"].to_list() == pytest.approx([10.0, 20.0])
    # with a 3.5-day half-life the early touch weighs 1/4: credit 1/5 and 4/5
    res = at.attribute(at.build_journeys(ev), "time_decay", half_life_days=3.5).channels
    assert res.sort("channel")["conversions"].to_list() == pytest.approx([0.2, 0.8])


@pytest.mark.parametrize(
    ("weights", "path", "expected"),
    [
        ("u", "a", [1.0]),
        ("u", "a > b", [0.5, 0.5]),
        ("u", "a > b > c", [0.4, 0.2, 0.4]),
        ("u", "a > b > c > d > e", [0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4]),
        ("j", "a > b > c", [0.2, 0.2, 0.6]),
        ("j", "a > b", [0.25, 0.75]),
        ("inverse_j", "a > b > c > d", [0.6, 0.1, 0.1, 0.2]),
        ((1, 0, 1), "a > b > c", [0.5, 0.0, 0.5]),
    ],
)
def test_position_based_weights(weights, path, expected):
    pt = at.read_paths(pl.DataFrame({"path": [path], "total_conversions": [1]}))
    res = at.attribute(pt, "position_based", weights=weights)
    assert res.touchpoints["credit"].to_list() == pytest.approx(expected)


def test_position_based_weights_near_the_float_limit_are_shares():
    """Weights are relative: (1e308,) * 3 is (1, 1, 1), though their sum overflows."""
    pt = at.read_paths(pl.DataFrame({"path": ["a > b > c", "a > b"], "total_conversions": [3, 2]}))
    huge = at.attribute(pt, "position_based", weights=(1e308, 1e308, 1e308)).touchpoints
    assert huge["credit"].to_list() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1 / 2, 1 / 2])
    tiny = at.attribute(pt, "position_based", weights=(5e-324, 0.0, 5e-324)).touchpoints
    assert tiny["credit"].to_list() == pytest.approx([1 / 2, 0.0, 1 / 2, 1 / 2, 1 / 2])


@pytest.mark.parametrize(
    "weights", [(float("inf"), 0.2, 0.4), (0.4, float("nan"), 0.4), (0, 0, 0), ("a", 1, 1), (1, 1)]
)
def test_position_based_refuses_weights_that_are_not_finite_shares(weights):
    pt = at.read_paths(pl.DataFrame({"path": ["a > b > c"], "total_conversions": [1]}))
    with pytest.raises(at.ModelError, match="three finite numbers ≥ 0"):
        at.attribute(pt, "position_based", weights=weights)


def test_last_non_direct_skips_direct_and_falls_back_when_all_direct():
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["seo > Direct > direct", "direct > Direct", "email > seo > direct"],
                "total_conversions": [1, 2, 4],
            }
        )
    )
    res = dict(at.attribute(pt, "last_non_direct").channels.select("channel", "conversions").rows())
    assert res == {"Direct": 2.0, "direct": 0.0, "email": 0.0, "seo": 5.0}
    custom = at.attribute(pt, "last_non_direct", direct_channels=["seo", "direct"]).channels
    assert dict(custom.select("channel", "conversions").rows())["email"] == 4.0


@pytest.mark.parametrize("direct", [None, ["Direct", None], [5]])
def test_last_non_direct_refuses_direct_channels_that_are_not_names(direct):
    """Were TypeError ('NoneType' object is not iterable) and AttributeError (no .lower)."""
    pt = at.read_paths(pl.DataFrame({"path": ["seo > Direct"], "total_conversions": [1]}))
    with pytest.raises(at.ModelError, match="direct_channels must be channel names"):
        at.attribute(pt, "last_non_direct", direct_channels=direct)
    none = at.attribute(pt, "last_non_direct", direct_channels=())
    assert none.channels.select("channel", "conversions").rows() == [("Direct", 1.0), ("seo", 0.0)]


def test_path_table_and_journeys_agree(rng):
    """Compressing journeys to a path table changes no position-only model's answer."""
    j = at.build_journeys(random_events(rng, 2000, n_users=200))
    pt = j.to_paths()
    for model in ["first_touch", "last_touch", "last_non_direct", "linear", "position_based"]:
        a = at.attribute(j, model).channels
        b = at.attribute(pt, model).channels
        np.testing.assert_allclose(a["conversions"], b["conversions"], atol=1e-9)
        np.testing.assert_allclose(a["revenue"], b["revenue"], atol=1e-9)


def test_time_decay_on_path_table_needs_steps():
    pt = at.read_paths(pl.DataFrame({"path": ["a > b > c"], "total_conversions": [7]}))
    with pytest.raises(at.ModelError, match="half_life_steps"):
        at.attribute(pt, "time_decay")
    res = at.attribute(pt, "time_decay", half_life_steps=1).channels
    assert res["conversions"].to_list() == pytest.approx([1.0, 2.0, 4.0])
    # by default: every model the input supports (data_driven needs times and nulls)
    assert set(at.attribute_all(pt)["model"]) == set(at.MODELS) - {"time_decay", "data_driven"}


def test_attribute_all_is_one_row_per_model_and_channel(rng):
    j = at.build_journeys(random_events(rng, 500, n_users=40))
    table = at.attribute_all(j)
    assert table.columns == ["model", "channel", "conversions", "revenue", "share"]
    assert table["model"].unique().sort().to_list() == sorted(at.MODELS)
    for _, part in table.group_by("model"):
        assert part["conversions"].sum() == pytest.approx(j.n_conversions)
        assert part["share"].sum() == pytest.approx(1.0)
    td = at.attribute_all(j, models=["time_decay"], half_life_days=1.0)
    assert td.drop("model").equals(at.attribute(j, "time_decay", half_life_days=1.0).channels)
    with pytest.raises(at.ModelError, match="half_lif_days"):
        at.attribute_all(j, half_lif_days=1.0)


def test_attribute_all_reads_one_model_name_and_refuses_none(rng):
    """'linear' was read as the models 'l', 'i', ...; ['linear', 'linear'] doubled every row
    (each model's rows summed to twice the conversions); [] was Polars' 'cannot concat'."""
    j = at.build_journeys(random_events(rng, 300, n_users=30))
    one = at.attribute(j, "linear").channels
    assert at.attribute_all(j, models="linear").drop("model").equals(one)
    twice = at.attribute_all(j, models=["linear", "last_touch", "linear"])
    assert twice["model"].unique(maintain_order=True).to_list() == ["linear", "last_touch"]
    for _, part in twice.group_by("model"):
        assert part["conversions"].sum() == pytest.approx(j.n_conversions)
    with pytest.raises(at.ModelError, match="models names no model"):
        at.attribute_all(j, models=[])


def test_unknown_model_and_parameter_are_named(rng):
    j = at.build_journeys(random_events(rng, 50))
    with pytest.raises(at.ModelError, match=r"Unknown model 'markof'.*linear"):
        at.attribute(j, "markof")
    with pytest.raises(at.ModelError, match="'linear' takes no parameter 'half_life_days'"):
        at.attribute(j, "linear", half_life_days=3)


def test_touchpoints_frame(rng):
    j = at.build_journeys(random_events(rng, 400, n_users=30))
    tp = at.attribute(j, "position_based").touchpoints
    assert tp.columns == ["journey_id", "position", "channel", "credit"]
    conv_ids = set(np.flatnonzero(j.converted & (np.diff(j.indptr) > 0)).tolist())
    assert set(tp["journey_id"].unique().to_list()) == conv_ids
    lengths = np.diff(j.indptr)
    last = tp.group_by("journey_id").agg(pl.col("position").max(), pl.len())
    assert last["position"].to_list() == [lengths[i] for i in last["journey_id"]]
    assert last["len"].to_list() == last["position"].to_list()


# ----------------------------------------------------------------------------------------------
# properties


events_strategy = st.builds(
    lambda seed, n, users: random_events(np.random.default_rng(seed), n, n_users=users),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 120),
    users=st.integers(1, 8),
)
tie_free_events = st.builds(
    lambda seed, n, users: random_events(np.random.default_rng(seed), n, n_users=users, ties=False),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 120),
    users=st.integers(1, 8),
)


def _has_conversion(ev: pl.DataFrame) -> bool:
    return (ev["event"] == "conversion").any()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=events_strategy, model=st.sampled_from(HEURISTICS))
def test_credits_are_non_negative_and_sum_to_one_per_journey(ev, model):
    if not _has_conversion(ev):
        return
    j = at.build_journeys(ev)
    res = at.attribute(j, model)
    tp = res.touchpoints
    assert (tp["credit"] >= 0).all()
    sums = tp.group_by("journey_id").agg(pl.col("credit").sum())["credit"]
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)
    assert res.channels["conversions"].sum() == pytest.approx(j.n_conversions)
    assert res.channels["revenue"].sum() == pytest.approx(j.revenue.sum())
    assert (res.channels["conversions"] >= 0).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=events_strategy, model=st.sampled_from(HEURISTICS), seed=st.integers(0, 1000))
def test_shuffling_rows_changes_no_result(ev, model, seed):
    if not _has_conversion(ev):
        return
    a = at.attribute(at.build_journeys(ev), model).channels
    b = at.attribute(at.build_journeys(ev.sample(fraction=1.0, shuffle=True, seed=seed)), model)
    assert a.equals(b.channels)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=tie_free_events, model=st.sampled_from(HEURISTICS))
def test_relabelling_channels_relabels_the_result(ev, model):
    """Holds whenever no user has two touches at the same instant (see the tie rule below)."""
    if not _has_conversion(ev):
        return
    rename = {"a": "zeta", "b": "Alpha", "c": "mid", "d": "b"}
    a = at.attribute(at.build_journeys(ev), model).channels
    b = at.attribute(
        at.build_journeys(ev.with_columns(pl.col("channel").replace(rename))), model
    ).channels
    a = a.with_columns(pl.col("channel").replace(rename)).sort("channel")
    assert a.equals(b.sort("channel"))


def test_touches_at_the_same_instant_are_ordered_by_channel_name():
    """The documented tie rule: input order never matters, so ties are ordered by content."""
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 1],
            "channel": ["zz", "aa", None],
            "event": ["touch", "touch", "conversion"],
            "revenue": [0.0, 0.0, 1.0],
        }
    ).with_columns(pl.lit(t).alias("timestamp"))
    for frame in (ev, ev.reverse()):
        assert at.build_journeys(frame).frame["path"].to_list() == [["aa", "zz"]]
