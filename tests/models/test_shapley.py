"""Shapley models: permutation brute force, fractribution's loop, golden outputs, properties."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
from attribution.models import shapley as shapley_module
from tests.conftest import DATA, random_events, snowplow_journeys

GAMES = ["conversion_rate", "simplified", "conversions"]
SNOW = DATA / "snowplow_fractribution"
GOOGLE = DATA / "google_fractribution"

Rows = list[tuple[tuple[str, ...], float, float, float]]  # path, conversions, nulls, value


def random_paths(
    rng: np.random.Generator,
    n: int,
    *,
    channels: str | list[str] = "abcdef",
    max_len: int = 5,
    p_conv: float = 0.5,
) -> pl.DataFrame:
    """A path table in the peers' format; paths repeat, some have no conversions."""
    names = list(channels)
    lengths = rng.integers(1, max_len + 1, n)
    paths = [" > ".join(rng.choice(names, size=int(k))) for k in lengths]
    conv = rng.integers(0, 4, n) * (rng.random(n) < p_conv)
    return pl.DataFrame(
        {
            "path": paths,
            "total_conversions": conv,
            "total_conversion_value": (conv * rng.integers(1, 50, n)).astype(float),
            "total_null": rng.integers(0, 6, n),
        }
    )


def table_rows(pt: at.PathTable) -> Rows:
    f = pt.to_frame()
    return [
        (tuple(p.split(" > ")), c, n, v)
        for p, c, n, v in zip(f["path"], f["conversions"], f["nulls"], f["value"], strict=True)
    ]


def journey_rows(j: at.Journeys) -> Rows:
    f = j.frame
    return [
        (tuple(p), float(c), 1.0 - float(c), float(r))
        for p, c, r in zip(f["path"], f["converted"], f["revenue"], strict=True)
    ]


def shapley_table(res: at.Attribution) -> dict[frozenset[str], dict[str, float]]:
    """The table of Shapley values of each converting channel set, as a dict."""
    out = {}
    for row in res.tables["shapley_values"].rows(named=True):
        values = {k: x for k, x in row["shapley_value"].items() if x is not None}
        assert row["coalition"] == " + ".join(sorted(values))
        assert row["n_channels"] == len(values)
        out[frozenset(values)] = values
    return out


def channel_dict(res: at.Attribution) -> dict[str, tuple[float, float]]:
    return {
        c: (x, r) for c, x, r in res.channels.select("channel", "conversions", "revenue").rows()
    }


def assert_channels_equal(
    got: dict[str, tuple[float, float]], ref: dict[str, tuple[float, float]], atol: float
) -> None:
    for channel in set(got) | set(ref):
        if channel == at.NO_TOUCH:
            continue
        g, r = got.get(channel, (0.0, 0.0)), ref.get(channel, (0.0, 0.0))
        assert g[0] == pytest.approx(r[0], abs=atol), channel
        assert g[1] == pytest.approx(r[1], abs=atol * 100), channel


# ----------------------------------------------------------------------------------------------
# independent references


def permutation_shapley(
    players: frozenset[str], v: Callable[[frozenset[str]], float]
) -> dict[str, float]:
    """Average marginal contribution over every order of the players (v(∅) = 0)."""
    total = dict.fromkeys(players, 0.0)
    orders = 0
    for order in itertools.permutations(sorted(players)):
        coalition: frozenset[str] = frozenset()
        before = 0.0
        for p in order:
            coalition = coalition | {p}
            after = v(coalition)
            total[p] += after - before
            before = after
        orders += 1
    return {p: x / orders for p, x in total.items()}


def exact_set_rates(rows: Rows) -> dict[frozenset[str], float]:
    """DP6's worth: conversion rate of the rows whose channel set is exactly T."""
    acc: dict[frozenset[str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for path, c, n, _ in rows:
        if path:
            acc[frozenset(path)][0] += c
            acc[frozenset(path)][1] += c + n
    return {s: (c / t if t > 0 else 0.0) for s, (c, t) in acc.items()}


def brute_conversion_rate(
    rows: Rows,
) -> tuple[dict[frozenset[str], dict[str, float]], dict[str, tuple[float, float]]]:
    """Per converting set its Shapley values; channel totals after flooring and normalising."""
    rates = exact_set_rates(rows)

    def v(t: frozenset[str]) -> float:
        return rates.get(t, 0.0)

    phis: dict[frozenset[str], dict[str, float]] = {}
    conv: dict[str, float] = defaultdict(float)
    rev: dict[str, float] = defaultdict(float)
    for path, c, _, value in rows:
        if c <= 0 or not path:
            continue
        s = frozenset(path)
        if s not in phis:
            phis[s] = permutation_shapley(s, v)
        pos = {k: max(x, 0.0) for k, x in phis[s].items()}
        tot = sum(pos.values())
        share = {k: (pos[k] / tot if tot > 0 else 1 / len(s)) for k in s}
        for k in path:
            credit = share[k] / path.count(k)
            conv[k] += c * credit
            rev[k] += value * credit
    return phis, {k: (conv[k], rev[k]) for k in conv}


def fractribution_reference(rows: Rows) -> tuple[dict[tuple[str, ...], list[float]], dict]:
    """google/fractribution's loop (fractribution.py), on a dict of path tuple -> summary."""
    summary: dict[tuple[str, ...], list[float]] = {}
    for path, c, n, _ in rows:
        s = summary.setdefault(path, [0.0, 0.0])
        s[0] += c
        s[1] += n

    def prob(path: tuple[str, ...]) -> float:
        c, n = summary[path]
        return c / (c + n) if c + n else 0.0

    shares: dict[tuple[str, ...], list[float]] = {}
    for path, (c, _) in summary.items():
        if not path or not c:
            continue
        if len(path) == 1:
            mc = [prob(path)]
        else:
            mc = []
            for i in range(len(path)):
                cf = path[:i] + path[i + 1 :]
                mc.append(max(0.0, prob(path) - (prob(cf) if cf in summary else 0.0)))
        total = sum(mc)
        if total:
            mc = [x / total for x in mc]
        else:
            mc[-1] = 1.0
        shares[path] = mc
    conv: dict[str, float] = defaultdict(float)
    rev: dict[str, float] = defaultdict(float)
    for path, c, _, value in rows:
        if c > 0 and path:
            for k, share in zip(path, shares[path], strict=True):
                conv[k] += c * share
                rev[k] += value * share
    return shares, {k: (conv[k], rev[k]) for k in conv}


# ----------------------------------------------------------------------------------------------
# "conversion_rate" (DP6) against the permutation brute force


@pytest.mark.parametrize("seed", range(6))
def test_conversion_rate_matches_permutation_brute_force(seed):
    rng = np.random.default_rng(seed)
    frame = random_paths(rng, 300, channels="abcdefgh", max_len=6)
    frame = pl.concat(
        [
            frame,
            pl.DataFrame(
                {
                    "path": ["a > b > c > d > e > f > g > h", "h > a > b > c > d > e > f"],
                    "total_conversions": [2, 1],
                    "total_conversion_value": [30.0, 7.0],
                    "total_null": [1, 3],
                }
            ),
        ],
        how="vertical_relaxed",
    )
    pt = at.read_paths(frame)
    res = at.attribute(pt, "shapley")
    rows = table_rows(pt)
    phis, ref = brute_conversion_rate(rows)

    ours = shapley_table(res)
    assert set(ours) == set(phis)
    assert max(len(s) for s in phis) == 8
    for s, phi in phis.items():
        assert ours[s].keys() == phi.keys()
        for k, x in phi.items():
            assert ours[s][k] == pytest.approx(x, abs=1e-10)
    # some sets have negative Shapley values: the flooring rule is exercised
    assert any(x < 0 for phi in ours.values() for x in phi.values())
    assert_channels_equal(channel_dict(res), ref, atol=1e-10)


def test_conversion_rate_two_channel_worked_example():
    """v(a) = 1/4, v(b) = 1/2, v(ab) = 1: φ_a = (1/4 + 1 - 1/2) / 2 = 3/8, φ_b = 5/8."""
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["a", "b", "a > b > a"],
                "total_conversions": [1, 1, 2],
                "total_null": [3, 1, 0],
            }
        )
    )
    res = at.attribute(pt, "shapley")
    assert dict(res.channels.select("channel", "conversions").rows()) == pytest.approx(
        {"a": 1 + 2 * 3 / 8, "b": 1 + 2 * 5 / 8}
    )
    tp = res.touchpoints.filter(pl.len().over("journey_id") == 3).sort("position")
    # a's 3/8 is split over its two touches
    assert tp["credit"].to_list() == pytest.approx([3 / 16, 5 / 8, 3 / 16])


def test_conversion_rate_floors_negative_values():
    # v(a) = 1, v(b) = 0, v(ab) = 0.1: φ_a = (1 + 0.1 - 0) / 2 = 0.55, φ_b = (0 + 0.1 - 1) / 2
    # = -0.45, floored to 0. With v(ab) = 0 (no conversion on "a > b") it is not converting.
    pt = at.read_paths(
        pl.DataFrame(
            {"path": ["a", "b", "a > b"], "total_conversions": [1, 0, 1], "total_null": [0, 5, 9]}
        )
    )
    res = at.attribute(pt, "shapley")
    assert dict(res.channels.select("channel", "conversions").rows()) == {"a": 2.0, "b": 0.0}
    values = shapley_table(res)[frozenset("ab")]
    assert values == pytest.approx({"a": 0.55, "b": -0.45})
    # the values of a set sum to its conversion rate (0.1), so one is always positive
    both = res.tables["shapley_values"].filter(pl.col("n_channels") == 2)
    assert both.select("coalition", "conversions", "conversion_rate").row(0) == ("a + b", 1.0, 0.1)


def test_channels_only_in_non_converting_rows_do_not_count_towards_max_channels():
    many = [f"z{i:02d}" for i in range(30)]
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["a > b", "c", "a", *[f"a > {z}" for z in many]],
                "total_conversions": [2, 1, 1, *([0] * 30)],
                "total_null": [1, 1, 3, *([1] * 30)],
            }
        )
    )
    res = at.attribute(pt, "shapley", max_channels=3)
    assert res.channels["conversions"].sum() == pytest.approx(4.0)


def test_conversion_rate_handles_22_channels_and_matches_the_direct_formula(rng):
    names = [f"ch{i:02d}" for i in range(22)]
    frame = random_paths(rng, 6000, channels=names, max_len=8)
    big = " > ".join(names[:16])
    frame = pl.concat(
        [
            frame,
            pl.DataFrame(
                {
                    "path": [big],
                    "total_conversions": [5],
                    "total_conversion_value": [50.0],
                    "total_null": [2],
                }
            ),
        ],
        how="vertical_relaxed",
    )
    pt = at.read_paths(frame)
    res = at.attribute(pt, "shapley")
    assert res.channels.height == 22
    assert res.channels["conversions"].sum() == pytest.approx(pt.total_conversions, rel=1e-12)
    assert res.channels["revenue"].sum() == pytest.approx(pt.value.sum(), rel=1e-12)
    assert (res.channels["conversions"] >= 0).all()
    sums = res.touchpoints.group_by("journey_id").agg(pl.col("credit").sum())["credit"]
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)

    # φ of the 16-channel set by the textbook formula over its 2**16 subsets
    rates = exact_set_rates(table_rows(pt))
    members = names[:16]
    s = len(members)
    v = np.array(
        [
            rates.get(frozenset(m for j, m in enumerate(members) if mask >> j & 1), 0.0)
            for mask in range(1 << s)
        ]
    )
    masks = np.arange(1 << s)
    size = np.array([bin(m).count("1") for m in masks])
    weight = np.array([math.factorial(k) * math.factorial(s - k - 1) for k in range(s)]) / (
        math.factorial(s)
    )
    got = shapley_table(res)[frozenset(members)]
    for j, m in enumerate(members):
        without = masks[(masks >> j & 1) == 0]
        phi = float(np.sum(weight[size[without]] * (v[without | (1 << j)] - v[without])))
        assert got[m] == pytest.approx(phi, abs=1e-10)

    with pytest.raises(
        at.ModelError,
        match=r"22 channels that occur in converting rows: 2\*\*22 coalitions, about 96 MiB "
        r"of memory; the limit is max_channels=21\. Group rare channels together",
    ):
        at.attribute(pt, "shapley", max_channels=21)


# ----------------------------------------------------------------------------------------------
# "conversions": closed form against the brute force of the subset-sum game


@pytest.mark.parametrize("seed", range(4))
def test_conversions_game_matches_brute_force_of_subset_sum_game(seed):
    rng = np.random.default_rng(100 + seed)
    pt = at.read_paths(random_paths(rng, 200, channels="abcdefgh", max_len=6))
    rows = table_rows(pt)
    players = frozenset(pt.channels)

    def game(column: int) -> Callable[[frozenset[str]], float]:
        cache: dict[frozenset[str], float] = {}

        def v(s: frozenset[str]) -> float:
            if s not in cache:
                cache[s] = sum(r[column] for r in rows if set(r[0]) <= s)
            return cache[s]

        return v

    conv = permutation_shapley(players, game(1))
    rev = permutation_shapley(players, game(3))
    got = channel_dict(at.attribute(pt, "shapley", game="conversions"))
    assert_channels_equal(got, {k: (conv[k], rev[k]) for k in players}, atol=1e-9)


def test_touch_counts_dense_and_sorted_ways_agree(rng):
    pt = at.read_paths(random_paths(rng, 500, channels="abcdef", max_len=8))
    seq = pt.sequences()
    dense = shapley_module._touch_counts(seq, seq.codes, 6)
    spread = shapley_module._touch_counts(seq, seq.codes * 997, 6 * 997)  # the sorting way
    for a, b in zip(dense, spread, strict=True):
        np.testing.assert_array_equal(a, b)
    row = seq.row_of_touch
    for t in range(0, len(seq.codes), 37):
        path = seq.codes[seq.indptr[row[t]] : seq.indptr[row[t] + 1]]
        assert dense[0][t] == np.sum(path == seq.codes[t])
        assert dense[1][row[t]] == len(set(path.tolist()))


def test_conversions_game_splits_equally_among_distinct_channels():
    pt = at.read_paths(pl.DataFrame({"path": ["a > b > a > c"], "total_conversions": [6]}))
    res = at.attribute(pt, "shapley", game="conversions")
    assert res.channels["conversions"].to_list() == pytest.approx([2.0, 2.0, 2.0])
    assert res.touchpoints["credit"].to_list() == pytest.approx([1 / 6, 1 / 3, 1 / 6, 1 / 3])


# ----------------------------------------------------------------------------------------------
# "simplified" (fractribution)


@pytest.mark.parametrize("seed", range(6))
def test_simplified_matches_fractribution_loop_on_path_tables(seed):
    rng = np.random.default_rng(200 + seed)
    pt = at.read_paths(random_paths(rng, 400, channels="abcd", max_len=4))
    shares, ref = fractribution_reference(table_rows(pt))
    res = at.attribute(pt, "shapley", game="simplified")
    assert_channels_equal(channel_dict(res), ref, atol=1e-12)
    # per touch, too
    paths = pt.to_frame()["path"].to_list()
    for jid, credit in res.touchpoints.group_by("journey_id").agg("credit").rows():
        expected = shares[tuple(paths[jid].split(" > "))]
        assert credit == pytest.approx(expected, abs=1e-12)
    # and the rule "all marginal contributions are 0: last touch" occurs
    assert any(s[-1] == 1.0 and len(s) > 1 for s in shares.values())


@pytest.mark.parametrize("collapse", [False, True])
def test_simplified_pools_equal_journeys_like_fractribution(rng, collapse):
    ev = random_events(rng, 4000, n_users=400, channels="abc")
    j = at.build_journeys(ev, collapse_repeats=collapse)
    _, ref = fractribution_reference(journey_rows(j))
    got = at.attribute(j, "shapley", game="simplified")
    assert_channels_equal(channel_dict(got), ref, atol=1e-9)
    via_paths = at.attribute(j.to_paths(), "shapley", game="simplified")
    assert_channels_equal(channel_dict(via_paths), ref, atol=1e-9)


def test_simplified_hash_collisions_fall_back_to_exact_matching(rng, monkeypatch):
    """With base 1 the hash is the sum of codes: 'a > b' and 'b > a' collide, and more."""
    pt = at.read_paths(random_paths(rng, 300, channels="abcd", max_len=4))
    _, ref = fractribution_reference(table_rows(pt))
    calls = []
    exact = shapley_module._exact_path_ids

    def spy(*args, **kwargs):
        calls.append(1)
        return exact(*args, **kwargs)

    monkeypatch.setattr(shapley_module, "_BASE", 1)
    monkeypatch.setattr(shapley_module, "_exact_path_ids", spy)
    res = at.attribute(pt, "shapley", game="simplified")
    assert calls
    assert_channels_equal(channel_dict(res), ref, atol=1e-12)


def test_simplified_reproduces_snowplow_fractribution_report():
    """Snowplow dbt-fractribution's integration test: the `shapley` rows of its report."""
    j = snowplow_journeys(collapse_repeats=True)
    report = pl.read_csv(SNOW / "report_table_expected.csv")
    expected = report.filter(pl.col("ATTRIBUTION_TYPE") == "shapley").sort("CHANNEL")
    got = at.attribute(j, "shapley", game="simplified").channels
    got = (
        expected.select(pl.col("CHANNEL").alias("channel"))
        .join(got, on="channel", how="left")
        .fill_null(0.0)
    )
    np.testing.assert_allclose(got["conversions"], expected["CONVERSIONS"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got["revenue"], expected["REVENUE"], rtol=0, atol=1e-9)
    assert expected.filter(pl.col("CHANNEL") == "Direct")["CONVERSIONS"].item() == pytest.approx(
        3.5409582690664606, abs=1e-15
    )


def _google_transform(path: str, name: str) -> str:
    t = path.split(" > ")
    if name == "exposure":
        t = [c for i, c in enumerate(t) if i == 0 or c != t[i - 1]]
    elif name == "first":
        t = list(dict.fromkeys(t))
    return " > ".join(t)


@pytest.mark.parametrize("transform", ["unique", "exposure", "first"])
def test_simplified_matches_google_fractribution_expected_fits(transform):
    """fractribution_test.py: per-customer fractions for its path transforms (1,983 customers)."""
    summary = pl.read_csv(GOOGLE / "example_path_summary.csv")
    summary = summary.with_columns(
        pl.col("path").map_elements(lambda p: _google_transform(p, transform), pl.String)
    )
    pt = at.read_paths(summary.rename({"total_non_conversions": "total_null"}))
    res = at.attribute(pt, "shapley", game="simplified")
    paths = pt.to_frame().select(pl.int_range(pl.len(), dtype=pl.Int64).alias("journey_id"), "path")
    per_path = (
        res.touchpoints.join(paths, on="journey_id")
        .group_by("path", "channel")
        .agg(pl.col("credit").sum())
    )
    expected = pl.read_csv(GOOGLE / f"expected_{transform}_fit.csv", infer_schema_length=None)
    customers = pl.read_csv(GOOGLE / "customers.csv").select(
        "customer_id",
        pl.col("path").map_elements(lambda p: _google_transform(p, transform), pl.String),
    )
    letters = [c for c in expected.columns if len(c) == 1]
    long = (
        expected.select("customer_id", *letters)
        .unpivot(index="customer_id", variable_name="channel", value_name="expected")
        .with_columns(pl.col("channel").str.to_uppercase())
        .join(customers, on="customer_id")
        .join(per_path, on=["path", "channel"], how="left")
        .with_columns(pl.col("credit").fill_null(0.0))
    )
    assert long["customer_id"].n_unique() == expected.height == 1983
    np.testing.assert_allclose(long["credit"], long["expected"], rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# properties


path_tables = st.builds(
    lambda seed, n, k: at.read_paths(
        random_paths(np.random.default_rng(seed), n, channels="abcdefg"[:k])
    ),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    k=st.integers(1, 7),
)
events_strategy = st.builds(
    lambda seed, n, users: random_events(np.random.default_rng(seed), n, n_users=users),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 150),
    users=st.integers(1, 10),
)


def _check_efficiency(res: at.Attribution, conversions: float, value: float) -> None:
    ch = res.channels
    assert (ch["conversions"] >= 0).all()
    assert (ch["revenue"] >= 0).all()
    assert ch["conversions"].sum() == pytest.approx(conversions, rel=1e-12, abs=1e-12)
    assert ch["revenue"].sum() == pytest.approx(value, rel=1e-12, abs=1e-9)
    tp = res.touchpoints
    assert (tp["credit"] >= 0).all()
    sums = tp.group_by("journey_id").agg(pl.col("credit").sum())["credit"]
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-12)


@settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(pt=path_tables, game=st.sampled_from(GAMES))
def test_efficiency_on_path_tables(pt, game):
    res = at.attribute(pt, "shapley", game=game)
    _check_efficiency(res, pt.total_conversions, float(pt.value.sum()))
    converting = set(np.flatnonzero(pt.conversions > 0).tolist())
    assert set(res.touchpoints["journey_id"].to_list()) == converting


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(ev=events_strategy, game=st.sampled_from(GAMES), lookback=st.sampled_from([None, 3.0]))
def test_efficiency_on_journeys(ev, game, lookback):
    if not (ev["event"] == "conversion").any():
        return
    j = at.build_journeys(ev, lookback_days=lookback)
    res = at.attribute(j, "shapley", game=game)
    _check_efficiency(res, j.n_conversions, float(j.revenue.sum()))


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 60),
    game=st.sampled_from(["conversion_rate", "conversions"]),
)
def test_channels_that_always_appear_together_get_equal_credit(seed, n, game):
    frame = random_paths(np.random.default_rng(seed), n, channels="abcx", max_len=4)
    frame = frame.with_columns(pl.col("path").str.replace_all("x", "x > y"))
    res = channel_dict(at.attribute(at.read_paths(frame), "shapley", game=game))
    if "x" in res:
        assert res["x"][0] == pytest.approx(res["y"][0], abs=1e-12)
        assert res["x"][1] == pytest.approx(res["y"][1], abs=1e-10)


def _permute_rows(pt: at.PathTable, order: np.ndarray) -> at.PathTable:
    pieces = [pt.codes[pt.indptr[i] : pt.indptr[i + 1]] for i in order]
    indptr = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
    return at.PathTable(
        pt.channels,
        indptr,
        np.concatenate(pieces).astype(np.int32),
        pt.conversions[order],
        pt.value[order],
        pt.nulls[order],
    )


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(pt=path_tables, game=st.sampled_from(GAMES), seed=st.integers(0, 1000))
def test_shuffling_rows_permutes_the_result(pt, game, seed):
    order = np.random.default_rng(seed).permutation(pt.n_paths)
    a = at.attribute(pt, "shapley", game=game)
    b = at.attribute(_permute_rows(pt, order), "shapley", game=game)
    np.testing.assert_allclose(b.channels["conversions"], a.channels["conversions"], atol=1e-12)
    np.testing.assert_allclose(b.channels["revenue"], a.channels["revenue"], atol=1e-9)
    ta = a.touchpoints.sort("journey_id", "position")
    tb = b.touchpoints.with_columns(
        pl.col("journey_id").map_elements(lambda i: int(order[i]), pl.Int64)
    ).sort("journey_id", "position")
    assert ta["journey_id"].to_list() == tb["journey_id"].to_list()
    np.testing.assert_allclose(tb["credit"], ta["credit"], atol=1e-12)


@settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60), game=st.sampled_from(GAMES))
def test_relabelling_channels_relabels_the_result(seed, n, game):
    frame = random_paths(np.random.default_rng(seed), n, channels="abcd")
    rename = {"a": "zeta", "b": "Alpha", "c": "mid", "d": "b"}
    renamed = frame.with_columns(
        pl.col("path").str.split(" > ").list.eval(pl.element().replace(rename)).list.join(" > ")
    )
    a = at.attribute(at.read_paths(frame), "shapley", game=game).channels
    b = at.attribute(at.read_paths(renamed), "shapley", game=game).channels.sort("channel")
    a = a.with_columns(pl.col("channel").replace(rename)).sort("channel")
    assert a["channel"].to_list() == b["channel"].to_list()
    np.testing.assert_allclose(a["conversions"], b["conversions"], atol=1e-12)
    np.testing.assert_allclose(a["revenue"], b["revenue"], atol=1e-9)


@pytest.mark.parametrize("game", ["conversion_rate", "simplified", "conversions"])
def test_journeys_and_their_path_table_agree(rng, game):
    j = at.build_journeys(random_events(rng, 3000, n_users=300), lookback_days=10)
    a = at.attribute(j, "shapley", game=game).channels
    b = at.attribute(j.to_paths(), "shapley", game=game).channels
    assert a["channel"].to_list() == b["channel"].to_list()
    np.testing.assert_allclose(a["conversions"], b["conversions"], atol=1e-9)
    np.testing.assert_allclose(a["revenue"], b["revenue"], atol=1e-7)


# ----------------------------------------------------------------------------------------------
# API


def test_attribute_all_includes_shapley(rng):
    j = at.build_journeys(random_events(rng, 800, n_users=60))
    for data in (j, j.to_paths()):
        table = at.attribute_all(data)
        assert "shapley" in table["model"].to_list()
        part = table.filter(pl.col("model") == "shapley").drop("model")
        assert part.equals(at.attribute(data, "shapley").channels)
        assert part["conversions"].sum() == pytest.approx(j.n_conversions)
    simplified = at.attribute_all(j, models=["shapley", "linear"], game="simplified")
    part = simplified.filter(pl.col("model") == "shapley").drop("model")
    assert part.equals(at.attribute(j, "shapley", game="simplified").channels)


def test_unknown_game_and_bad_max_channels_are_named():
    pt = at.read_paths(pl.DataFrame({"path": ["a > b"], "total_conversions": [1]}))
    with pytest.raises(
        at.ModelError,
        match=r"Unknown Shapley game 'ordered'; expected one of: conversion_rate, simplified, "
        r"conversions\.",
    ):
        at.attribute(pt, "shapley", game="ordered")
    for bad in (0, 63, True, 2.5, float("inf"), "24"):
        with pytest.raises(
            at.ModelError, match=r"max_channels must be a whole number in 1\.\.62; got"
        ):
            at.attribute(pt, "shapley", max_channels=bad)


def many_channel_paths(n_channels: int) -> at.PathTable:
    """One converting path per channel, plus one path through all of them."""
    names = [f"ch{i:04d}" for i in range(n_channels)]
    return at.read_paths(
        pl.DataFrame(
            {
                "path": [*names, " > ".join(names)],
                "total_conversions": [1] * (n_channels + 1),
                "total_null": [1] * (n_channels + 1),
            }
        )
    )


def test_a_thousand_channels_are_refused_with_the_size_in_words():
    """2**1040 coalitions: the message is written without any float overflowing."""
    with pytest.raises(
        at.ModelError,
        match=r"1040 channels that occur in converting rows: 2\*\*1040 coalitions, about "
        r"2\*\*1045 bytes of memory; the limit is max_channels=24\.",
    ):
        at.attribute(many_channel_paths(1040), "shapley")


def test_a_limit_beyond_the_machine_is_refused_before_allocating():
    """max_channels=40 over 40 channels: 2**40 coalitions (24 TiB) do not fit."""
    with pytest.raises(
        at.ModelError,
        match=r"needs 2\*\*40 coalitions, about 24 TiB of memory, more than 80 % of this "
        r"machine's .*: at most \d+ channels fit \(max_channels=40\)",
    ):
        at.attribute(many_channel_paths(40), "shapley", max_channels=40)
    # the other games have no such limit
    res = at.attribute(many_channel_paths(40), "shapley", game="conversions", max_channels=40)
    assert res.channels["conversions"].sum() == pytest.approx(41.0)


def test_no_conversions_gives_zero_credit():
    pt = at.read_paths(
        pl.DataFrame({"path": ["a > b", "b"], "total_conversions": [0, 0], "total_null": [3, 1]})
    )
    for game in GAMES:
        res = at.attribute(pt, "shapley", game=game)
        assert res.channels["conversions"].to_list() == [0.0, 0.0]
        assert res.touchpoints.height == 0


def test_shapley_potential_of_a_three_player_game():
    """Glove game: player 0 has a left glove, 1 and 2 right ones; a pair is worth 1."""
    v = np.zeros(8)
    for mask in range(8):
        v[mask] = float(bool(mask & 1) and bool(mask & 6))
    p = shapley_module.shapley_potential(v)
    phi = [p[7] - p[7 ^ (1 << i)] for i in range(3)]
    assert phi == pytest.approx([2 / 3, 1 / 6, 1 / 6])
    with pytest.raises(at.ModelError, match="2\\*\\*n values; got 6"):
        shapley_module.shapley_potential(np.zeros(6))


def _players(mask: int, m: int) -> frozenset[str]:
    return frozenset(str(j) for j in range(m) if mask >> j & 1)


def test_shapley_weights_match_permutation_average(rng) -> None:
    m = 4
    values = rng.random(1 << m)
    values[0] = 0.3
    worth = {_players(s, m): float(values[s]) for s in range(1 << m)}
    # marginal contributions v(S ∪ p) - v(S) are the same for v - v(∅), which has v(∅) = 0
    expected = permutation_shapley(_players((1 << m) - 1, m), lambda c: worth[c] - values[0])
    got = values @ shapley_module.shapley_weights(m)
    np.testing.assert_allclose(got, [expected[str(j)] for j in range(m)], rtol=0, atol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3, 5, 7])
def test_shapley_weights_equal_the_permutation_definition(m: int) -> None:
    rng = np.random.default_rng(m)
    values = rng.normal(size=(3, 1 << m))  # three games at once, v(∅) != 0 included
    got = values @ shapley_module.shapley_weights(m)
    for g, v in enumerate(values):
        worth = {_players(s, m): float(v[s]) for s in range(1 << m)}
        expected = permutation_shapley(
            _players((1 << m) - 1, m), lambda c, worth=worth, v=v: worth[c] - v[0]
        )
        np.testing.assert_allclose(
            got[g], [expected[str(j)] for j in range(m)], rtol=1e-12, atol=1e-12
        )
    # efficiency: the values share v(N) - v(∅)
    np.testing.assert_allclose(got.sum(axis=1), values[:, -1] - values[:, 0], atol=1e-12)


@pytest.mark.parametrize("m", [1, 4, 9])
def test_shapley_weights_give_the_potential_differences(m: int) -> None:
    # one Shapley weighting: for v(∅) = 0 the weights are P[N] - P[N - {j}] of the potential
    rng = np.random.default_rng(100 + m)
    v = rng.random(1 << m)
    v[0] = 0.0
    p = shapley_module.shapley_potential(v)
    full = (1 << m) - 1
    from_potential = [p[full] - p[full ^ (1 << j)] for j in range(m)]
    np.testing.assert_allclose(
        v @ shapley_module.shapley_weights(m), from_potential, rtol=1e-12, atol=1e-12
    )


def test_data_driven_uses_the_shapley_weights_of_this_module() -> None:
    from attribution.models import data_driven

    assert data_driven.shapley_weights is shapley_module.shapley_weights


def test_coalitions_are_listed_unambiguously_when_a_channel_name_holds_the_separator():
    # "a + b" alone and {a, b} both read "a + b" in the coalition text; the channels list
    # tells them apart, and matches the channels that have a value in shapley_value
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["a + b > c", "a > b > c", "a + b", "a > b", "c"],
                "total_conversions": [3, 2, 1, 1, 1],
                "total_null": [5, 5, 5, 5, 5],
            }
        )
    )
    table = at.attribute(pt, "shapley").tables["shapley_values"]
    assert table.schema["channels"] == pl.List(pl.String)
    assert table["coalition"].is_duplicated().any()  # the text alone is ambiguous here
    members = [tuple(m) for m in table["channels"].to_list()]
    assert len(set(members)) == table.height
    assert {frozenset(m) for m in members} == {
        frozenset(p.split(" > ")) for p in pt.to_frame()["path"].to_list()
    }
    for row in table.rows(named=True):
        valued = [k for k, x in row["shapley_value"].items() if x is not None]
        assert sorted(row["channels"]) == sorted(valued)
        assert row["n_channels"] == len(row["channels"])
        assert row["coalition"] == " + ".join(row["channels"])
