"""User ids of any shape: kept exact, never merged, never a crash (issue 16.3).

The reference is the raw text of the ids, counted in plain Python: a reader that drops a
leading zero, rounds a 19-digit number or wraps it past 2**63 gives another count or another
set of ids.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import attribution as at
from tests.test_journeys import as_tuples, brute_force_journeys


def _ga360_ids(rng: np.random.Generator, n: int) -> list[str]:
    """fullVisitorId-like text: 19-digit numbers (some above 2**63), leading zeros, and
    shorter numbers that equal a longer one once zeros are dropped."""
    ids = {
        "0000000000000000001",
        "1",
        "01",
        "9223372036854775807",  # 2**63 - 1
        "9223372036854775808",  # 2**63
        "18446744073709551615",  # 2**64 - 1
        "18446744073709551616",  # 2**64
        "0123456789012345678",
        "123456789012345678",
    }
    while len(ids) < n:
        digits = int(rng.integers(1, 21))
        text = "".join(str(d) for d in rng.integers(0, 10, digits))
        ids.add(text)
    return sorted(ids)


def _write_log(path: Path, rng: np.random.Generator, ids: list[str], n: int) -> list[dict]:
    rows = []
    for i in range(n):
        conv = rng.random() < 0.2
        rows.append(
            {
                "fullVisitorId": ids[int(rng.integers(0, len(ids)))],
                "visitStartTime": 1_700_000_000 + int(rng.integers(0, 40)) * 3600 + i % 7,
                "channelGrouping": "" if conv else "abc"[int(rng.integers(0, 3))],
                "event": "conversion" if conv else "touch",
                "revenue": float(rng.integers(1, 50)) if conv else 0.0,
            }
        )
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


GA360 = {
    "user_col": "fullVisitorId",
    "time_col": "visitStartTime",
    "channel_col": "channelGrouping",
}


def test_ga360_csv_ids_are_kept_as_text_and_never_merged(tmp_path, rng):
    ids = _ga360_ids(rng, 60)
    rows = _write_log(tmp_path / "sessions.csv", rng, ids, 1500)
    events = at.read_events(tmp_path / "sessions.csv", **GA360).collect()
    assert events.schema["user_id"] == pl.String
    assert set(events["user_id"]) == {r["fullVisitorId"] for r in rows}  # exact text
    journeys = at.build_journeys(tmp_path / "sessions.csv", **GA360)
    assert journeys.user_id.n_unique() == len({r["fullVisitorId"] for r in rows})
    # the same journeys as the brute force on the raw text
    assert as_tuples(journeys) == brute_force_journeys(events)
    # and every model runs on them
    result = at.attribute(tmp_path / "sessions.csv", "linear", **GA360)
    assert result.channels["conversions"].sum() == pytest.approx(journeys.n_conversions)


def test_csv_ids_that_are_all_canonical_integers_are_read_as_int64(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "user_id,timestamp,channel,event,revenue\n"
        "9223372036854775807,2024-01-01,a,touch,0\n"
        "-5,2024-01-02,b,touch,0\n"
        "12,2024-01-03,,conversion,4\n"
    )
    events = at.read_events(path).collect()
    assert events.schema["user_id"] == pl.Int64
    assert sorted(events["user_id"]) == [-5, 12, 2**63 - 1]
    # one value that is not canonical (a sign, a leading zero) keeps the whole column text
    for odd in ("+12", "012", "12.0"):
        path.write_text(path.read_text().replace("\n12,", f"\n{odd},"))
        events = at.read_events(path).collect()
        assert events.schema["user_id"] == pl.String, odd
        assert odd in events["user_id"].to_list()
        path.write_text(path.read_text().replace(f"\n{odd},", "\n12,"))


def _log(ids: pl.Series) -> pl.DataFrame:
    n = len(ids)
    return pl.DataFrame(
        {
            "user_id": ids,
            "timestamp": pl.datetime_range(
                pl.datetime(2024, 1, 1),
                pl.datetime(2024, 1, 1) + pl.duration(hours=n - 1),
                "1h",
                eager=True,
                time_zone="UTC",
            ),
            "channel": ["a", None] * (n // 2),
            "event": ["touch", "conversion"] * (n // 2),
            "revenue": [0.0, 1.0] * (n // 2),
        }
    )


@pytest.mark.parametrize(
    ("dtype", "values", "canonical"),
    [
        (pl.UInt64, [2**64 - 1, 2**63, 2**63 - 1, 0], pl.UInt64),
        (pl.UInt64, [5, 7, 2**63 - 1, 0], pl.Int64),
        (pl.Int128, [2**100, -(2**70), 3, 2**64], pl.String),
        (pl.Int128, [2**64 - 1, 2**63, 1, 0], pl.UInt64),
        (pl.Int128, [-(2**63), 2**63 - 1, 1, 0], pl.Int64),
        (pl.UInt128, [2**127, 1, 2, 3], pl.String),
    ],
)
def test_wide_integer_ids_are_kept_exact(dtype, values, canonical):
    ids = pl.Series("user_id", [v for v in values for _ in range(2)], dtype=dtype)
    events = at.read_events(_log(ids)).collect()
    assert events.schema["user_id"] == canonical
    kept = events["user_id"].cast(pl.String).to_list()
    assert kept == [str(v) for v in ids.to_list()]
    journeys = at.build_journeys(_log(ids))
    assert journeys.user_id.dtype == canonical
    assert journeys.n_conversions == len(values)  # four users, none merged
    # journeys in id order: numbers as numbers, text as text
    text = canonical == pl.String
    assert journeys.user_id.to_list() == sorted(str(v) if text else v for v in values)


def test_mixed_length_numeric_strings_are_distinct_users(rng):
    # "7", "07", "007"... are different text ids; in a frame their type is text, kept as is
    base = [str(x) for x in rng.integers(0, 1000, 30)]
    ids = sorted(set(base + ["0" + b for b in base] + ["00" + b for b in base]))
    ev = _log(pl.Series("user_id", [i for i in ids for _ in range(2)]))
    journeys = at.build_journeys(ev)
    assert journeys.user_id.to_list() == sorted(ids)
    assert journeys.n_conversions == len(ids)


# ids equal modulo 2**64, equal once leading zeros are dropped, or either side of 2**63
_TEXT_IDS = [
    "0123456789012345678",
    "123456789012345678",
    "00123456789012345678",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551617",  # 2**64 + 1
    "1",
    "01",
]
_ID_CASES = {
    # name: (file kind, column type, ids, canonical type)
    "uint64_parquet": (
        "parquet",
        pl.UInt64,
        [2**64 - 1, 2**63, 2**63 + 1, 2**63 - 1, 1],
        pl.UInt64,
    ),
    "decimal_mod_2_64_parquet": (
        "parquet",
        pl.Decimal(38, 0),
        [1, 1 + 2**64, 2**64, 0, 7 + 2**70],
        pl.String,
    ),
    "text_parquet": ("parquet", pl.String, _TEXT_IDS, pl.String),
    "text_csv": ("csv", pl.String, _TEXT_IDS, pl.String),
    "uint64_csv": (
        "csv",
        pl.String,
        ["18446744073709551615", "9223372036854775808", "18446744073709551617", "1"],
        pl.String,
    ),
}


@pytest.mark.parametrize("case", list(_ID_CASES))
def test_ids_of_every_shape_from_files_to_credit(tmp_path, rng, case):
    kind, dtype, ids, canonical = _ID_CASES[case]
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    rows = []
    for k, uid in enumerate(ids):
        n_touch = int(rng.integers(1, 4))
        for i in range(n_touch):
            rows.append((uid, t0 + timedelta(hours=10 * k + i), "abc"[(k + i) % 3], "touch", 0.0))
        rows.append((uid, t0 + timedelta(hours=10 * k + 5), None, "conversion", float(k + 1)))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    frame = pl.DataFrame(
        rows,
        schema={
            "user_id": dtype,
            "timestamp": pl.Datetime("us", "UTC"),
            "channel": pl.String,
            "event": pl.String,
            "revenue": pl.Float64,
        },
        orient="row",
    )
    path = tmp_path / f"events.{kind}"
    if kind == "csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    # the reference: the raw ids, exactly as written, through the brute force
    text = canonical == pl.String
    raw = pl.DataFrame(
        [(str(r[0]) if text else r[0], *r[1:]) for r in rows],
        schema={**frame.schema, "user_id": pl.String if text else pl.Object},
        orient="row",
    )
    events = at.read_events(path).collect()
    assert events.schema["user_id"] == canonical
    assert sorted(events["user_id"].to_list()) == sorted(raw["user_id"].to_list())
    journeys = at.build_journeys(path)
    assert journeys.user_id.dtype == canonical
    assert journeys.n_conversions == len(ids)  # one conversion per id: none merged
    assert as_tuples(journeys) == brute_force_journeys(raw)
    credit = at.attribute(path, "linear").channels
    want = brute_force_linear(raw)
    got = dict(zip(credit["channel"], credit["conversions"], strict=True))
    assert got == pytest.approx(want)


def brute_force_linear(events: pl.DataFrame) -> dict[str, float]:
    """Linear credit of one conversion per user over the touches before it, by hand."""
    credit: dict[str, float] = {}
    by_user: dict = {}
    for row in events.iter_rows(named=True):
        by_user.setdefault(row["user_id"], []).append(row)
    for rows in by_user.values():
        conv = next(r for r in rows if r["event"] == "conversion")
        touches = [r for r in rows if r["event"] == "touch" and r["timestamp"] <= conv["timestamp"]]
        for r in touches:
            credit[r["channel"]] = credit.get(r["channel"], 0.0) + 1 / len(touches)
    return credit
