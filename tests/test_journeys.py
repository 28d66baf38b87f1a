"""Journeys and path tables, against a brute-force builder written here in plain Python."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
from tests.conftest import DATA, random_events

US_PER_DAY = 86_400_000_000


def brute_force_journeys(
    events: pl.DataFrame,
    *,
    lookback_days: float | None = None,
    max_touches: int | None = None,
    collapse_repeats: bool = False,
    non_converting: str = "after_last",
) -> list[tuple]:
    """The journey rules of ARCHITECTURE.md, one user and one event at a time.

    Ties in time: touches before conversions, then touches by channel name, conversions by
    revenue (the documented deterministic order).
    """
    by_user: dict = defaultdict(list)
    for row in events.iter_rows(named=True):
        if row["event"] not in ("touch", "conversion"):
            continue
        by_user[row["user_id"]].append(row)
    out = []
    for user in sorted(by_user):
        rows = sorted(
            by_user[user],
            key=lambda r: (
                r["timestamp"],
                r["event"] == "conversion",
                r["channel"] or "",
                r["revenue"],
            ),
        )
        pending: list[tuple] = []
        converted_any = False

        def finish(touches, ref, converted, revenue, user=user):
            if lookback_days is not None:
                window = timedelta(days=lookback_days)
                touches = [t for t in touches if ref - t[0] <= window]
            path = [c for _, c in touches]
            if collapse_repeats:
                path = [c for i, c in enumerate(path) if i == 0 or path[i - 1] != c]
            if max_touches is not None:
                path = path[-max_touches:]
            return (user, tuple(path), converted, revenue, ref if converted else None)

        for r in rows:
            if r["event"] == "touch":
                pending.append((r["timestamp"], r["channel"]))
            else:
                out.append(finish(pending, r["timestamp"], True, r["revenue"]))
                pending = []
                converted_any = True
        if pending:
            keep = non_converting == "after_last" or (
                non_converting == "never_converted" and not converted_any
            )
            if keep:
                out.append(finish(pending, pending[-1][0], False, 0.0))
    return out


def as_tuples(j: at.Journeys) -> list[tuple]:
    f = j.frame
    return [
        (u, tuple(p), c, r, t)
        for u, p, c, r, t in zip(
            f["user_id"], f["path"], f["converted"], f["revenue"], f["conversion_time"], strict=True
        )
    ]


OPTIONS = [
    {},
    {"lookback_days": 3},
    {"lookback_days": 0.5, "collapse_repeats": True},
    {"max_touches": 2},
    {"collapse_repeats": True, "max_touches": 3, "lookback_days": 10},
    {"non_converting": "never_converted"},
    {"non_converting": "drop", "lookback_days": 7},
]


@pytest.mark.parametrize("options", OPTIONS)
def test_journeys_match_brute_force(rng, options):
    events = random_events(rng, 400, n_users=12)
    got = as_tuples(at.build_journeys(events, **options))
    assert got == brute_force_journeys(events, **options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    lookback=st.sampled_from([None, 0.2, 2.0]),
    collapse=st.booleans(),
    cap=st.sampled_from([None, 1, 2]),
    nonconv=st.sampled_from(["after_last", "never_converted", "drop"]),
)
def test_journeys_property_brute_force(seed, n, lookback, collapse, cap, nonconv):
    events = random_events(np.random.default_rng(seed), n, n_users=3, channels="ab")
    opts = dict(
        lookback_days=lookback, collapse_repeats=collapse, max_touches=cap, non_converting=nonconv
    )
    expected = brute_force_journeys(events, **opts)
    if not expected:
        with pytest.raises(at.EmptyInputError):
            at.build_journeys(events, **opts)
        return
    journeys = at.build_journeys(events, **opts)
    assert as_tuples(journeys) == expected
    # returning: the user converted in an earlier journey (brute force over the tuples)
    converted_before: dict = {}
    returning = []
    for user, _, converted, _, _ in expected:
        returning.append(converted_before.get(user, 0) > 0)
        converted_before[user] = converted_before.get(user, 0) + int(converted)
    assert journeys.returning.tolist() == returning
    assert journeys.sequences().returning.tolist() == returning


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=timezone.utc)


def test_same_timestamp_touch_belongs_to_the_conversion():
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 1],
            "timestamp": [
                _ts("2024-01-01 10:00"),
                _ts("2024-01-02 10:00"),
                _ts("2024-01-02 10:00"),
            ],
            "channel": ["a", None, "b"],
            "event": ["touch", "conversion", "touch"],
            "revenue": [0.0, 5.0, 0.0],
        }
    )
    j = at.build_journeys(ev)
    assert j.frame["path"].to_list() == [["a", "b"]]
    assert j.n_conversions == 1


def test_three_conversions_give_three_journeys_and_a_tail():
    ev = pl.DataFrame(
        {
            "user_id": ["u"] * 7,
            "timestamp": [_ts(f"2024-01-0{d} 00:00") for d in range(1, 8)],
            "channel": ["a", None, None, "b", None, "c", "d"],
            "event": ["touch", "conversion", "conversion", "touch", "conversion", "touch", "touch"],
            "revenue": [0.0, 1.0, 2.0, 0.0, 3.0, 0.0, 0.0],
        }
    )
    f = at.build_journeys(ev).frame
    assert f["path"].to_list() == [["a"], [], ["b"], ["c", "d"]]
    assert f["converted"].to_list() == [True, True, True, False]
    assert f["revenue"].to_list() == [1.0, 2.0, 3.0, 0.0]
    # a conversion with no touch is reported under "(no touch)" by every model
    res = at.attribute(at.build_journeys(ev), "linear").channels
    assert res.filter(pl.col("channel") == at.NO_TOUCH)["conversions"].item() == 1.0
    assert res["conversions"].sum() == 3.0


def test_lookback_drops_old_touches_rather_than_moving_them():
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 1],
            "timestamp": [
                _ts("2023-12-31 23:59"),  # 30 days and 1 minute before the conversion
                _ts("2024-01-01 00:00"),  # exactly 30 days before: inside the window
                _ts("2024-01-20 00:00"),
                _ts("2024-01-31 00:00"),
            ],
            "channel": ["old", "edge", "new", None],
            "event": ["touch", "touch", "touch", "conversion"],
            "revenue": [0.0, 0.0, 0.0, 9.0],
        }
    )
    j = at.build_journeys(ev, lookback_days=30)
    assert j.frame["path"].to_list() == [["edge", "new"]]
    assert j.n_journeys == 1  # "old" is dropped, not moved to a journey of its own
    assert at.build_journeys(ev, lookback_days=31).frame["path"].to_list() == [
        ["old", "edge", "new"]
    ]
    assert at.build_journeys(ev, lookback_days=29).frame["path"].to_list() == [["new"]]


@pytest.mark.parametrize("days", [1e17, 1e300, 1.7e308])
def test_a_lookback_longer_than_any_span_keeps_every_touch(days):
    """A lookback beyond 2**63 microseconds raised OverflowError; it is as if there were none."""
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 1],
            "timestamp": [_ts("0001-01-01"), _ts("2024-01-20"), _ts("9999-12-31")],
            "channel": ["first", "mid", None],
            "event": ["touch", "touch", "conversion"],
            "revenue": [0.0, 0.0, 9.0],
        }
    )
    paths = at.build_journeys(ev, lookback_days=days).frame["path"].to_list()
    assert paths == at.build_journeys(ev).frame["path"].to_list() == [["first", "mid"]]


def test_dp6_multi_conversion_users_split_one_journey_per_conversion():
    raw = pl.read_csv(DATA / "dp6_sessions" / "test_dataset_multiple_conversions.csv")
    j = at.build_journeys(
        raw,
        user_col="user_pseudo_id",
        time_col="event_time",
        channel_col="source_medium",
        conversion_flag_col="is_conversion_purchase",
        revenue_col=None,
    )
    f = j.frame.with_columns(pl.col("path").list.join(" > "))
    conv_rows = raw.filter(pl.col("is_conversion_purchase") == 1)
    assert j.n_conversions == conv_rows.height == 5
    per_user = f.filter("converted").group_by("user_id").len().sort("user_id")
    expected = conv_rows.group_by("user_pseudo_id").len().sort("user_pseudo_id")
    assert per_user["len"].to_list() == expected["len"].to_list()
    d = f.filter(pl.col("user_id") == "D")
    # D converts at sessions 12 and 16: the converting session is the last touch of each
    assert d["path"].to_list() == ["seo > direct > direct", "direct > direct > seo > direct"]
    # B never converts: one non-converting journey
    assert f.filter(pl.col("user_id") == "B")["converted"].to_list() == [False]


def test_string_and_integer_user_ids_give_the_same_journeys(rng):
    ev = random_events(rng, 300, n_users=9)
    a = at.build_journeys(ev)
    b = at.build_journeys(ev.with_columns(pl.format("user-{}", "user_id").alias("user_id")))
    assert a.frame["path"].to_list() == b.frame["path"].to_list()
    assert b.frame["user_id"].to_list() == [f"user-{u}" for u in a.frame["user_id"]]


def test_microsecond_timestamps_and_huge_user_ids_take_the_fallback_paths(rng):
    ev = random_events(rng, 300, n_users=7)
    ev = ev.with_columns(
        (pl.col("timestamp") + pl.duration(microseconds=pl.int_range(pl.len()) % 997)),
        (pl.col("user_id") * 10**15),
    )
    assert as_tuples(at.build_journeys(ev, lookback_days=2)) == brute_force_journeys(
        ev, lookback_days=2
    )


def test_shuffling_rows_changes_nothing(rng):
    ev = random_events(rng, 500, n_users=20)
    a = at.build_journeys(ev, lookback_days=5)
    b = at.build_journeys(ev.sample(fraction=1.0, shuffle=True, seed=1), lookback_days=5)
    assert as_tuples(a) == as_tuples(b)


def test_path_table_matches_group_by_on_path_lists(rng):
    ev = random_events(rng, 2000, n_users=300, channels="abc")
    j = at.build_journeys(ev)
    pt = j.to_paths()
    ref = (
        j.frame.group_by(pl.col("path").list.join(" > "))
        .agg(
            pl.col("converted").cast(pl.Float64).sum().alias("conversions"),
            pl.col("revenue").sum().alias("value"),
            (~pl.col("converted")).cast(pl.Float64).sum().alias("nulls"),
        )
        .sort("path")
    )
    got = pt.to_frame().sort("path")
    assert got["path"].to_list() == ref["path"].to_list()
    np.testing.assert_allclose(got["conversions"], ref["conversions"])
    np.testing.assert_allclose(got["value"], ref["value"])
    np.testing.assert_allclose(got["nulls"], ref["nulls"])
    # sorted by conversions, then nulls, descending
    conv = pt.conversions
    assert np.all(np.diff(conv) <= 0)


def test_read_paths_merges_duplicates_and_round_trips():
    raw = pl.read_csv(DATA / "channelattribution_paths" / "paths.csv")
    pt = at.read_paths(raw)
    assert pt.n_paths == raw["path"].n_unique()
    assert pt.total_conversions == pytest.approx(raw["total_conversions"].sum())
    assert pt.nulls.sum() == pytest.approx(raw["total_null"].sum())
    assert pt.value.sum() == pytest.approx(raw["total_conversion_value"].sum())
    again = at.read_paths(pt.to_frame(peer_names=True))
    assert again.to_frame().equals(pt.to_frame())


def test_journeys_frame_columns_and_types(rng):
    f = at.build_journeys(random_events(rng, 100)).frame
    assert f.columns == [
        "journey_id",
        "user_id",
        "path",
        "touch_times",
        "n_touches",
        "converted",
        "conversion_time",
        "revenue",
    ]
    assert f.schema["touch_times"] == pl.List(pl.Datetime("us", "UTC"))
    assert (f["path"].list.len() == f["n_touches"]).all()
    assert f.filter(~pl.col("converted"))["conversion_time"].null_count() == (~f["converted"]).sum()


def test_crm_stage_rows_are_ignored_by_journeys():
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 1],
            "timestamp": [_ts("2024-01-01"), _ts("2024-01-02"), _ts("2024-01-03")],
            "channel": ["a", None, None],
            "event": ["touch", "mql", "conversion"],
            "revenue": [0.0, 0.0, 3.0],
        }
    )
    assert at.build_journeys(ev).frame["path"].to_list() == [["a"]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lookback_days": 0}, "lookback_days must be a finite number > 0"),
        ({"lookback_days": float("inf")}, "lookback_days must be a finite number > 0"),
        ({"lookback_days": float("nan")}, "lookback_days must be a finite number > 0"),
        ({"lookback_days": True}, "lookback_days must be a finite number > 0"),
        ({"lookback_days": "30"}, "lookback_days must be a finite number > 0"),
        ({"max_touches": 0}, "max_touches must be a whole number"),
        ({"max_touches": 2.5}, "max_touches must be a whole number"),
        ({"max_touches": True}, "max_touches must be a whole number"),
        ({"max_touches": float("inf")}, "max_touches must be a whole number"),
        ({"collapse_repeats": "yes"}, "collapse_repeats must be True or False"),
        ({"non_converting": "sometimes"}, "non_converting must be"),
        ({"lookback": 30}, "Unknown journey option 'lookback'; expected one of lookback_days"),
    ],
)
def test_bad_journey_options_are_named(rng, kwargs, match):
    with pytest.raises(at.ValidationError, match=match):
        at.build_journeys(random_events(rng, 20), **kwargs)


def test_reserved_channel_name_is_refused():
    ev = pl.DataFrame(
        {
            "user_id": [1],
            "timestamp": [_ts("2024-01-01")],
            "channel": [at.NO_TOUCH],
            "event": ["touch"],
            "revenue": [0.0],
        }
    )
    with pytest.raises(at.ValidationError, match="reserved"):
        at.build_journeys(ev)
    # "(baseline)" is data_driven's row of conversions without marketing, into which
    # calibrate and the ROI fold "(no touch)": a channel of that name was merged with them
    with pytest.raises(at.ValidationError, match=r"'\(baseline\)' is reserved"):
        at.build_journeys(ev.with_columns(channel=pl.lit("(baseline)")))


@pytest.mark.parametrize("name", [at.NO_TOUCH, "(baseline)"])
def test_reserved_channel_name_inside_a_path_is_refused(name):
    """A path made of "(no touch)" alone is the conversions without touches; inside a longer
    path the name was read as a channel, reported beside the real "(no touch)" row."""
    paths = pl.DataFrame(
        {"path": ["a", f"a > {name}", "(no touch)"], "total_conversions": [1, 1, 2]}
    )
    with pytest.raises(at.ValidationError, match=r"in column 'path' \('a > \(.*\)' at row 1\)"):
        at.read_paths(paths)
    ok = at.attribute(at.read_paths(paths.slice(0, 1).vstack(paths.slice(2))), "linear")
    assert ok.channels.select("channel", "conversions").rows() == [("a", 1.0), (at.NO_TOUCH, 2.0)]


def test_read_paths_refuses_value_on_a_path_without_conversions():
    """The per-touch models dropped such value and Markov credited it: on this table revenue
    summed to 8 under linear and 18 under markov."""
    paths = pl.DataFrame(
        {
            "path": ["a", "b", "a > b"],
            "total_conversions": [1, 0, 1],
            "total_conversion_value": [5.0, 10.0, 3.0],
            "total_null": [1, 1, 1],
        }
    )
    with pytest.raises(at.ValidationError, match=r"1 values on paths without conversions \(10"):
        at.read_paths(paths)
    fixed = at.read_paths(paths.with_columns(total_conversion_value=pl.Series([5.0, 0.0, 3.0])))
    for model in ("linear", "markov"):
        assert at.attribute(fixed, model).channels["revenue"].sum() == pytest.approx(8.0)


def test_conversion_without_revenue_is_worth_zero_not_nan():
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01"],
            "channel": ["a", None, "b"],
            "event": ["touch", "conversion", "touch"],
            "revenue": [0.0, None, 0.0],
        }
    )
    for frame in (ev, ev.drop("revenue")):
        j = at.build_journeys(frame)
        assert j.revenue.tolist() == [0.0, 0.0]
        assert at.attribute(j, "linear").channels["revenue"].to_list() == [0.0, 0.0]


def test_sparse_integer_ids_are_ranked_not_spanned():
    """Ids spread over 1e8 give the same journeys as the same users numbered 1..n."""
    rng = np.random.default_rng(3)
    ids = rng.choice(10**8, size=50, replace=False)  # a dense range would be 100M codes
    users = np.repeat(ids, 3)
    ev = pl.DataFrame(
        {
            "user_id": users,
            "timestamp": np.tile([0, 3600, 7200], 50) + 1_700_000_000,
            "channel": rng.choice(["a", "b"], 150),
            "event": np.tile(["touch", "touch", "conversion"], 50),
            "revenue": np.tile([0.0, 0.0, 5.0], 50),
        }
    )
    dense = ev.with_columns(pl.col("user_id").rank("dense").cast(pl.Int64))
    a, b = at.build_journeys(ev), at.build_journeys(dense)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    assert sorted(a.user_id.to_list()) == sorted(ids.tolist())


# ----------------------------------------------------------------------------------------------
# journey options as one value


def test_journey_options_value_equals_the_keywords(rng):
    ev = random_events(rng, 600, n_users=60)
    opts = at.JourneyOptions(lookback_days=3, max_touches=4, collapse_repeats=True)
    by_value = at.build_journeys(ev, opts).to_paths().to_frame()
    by_keywords = (
        at.build_journeys(ev, lookback_days=3, max_touches=4, collapse_repeats=True)
        .to_paths()
        .to_frame()
    )
    assert by_value.equals(by_keywords)
    # keywords replace the value's fields
    assert at.JourneyOptions.of(opts, max_touches=2).max_touches == 2
    replaced = at.build_journeys(ev, opts, max_touches=2).to_paths().to_frame()
    assert replaced.equals(
        at.build_journeys(ev, lookback_days=3, max_touches=2, collapse_repeats=True)
        .to_paths()
        .to_frame()
    )


def test_attribute_takes_journey_options_for_every_kind_of_input(rng):
    ev = random_events(rng, 800, n_users=80)
    expected = at.attribute(at.build_journeys(ev, lookback_days=2), "linear").channels
    for data in (ev, ev.lazy(), at.read_events(ev)):
        got = at.attribute(data, "linear", lookback_days=2).channels
        assert got.equals(expected)
        got = at.attribute(data, "linear", at.JourneyOptions(lookback_days=2)).channels
        assert got.equals(expected)
    table = at.attribute_all(ev, models=["first_touch", "linear"], lookback_days=2)
    assert table.filter(pl.col("model") == "linear").drop("model").equals(expected)


def test_journey_options_are_refused_for_inputs_built_already(rng):
    j = at.build_journeys(random_events(rng, 200, n_users=20))
    with pytest.raises(at.ModelError, match=r"Journey options \(lookback_days\) apply when"):
        at.attribute(j, "linear", lookback_days=2)
    with pytest.raises(at.ModelError, match=r"the input is a path table, built already"):
        at.attribute(j.to_paths(), "linear", at.JourneyOptions(lookback_days=2))


def test_events_from_read_events_are_used_as_they_are(rng, monkeypatch):
    import attribution.journeys as journeys_module

    ev = random_events(rng, 500, n_users=50)
    read = at.read_events(ev)
    calls = []
    real = journeys_module.normalise_events
    monkeypatch.setattr(
        journeys_module, "normalise_events", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    from_read = at.build_journeys(read).to_paths().to_frame()
    assert calls == []  # recognised: not normalised a second time
    assert from_read.equals(at.build_journeys(ev).to_paths().to_frame())
    assert len(calls) == 1
    # a new frame derived from it is not the same frame: read again, as any frame
    at.build_journeys(read.filter(pl.lit(True)))
    assert len(calls) == 2


# ----------------------------------------------------------------------------------------------
# the sort on real log shapes: microsecond times, ties, ids of every kind, every sort path


def _pick(rng: np.random.Generator, values: set, k: int) -> list:
    ordered = sorted(values)
    return [ordered[i] for i in rng.permutation(len(ordered))[:k]]


def _id_values(rng: np.random.Generator, kind: str, n_users: int) -> pl.Series:
    """``n_users`` distinct ids of one kind (the users of a random log)."""
    if kind == "dense":
        return pl.Series(rng.permutation(n_users) + 10**6, dtype=pl.Int64)
    if kind == "sparse":
        edges = [-(2**63), -(2**63) + 1, -1, 0, 2**62, 2**63 - 1]
        ids = set(edges) | set(rng.integers(-(2**63), 2**63 - 1, n_users, dtype=np.int64).tolist())
        return pl.Series(_pick(rng, ids, n_users), dtype=pl.Int64)
    if kind == "uint64":
        edges = [2**63 - 1, 2**63, 2**64 - 1, 0]
        ids = set(edges) | {int(x) for x in rng.integers(0, 2**64 - 1, n_users, dtype=np.uint64)}
        return pl.Series(_pick(rng, ids, n_users), dtype=pl.UInt64)
    # text: shared 8-byte prefixes, short strings, leading zeros, NUL, non-ASCII (an empty
    # id is refused as a missing one)
    fixed = [" ", "a", "a\x00", "é", "0012", "012", "12", "1986951073.1700041408"]
    fixed += ["1986951073.1700041409", "19869510", "198695107", "Zürich-1", "zz"]
    ids = set(fixed)
    while len(ids) < n_users:
        ids.add(f"{rng.integers(0, 10 ** rng.integers(1, 11))}.{rng.integers(0, 100)}")
        ids.add("12345678" + str(rng.integers(0, 1000)))
    return pl.Series(_pick(rng, ids, n_users), dtype=pl.String)


def shaped_events(rng: np.random.Generator, n: int, kind: str, n_users: int = 40) -> pl.DataFrame:
    """A random log with microsecond times (half of them on whole hours, so ties abound)."""
    ev = random_events(rng, n, n_users=n_users, channels="abcdefghijk")
    jitter = rng.integers(0, 10**6, n) * (rng.random(n) < 0.5)
    ids = _id_values(rng, kind, n_users)
    return ev.with_columns(
        pl.col("timestamp") + pl.duration(microseconds=pl.Series(jitter)),
        ids.gather(ev["user_id"]).alias("user_id"),
    )


@pytest.mark.parametrize(("word", "perm_word"), [(64, 32), (50, 32), (50, 0), (40, 32), (12, 32)])
@pytest.mark.parametrize("kind", ["dense", "sparse", "uint64", "text"])
def test_every_sort_path_matches_brute_force(rng, monkeypatch, kind, word, perm_word):
    """Narrower sort words force the split sort (both ways of splitting), the bucket fix-up
    and the general sort."""
    import attribution.journeys as journeys_module

    monkeypatch.setattr(journeys_module, "_WORD", word)
    monkeypatch.setattr(journeys_module, "_PERM_WORD", perm_word)
    monkeypatch.setattr(journeys_module, "_PARALLEL_ROWS", 0)  # parts sorted on threads
    monkeypatch.setattr(journeys_module, "_cpu_count", lambda: 3)
    for _ in range(3):
        ev = shaped_events(rng, 700, kind)
        for options in ({}, {"lookback_days": 1.5, "collapse_repeats": True}):
            got = at.build_journeys(ev, **options)
            assert as_tuples(got) == brute_force_journeys(ev, **options)
            assert got.user_id.dtype == ev["user_id"].dtype


def test_text_ids_stay_apart_when_one_hash_collides(rng, monkeypatch):
    """Ids that share the first hash (here: every id) are told apart by the second."""
    import attribution.journeys as journeys_module

    real = journeys_module._hash_ids
    monkeypatch.setattr(
        journeys_module,
        "_hash_ids",
        lambda user: (np.zeros(len(user), dtype=np.uint64), real(user)[1]),
    )
    ev = shaped_events(rng, 600, "text")
    assert as_tuples(at.build_journeys(ev)) == brute_force_journeys(ev)


def test_text_channels_coded_by_hash_match_brute_force_with_many_names(rng):
    """Thousands of channel names (unicode, prefixes of one another) need a wide slot table;
    the journeys and the sorted channel list are those of the brute force."""
    ev = shaped_events(rng, 3000, "dense")
    words = [f"c{i}" for i in range(2500)] + ["c", "é", "😀x", "C1"]
    pick = pl.Series(words).gather(pl.Series(rng.integers(0, len(words), ev.height)))
    ev = ev.with_columns(
        pl.when(pl.col("event") == "touch").then(pick).otherwise(None).alias("channel")
    )
    got = at.build_journeys(ev)
    assert as_tuples(got) == brute_force_journeys(ev)
    assert got.channels == tuple(sorted(ev["channel"].drop_nulls().unique().to_list()))


@pytest.mark.parametrize("trouble", ["one_hash", "no_table"])
def test_text_channels_fall_back_when_names_share_a_hash(rng, monkeypatch, trouble):
    """Names that share the first hash (here: every name) or whose hashes no slot table
    separates: the Categorical route codes them, and the journeys are still exact."""
    import attribution.journeys as journeys_module

    real = journeys_module._hash_ids

    def fake(values):
        h1, h2 = real(values)
        if values.name != "chan":  # user ids keep their hashes
            return h1, h2
        return (h1 * 0 if trouble == "one_hash" else h1 << np.uint64(40)), h2

    monkeypatch.setattr(journeys_module, "_hash_ids", fake)
    # one hash for two names, or hashes that differ only above the widest table's bits
    assert journeys_module._text_channel_codes(pl.Series("chan", ["a", "b"])) is None
    ev = shaped_events(rng, 700, "text")
    assert as_tuples(at.build_journeys(ev)) == brute_force_journeys(ev)


def test_ties_order_touches_by_channel_and_conversions_by_revenue():
    t = _ts("2024-03-01 10:00:00.000001")
    ev = pl.DataFrame(
        {
            "user_id": ["u"] * 6,
            "timestamp": [t] * 6,
            "channel": ["c", None, "a", None, "b", None],
            "event": ["touch", "conversion", "touch", "conversion", "touch", "conversion"],
            "revenue": [0.0, 30.0, 0.0, 10.0, 0.0, 20.0],
        }
    )
    f = at.build_journeys(ev).frame
    assert f["path"].to_list() == [["a", "b", "c"], [], []]
    assert f["revenue"].to_list() == [10.0, 20.0, 30.0]


def test_dictionary_channel_and_event_columns_give_the_same_journeys(rng):
    """Enum (with names that never occur, out of order) and Categorical columns are read by
    their codes; the journeys are those of the same log as text."""
    ev = shaped_events(rng, 800, "dense")
    names = ev["channel"].drop_nulls().unique().to_list()
    enum = pl.Enum(["zz-unused", *sorted(names, reverse=True), "aa-unused"])
    pl.Series(["noise", "more noise"]).cast(pl.Categorical)  # the shared dictionary grows
    want = brute_force_journeys(ev)
    for channel, event in (
        (enum, pl.Categorical),
        (pl.Categorical, pl.Enum(["touch", "conversion"])),
    ):
        typed = ev.with_columns(pl.col("channel").cast(channel), pl.col("event").cast(event))
        journeys = at.build_journeys(typed)
        assert as_tuples(journeys) == want
        assert journeys.channels == tuple(sorted(names))
    # renamed events on a dictionary column
    typed = ev.with_columns(
        pl.col("event").replace({"touch": "session"}).cast(pl.Categorical),
        pl.col("channel").cast(enum),
    )
    assert as_tuples(at.build_journeys(typed, touch_events="session")) == want


@settings(max_examples=80, deadline=None)
@given(
    st.sets(
        st.text(alphabet=["a", "b", "1", ".", "\x00", "é", "😀"], max_size=26)
        | st.builds(lambda t: "12345678" + t, st.text(alphabet="0123456789", max_size=12)),
        min_size=1,
        max_size=40,
    )
)
def test_text_ids_are_ordered_by_their_bytes(names):
    """The radix order of text ids (eight-byte words, then length) is Python's byte order."""
    from attribution.journeys import _text_order

    names = list(names)
    got = [names[i] for i in _text_order(pl.Series(names, dtype=pl.String))]
    assert got == sorted(names, key=lambda s: s.encode())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=300, unique=True))
def test_text_ids_of_any_characters_are_ordered_by_their_bytes(names):
    """Text of any characters (multi-byte ones, NULs, prefixes of one another) in byte order."""
    from attribution.journeys import _text_order

    got = [names[i] for i in _text_order(pl.Series(names, dtype=pl.String))]
    assert got == sorted(names, key=lambda s: s.encode())


def test_mixed_rows_are_the_rows_unlike_their_groups_first(rng):
    """Rows whose second hash differs from their group's first row's, against a loop over
    the groups (none, some groups mixed, every row its own value in one group)."""
    from attribution.journeys import _group_rows, _mixed_rows

    for n, n_keys, n_values in ((1, 1, 1), (50, 5, 1), (2000, 40, 3), (3000, 1, 3000)):
        key = rng.integers(0, n_keys, n).astype(np.uint64) << np.uint64(40)
        w = rng.integers(0, n_values, n).astype(np.uint64)
        rows, first = _group_rows(key, 64)
        want = []
        for k in np.unique(key):
            members = np.flatnonzero(key == k)  # ascending: the first is the group's first row
            want.extend(members[w[members] != w[members[0]]])
        np.testing.assert_array_equal(_mixed_rows(w, rows, first), np.sort(want))


def test_ids_sharing_the_sorted_bits_get_codes_of_their_own(rng, monkeypatch):
    """Pairs of ids that tie on the bits the grouping sort uses: the second of each pair is
    found late and placed beside the first (a free code), with the brute-force journeys."""
    import attribution.journeys as journeys_module

    # integers: k * 2**40 and k * 2**40 + 1 share their top bits
    ev = shaped_events(rng, 700, "dense")
    pairs = np.arange(ev["user_id"].n_unique() // 2 + 1)
    spread = rng.choice(2**20, size=len(pairs), replace=False).astype(np.int64) << 40
    uid = ev["user_id"] - ev["user_id"].min()
    ev_int = ev.with_columns(user_id=pl.Series(spread[(uid // 2).to_numpy()]) + uid % 2)
    assert as_tuples(at.build_journeys(ev_int)) == brute_force_journeys(ev_int)
    # text: neighbours in byte order share the first hash
    ev = shaped_events(rng, 700, "text")
    partner = {u: i // 2 for i, u in enumerate(sorted(set(ev["user_id"])))}
    real = journeys_module._hash_ids

    def paired(user):
        if user.name == "chan":  # channel names keep their hashes
            return real(user)
        h2 = real(user)[1]
        p = np.array([partner[u] for u in user.to_list()], dtype=np.uint64)
        return p * np.uint64(0x9E3779B97F4A7C15), h2

    monkeypatch.setattr(journeys_module, "_hash_ids", paired)
    assert as_tuples(at.build_journeys(ev)) == brute_force_journeys(ev)


@pytest.mark.parametrize("spread", [1, 2**40, 0x9E3779B97F4A7C15])
def test_unique_rows_equals_numpy_unique(rng, spread):
    """The path-table grouping against ``np.unique``: small values (every one shares the top
    bits, so the argsort route), values apart only in low bits, and hash-like values."""
    from attribution.journeys import _unique_rows

    for n, k in ((0, 1), (1, 1), (9, 3), (4000, 700), (20_000, 19_000)):
        h = rng.integers(0, k, n).astype(np.uint64) * np.uint64(spread)
        want = np.unique(h, return_index=True, return_inverse=True)
        for got, expected in zip(_unique_rows(h), want, strict=True):
            np.testing.assert_array_equal(got, expected.reshape(got.shape))


@pytest.mark.parametrize("chunk", [1, 3, 1 << 22])
def test_path_hash_is_the_polynomial_of_each_row(rng, monkeypatch, chunk):
    """The row hash, computed by chunks of global powers, against the polynomial written out
    in Python integers for each row (empty rows included)."""
    import attribution.journeys as journeys_module

    monkeypatch.setattr(journeys_module, "_HASH_CHUNK", chunk)
    lengths = rng.integers(0, 5, 40)
    lengths[[0, 7, -1]] = 0
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    codes = rng.integers(0, 6, int(indptr[-1])).astype(np.int32)
    ones = np.ones(len(lengths))
    seq = journeys_module.Sequences(tuple("abcdef"), indptr, codes, ones, ones, ones)
    m, p1, p2 = 2**64, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F
    want = []
    for r in range(len(lengths)):
        row = codes[indptr[r] : indptr[r + 1]]
        h = sum((int(c) + 1) * pow(p1, i + 1, m) for i, c in enumerate(row)) % m
        h ^= (int(lengths[r]) * p2) % m
        h ^= h >> 31
        want.append((h * p2) % m)
    assert journeys_module._hash_rows(seq).tolist() == want
