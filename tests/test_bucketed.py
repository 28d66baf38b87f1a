"""Out-of-core journeys by user buckets: equal to the in-memory path (issue 6.1)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution._base.errors import EmptyInputError, ValidationError
from attribution.bucketed import (
    BYTES_PER_EVENT,
    attribute_bucketed,
    build_paths_bucketed,
    merge_paths,
    plan_buckets,
)
from tests.conftest import random_events

OPTIONS = [
    {},
    {"lookback_days": 3},
    {"collapse_repeats": True, "max_touches": 2},
    {"non_converting": "never_converted", "lookback_days": 10},
    {"non_converting": "drop"},
]


def assert_same_table(got: at.PathTable, want: at.PathTable) -> None:
    assert got.channels == want.channels
    np.testing.assert_array_equal(got.indptr, want.indptr)
    np.testing.assert_array_equal(got.codes, want.codes)
    np.testing.assert_array_equal(got.conversions, want.conversions)
    np.testing.assert_array_equal(got.nulls, want.nulls)
    np.testing.assert_allclose(got.value, want.value, rtol=1e-12)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    """About 60k simulated events written as four Parquet files of mixed users."""
    ev = at.datasets.simulate_events(60_000, seed=5, n_channels=7)
    out = tmp_path_factory.mktemp("events")
    part = pl.int_range(pl.len()) % 4
    for i in range(4):
        ev.filter(part == i).write_parquet(out / f"part-{i}.parquet")
    return out, ev


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "defaults")
def test_merging_a_split_by_hand_gives_the_in_memory_table(rng, options):
    ev = random_events(rng, 900, n_users=60, channels="abcdefghijklmnop")
    # split users by hand into groups of uneven sizes; small groups lack some channels
    group = np.repeat(np.arange(5), [1, 2, 5, 12, 40])
    rng.shuffle(group)
    parts = [
        ev.filter(pl.col("user_id").is_in(np.flatnonzero(group == g).tolist())) for g in range(5)
    ]
    tables = [at.build_journeys(p, **options).to_paths() for p in parts if p.height]
    assert len({t.channels for t in tables}) > 1
    assert_same_table(merge_paths(tables), at.build_journeys(ev, **options).to_paths())


def test_merge_is_a_sum_of_counts_in_the_peer_format():
    a = at.read_paths(
        pl.DataFrame({"path": ["x > y", "z"], "total_conversions": [2, 1], "total_null": [1, 0]})
    )
    b = at.read_paths(
        pl.DataFrame(
            {"path": ["z", "x > y", "w"], "total_conversions": [0, 1, 1], "total_null": [3, 0, 0]}
        )
    )
    got = merge_paths([a, b]).to_frame().rows()
    assert got == [("x > y", 3.0, 0.0, 1.0), ("z", 1.0, 0.0, 3.0), ("w", 1.0, 0.0, 0.0)]
    with pytest.raises(EmptyInputError, match="at least one path table"):
        merge_paths([])


@pytest.mark.parametrize("options", OPTIONS[:4], ids=lambda o: ",".join(o) or "defaults")
def test_bucketed_directory_equals_in_memory(log_dir, options):
    path, ev = log_dir
    want = at.build_journeys(ev, **options).to_paths()
    assert_same_table(build_paths_bucketed(path, n_buckets=3, **options), want)


def test_every_model_gives_the_in_memory_credit(log_dir):
    path, ev = log_dir
    journeys = at.build_journeys(ev, lookback_days=20)
    cases = [(name, {}) for name in at.MODELS]
    cases += [("markov", {"order": 2}), ("time_decay", {"half_life_steps": 2.0})]
    for name, params in cases:
        got = attribute_bucketed(path, name, n_buckets=4, lookback_days=20, **params).channels
        # a path table does not know users, so data_driven pools returning customers there
        mem = {"returning": "pool"} if name == "data_driven" else {}
        want = at.attribute(journeys, name, **params, **mem).channels
        assert got["channel"].to_list() == want["channel"].to_list(), name
        for col in ("conversions", "revenue", "share"):
            np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-9, err_msg=name)


def test_memory_limit_sets_the_bucket_count(log_dir):
    path, ev = log_dir
    # closed form: events x bytes per event over the limit less the reserve
    limit = 700 * 2**20
    expected = math.ceil(ev.height * BYTES_PER_EVENT / (limit - 600 * 2**20))
    assert plan_buckets(path, memory_limit=limit) == expected
    assert plan_buckets(path, memory_limit="700MiB") == expected
    assert plan_buckets(path, memory_limit="64GB") == 1


def test_more_buckets_than_users_skips_empty_ones_and_reports_progress(capsys):
    ev = pl.DataFrame(
        {
            "user_id": [1, 1, 2],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01"],
            "channel": ["a", None, "b"],
            "event": ["touch", "conversion", "touch"],
            "revenue": [0.0, 5.0, 0.0],
        }
    )
    got = build_paths_bucketed(ev, n_buckets=7, progress=True)
    assert_same_table(got, at.build_journeys(ev).to_paths())
    err = capsys.readouterr().err
    assert [f"bucket {b}/7" in err for b in range(1, 8)] == [True] * 7
    assert err.count("journeys") == 2


def test_bad_rows_are_reported_with_rows_of_the_whole_log(rng):
    ev = random_events(rng, 200, n_users=30)
    ev = ev.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([17, 150]))
        .then(None)
        .otherwise("timestamp")
        .alias("timestamp")
    )
    with pytest.raises(ValidationError) as whole:
        at.build_journeys(ev)
    assert "row 17" in str(whole.value)
    with pytest.raises(ValidationError, match="row 17") as bucketed:
        build_paths_bucketed(ev, n_buckets=4)
    assert str(bucketed.value) == str(whole.value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_buckets": 0}, r"n_buckets must be a whole number ≥ 1; got 0"),
        ({"memory_limit": "lots"}, r"memory_limit must be a number of bytes .* got 'lots'"),
        ({"memory_limit": "4 parsecs"}, r"got '4 parsecs'"),
    ],
)
def test_bad_bucket_options_are_named(kwargs, match):
    ev = pl.DataFrame({"user_id": [1]})
    with pytest.raises(ValidationError, match=match):
        plan_buckets(ev, **kwargs)


def test_no_journeys_anywhere_is_an_empty_input_error():
    ev = pl.DataFrame(
        {
            "user_id": [1, 2],
            "timestamp": ["2024-01-01", "2024-01-02"],
            "channel": ["a", "b"],
            "event": ["touch", "touch"],
            "revenue": [0.0, 0.0],
        }
    )
    with pytest.raises(EmptyInputError, match="No journeys in any bucket"):
        build_paths_bucketed(ev, n_buckets=2, non_converting="drop")


def test_bucket_parts_are_removed_after_success_and_after_an_error(tmp_path, rng):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    ev = random_events(rng, 300, n_users=40)
    got = build_paths_bucketed(ev, n_buckets=3, tmp_dir=scratch)
    assert_same_table(got, at.build_journeys(ev).to_paths())
    assert list(scratch.iterdir()) == []
    bad = ev.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(None).otherwise("timestamp").alias("timestamp")
    )
    with pytest.raises(ValidationError, match="row 5"):
        attribute_bucketed(bad, "linear", n_buckets=3, tmp_dir=scratch)
    assert list(scratch.iterdir()) == []


def test_bucketed_real_log_shapes_equal_in_memory(tmp_path, rng):
    """Microsecond times, text ids with leading zeros, a CSV file read once into buckets."""
    from tests.test_journeys import shaped_events

    ev = shaped_events(rng, 2000, "text", n_users=300)
    ev = ev.filter(pl.col("user_id") != "")  # an empty CSV field reads as null
    assert ev["user_id"].str.starts_with("0").any()
    path = tmp_path / "events.csv"
    ev.write_csv(path)
    want = at.build_journeys(path, lookback_days=2).to_paths()
    assert_same_table(build_paths_bucketed(path, n_buckets=5, lookback_days=2), want)
    uint = shaped_events(rng, 2000, "uint64", n_users=300)
    want = at.build_journeys(uint).to_paths()
    assert_same_table(build_paths_bucketed(uint, n_buckets=4), want)


def test_bucketed_dictionary_and_renamed_event_columns_equal_in_memory(rng):
    """The parts hold text channel and event columns as codes; logs that arrive with an Enum
    channel, or with event names of their own, give the in-memory table."""
    ev = random_events(rng, 3000, n_users=400, channels="abcdefg")
    names = sorted(ev["channel"].drop_nulls().unique().to_list())
    enum = ev.with_columns(pl.col("channel").cast(pl.Enum(["zz", *names[::-1]])))
    assert_same_table(build_paths_bucketed(enum, n_buckets=3), at.build_journeys(enum).to_paths())
    renamed = ev.with_columns(pl.col("event").replace({"touch": "session", "conversion": "buy"}))
    kw = {"touch_events": "session", "conversion_events": ["buy"], "lookback_days": 4}
    want = at.build_journeys(renamed, **kw).to_paths()
    assert_same_table(build_paths_bucketed(renamed, n_buckets=4, **kw), want)
    assert_same_table(want, at.build_journeys(ev, lookback_days=4).to_paths())


def test_many_buckets_merged_in_rounds_equal_in_memory(rng, monkeypatch):
    """More buckets than are kept unmerged: the tables are merged in rounds, with the same
    result as the in-memory table and credit."""
    import attribution.bucketed as bucketed

    monkeypatch.setattr(bucketed, "_MERGE_EVERY", 3)
    ev = random_events(rng, 4000, n_users=500)
    assert_same_table(build_paths_bucketed(ev, n_buckets=10), at.build_journeys(ev).to_paths())
    got = attribute_bucketed(ev, "linear", n_buckets=7).channels
    want = at.attribute(at.build_journeys(ev), "linear").channels
    assert got["channel"].to_list() == want["channel"].to_list()
    np.testing.assert_allclose(got["conversions"].to_numpy(), want["conversions"].to_numpy())


def test_parts_of_buckets_read_already_are_deleted_during_the_run(tmp_path, rng, monkeypatch):
    """Asking for bucket b deletes the parts before it on a thread: its own and the later ones
    are there while it is built, none is left at the end, and the table is the in-memory one.
    """
    import attribution.bucketed as bucketed

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    seen: list[tuple[int, list[int]]] = []
    real = bucketed.build_journeys

    def spy(frame, opts):
        journeys = real(frame, opts)  # read: this bucket's parts are still there
        (run,) = scratch.iterdir()
        seen.append((len(seen), sorted(int(d.name.split("=")[1]) for d in run.iterdir())))
        return journeys

    monkeypatch.setattr(bucketed, "build_journeys", spy)
    removed: list[str] = []
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        removed.append(Path(path).name)
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    ev = random_events(rng, 3000, n_users=400)
    got = build_paths_bucketed(ev, n_buckets=4, tmp_dir=scratch)
    assert_same_table(got, at.build_journeys(ev).to_paths())
    assert [b for b, _ in seen] == [0, 1, 2, 3]
    for b, left in seen:
        assert set(range(b, 4)) <= set(left)  # this bucket's parts and the later ones
    assert removed[:3] == ["__bucket=0", "__bucket=1", "__bucket=2"]  # during the run
    assert list(scratch.iterdir()) == []
