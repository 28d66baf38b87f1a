"""Markov chain attribution: published values, ChannelAttribution, brute-force dense solves."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp

import attribution as at
from attribution.models.markov import fit_chain, removal_effects
from tests.conftest import DATA, REFERENCE, random_events

CA = REFERENCE / "channelattribution"

# ../shared/data/README.md: exact first-order removal effects on ChannelAttribution's sample
PUBLISHED_RE = {
    "alpha": 0.5584,
    "iota": 0.4058,
    "eta": 0.3490,
    "beta": 0.2640,
    "theta": 0.2060,
    "lambda": 0.1340,
    "epsilon": 0.0626,
    "zeta": 0.0398,
    "kappa": 0.0287,
    "gamma": 0.0179,
    "delta": 0.00048,
    "mi": 0.00018,
}


@pytest.fixture(scope="module")
def ca_paths() -> at.PathTable:
    return at.read_paths(DATA / "channelattribution_paths" / "paths.csv")


def _as_published(ours: float, published: float) -> float:
    """Round ours to the decimals the published value is written with."""
    decimals = len(repr(published).split(".")[1])
    return round(ours, decimals)


@pytest.mark.parametrize("collapse", [False, True])
def test_removal_effects_match_published_exact_values(ca_paths, collapse):
    raw = pl.read_csv(DATA / "channelattribution_paths" / "paths.csv")
    if collapse:
        # repeated consecutive channels collapsed: the published values do not change
        raw = raw.with_columns(
            pl.col("path")
            .str.split(" > ")
            .list.eval(pl.element().filter(pl.element().ne_missing(pl.element().shift(1))))
            .list.join(" > ")
        )
    res = at.attribute(at.read_paths(raw), "markov")
    assert res.tables["chain"]["p_conversion"].item() == pytest.approx(0.22385, abs=5e-6)
    effects = dict(res.tables["removal_effects"].select("channel", "removal_effect").rows())
    assert {c: _as_published(v, PUBLISHED_RE[c]) for c, v in effects.items()} == PUBLISHED_RE


def test_p_conversion_is_the_empirical_rate_for_every_order(rng):
    """MLE chains conserve flow, so absorption from start equals conversions / journeys."""
    j = at.build_journeys(random_events(rng, 3000, n_users=400))
    seq = j.sequences()
    touched = seq.lengths > 0
    rate = seq.conversions[touched].sum() / (seq.conversions + seq.nulls)[touched].sum()
    for order in (1, 2, 3):
        res = at.attribute(j, "markov", order=order)
        assert res.tables["chain"]["p_conversion"].item() == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_transition_matrix_equals_channelattribution(ca_paths, order):
    """CA reports probabilities without self-loops (renormalised); its matrix is not simulated."""
    tm = at.attribute(ca_paths, "markov", order=order).tables["transition_matrix"]
    loops = tm.filter(pl.col("from_state") == pl.col("to_state")).select(
        "from_state", pl.col("probability").alias("p_self")
    )
    ours = (
        tm.filter(pl.col("from_state") != pl.col("to_state"))
        .join(loops, on="from_state", how="left")
        .with_columns((pl.col("probability") / (1 - pl.col("p_self").fill_null(0.0))).alias("p"))
    )
    ca = pl.read_csv(CA / f"markov_order{order}_transition_matrix.csv")
    both = ca.join(
        ours,
        left_on=["channel_from_name", "channel_to_name"],
        right_on=["from_state", "to_state"],
        how="full",
    )
    assert both.height == ca.height == ours.height
    np.testing.assert_allclose(both["p"], both["transition_probability"], rtol=0, atol=1e-12)


def test_exact_answer_lies_within_channelattribution_simulation_error(ca_paths):
    """20 seeded CA runs (default settings): ours is within 3 sd of CA's run-to-run spread."""
    ours = at.attribute(ca_paths, "markov").channels
    runs = pl.read_csv(CA / "markov_order1_runs.csv")
    spread = runs.group_by("channel_name").agg(
        pl.col("total_conversions").mean().alias("mean"),
        pl.col("total_conversions").std().alias("sd"),
    )
    m = spread.join(ours, left_on="channel_name", right_on="channel")
    assert m.height == 12
    z = ((m["conversions"] - m["mean"]) / m["sd"]).abs()
    assert (z < 3).all(), m.with_columns(z=z)
    # CA's single runs are 0.7-2.6 % of all conversions away from the exact answer
    err = (
        runs.join(ours, left_on="channel_name", right_on="channel")
        .with_columns((pl.col("total_conversions") - pl.col("conversions")).abs().alias("e"))
        .group_by("seed")
        .agg(pl.col("e").sum() / ca_paths.total_conversions)
    )
    assert 0.005 < err["e"].median() < 0.03


def test_repeated_runs_are_bit_identical(ca_paths):
    a = at.attribute(ca_paths, "markov", order=2).channels
    b = at.attribute(ca_paths, "markov", order=2).channels
    assert a["conversions"].to_numpy().tobytes() == b["conversions"].to_numpy().tobytes()


# ----------------------------------------------------------------------------------------------
# brute force


def brute_force_removal_effects(paths: list[tuple[tuple[str, ...], float, float]], order: int):
    """Dense solve with states built by dicts, straight from the definition."""
    counts: dict = defaultdict(lambda: defaultdict(float))
    for path, conv, null in paths:
        if not path:
            continue
        if len(path) < order:
            states = [path]
        else:
            states = [path[i : i + order] for i in range(len(path) - order + 1)]
        seq = ["start", *states]
        for a, b in itertools.pairwise(seq):
            counts[a][b] += conv + null
        counts[states[-1]]["conv"] += conv
        counts[states[-1]]["null"] += null
    transient = ["start", *sorted({s for s in counts if s != "start"})]
    index = {s: i for i, s in enumerate(transient)}

    def p_conv(removed: set[str]) -> float:
        n = len(transient)
        a = np.eye(n)
        b = np.zeros(n)
        for s, outs in counts.items():
            i = index[s]
            if s != "start" and removed & set(s):
                continue  # removed state: x = 0
            total = sum(outs.values())
            for t, c in outs.items():
                if t == "conv":
                    b[i] += c / total
                elif t != "null" and not (removed & set(t)):
                    a[i, index[t]] -= c / total
        return float(np.linalg.solve(a, b)[0])

    base = p_conv(set())
    channels = sorted({c for path, _, _ in paths for c in path})
    return base, {c: 1 - p_conv({c}) / base for c in channels}


@pytest.mark.parametrize("solver", ["dense", "sparse"])
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_removal_effects_match_brute_force_dense_solve(order, seed, solver):
    rng = np.random.default_rng(seed)
    channels = "abcde"
    paths = {}
    for _ in range(60):
        n = int(rng.integers(1, 7))
        path = tuple(channels[i] for i in rng.integers(0, len(channels), n))
        paths[path] = (float(rng.integers(0, 5)), float(rng.integers(0, 9)))
    rows = [(p, c, n) for p, (c, n) in paths.items() if c + n > 0]
    table = at.read_paths(
        pl.DataFrame(
            {
                "path": [" > ".join(p) for p, _, _ in rows],
                "total_conversions": [c for _, c, _ in rows],
                "total_null": [n for _, _, n in rows],
            }
        )
    )
    base, expected = brute_force_removal_effects(rows, order)
    res = at.attribute(table, "markov", order=order, solver=solver)
    assert res.tables["chain"]["p_conversion"].item() == pytest.approx(base, abs=1e-10)
    got = dict(res.tables["removal_effects"].select("channel", "removal_effect").rows())
    for c, re in expected.items():
        assert got[c] == pytest.approx(max(re, 0.0), abs=1e-10)
    # credit = total x RE / sum RE
    total = sum(c for _, c, _ in rows)
    shares = {c: max(v, 0.0) for c, v in expected.items()}
    for channel, conv in res.channels.select("channel", "conversions").rows():
        assert conv == pytest.approx(total * shares[channel] / sum(shares.values()), abs=1e-9)


def test_without_nulls_the_model_still_works(ca_paths):
    """As ChannelAttribution's: paths without nulls; P(conversion) = 1."""
    raw = pl.read_csv(DATA / "channelattribution_paths" / "paths.csv").filter(
        pl.col("total_conversions") > 0
    )
    res = at.attribute(at.read_paths(raw, null_col=None), "markov")
    assert res.tables["chain"]["p_conversion"].item() == pytest.approx(1.0)
    assert res.channels["conversions"].sum() == pytest.approx(raw["total_conversions"].sum())
    ca = pl.read_csv(CA / "markov_order1_nonull.csv")
    m = ca.join(res.channels, left_on="channel_name", right_on="channel")
    # one CA run: within 5 % of all conversions in total
    assert (m["total_conversions"] - m["conversions"]).abs().sum() < 0.05 * res.channels[
        "conversions"
    ].sum()


def test_value_removal_effects_equal_conversion_ones_when_values_are_constant(rng):
    ev = random_events(rng, 2000, n_users=200).with_columns(
        pl.when(pl.col("event") == "conversion").then(25.0).otherwise(0.0).alias("revenue")
    )
    res = at.attribute(at.build_journeys(ev), "markov", revenue="value")
    eff = res.tables["removal_effects"]
    np.testing.assert_allclose(eff["value_removal_effect"], eff["removal_effect"], atol=1e-12)
    np.testing.assert_allclose(res.channels["revenue"], 25.0 * res.channels["conversions"])


def test_value_option_moves_revenue_toward_high_value_paths():
    pt = at.read_paths(
        pl.DataFrame(
            {
                "path": ["a", "b"],
                "total_conversions": [1, 1],
                "total_conversion_value": [90.0, 10.0],
                "total_null": [1, 1],
            }
        )
    )
    by_conv = at.attribute(pt, "markov").channels
    by_value = at.attribute(pt, "markov", revenue="value").channels
    assert by_conv["revenue"].to_list() == pytest.approx([50.0, 50.0])
    assert by_value["revenue"].to_list() == pytest.approx([90.0, 10.0])
    assert by_value["conversions"].to_list() == pytest.approx([1.0, 1.0])


def test_markov_on_journeys_equals_markov_on_their_path_table(rng):
    j = at.build_journeys(random_events(rng, 2000, n_users=300))
    for order in (1, 2):
        a = at.attribute(j, "markov", order=order).channels
        b = at.attribute(j.to_paths(), "markov", order=order).channels
        np.testing.assert_allclose(a["conversions"], b["conversions"], atol=1e-9)


def test_conversions_without_touches_stay_out_of_the_chain():
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 2, 3, 3],
            "timestamp": pl.datetime_range(
                pl.datetime(2024, 1, 1), pl.datetime(2024, 1, 5), "1d", eager=True
            ).dt.replace_time_zone("UTC"),
            "channel": ["a", None, None, "b", None],
            "event": ["touch", "conversion", "conversion", "touch", "conversion"],
            "revenue": [0.0, 10.0, 20.0, 0.0, 30.0],
        }
    )
    res = at.attribute(ev, "markov").channels
    assert dict(res.select("channel", "conversions").rows()) == pytest.approx(
        {"a": 1.0, "b": 1.0, at.NO_TOUCH: 1.0}
    )


@pytest.mark.parametrize("order", [0, 21, 1e9, float("inf"), float("nan"), 1.5, True, "2", None])
def test_bad_order_is_refused_naming_the_range(ca_paths, order):
    with pytest.raises(at.ModelError, match=r"Markov order must be a whole number in 1\.\.20; got"):
        at.attribute(ca_paths, "markov", order=order)


def test_bad_options_are_refused(ca_paths):
    with pytest.raises(at.ModelError, match="revenue must be 'conversions' or 'value'"):
        at.attribute(ca_paths, "markov", revenue="euros")
    for bad in (0, True, 2.5, 10**9, float("inf")):
        with pytest.raises(
            at.ModelError, match=r"max_dense_states must be a whole number in 1\.\.100_000"
        ):
            at.attribute(ca_paths, "markov", max_dense_states=bad)
    with pytest.raises(at.ModelError, match=r"max_order must be a whole number in 1\.\.20"):
        at.choose_order(ca_paths, max_order=True)
    with pytest.raises(at.ModelError, match=r"folds must be a whole number in 2\.\.1_000"):
        at.choose_order(ca_paths, folds=1)
    with pytest.raises(at.ModelError, match=r"smoothing must be a finite number ≥ 0"):
        at.choose_order(ca_paths, smoothing=float("inf"))


def test_whole_float_order_is_the_integer_order(ca_paths):
    a = at.attribute(ca_paths, "markov", order=2.0).channels
    assert a.equals(at.attribute(ca_paths, "markov", order=2).channels)


def test_bootstrap_refuses_a_bool_order(ca_paths):
    with pytest.raises(at.ModelError, match=r"Markov order must be a whole number in 1\.\.20"):
        at.bootstrap(ca_paths, "markov", n_boot=2, order=True)


def test_fit_chain_counts_are_the_path_counts():
    pt = at.read_paths(
        pl.DataFrame({"path": ["a > b > a"], "total_conversions": [2], "total_null": [3]})
    )
    chain = fit_chain(pt.sequences(), order=1)
    tm = dict(
        ((f, t), c)
        for f, t, c in chain.transition_frame().select("from_state", "to_state", "count").rows()
    )
    assert tm == {
        ("(start)", "a"): 5.0,
        ("a", "b"): 5.0,
        ("b", "a"): 5.0,
        ("a", "(conversion)"): 2.0,
        ("a", "(null)"): 3.0,
    }


# ----------------------------------------------------------------------------------------------
# the removal solve: one inverse for every channel, against a fresh solve per channel


def fresh_solve_per_channel(chain, reward: np.ndarray) -> tuple[float, np.ndarray]:
    """P(conversion) from start, and with each channel's states dropped: one LU per system."""
    from scipy.sparse.linalg import splu

    n = chain.n_states + 1
    counts = chain.counts.tocsr()
    out = np.asarray(counts.sum(axis=1)).ravel()[:n]
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
    a = (sp.identity(n) - sp.diags(inv) @ counts[:n, :n]).tocsc()
    b = reward[:n] * inv

    def start_value(keep: np.ndarray) -> float:
        idx = np.flatnonzero(keep)
        return float(splu(a[idx][:, idx].tocsc()).solve(b[idx])[0])

    base = start_value(np.ones(n, dtype=bool))
    without = np.empty(len(chain.channels))
    for c in range(len(chain.channels)):
        keep = np.array([True] + [c not in s for s in chain.states])
        without[c] = start_value(keep)
    return base, without


def random_path_table(rng: np.random.Generator, n_channels: int, n_paths: int) -> at.PathTable:
    """Paths over channels of Zipf-like popularity (rare channels have few links)."""
    names = [f"c{i:02d}" for i in range(n_channels)]
    p = 1.0 / np.arange(1, n_channels + 1)
    p /= p.sum()
    lengths = rng.integers(1, 7, n_paths)
    paths = [" > ".join(rng.choice(names, size=int(k), p=p)) for k in lengths]
    conv = rng.integers(0, 3, n_paths)
    return at.read_paths(
        pl.DataFrame(
            {
                "path": paths,
                "total_conversions": conv,
                "total_conversion_value": conv * rng.gamma(2.0, 40.0, n_paths),
                "total_null": rng.integers(1, 6, n_paths),
            }
        )
    )


@pytest.mark.parametrize("solver", ["auto", "dense", "sparse"])
@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize(("seed", "n_channels"), [(0, 5), (1, 12), (2, 40)])
def test_removal_effects_equal_a_fresh_lu_per_channel(order, seed, n_channels, solver):
    rng = np.random.default_rng(seed)
    chain = fit_chain(random_path_table(rng, n_channels, 400).sequences(), order)
    for value in (False, True):
        reward = (
            chain.conv_value
            if value
            else np.asarray(chain.counts[:, chain.n_states + 1].todense()).ravel()
        )
        base, without = fresh_solve_per_channel(chain, reward)
        got_base, got_without, got_effects = removal_effects(chain, value=value, solver=solver)
        assert got_base == pytest.approx(base, rel=1e-12)
        np.testing.assert_allclose(got_without, without, rtol=0, atol=1e-10 * base)
        np.testing.assert_allclose(
            got_effects, np.clip(1 - without / base, 0, 1), rtol=0, atol=1e-10
        )


def test_a_dense_core_above_the_limit_is_refused_by_name(ca_paths):
    with pytest.raises(
        at.ModelError,
        match=r"dense core of the chain: \d+ of its 13 transient states remain after "
        r"eliminating the loosely linked ones, which needs .* GiB; the limit is "
        r"max_dense_states=3",
    ):
        at.attribute(ca_paths, "markov", max_dense_states=3, solver="dense")
    with pytest.raises(at.ModelError, match="solver must be 'auto', 'dense' or 'sparse'"):
        at.attribute(ca_paths, "markov", solver="qr")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_implicit_inverse_entries_equal_a_dense_inverse(seed):
    # the factored core with its loosely linked states eliminated: products, rows, blocks and
    # the diagonal against numpy's inverse of the whole I − Q
    from attribution.models.markov import _Green

    rng = np.random.default_rng(seed)
    n = 80
    hub = rng.random((n, n)) < np.where(np.arange(n) < 12, 0.6, 0.03)[None, :]
    q = np.where(hub, rng.random((n, n)), 0.0)
    q *= (0.9 * rng.random(n) / np.maximum(q.sum(axis=1), 1e-12))[:, None]  # absorbing rows
    a = sp.csr_matrix(np.eye(n) - q)
    green = _Green(a, 1_000)
    assert len(green.f) < n  # some states were eliminated
    ref = np.linalg.inv(a.toarray())
    states = rng.permutation(n)[:50]
    np.testing.assert_allclose(green.diagonal(states), np.diag(ref)[states], rtol=1e-12)
    np.testing.assert_allclose(green.row(3), ref[3], rtol=0, atol=1e-12)
    b = rng.random((n, 2))
    np.testing.assert_allclose(green.solve(b), ref @ b, rtol=1e-12)
    rows, cols = states[:7], states[7:12]
    np.testing.assert_allclose(green.block(rows, cols), ref[np.ix_(rows, cols)], atol=1e-12)


def test_channels_named_as_the_chain_states_keep_their_own_rows():
    """Channels '(start)' and '(null)' shared their names with the chain's states, so the
    transitions out of '(start)' summed to a probability of 2; the credit did not change."""
    frame = pl.DataFrame(
        {
            "path": ["(start) > a", "(null)", "a > (null) > (start)"],
            "total_conversions": [2, 1, 1],
            "total_null": [1, 3, 2],
        }
    )
    tm = at.attribute(at.read_paths(frame), "markov").tables["transition_matrix"]
    out = tm.group_by("from_state").agg(pl.col("probability").sum())
    assert dict(out.iter_rows()) == pytest.approx(
        dict.fromkeys(["((start))", "(start)", "a", "(null)"], 1.0)
    )
    assert set(tm["to_state"]) == {"(start)", "a", "(null)", "(conversion)", "((null))"}
    # renaming the channels renames the result
    plain = frame.with_columns(
        pl.col("path").str.replace_all(r"\(start\)", "s").str.replace_all(r"\(null\)", "n")
    )
    named = at.attribute(at.read_paths(frame), "markov").channels
    renamed = at.attribute(at.read_paths(plain), "markov").channels
    lookup = dict(renamed.select("channel", "conversions").iter_rows())
    assert dict(named.select("channel", "conversions").iter_rows()) == pytest.approx(
        {"(null)": lookup["n"], "(start)": lookup["s"], "a": lookup["a"]}
    )
