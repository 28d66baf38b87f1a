"""KPI catalogue: the seed worked examples, brute-force group references, pinned errors."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

import attribution as at
from attribution.kpis.catalogue import (
    bounce_rate,
    cart_abandonment_rate,
    cost_to_serve,
    csat,
    email_metrics,
    landing_page_conversion_rate,
    lead_conversion_rate,
    market_share,
    nps,
    retention,
)

# ----------------------------------------------------------------------------------------------
# the seed documents' worked examples


def test_lead_conversion_matches_seed_example():
    """10 of 100 leads buy -> 10 %."""
    leads = pl.DataFrame({"converted": [1] * 10 + [0] * 90})
    out = lead_conversion_rate(leads)
    assert out.columns == ["leads", "conversions", "lead_conversion_rate"]
    assert out.row(0) == (100, 10, 0.10)


def test_cart_abandonment_matches_seed_example():
    """20 of 100 checkouts abandoned -> 20 %."""
    carts = pl.DataFrame({"completed": [False] * 20 + [True] * 80})
    out = cart_abandonment_rate(carts)
    assert out.columns == ["checkouts", "completed", "abandoned", "cart_abandonment_rate"]
    assert out.row(0) == (100, 80, 20, 0.20)


def test_bounce_rate_matches_seed_example():
    """40 of 100 sessions bounce -> 40 %, from session rows or from a page-view log."""
    sessions = pl.DataFrame({"pageviews": [1] * 40 + [2] * 35 + [7] * 25})
    assert bounce_rate(sessions).row(0) == (100, 40, 0.40)
    views = sessions.with_row_index("sid").select(pl.col("sid").repeat_by("pageviews").explode())
    assert views.height == 40 + 70 + 175
    assert bounce_rate(views, session_col="sid").row(0) == (100, 40, 0.40)


def test_email_metrics_match_seed_example():
    """1,000 sent, 20 % open, 5 % click -> 200 opens, 50 clicks."""
    mails = pl.DataFrame(
        {
            "opened": [True] * 200 + [False] * 800,
            "clicked": [True] * 50 + [False] * 950,
        }
    )
    out = email_metrics(mails).row(0, named=True)
    assert (out["sent"], out["opens"], out["clicks"]) == (1000, 200, 50)
    assert out["open_rate"] == pytest.approx(0.20) and out["click_rate"] == pytest.approx(0.05)
    assert out["click_to_open"] == pytest.approx(50 / 200)


def test_landing_page_conversion_matches_seed_example():
    """1,000 visits, 100 conversions -> 10 %."""
    visits = pl.DataFrame({"page": ["/a"] * 1000, "converted": [1] * 100 + [0] * 900})
    assert landing_page_conversion_rate(visits).row(0) == (1000, 100, 0.10)
    assert landing_page_conversion_rate(visits, page_col="page").row(0) == ("/a", 1000, 100, 0.1)


def test_renewal_matches_seed_example():
    """80 of 100 renew -> 80 %."""
    subs = pl.DataFrame({"renewed": [1] * 80 + [0] * 20})
    out = retention(subs)
    assert out.columns == ["due", "renewed", "churned", "renewal_rate", "churn_rate"]
    assert out.row(0) == (100, 80, 20, 0.80, pytest.approx(0.20))


def test_cost_to_serve_matches_seed_example():
    """1,000 EUR / 100 customers -> 10 EUR."""
    costs = pl.DataFrame({"cost": [250.0, 250.0, 500.0]})
    customers = pl.DataFrame({"customer_id": list(range(100)) * 2})  # distinct ids count
    assert cost_to_serve(costs, customers).row(0) == (1000.0, 100, 10.0)
    assert cost_to_serve(costs, 100).row(0) == (1000.0, 100, 10.0)


# ----------------------------------------------------------------------------------------------
# groups and periods against plain Python


def _random_flags(rng, n=400):
    days = rng.integers(0, 120, n)
    return pl.DataFrame(
        {
            "source": rng.choice(["ads", "seo", "email"], n),
            "timestamp": [date(2024, 1, 1) + timedelta(days=int(d)) for d in days],
            "flag": rng.random(n) < 0.3,
        }
    )


@pytest.mark.parametrize(
    ("fn", "kw", "rate_of"),
    [
        (lead_conversion_rate, {"converted_col": "flag"}, True),
        (cart_abandonment_rate, {"completed_col": "flag"}, False),
        (landing_page_conversion_rate, {"converted_col": "flag"}, True),
        (retention, {"renewed_col": "flag"}, True),
    ],
)
def test_flag_rates_by_group_and_month_match_brute_force(rng, fn, kw, rate_of):
    df = _random_flags(rng)
    acc = defaultdict(lambda: [0, 0])
    for r in df.to_dicts():
        key = (r["source"], r["timestamp"].replace(day=1))
        acc[key][0] += 1
        acc[key][1] += r["flag"]
    out = fn(df, by="source", freq="1mo", **kw)
    assert out.columns[:2] == ["source", "period"]
    assert [tuple(r) for r in out.select("source", "period").rows()] == sorted(acc)
    rate_col = out.columns[-1] if fn is not retention else "renewal_rate"
    for r in out.iter_rows(named=True):
        n, yes = acc[(r["source"], r["period"])]
        assert r[rate_col] == pytest.approx(yes / n if rate_of else (n - yes) / n)


def test_email_metrics_from_campaign_counts_by_campaign(rng):
    n = 30
    sent = rng.integers(0, 500, n)
    delivered = sent - rng.integers(0, 20, n).clip(max=sent)
    opens = (delivered * rng.random(n)).astype(int)
    clicks = (opens * rng.random(n)).astype(int)
    df = pl.DataFrame(
        {
            "campaign": rng.choice(["spring", "summer"], n),
            "sent": sent,
            "delivered": delivered,
            "opens": opens,
            "clicks": clicks,
        }
    )
    out = email_metrics(
        df,
        sent_col="sent",
        delivered_col="delivered",
        opened_col="opens",
        clicked_col="clicks",
        by="campaign",
    )
    for r in out.iter_rows(named=True):
        mask = df["campaign"] == r["campaign"]
        d, o, c = (int(df.filter(mask)[x].sum()) for x in ("delivered", "opens", "clicks"))
        assert r["sent"] == df.filter(mask)["sent"].sum()
        assert r["open_rate"] == pytest.approx(o / d)
        assert r["click_rate"] == pytest.approx(c / d)
        assert r["click_to_open"] == (pytest.approx(c / o) if o else None)


def test_zero_denominators_give_null_not_inf():
    out = email_metrics(
        pl.DataFrame({"sent": [0], "delivered": [0], "opened": [0], "clicked": [0]}),
        sent_col="sent",
        delivered_col="delivered",
    )
    assert out.select("open_rate", "click_rate", "click_to_open").row(0) == (None, None, None)
    costs = pl.DataFrame({"team": ["a", "b"], "cost": [10.0, 5.0]})
    served = pl.DataFrame({"team": ["a", "c"], "customer_id": [1, 2]})
    got = cost_to_serve(costs, served, by="team")
    assert got.rows() == [("a", 10.0, 1, 10.0), ("b", 5.0, 0, None), ("c", 0.0, 1, 0.0)]
    assert market_share(pl.DataFrame({"revenue": [5.0]}), 0.0)["market_share"].item() is None


def test_bounce_rate_page_view_log_by_group_and_week(rng):
    n = 600
    sessions = rng.integers(0, 150, n)
    df = pl.DataFrame(
        {
            "sid": sessions,
            "device": np.where(sessions % 2 == 0, "mobile", "desktop"),
            "timestamp": [date(2024, 3, 4) + timedelta(days=int(s % 20)) for s in sessions],
        }
    )
    views = defaultdict(int)
    for s in sessions.tolist():
        views[s] += 1
    got = bounce_rate(df, session_col="sid", by="device", freq="1w")
    ref = defaultdict(lambda: [0, 0])
    for s, v in views.items():
        day = date(2024, 3, 4) + timedelta(days=s % 20)
        monday = day - timedelta(days=day.weekday())
        key = ("mobile" if s % 2 == 0 else "desktop", monday)
        ref[key][0] += 1
        ref[key][1] += v == 1
    assert {(r[0], r[1]): (r[2], r[3]) for r in got.rows()} == {
        k: (a, b) for k, (a, b) in ref.items()
    }


def _months(start: date, end: date) -> list[date]:
    out, d = [], start.replace(day=1)
    while d <= end:
        out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


@pytest.mark.parametrize("by", [None, "plan"])
def test_retention_from_dates_matches_brute_force(rng, by):
    n = 300
    start = [date(2023, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 300, n)]
    length = rng.integers(0, 400, n)
    active = rng.random(n) < 0.3
    end = [
        None if a else s + timedelta(days=int(k))
        for s, k, a in zip(start, length, active, strict=True)
    ]
    subs = pl.DataFrame({"plan": rng.choice(["basic", "pro"], n), "start": start, "end": end})
    got = retention(subs, start_col="start", end_col="end", by=by)
    month = lambda d: d.replace(day=1)  # noqa: E731
    last = max([*map(month, start), *(month(e) for e in end if e is not None)])
    rows = []
    groups = [None] if by is None else sorted(set(subs["plan"]))
    for g in groups:
        members = [
            (month(s), None if e is None else month(e))
            for s, e, p in zip(start, end, subs["plan"], strict=True)
            if g is None or p == g
        ]
        for m in _months(min(ps for ps, _ in members), last):
            at_start = sum(1 for ps, pe in members if ps < m and (pe is None or pe >= m))
            churned = sum(1 for ps, pe in members if ps < m and pe == m)
            new = sum(1 for ps, _ in members if ps == m)
            ended = sum(1 for _, pe in members if pe == m)
            if at_start + new == 0:
                continue
            rate = (at_start - churned) / at_start if at_start else None
            churn = churned / at_start if at_start else None
            key = () if g is None else (g,)
            rows.append((*key, m, at_start, new, churned, at_start + new - ended, rate, churn))
    assert got.columns[-7:] == [
        "period",
        "at_start",
        "new",
        "churned",
        "at_end",
        "retention_rate",
        "churn_rate",
    ]
    assert len(got.rows()) == len(rows)
    for a, b in zip(got.rows(), rows, strict=True):
        assert a[:-2] == b[:-2]
        for x, y in zip(a[-2:], b[-2:], strict=True):
            assert x == y if y is None else x == pytest.approx(y)
    assert any(r[-1] is None for r in rows) and any(r[-2] not in (None, 1.0) for r in rows)


def test_cost_to_serve_per_month_with_separate_customer_dates():
    costs = pl.DataFrame(
        {"date": ["2024-01-03", "2024-01-20", "2024-02-01"], "cost": [300.0, 300.0, 90.0]}
    )
    tickets = pl.DataFrame(
        {"customer_id": [1, 2, 2, 3, 1], "opened": ["2024-01-05"] * 3 + ["2024-02-07"] * 2}
    )
    got = cost_to_serve(costs, tickets, freq="1mo", customer_time_col="opened")
    assert got.rows() == [
        (date(2024, 1, 1), 600.0, 2, 300.0),
        (date(2024, 2, 1), 90.0, 2, 45.0),
    ]


def test_nps_and_its_standard_error_match_first_principles(rng):
    scores = rng.integers(0, 11, 2000)
    got = nps(pl.DataFrame({"score": scores})).row(0, named=True)
    x = np.where(scores >= 9, 1.0, np.where(scores <= 6, -1.0, 0.0))
    assert got["responses"] == 2000
    assert got["promoters"] == int((scores >= 9).sum())
    assert got["passives"] == int(((scores == 7) | (scores == 8)).sum())
    assert got["nps"] == pytest.approx(100 * x.mean())
    # the standard error of a mean of +1/0/-1 values (population variance, the plug-in)
    assert got["nps_se"] == pytest.approx(100 * x.std() / math.sqrt(len(x)))
    assert got["pct_promoters"] - got["pct_detractors"] == pytest.approx(got["nps"])


@pytest.mark.slow
def test_nps_standard_error_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    probs = np.array([0.02] * 7 + [0.1, 0.15, 0.3, 0.31])
    probs /= probs.sum()
    truth = 100 * (probs[9:].sum() - probs[:7].sum())
    frames = [pl.DataFrame({"s": rng.choice(11, 400, p=probs), "wave": i}) for i in range(400)]
    out = nps(pl.concat(frames), score_col="s", by="wave")
    covered = ((out["nps"] - truth).abs() <= 1.96 * out["nps_se"]).mean()
    assert 0.92 <= covered <= 0.98


def test_csat_default_and_custom_scale():
    five = pl.DataFrame({"score": [5, 4, 4, 3, 2, 1, 5, 5]})
    got = csat(five).row(0, named=True)
    assert (got["responses"], got["satisfied"], got["csat"]) == (8, 5, 5 / 8)
    assert got["csat_se"] == pytest.approx(math.sqrt(5 / 8 * 3 / 8 / 8))
    seven = pl.DataFrame({"score": [7, 6, 5, 1]})
    assert csat(seven, scale=(1, 7))["satisfied"].item() == 2
    assert csat(seven, scale=(1, 7), satisfied_from=5)["satisfied"].item() == 3


def test_market_share_scalar_mapping_and_frame():
    sales = pl.DataFrame(
        {
            "region": ["n", "n", "s"],
            "timestamp": ["2024-01-10", "2024-02-10", "2024-01-15"],
            "revenue": [20.0, 30.0, 10.0],
        }
    )
    assert market_share(sales, 600.0).row(0) == (60.0, 600.0, 0.1)
    assert market_share(sales, {"n": 1000.0, "s": 100.0, "w": 50.0}, by="region").rows() == [
        ("n", 50.0, 1000.0, 0.05),
        ("s", 10.0, 100.0, 0.1),
        ("w", 0.0, 50.0, 0.0),
    ]
    market = pl.DataFrame(
        {
            "region": ["n", "n", "s"],
            "period": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 1, 1)],
            "size": [200.0, 300.0, 40.0],
        }
    )
    got = market_share(sales, market, by="region", freq="1mo", market_col="size")
    assert got["market_share"].to_list() == [0.1, 0.1, 0.25]
    as_text = market.with_columns(pl.col("period").cast(pl.String))
    assert market_share(sales, as_text, by="region", freq="1mo", market_col="size").equals(got)


# ----------------------------------------------------------------------------------------------
# errors name the column, the rule, rows and values, and the count


def test_missing_column_is_named():
    with pytest.raises(at.SchemaError, match=r"Column 'converted' is missing from the lead table"):
        lead_conversion_rate(pl.DataFrame({"x": [1]}))
    with pytest.raises(at.SchemaError, match=r"Column 'timestamp' is missing from the survey"):
        nps(pl.DataFrame({"score": [1]}), freq="1mo")


def test_nps_out_of_range_scores_are_named_with_rows_and_count():
    scores = pl.DataFrame({"score": [10.0, 9, 3, 11, 0, 5, -1, 7.5]})
    with pytest.raises(
        at.ValidationError,
        match=(
            r"Column 'score' of the survey table has 3 scores outside 0-10 "
            r"\(11 at row 3, -1 at row 6, 7\.5 at row 7\); NPS scores are whole numbers "
            r"from 0 to 10\."
        ),
    ):
        nps(scores)
    with pytest.raises(at.ValidationError, match=r"has 1 nulls \(row 1\); drop unanswered rows"):
        nps(pl.DataFrame({"score": [3, None]}))
    with pytest.raises(
        at.ValidationError, match=r"2 scores outside 1-5 \(0 at row 0, 6 at row 2\)"
    ):
        csat(pl.DataFrame({"score": [0, 3, 6]}))
    with pytest.raises(at.SchemaError, match=r"Column 'score' of the survey table has type String"):
        nps(pl.DataFrame({"score": ["ten"]}))


def test_flag_errors_name_values_and_count():
    with pytest.raises(
        at.ValidationError,
        match=(
            r"Column 'converted' of the lead table has 2 values other than 0/1 "
            r"\(2 at row 1, -1 at row 3\); expected True/False or 0/1\."
        ),
    ):
        lead_conversion_rate(pl.DataFrame({"converted": [1, 2, 0, -1]}))
    with pytest.raises(
        at.ValidationError, match=r"Column 'completed' of the checkout table has 1 nulls \(row 2\)"
    ):
        cart_abandonment_rate(pl.DataFrame({"completed": [True, False, None]}))
    with pytest.raises(at.SchemaError, match=r"has type String; expected booleans or 0/1"):
        retention(pl.DataFrame({"renewed": ["yes"]}))


def test_more_errors_are_pinned():
    with pytest.raises(at.EmptyInputError, match=r"The lead table is empty \(0 rows\)"):
        lead_conversion_rate(pl.DataFrame({"converted": []}, schema={"converted": pl.Boolean}))
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'opened' of the email table has 1 rows with more opens than delivered",
    ):
        email_metrics(
            pl.DataFrame({"d": [5, 5], "opened": [3, 6], "clicked": [0, 0]}),
            sent_col="d",
            delivered_col="d",
        )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'pageviews' of the session table has 2 values that are not whole numbers "
        r"≥ 0 \(-1 at row 1, 1\.5 at row 2\)",
    ):
        bounce_rate(pl.DataFrame({"pageviews": [1.0, -1, 1.5]}))
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'end' of the subscription table has 1 end dates before the start "
        r"\('2024-01-01' at row 1\); a subscription cannot end before it starts",
    ):
        retention(
            pl.DataFrame({"start": ["2024-01-01", "2024-02-01"], "end": [None, "2024-01-01"]}),
            start_col="start",
            end_col="end",
        )
    with pytest.raises(at.ValidationError, match=r"needs both start_col= and end_col=; got only"):
        retention(pl.DataFrame({"s": [1]}), start_col="s")
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'timestamp' of the lead table has 1 values that are not dates or times "
        r"\('soon' at row 1\)",
    ):
        lead_conversion_rate(
            pl.DataFrame({"converted": [1, 0], "timestamp": ["2024-01-01", "soon"]}), freq="1mo"
        )
    with pytest.raises(at.ValidationError, match=r"freq 'fortnightly' is not a period"):
        lead_conversion_rate(pl.DataFrame({"converted": [1]}), freq="fortnightly")  # type: ignore[arg-type]
    with pytest.raises(
        at.ValidationError, match=r"Column 'cost' of the cost table has 1 null, negative"
    ):
        cost_to_serve(pl.DataFrame({"cost": [1.0, -2.0]}), 3)
    with pytest.raises(at.ValidationError, match=r"market table has 1 null, negative"):
        market_share(pl.DataFrame({"g": ["a"], "revenue": [1.0]}), {"a": -5.0}, by="g")


def test_inputs_lazy_pandas_and_files_agree(tmp_path):
    df = pl.DataFrame({"score": [10, 9, 2, 8, 0]})
    path = tmp_path / "survey.csv"
    df.write_csv(path)
    expected = nps(df)
    assert nps(df.lazy()).equals(expected)
    assert nps(path).equals(expected)
    assert nps(df.to_pandas()).equals(expected)


# ----------------------------------------------------------------------------------------------
# dates and periods read by the base layer


@pytest.mark.parametrize(("alias", "own"), [("MS", "1mo"), ("M", "1mo"), ("W", "1w")])
def test_pandas_period_aliases_give_the_same_periods(rng, alias, own):
    """freq="MS"/"M" group by month and "W" by week (from Monday), as "1mo" and "1w" do."""
    df = _random_flags(rng)
    for fn, kw in (
        (lead_conversion_rate, {"converted_col": "flag"}),
        (cart_abandonment_rate, {"completed_col": "flag"}),
        (retention, {"renewed_col": "flag"}),
    ):
        assert fn(df, by="source", freq=alias, **kw).equals(fn(df, by="source", freq=own, **kw))
    subs = pl.DataFrame(
        {"start": [date(2024, 1, 3), date(2024, 1, 20)], "end": [date(2024, 3, 9), None]}
    )
    assert retention(subs, start_col="start", end_col="end", freq=alias).equals(
        retention(subs, start_col="start", end_col="end", freq=own)
    )


def test_iso_z_and_year_month_text_are_read():
    """Dates ending in Z (or an offset) and "2024-01" text are dates, not nulls."""
    leads = pl.DataFrame(
        {
            "converted": [1, 0, 1, 0],
            "timestamp": ["2024-01", "2024-01-31T23:30:00Z", "2024-02-01T00:10:00+00:00", "202402"],
        }
    )
    # "202402" is neither YYYYMMDD nor YYYY-MM: it is refused by name, not read as a null
    with pytest.raises(at.ValidationError, match=r"\('202402' at row 3\)"):
        lead_conversion_rate(leads, freq="1mo")
    leads = leads.with_columns(pl.col("timestamp").replace("202402", "20240215"))
    assert lead_conversion_rate(leads, freq="MS").rows() == [
        (date(2024, 1, 1), 2, 1, 0.5),
        (date(2024, 2, 1), 2, 1, 0.5),
    ]
    subs = pl.DataFrame({"start": ["2024-01", "2024-01-15T10:00:00Z"], "end": [None, "2024-02"]})
    got = retention(subs, start_col="start", end_col="end")
    assert got.select("period", "at_start", "new", "churned").rows() == [
        (date(2024, 1, 1), 0, 2, 0),
        (date(2024, 2, 1), 2, 0, 1),
    ]
    sales = pl.DataFrame({"timestamp": ["2024-01-10T08:00:00Z"], "revenue": [10.0]})
    market = pl.DataFrame({"period": ["2024-01"], "market_size": [100.0]})
    assert market_share(sales, market, freq="1mo").rows() == [(date(2024, 1, 1), 10.0, 100.0, 0.1)]


def test_bad_dates_raise_naming_rows_instead_of_becoming_nulls():
    """A market period that is not a date used to become a null and match nothing."""
    sales = pl.DataFrame({"timestamp": ["2024-01-10", "2024-02-03"], "revenue": [10.0, 5.0]})
    market = pl.DataFrame({"period": ["2024-01", "Feb 2024"], "market_size": [100.0, 90.0]})
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'period' of the market table has 1 values that are not dates or times "
        r"\('Feb 2024' at row 1\)",
    ):
        market_share(sales, market, freq="1mo")
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'end' of the subscription table has 1 values that are not dates or times "
        r"\('later' at row 1\)",
    ):
        retention(
            pl.DataFrame({"start": ["2024-01-01", "2024-01-02"], "end": [None, "later"]}),
            start_col="start",
            end_col="end",
        )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'timestamp' of the survey table has 1 nulls \(row 1\); every row needs a "
        r"date when freq= is given",
    ):
        nps(pl.DataFrame({"score": [9, 3], "timestamp": ["2024-01-01", None]}), freq="1mo")
