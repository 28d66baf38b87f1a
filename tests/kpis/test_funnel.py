"""Funnel figures on the hand-built CRM log of :mod:`tests.kpis.crm_log` (worked by hand)."""

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
from attribution.crm import read_crm
from attribution.kpis import funnel as fn
from attribution.schema import CRM_STAGES
from tests.kpis.crm_log import d


def test_lazy_and_eager_input_agree(crm):
    assert fn.funnel(crm.lazy()).equals(fn.funnel(crm))
    assert fn.stage_conversion(read_crm(crm)).equals(fn.stage_conversion(crm))


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
    assert fn.crm_lead_conversion_rate(crm).row(0) == (10, 3, pytest.approx(0.3))


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
    assert fn.crm_lead_conversion_rate(frame).row(0) == (100, 10, 0.1)


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


def test_error_parameters(crm, acts):
    with pytest.raises(at.ValidationError, match=r"freq 'fortnightly' is not a period"):
        fn.funnel(crm, freq="fortnightly")
    with pytest.raises(at.ValidationError, match=r"start must come before end"):
        fn.sales_cycle(crm, start="customer", end="lead")


# ----------------------------------------------------------------------------------------------
# periods in the base layer's spellings


@pytest.mark.parametrize(("alias", "own"), [("MS", "1mo"), ("M", "1mo"), ("W", "1w")])
def test_pandas_period_aliases_give_the_same_periods(crm, alias, own):
    """freq="MS"/"M" group by month and "W" by week (from Monday), as "1mo" and "1w" do."""
    assert fn.funnel(crm, freq=alias).equals(fn.funnel(crm, freq=own))
    assert fn.sourcing(crm, freq=alias).equals(fn.sourcing(crm, freq=own))
    assert fn.close_rate(crm, freq=alias).equals(fn.close_rate(crm, freq=own))
    assert fn.sales_cycle(crm, freq=alias).summary.equals(fn.sales_cycle(crm, freq=own).summary)
    assert fn.opportunity_win_rate(crm, freq=alias).equals(fn.opportunity_win_rate(crm, freq=own))
    weeks = fn.funnel(crm, freq=alias)["period"].unique()
    if own == "1w":
        assert (weeks.dt.weekday() == 1).all()  # Mondays


def test_iso_z_and_year_month_text_are_read(crm):
    """Times ending in Z (or an offset) are UTC instants; "2024-01" is the first of January."""
    iso = crm.with_columns(
        pl.when(pl.col("timestamp").str.len_chars() == 10)
        .then(pl.col("timestamp") + "T00:00:00Z")
        .otherwise(pl.col("timestamp") + "+00:00")
        .alias("timestamp")
    )
    assert fn.stage_conversion(iso).equals(fn.stage_conversion(crm))
    assert fn.funnel(iso).equals(fn.funnel(crm))
    months = pl.DataFrame(
        {"user_id": [1, 1, 2], "timestamp": ["2024-01", "2024-03", "2024-02"]},
    ).with_columns(stage=pl.Series(["lead", "customer", "lead"]))
    assert fn.crm_lead_conversion_rate(months, freq="1mo").rows() == [
        (d(1, 1), 1, 1, 1.0),
        (d(2, 1), 1, 0, 0.0),
    ]
    per_contact, _ = fn.sales_cycle(months)
    assert per_contact["days"].to_list() == [60.0, None]  # 2024-01-01 -> 2024-03-01
    # as_of is one value read by the same rules: text, dates, naive or aware datetimes
    late = fn.opportunity_win_rate(crm, stale_after_days=60, as_of=dt.datetime(2024, 3, 31))
    for as_of in ("2024-03-31", "2024-03-31T00:00:00Z", dt.date(2024, 3, 31)):
        assert fn.opportunity_win_rate(crm, stale_after_days=60, as_of=as_of).equals(late)


@pytest.mark.parametrize("days", ["30", True, float("nan"), 0])
def test_opportunity_win_rate_refuses_a_stale_age_that_is_not_a_positive_number(crm, days):
    """Text was a raw TypeError from the comparison; True counted as one day."""
    with pytest.raises(at.ValidationError, match="stale_after_days must be > 0 or None"):
        fn.opportunity_win_rate(crm, stale_after_days=days)
