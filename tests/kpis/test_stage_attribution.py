"""Attribution of a funnel stage to channels, against brute force on the hand-built log."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.kpis.stage_attribution import attribute_stage


def _touches(rng: np.random.Generator, n: int = 120) -> pl.DataFrame:
    users = rng.integers(1, 15, n)  # 13 and 14 are not in the CRM log
    hours = rng.integers(0, 24 * 70, n)
    start = dt.datetime(2023, 12, 20, tzinfo=dt.timezone.utc)
    return pl.DataFrame(
        {
            "user_id": users,
            "timestamp": [start + dt.timedelta(hours=int(h)) for h in hours],
            "channel": rng.choice(["ads", "email", "seo", "social"], n),
            "event": ["touch"] * n,
        }
    )


# when each contact passes the stage, from the table in tests/kpis/crm_log.py
MQL_PASS = {
    1: "2024-01-10", 2: "2024-01-08T10:00:00", 3: "2024-01-06", 5: "2024-01-14",
    8: "2024-02-06", 9: "2024-01-05", 10: "2024-02-04", 11: "2024-02-11", 12: "2024-01-18",
}  # fmt: skip
CUSTOMER_PASS = {
    1: ("2024-02-05", 1000.0), 2: ("2024-02-10", 500.0), 6: ("2024-02-12", 300.0),
    11: ("2024-02-27", 0.0),  # jumped to evangelist: no customer row, no amount
}  # fmt: skip


def _brute_last_touch(touches: pl.DataFrame, passes: dict, revenue: dict | None = None):
    conv, rev = Counter(), Counter()
    for u, when in passes.items():
        t = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
        mine = touches.filter((pl.col("user_id") == u) & (pl.col("timestamp") <= t))
        ch = mine.sort("timestamp", "channel")["channel"][-1] if mine.height else "(no touch)"
        conv[ch] += 1
        rev[ch] += (revenue or {}).get(u, 0.0)
    return conv, rev


def test_attribute_stage_last_touch_matches_brute_force(crm, rng):
    touches = _touches(rng)
    res = attribute_stage(touches, crm, stage="mql", model="last_touch")
    conv, _ = _brute_last_touch(touches, MQL_PASS)
    got = {c: v for c, v in res.channels.select("channel", "conversions").rows() if v}
    assert got == dict(conv)
    assert res.channels["revenue"].sum() == 0.0  # stages before customer carry no revenue


def test_attribute_stage_customer_revenue(crm, rng):
    touches = _touches(rng)
    res = attribute_stage(touches, crm, stage="customer", model="last_touch")
    passes = {u: t for u, (t, _) in CUSTOMER_PASS.items()}
    conv, rev = _brute_last_touch(touches, passes, {u: a for u, (_, a) in CUSTOMER_PASS.items()})
    got = {
        c: (v, r)
        for c, v, r in res.channels.select("channel", "conversions", "revenue").rows()
        if v
    }
    assert got == {c: (float(conv[c]), rev[c]) for c in conv}


def test_attribute_stage_linear_with_lookback_matches_brute_force(crm, rng):
    touches = _touches(rng)
    res = attribute_stage(touches, crm, stage="mql", model="linear", lookback_days=14)
    credit = Counter()
    for u, when in MQL_PASS.items():
        t = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
        mine = touches.filter(
            (pl.col("user_id") == u)
            & (pl.col("timestamp") <= t)
            & (pl.col("timestamp") >= t - dt.timedelta(days=14))
        )["channel"].to_list()
        for ch in mine or ["(no touch)"]:
            credit[ch] += 1 / len(mine or ["(no touch)"])
    got = dict(res.channels.select("channel", "conversions").rows())
    assert set(got) >= {c for c, v in credit.items() if v}
    for c, v in got.items():
        assert v == pytest.approx(credit.get(c, 0.0))


def test_attribute_stage_counts_one_conversion_per_contact_for_markov(crm, rng):
    res = attribute_stage(_touches(rng), crm, stage="mql", model="markov")
    assert res.channels["conversions"].sum() == pytest.approx(len(MQL_PASS))


def test_attribute_stage_accepts_touch_table_without_event_column(crm, rng):
    touches = _touches(rng)
    a = attribute_stage(touches.drop("event"), crm, model="first_touch")
    b = attribute_stage(touches, crm, model="first_touch")
    assert a.channels.equals(b.channels)


def test_attribute_stage_error_parameters(crm):
    with pytest.raises(at.ValidationError, match=r"stage must be one of .*; got 'deal'"):
        attribute_stage(_touches(np.random.default_rng(1)), crm, stage="deal")


def test_error_no_contact_passed_stage(crm, rng):
    with pytest.raises(at.EmptyInputError, match=r"No contact .* passed the stage 'evangelist'"):
        attribute_stage(
            _touches(rng), crm.filter(pl.col("stage") != "evangelist"), stage="evangelist"
        )


def test_attribute_stage_takes_journey_options_like_build_journeys(crm, rng):
    """options=JourneyOptions(...) and the same names as keywords give the same credit."""
    touches = _touches(rng)
    by_keyword = attribute_stage(touches, crm, model="linear", lookback_days=14)
    options = at.JourneyOptions(lookback_days=14)
    by_options = attribute_stage(touches, crm, model="linear", options=options)
    assert by_options.channels.equals(by_keyword.channels)
    # keywords replace the options' fields; model parameters pass through
    wide = attribute_stage(touches, crm, model="linear", options=options, lookback_days=None)
    assert wide.channels.equals(attribute_stage(touches, crm, model="linear").channels)
    decay = attribute_stage(touches, crm, model="time_decay", options=options, half_life_days=3)
    assert decay.params == {"half_life_days": 3}
    # column names of the event log are journey options too
    renamed = touches.rename({"user_id": "uid", "timestamp": "ts", "channel": "source"})
    mapped = attribute_stage(
        renamed, crm, model="linear", options=options, user_col="uid", time_col="ts",
        channel_col="source",
    )  # fmt: skip
    assert mapped.channels.equals(by_keyword.channels)
    with pytest.raises(at.ValidationError, match=r"options must be a JourneyOptions"):
        attribute_stage(touches, crm, options={"lookback_days": 14})  # type: ignore[arg-type]
