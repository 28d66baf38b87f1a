"""Funnel, SLA and stage attribution on a hand-built CRM log whose answers are worked by hand.

The log (times UTC, 2024; ranks: subscriber 0, lead 1, mql 2, sql 3, opportunity 4,
customer 5, evangelist 6):

==  =============================================================  ===========================
id  stages (date)                                                  what it exercises
==  =============================================================  ===========================
1   sub 01-02, lead 01-05, mql 01-10, sql 01-12 09:00, opp 01-20,  straight through
    customer 02-05 (1000), evangelist 02-20
2   lead 01-03, sql 01-08 10:00, opp 01-15, customer 02-10 (500)   skips mql
3   lead 01-04, mql 01-06, sql 01-09 08:00, mql 01-25, sql 02-03   falls back, re-enters sql
    12:00, opp 02-15
4   lead 01-07 (sales)                                             stays a lead
5   lead 01-10, mql 01-14                                          stops at mql
6   sql 01-16 14:00, opp 01-25, customer 02-12 (300) (sales)       created beyond lead / mql
7   sub 01-05 (no source)                                          subscriber only
8   sub 01-20, lead 02-02, mql 02-06                               crosses the month
9   lead 01-02, mql 01-05, sql 01-10 15:00, opp 01-18, lead 02-08  lost opportunity (fallback)
10  lead 02-01, lead 02-03, mql 02-04, sql 02-05 16:00             repeated row
11  lead 02-10, mql 02-11, sql 02-12 10:00, opp 02-20, evan 02-27  skips customer
12  lead 01-15 (source null), mql 01-18 (source " Marketing")      first non-null source
==  =============================================================  ===========================
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attribution as at
from attribution import funnel as fn
from attribution.schema import CRM_STAGES

M, S = "marketing", "sales"
ROWS = [
    (1, "2024-01-02", "subscriber", M, None),
    (1, "2024-01-05", "lead", None, None),
    (1, "2024-01-10", "mql", None, None),
    (1, "2024-01-12T09:00:00", "sql", None, None),
    (1, "2024-01-20", "opportunity", None, None),
    (1, "2024-02-05", "customer", None, 1000.0),
    (1, "2024-02-20", "evangelist", None, None),
    (2, "2024-01-03", "lead", M, None),
    (2, "2024-01-08T10:00:00", "sql", None, None),
    (2, "2024-01-15", "opportunity", None, None),
    (2, "2024-02-10", "customer", None, 500.0),
    (3, "2024-01-04", "lead", M, None),
    (3, "2024-01-06", "mql", None, None),
    (3, "2024-01-09T08:00:00", "sql", None, None),
    (3, "2024-01-25", "mql", None, None),
    (3, "2024-02-03T12:00:00", "sql", None, None),
    (3, "2024-02-15", "opportunity", None, None),
    (4, "2024-01-07", "lead", S, None),
    (5, "2024-01-10", "lead", M, None),
    (5, "2024-01-14", "mql", None, None),
    (6, "2024-01-16T14:00:00", "sql", S, None),
    (6, "2024-01-25", "opportunity", None, None),
    (6, "2024-02-12", "customer", None, 300.0),
    (7, "2024-01-05", "subscriber", None, None),
    (8, "2024-01-20", "subscriber", M, None),
    (8, "2024-02-02", "lead", None, None),
    (8, "2024-02-06", "mql", None, None),
    (9, "2024-01-02", "lead", M, None),
    (9, "2024-01-05", "mql", None, None),
    (9, "2024-01-10T15:00:00", "sql", None, None),
    (9, "2024-01-18", "opportunity", None, None),
    (9, "2024-02-08", "lead", None, None),
    (10, "2024-02-01", "lead", M, None),
    (10, "2024-02-03", "lead", None, None),
    (10, "2024-02-04", "mql", None, None),
    (10, "2024-02-05T16:00:00", "sql", None, None),
    (11, "2024-02-10", "lead", M, None),
    (11, "2024-02-11", "mql", None, None),
    (11, "2024-02-12T10:00:00", "sql", None, None),
    (11, "2024-02-20", "opportunity", None, None),
    (11, "2024-02-27", "evangelist", None, None),
    (12, "2024-01-15", "lead", None, None),
    (12, "2024-01-18", "mql", " Marketing", None),
]

# first activity after each SQL: 3 min (1), 2 h (2, 11), 30 h (3's first SQL), none (6),
# 0 min (9), exactly 5 min (3's second SQL), 25 h (10)
ACTIVITIES = [
    (1, "2024-01-12T09:03:00", "call"),
    (1, "2024-01-12T10:00:00", "email"),
    (1, "2024-01-13T09:00:00", "call"),
    (2, "2024-01-07T09:00:00", "email"),  # before the SQL: not a follow-up
    (2, "2024-01-08T12:00:00", "call"),
    (3, "2024-01-10T14:00:00", "call"),
    (3, "2024-01-11T09:00:00", "email"),
    (3, "2024-02-03T12:05:00", "call"),
    (9, "2024-01-10T15:00:00", "call"),
    (9, "2024-01-11T09:00:00", "call"),
    (9, "2024-01-12T09:00:00", "email"),
    (9, "2024-01-13T09:00:00", "call"),
    (9, "2024-01-14T09:00:00", "meeting"),
    (10, "2024-02-06T17:00:00", "call"),
    (11, "2024-02-12T12:00:00", "call"),
    (11, "2024-02-21T09:00:00", "meeting"),  # after 11 became an opportunity
]


@pytest.fixture
def crm() -> pl.DataFrame:
    return pl.DataFrame(
        ROWS,
        schema=["user_id", "timestamp", "stage", "source", "amount"],
        orient="row",
    )


@pytest.fixture
def acts() -> pl.DataFrame:
    return pl.DataFrame(ACTIVITIES, schema=["user_id", "timestamp", "activity"], orient="row")


def d(month: int, day: int) -> dt.date:
    return dt.date(2024, month, day)


# ----------------------------------------------------------------------------------------------
# reading


def test_read_crm_maps_columns_and_normalises(crm):
    raw = crm.rename({"user_id": "uid", "timestamp": "ts", "stage": "lc", "amount": "value"})
    raw = raw.with_columns(pl.col("lc").str.to_uppercase()).drop("source")
    out = fn.read_crm(
        raw, user_col="uid", time_col="ts", stage_col="lc", amount_col="value"
    ).collect()
    assert out.columns == ["user_id", "timestamp", "stage", "source", "amount"]
    assert out.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert out["stage"].to_list() == [r[2] for r in ROWS]
    assert out["source"].null_count() == len(ROWS)  # no source column: all null
    assert out["amount"].sum() == 1800.0


def test_read_crm_stage_map_renames_hubspot_labels():
    raw = pl.DataFrame(
        {
            "user_id": ["a", "a"],
            "timestamp": ["2024-01-01", "2024-01-02"],
            "stage": ["lead", "MarketingQualifiedLead"],
        }
    )
    out = fn.read_crm(raw, stage_map={"marketingqualifiedlead": "mql"}).collect()
    assert out["stage"].to_list() == ["lead", "mql"]


def test_lazy_and_eager_input_agree(crm):
    assert fn.funnel(crm.lazy()).equals(fn.funnel(crm))
    assert fn.stage_conversion(fn.read_crm(crm)).equals(fn.stage_conversion(crm))


def test_row_order_does_not_matter(crm):
    shuffled = crm.sample(fraction=1.0, shuffle=True, seed=3)
    assert fn.stage_conversion(shuffled).equals(fn.stage_conversion(crm))
    assert fn.transitions(shuffled).equals(fn.transitions(crm))


# ----------------------------------------------------------------------------------------------
# funnel counts per period


def test_funnel_counts_per_stage_and_month(crm):
    f = fn.funnel(crm, freq="1mo")
    assert f.columns == ["period", "stage", "contacts"]
    assert f["stage"].to_list() == list(CRM_STAGES) * 2  # funnel order within each month
    # January entries (distinct contacts; 3 enters mql twice, counted once):
    #   subscriber 1, 7, 8 -> 3; lead 1, 2, 3, 4, 5, 9, 12 -> 7; mql 1, 3, 5, 9, 12 -> 5;
    #   sql 1, 2, 3, 6, 9 -> 5; opportunity 1, 2, 6, 9 -> 4; customer, evangelist 0
    # February: lead 8, 9 (fallback), 10 (its repeat on 02-03 is no entry), 11 -> 4;
    #   mql 8, 10, 11 -> 3; sql 3, 10, 11 -> 3; opportunity 3, 11 -> 2;
    #   customer 1, 2, 6 -> 3; evangelist 1, 11 -> 2
    assert f.filter(pl.col("period") == d(1, 1))["contacts"].to_list() == [3, 7, 5, 5, 4, 0, 0]
    assert f.filter(pl.col("period") == d(2, 1))["contacts"].to_list() == [0, 4, 3, 3, 2, 3, 2]


def test_funnel_fills_empty_periods_between(crm):
    late = crm.vstack(
        pl.DataFrame([(99, "2024-04-03", "lead", None, None)], schema=crm.schema, orient="row")
    )
    f = fn.funnel(late)
    assert f["period"].unique().sort().to_list() == [d(1, 1), d(2, 1), d(3, 1), d(4, 1)]
    assert f.filter(pl.col("period") == d(3, 1))["contacts"].sum() == 0


# ----------------------------------------------------------------------------------------------
# transitions, skips and fall-backs


def test_transitions_classify_skips_fallbacks_and_repeats(crm):
    t = fn.transitions(crm)
    # 43 rows - 12 contacts = 31 transitions: skips 2->(lead>sql), 11->(opp>evangelist);
    # fall-backs 3 (sql>mql), 9 (opportunity>lead); repeat 10 (lead>lead); 26 forward
    assert t.height == 31
    assert Counter(t["kind"].to_list()) == {"forward": 26, "skip": 2, "fallback": 2, "repeat": 1}
    skips = t.filter(pl.col("kind") == "skip").sort("user_id")
    assert skips.select("user_id", "from_stage", "to_stage", "stages_skipped").rows() == [
        (2, "lead", "sql", ["mql"]),
        (11, "opportunity", "evangelist", ["customer"]),
    ]
    back = t.filter(pl.col("kind") == "fallback").sort("user_id")
    assert back.select("user_id", "from_stage", "to_stage").rows() == [
        (3, "sql", "mql"),
        (9, "opportunity", "lead"),
    ]
    # 3: sql 01-09 08:00 -> mql 01-25 00:00 is 15 days 16 hours
    assert back["days"][0] == pytest.approx(15 + 16 / 24)
    assert t.filter(pl.col("kind") != "skip")["stages_skipped"].list.len().sum() == 0


def test_transition_counts_match_transitions(crm):
    c = fn.transition_counts(crm)
    assert c["transitions"].sum() == 31
    row = c.filter((pl.col("from_stage") == "mql") & (pl.col("to_stage") == "sql"))
    # mql -> sql: 1, 3 (twice), 9, 10, 11 -> 6 transitions by 5 contacts
    assert row.select("kind", "transitions", "contacts").row(0) == ("forward", 6, 5)


# ----------------------------------------------------------------------------------------------
# stage-to-stage conversion and velocity


def test_stage_conversion_by_hand(crm):
    sc = fn.stage_conversion(crm)
    assert sc.select("from_stage", "to_stage").rows() == list(itertools.pairwise(CRM_STAGES))
    got = {r["from_stage"]: r for r in sc.iter_rows(named=True)}
    h = 1 / 24

    # subscriber -> lead: passed by 1, 7, 8; 1 (3 d) and 8 (13 d) become leads
    assert (got["subscriber"]["reached_from"], got["subscriber"]["reached_to_after"]) == (3, 2)
    assert got["subscriber"]["rate"] == pytest.approx(2 / 3)
    assert got["subscriber"]["median_days"] == pytest.approx(8.0)

    # lead -> mql: every contact passing lead (all but 6, created as sql, and 7) = 10;
    # all but 4 go on = 9, 2 by skipping mql (its 5 d 10 h count here).
    # days 5, 5+10h, 2, 4, 4, 3, 3, 1, 3 -> median 3, mean 30.41667 / 9
    lead = got["lead"]
    assert (lead["reached_from"], lead["reached_to_after"], lead["via_skip"]) == (10, 9, 1)
    assert lead["rate"] == pytest.approx(0.9)
    assert lead["median_days"] == pytest.approx(3.0)
    assert lead["mean_days"] == pytest.approx((5 + 5 + 10 * h + 2 + 4 + 4 + 3 + 3 + 1 + 3) / 9)

    # mql -> sql: passed by 1, 2 (skip), 3, 5, 8, 9, 10, 11, 12 = 9; to sql: 1, 2, 3, 9, 10, 11
    # days: 1 2d9h, 2 0 (the skip row), 3 3d8h, 9 5d15h, 10 1d16h, 11 1d10h
    mql = got["mql"]
    days = [2 + 9 * h, 0.0, 3 + 8 * h, 5 + 15 * h, 1 + 16 * h, 1 + 10 * h]
    assert (mql["reached_from"], mql["reached_to_after"], mql["via_skip"]) == (9, 6, 1)
    assert mql["median_days"] == pytest.approx(float(np.median(days)))
    assert mql["mean_days"] == pytest.approx(sum(days) / 6)

    # sql -> opportunity: passed by 1, 2, 3, 6, 9, 10, 11 = 7; all but 10 go on.
    # 3's first sql (01-09 08:00) waits for its opportunity on 02-15: 36 d 16 h
    sql = got["sql"]
    days = [7 + 15 * h, 6 + 14 * h, 36 + 16 * h, 8 + 10 * h, 7 + 9 * h, 7 + 14 * h]
    assert (sql["reached_from"], sql["reached_to_after"]) == (7, 6)
    assert sql["mean_days"] == pytest.approx(sum(days) / 6)  # 12.375

    # opportunity -> customer: 1, 2, 3, 6, 9, 11 passed; 1 (16 d), 2 (26 d), 6 (18 d) and
    # 11 (7 d, jumping to evangelist) won
    opp = got["opportunity"]
    assert (opp["reached_from"], opp["reached_to_after"], opp["via_skip"]) == (6, 4, 1)
    assert (opp["median_days"], opp["mean_days"]) == (pytest.approx(17.0), pytest.approx(16.75))

    # customer -> evangelist: 1, 2, 6, 11 passed customer; 1 (15 d) and 11 (same row, 0 d)
    cust = got["customer"]
    assert (cust["reached_from"], cust["reached_to_after"], cust["rate"]) == (4, 2, 0.5)
    assert cust["median_days"] == pytest.approx(7.5)


def _brute_pass_reach(rows, start, end):
    """Per contact: (time it passed `start`, first time at `end` or later after that)."""
    rank = {s: i for i, s in enumerate(CRM_STAGES)}
    by_user = defaultdict(list)
    for u, t, s, *_ in rows:
        by_user[u].append((t, rank[s]))
    out = {}
    for u, seq in by_user.items():
        seq.sort()
        low = 99
        j_start = None
        for j, (_, r) in enumerate(seq):
            low = min(low, r)
            if low <= start <= r:
                j_start = j
                break
        if j_start is None:
            continue
        end_t = next((t for t, r in seq[j_start:] if r >= end), None)
        out[u] = (seq[j_start][0], end_t)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 50), st.integers(0, 6)),
        min_size=1,
        max_size=60,
    )
)
def test_stage_conversion_matches_brute_force_on_random_logs(rows):
    base = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    # distinct times per contact keep the brute force's order unambiguous
    seen = {}
    for u, t, r in rows:
        seen[(u, t)] = r
    data = [(u, base + dt.timedelta(hours=t), CRM_STAGES[r]) for (u, t), r in seen.items()]
    frame = pl.DataFrame(data, schema=["user_id", "timestamp", "stage"], orient="row")
    sc = fn.stage_conversion(frame)
    for i in range(len(CRM_STAGES) - 1):
        brute = _brute_pass_reach(data, i, i + 1)
        won = [(b - a).total_seconds() / 86400 for a, b in brute.values() if b is not None]
        row = sc.row(i, named=True)
        assert row["reached_from"] == len(brute)
        assert row["reached_to_after"] == len(won)
        if won:
            assert row["mean_days"] == pytest.approx(float(np.mean(won)))
        else:
            assert row["mean_days"] is None
        if not brute:
            assert row["rate"] is None  # zero denominator -> null, never inf


# ----------------------------------------------------------------------------------------------
# cycle, close rate, win rate, lead conversion, sourcing


def test_sales_cycle_lead_to_customer(crm):
    per_contact, summary = fn.sales_cycle(crm, start="lead", end="customer")
    # 10 contacts passed lead (not 6 or 7); closed: 1 (01-05 -> 02-05: 31 d),
    # 2 (01-03 -> 02-10: 38 d), 11 (02-10 -> evangelist 02-27: 17 d)
    assert per_contact.height == 10
    closed = per_contact.filter(pl.col("days").is_not_null()).sort("user_id")
    assert closed.select("user_id", "days").rows() == [(1, 31.0), (2, 38.0), (11, 17.0)]
    assert summary.row(0) == (10, 3, 31.0, pytest.approx(86 / 3), 17.0, 38.0)
    # cohorts by the month they became leads: Jan 1, 2, 3, 4, 5, 9, 12 (1 and 2 closed);
    # Feb 8, 10, 11 (11 closed)
    by_month = fn.sales_cycle(crm, freq="1mo").summary
    assert by_month.select("period", "contacts", "closed", "median_days").rows() == [
        (d(1, 1), 7, 2, 34.5),
        (d(2, 1), 3, 1, 17.0),
    ]


def test_close_rate_cohorts_by_opportunity_month(crm):
    # opportunities 1, 2, 3, 6, 9, 11; customers (later) 1, 2, 6, 11 -> 4 / 6
    assert fn.close_rate(crm).row(0) == (6, 4, pytest.approx(2 / 3))
    # Jan opportunities 1, 2, 6, 9 (3 won); Feb 3, 11 (11 won)
    assert fn.close_rate(crm, freq="1mo").rows() == [(d(1, 1), 4, 3, 0.75), (d(2, 1), 2, 1, 0.5)]


def test_opportunity_win_rate_leaves_open_deals_out(crm):
    # won 1, 2, 6, 11; lost 9 (back to lead); open 3 -> 4 / 5
    assert fn.opportunity_win_rate(crm).row(0) == (6, 4, 1, 1, 0.8)
    # 3 has been open 12 days at the last timestamp (02-27): stale after 10 days -> lost
    assert fn.opportunity_win_rate(crm, stale_after_days=10).row(0) == (
        6,
        4,
        2,
        0,
        pytest.approx(4 / 6),
    )
    late = dt.datetime(2024, 3, 31)
    assert fn.opportunity_win_rate(crm, stale_after_days=60, as_of=late).row(0)[2] == 1


def test_lead_conversion_rate(crm):
    # leads passed by 10 contacts; customers after that: 1, 2, 11 (6 was never a lead)
    assert fn.lead_conversion_rate(crm).row(0) == (10, 3, pytest.approx(0.3))


def test_close_rate_matches_seed_example():
    """Seed: 25 of 100 proposals won -> 25%."""
    opp = [(i, "2024-03-01", "opportunity") for i in range(100)]
    won = [(i, "2024-03-20", "customer") for i in range(25)]
    frame = pl.DataFrame(opp + won, schema=["user_id", "timestamp", "stage"], orient="row")
    assert fn.close_rate(frame).row(0) == (100, 25, 0.25)


def test_lead_conversion_matches_seed_example():
    """Seed: 10 of 100 leads buy -> 10%."""
    leads = [(f"u{i}", "2024-03-01", "lead") for i in range(100)]
    buy = [(f"u{i}", "2024-04-02", "customer") for i in range(0, 100, 10)]
    frame = pl.DataFrame(leads + buy, schema=["user_id", "timestamp", "stage"], orient="row")
    assert fn.lead_conversion_rate(frame).row(0) == (100, 10, 0.1)


def test_sourcing_marketing_versus_sales(crm):
    s = fn.sourcing(crm)
    # leads (lead or later, however entered): marketing 1, 2, 3, 5, 8, 9, 10, 11, 12 = 9,
    # sales 4, 6 = 2 (7 never became a lead); customers marketing 1, 2, 11, sales 6;
    # revenue marketing 1000 + 500, sales 300
    assert s.select("source", "leads", "customers", "revenue").rows() == [
        ("marketing", 9, 3, 1500.0),
        ("sales", 2, 1, 300.0),
    ]
    assert s["lead_share"].to_list() == pytest.approx([9 / 11, 2 / 11])
    assert s["revenue_share"].to_list() == pytest.approx([1500 / 1800, 300 / 1800])
    monthly = fn.sourcing(crm, freq="1mo")
    jan = monthly.filter(pl.col("period") == d(1, 1))
    # Jan leads: marketing 1, 2, 3, 5, 9, 12; sales 4, 6 (sql on 01-16); no customer yet
    assert jan.select("source", "leads", "customers").rows() == [
        ("marketing", 6, 0),
        ("sales", 2, 0),
    ]
    assert jan["customer_share"].to_list() == [None, None]  # 0 / 0 is null
    feb = monthly.filter(pl.col("period") == d(2, 1))
    assert feb.select("source", "leads", "customers", "revenue").rows() == [
        ("marketing", 3, 3, 1500.0),
        ("sales", 0, 1, 300.0),
    ]


# ----------------------------------------------------------------------------------------------
# SLA


def test_sla_attainment_by_hand(crm, acts):
    sla = fn.sla_attainment(
        crm,
        acts,
        mql_commitment={"2024-01-01": 5, "2024-02-15": 4},  # 02-15 is February's target
        follow_up=("24h", "5m"),
        follow_up_target={"24h": 0.6, "5m": 0.5},
        max_attempts=4,
    )
    assert sla.columns == ["period", "team", "metric", "actual", "target", "attained", "base"]
    got = {(r["period"].month, r["metric"]): r for r in sla.iter_rows(named=True)}
    assert len(got) == 8  # 2 months x 4 metrics

    # MQLs (first pass): Jan 1, 2 (skip), 3 (its re-entry not again), 5, 9, 12 = 6 >= 5;
    # Feb 8, 10, 11 = 3 < 4
    assert [got[(m, "mqls_delivered")]["actual"] for m in (1, 2)] == [6.0, 3.0]
    assert [got[(m, "mqls_delivered")]["attained"] for m in (1, 2)] == [True, False]
    assert got[(1, "mqls_delivered")]["team"] == "marketing"

    # Jan SQLs: 1 (3 min), 2 (2 h), 3 (30 h), 6 (none), 9 (0 min) -> 24 h: 3/5, 5 min: 2/5
    # Feb SQLs: 3 (exactly 5 min), 10 (25 h), 11 (2 h)            -> 24 h: 2/3, 5 min: 1/3
    within = "sql_followed_up_within_"
    assert got[(1, within + "24h")]["actual"] == pytest.approx(0.6)
    assert got[(1, within + "24h")]["attained"] is True  # 0.6 >= 0.6
    assert got[(1, within + "5m")]["actual"] == pytest.approx(0.4)
    assert got[(2, within + "24h")]["actual"] == pytest.approx(2 / 3)
    assert got[(2, within + "5m")]["actual"] == pytest.approx(1 / 3)
    assert got[(2, within + "5m")]["attained"] is False
    assert [got[(m, within + "24h")]["base"] for m in (1, 2)] == [5, 3]

    # attempts from the SQL to the next stage change: Jan 1: 3, 2: 1, 3: 2, 6: 0, 9: 5 -> max 5;
    # Feb 3: 1, 10: 1, 11: 1 (its 02-21 meeting is after its opportunity) -> max 1
    assert [got[(m, "attempts_per_lead")]["actual"] for m in (1, 2)] == [5.0, 1.0]
    assert [got[(m, "attempts_per_lead")]["attained"] for m in (1, 2)] == [False, True]
    assert got[(1, "attempts_per_lead")]["team"] == "sales"


def test_sla_without_activities_reports_marketing_only(crm):
    sla = fn.sla_attainment(crm, mql_commitment=6)
    assert sla.select("metric", "actual", "target", "attained").rows() == [
        ("mqls_delivered", 6.0, 6.0, True),
        ("mqls_delivered", 3.0, 6.0, False),
    ]
    frame = pl.DataFrame({"period": [d(2, 1)], "target": [3.0]})
    by_frame = fn.sla_attainment(crm, mql_commitment=frame)
    assert by_frame["target"].to_list() == [None, 3.0]
    assert by_frame["attained"].to_list() == [None, True]


def test_sla_default_target_requires_every_sql(crm, acts):
    sla = fn.sla_attainment(crm, acts, follow_up="48h")
    # 48 h: Jan all but 6 (4/5); Feb all (3/3); default target 1.0
    rows = sla.filter(pl.col("team") == "sales").select("actual", "target", "attained").rows()
    assert rows == [(pytest.approx(0.8), 1.0, False), (1.0, 1.0, True)]


def test_sla_period_without_sqls_has_null_share(crm, acts):
    march = pl.DataFrame([(50, "2024-03-03", "lead", None, None)], schema=crm.schema, orient="row")
    sla = fn.sla_attainment(crm.vstack(march), acts, follow_up="24h")
    row = sla.filter((pl.col("period") == d(3, 1)) & (pl.col("team") == "sales")).row(0, named=True)
    assert (row["actual"], row["attained"], row["base"]) == (None, None, 0)


# ----------------------------------------------------------------------------------------------
# attribution to a stage


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


# when each contact passes the stage, from the table in the module docstring
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
    res = fn.attribute_stage(touches, crm, stage="mql", model="last_touch")
    conv, _ = _brute_last_touch(touches, MQL_PASS)
    got = {c: v for c, v in res.channels.select("channel", "conversions").rows() if v}
    assert got == dict(conv)
    assert res.channels["revenue"].sum() == 0.0  # stages before customer carry no revenue


def test_attribute_stage_customer_revenue(crm, rng):
    touches = _touches(rng)
    res = fn.attribute_stage(touches, crm, stage="customer", model="last_touch")
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
    res = fn.attribute_stage(touches, crm, stage="mql", model="linear", lookback_days=14)
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
    res = fn.attribute_stage(_touches(rng), crm, stage="mql", model="markov")
    assert res.channels["conversions"].sum() == pytest.approx(len(MQL_PASS))


def test_attribute_stage_accepts_touch_table_without_event_column(crm, rng):
    touches = _touches(rng)
    a = fn.attribute_stage(touches.drop("event"), crm, model="first_touch")
    b = fn.attribute_stage(touches, crm, model="first_touch")
    assert a.channels.equals(b.channels)


# ----------------------------------------------------------------------------------------------
# errors


def test_error_missing_stage_column(crm):
    with pytest.raises(at.SchemaError, match=r"Column 'stage' is missing from the CRM lifecycle"):
        fn.read_crm(crm.drop("stage"))


def test_error_unknown_stage_names_values_and_count(crm):
    bad = crm.with_columns(
        pl.when(pl.col("user_id") == 9)
        .then(pl.lit("won"))
        .otherwise(pl.col("stage"))
        .alias("stage")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'stage' of the CRM lifecycle log has 5 rows with unknown stages "
        r"\('won' ×5 \(first at row 27\)\); expected one of subscriber, lead, mql",
    ):
        fn.funnel(bad)


def test_error_null_ids_and_timestamps(crm):
    no_id = crm.with_columns(
        pl.when(pl.col("user_id") == 4).then(None).otherwise(pl.col("user_id")).alias("user_id")
    )
    with pytest.raises(at.ValidationError, match=r"Column 'user_id' .* has 1 nulls \(row 17\)"):
        fn.read_crm(no_id)
    bad_time = crm.with_columns(
        pl.when(pl.col("user_id") == 5)
        .then(pl.lit("soon"))
        .otherwise(pl.col("timestamp"))
        .alias("timestamp")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'timestamp' of the CRM lifecycle log has 2 values that are not dates or "
        r"times \('soon' at row 18, 'soon' at row 19\)",
    ):
        fn.read_crm(bad_time)


def test_error_negative_amount(crm):
    neg = crm.with_columns(
        pl.when(pl.col("amount") == 500.0).then(-500.0).otherwise(pl.col("amount")).alias("amount")
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'amount' .* has 1 negative values \(-500 at row 10 \(user_id 2\)\); "
        r"amounts must be finite and ≥ 0",
    ):
        fn.read_crm(neg)


def test_error_empty_inputs(crm, acts):
    with pytest.raises(at.EmptyInputError, match=r"The CRM lifecycle log is empty \(0 rows\)"):
        fn.read_crm(crm.head(0))
    with pytest.raises(at.EmptyInputError, match=r"The sales activity log is empty"):
        fn.sla_attainment(crm, acts.head(0))


def test_error_parameters(crm, acts):
    with pytest.raises(at.ValidationError, match=r"freq 'fortnightly' is not a period"):
        fn.funnel(crm, freq="fortnightly")
    with pytest.raises(at.ValidationError, match=r"start must come before end"):
        fn.sales_cycle(crm, start="customer", end="lead")
    with pytest.raises(at.ValidationError, match=r"stage must be one of .*; got 'deal'"):
        fn.attribute_stage(_touches(np.random.default_rng(1)), crm, stage="deal")
    with pytest.raises(at.ValidationError, match=r"positive durations such as '24h'.*got '1 week'"):
        fn.sla_attainment(crm, acts, follow_up="1 week")
    with pytest.raises(
        at.ValidationError,
        match=r"mql_commitment has 1 targets that are null, "
        r"negative or NaN \(periods 2024-01-01\)",
    ):
        fn.sla_attainment(crm, mql_commitment={"2024-01-01": -1})
    with pytest.raises(at.ValidationError, match=r"follow_up_target has no target for the window"):
        fn.sla_attainment(crm, acts, follow_up_target={"24h": 0.9})


def test_error_user_id_types_differ(crm, acts):
    with pytest.raises(
        at.SchemaError,
        match=r"User ids are Int64 in the CRM lifecycle log but "
        r"String in the sales activity log",
    ):
        fn.sla_attainment(crm, acts.with_columns(pl.col("user_id").cast(pl.String)))


def test_error_no_contact_passed_stage(crm, rng):
    with pytest.raises(at.EmptyInputError, match=r"No contact .* passed the stage 'evangelist'"):
        fn.attribute_stage(
            _touches(rng), crm.filter(pl.col("stage") != "evangelist"), stage="evangelist"
        )
