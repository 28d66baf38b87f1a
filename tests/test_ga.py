"""Google Analytics readers (attribution.ga): GA4 BigQuery events and GA360 sessions.

Fixtures follow the documented export schemas (tests/ga_export.py), written as nested Parquet,
as BigQuery's newline-delimited JSON (64-bit integers as text, nulls left out) and as the
flattened CSV extracts of GA360. References: a GA4 table whose first- and last-touch credit by
channel group is worked out by hand below, and a brute force over generated GA360 sessions.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import polars as pl
import pytest

import attribution as at
from tests.ga_export import (
    ga4_event,
    ga4_frame,
    ga360_frame,
    ga360_hit_rows,
    ga360_session,
    micros,
    write_daily_ndjson,
    write_daily_parquet,
)


def t(day, hour, minute=0, second=0):
    return dt.datetime(2024, 3, day, hour, minute, second) if day > 0 else None


def sid(when):
    return int(when.replace(tzinfo=dt.timezone.utc).timestamp())


A, B, C, D, E, F = (f"{n}{n}{n}{n}.17000000{n:02d}" for n in range(1, 7))


def ga4_rows():
    """Six users; their sessions, sources and purchases (the channel each session gets)."""
    rows = []
    first_touch_a = {"source": "google", "medium": "cpc", "name": "brand"}  # user-scoped
    # A: Organic Search (collected_traffic_source) -> Email (event params) -> Direct, buys 50
    s = sid(t(1, 10))
    rows += [
        ga4_event(
            t(1, 10),
            "session_start",
            A,
            s,
            traffic_source=first_touch_a,
            collected={"manual_source": "google", "manual_medium": "organic"},
        ),
        ga4_event(t(1, 10, 1), "page_view", A, s, traffic_source=first_touch_a),
    ]
    s = sid(t(2, 9))
    rows += [
        ga4_event(
            t(2, 9),
            "session_start",
            A,
            s,
            traffic_source=first_touch_a,
            params={"source": "newsletter", "medium": "email", "campaign": "spring"},
        ),
        ga4_event(t(2, 9, 5), "page_view", A, s, traffic_source=first_touch_a),
    ]
    s = sid(t(3, 12))
    rows += [
        ga4_event(t(3, 12), "session_start", A, s, traffic_source=first_touch_a),
        ga4_event(t(3, 12, 1), "page_view", A, s, traffic_source=first_touch_a),
        ga4_event(
            t(3, 12, 5),
            "purchase",
            A,
            s,
            revenue=50.0,
            transaction_id="T1",
            traffic_source=first_touch_a,
        ),
    ]
    # B: a gclid only (google / cpc: Paid Search), then facebook / paid_social across midnight
    # with two purchases in that session (30, then 20)
    s = sid(t(1, 8))
    rows += [
        ga4_event(t(1, 8), "session_start", B, s, collected={"gclid": "EAIaIQobChMI"}),
        ga4_event(t(1, 8, 2), "page_view", B, s),
    ]
    s = sid(t(1, 23, 50))
    rows += [
        ga4_event(
            t(1, 23, 50),
            "session_start",
            B,
            s,
            params={"source": "facebook", "medium": "paid_social"},
        ),
        ga4_event(t(1, 23, 55), "page_view", B, s),
        ga4_event(t(2, 0, 10), "purchase", B, s, revenue=30.0, transaction_id="T2"),
        ga4_event(t(2, 0, 20), "purchase", B, s, revenue=20.0, transaction_id="T3"),
    ]
    # C: an event without a session (a referral that must bring no touch), t.co / referral
    # (Organic Social), then an explicit (direct) session, signed in as u-77, buys 80
    rows.append(
        ga4_event(
            dt.datetime(2024, 2, 29, 9),
            "page_view",
            C,
            None,
            params={"source": "spam.example", "medium": "referral"},
        )
    )
    s = sid(t(1, 11))
    rows += [
        ga4_event(t(1, 11), "session_start", C, s, params={"source": "t.co", "medium": "referral"}),
        ga4_event(t(1, 11, 3), "page_view", C, s),
    ]
    s = sid(t(4, 15))
    rows += [
        ga4_event(
            t(4, 15),
            "session_start",
            C,
            s,
            user_id="u-77",
            collected={"manual_source": "(direct)", "manual_medium": "(none)"},
        ),
        ga4_event(
            t(4, 15, 10), "purchase", C, s, user_id="u-77", revenue=80.0, transaction_id="T4"
        ),
    ]
    # D: ebay / referral (Organic Shopping); the purchase tag fired twice (same transaction)
    s = sid(t(2, 14))
    rows += [
        ga4_event(t(2, 14), "session_start", D, s, params={"source": "ebay", "medium": "referral"}),
        ga4_event(t(2, 14, 5), "purchase", D, s, revenue=25.0, transaction_id="T5"),
        ga4_event(t(2, 14, 5, 1), "purchase", D, s, revenue=25.0, transaction_id="T5"),
    ]
    # E: example.com / referral (Referral); a purchase sent without a session id, worth 10
    s = sid(t(3, 16))
    rows += [
        ga4_event(
            t(3, 16), "session_start", E, s, params={"source": "example.com", "medium": "referral"}
        ),
        ga4_event(t(3, 18), "purchase", E, None, revenue=10.0, transaction_id="T6"),
    ]
    # F: youtube / referral (Organic Video), never buys
    s = sid(t(2, 10))
    rows.append(
        ga4_event(
            t(2, 10), "session_start", F, s, params={"source": "youtube", "medium": "referral"}
        )
    )
    return rows


# worked out by hand from the rows above (conversions, revenue)
FIRST_TOUCH = {
    "Organic Search": (1, 50.0),  # A: Organic Search > Email > Direct
    "Paid Search": (1, 30.0),  # B, first purchase: Paid Search > Paid Social
    "Paid Social": (1, 20.0),  # B, second purchase in the same session: Paid Social
    "Organic Social": (1, 80.0),  # C: Organic Social > Direct
    "Organic Shopping": (1, 25.0),  # D (the duplicate transaction counts once)
    "Referral": (1, 10.0),  # E (the purchase has no session; the earlier one is the touch)
}
LAST_TOUCH = {
    "Direct": (2, 130.0),  # A 50 + C 80
    "Paid Social": (2, 50.0),  # B 30 + 20
    "Organic Shopping": (1, 25.0),
    "Referral": (1, 10.0),
}


def credit(events, model):
    ch = at.attribute(events, model).channels.filter(pl.col("conversions") > 0)
    return {
        c: (round(n, 9), round(r, 9))
        for c, n, r in ch.select("channel", "conversions", "revenue").rows()
    }


def canonical(lf):
    return lf.collect().sort("user_id", "timestamp", "event", "channel", nulls_last=True)


@pytest.fixture(scope="module")
def ga4_parquet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ga4_parquet")
    write_daily_parquet(ga4_rows(), folder)
    return folder


def test_ga4_first_and_last_touch_by_channel_group_worked_by_hand(ga4_parquet):
    events = at.read_ga4(ga4_parquet)
    assert credit(events, "first_touch") == FIRST_TOUCH
    assert credit(events, "last_touch") == LAST_TOUCH


def test_ga4_events_one_touch_per_session_at_its_first_event(ga4_parquet):
    ev = canonical(at.read_ga4(ga4_parquet))
    assert ev.columns == ["user_id", "timestamp", "channel", "event", "revenue", "campaign"]
    assert ev.schema["user_id"] == pl.String
    assert ev.schema["timestamp"] == pl.Datetime("us", "UTC")
    touches = ev.filter(pl.col("event") == "touch")
    # 10 sessions, plus B's session again before its second purchase
    assert touches.height == 11
    b = touches.filter(pl.col("user_id") == B)
    assert b.select("timestamp", "channel").rows() == [
        (t(1, 8).replace(tzinfo=dt.timezone.utc), "Paid Search"),
        (t(1, 23, 50).replace(tzinfo=dt.timezone.utc), "Paid Social"),  # session start
        (t(2, 0, 20).replace(tzinfo=dt.timezone.utc), "Paid Social"),  # again, at purchase 2
    ]
    a = touches.filter(pl.col("user_id") == A)
    assert a["channel"].to_list() == ["Organic Search", "Email", "Direct"]
    assert a["campaign"].to_list() == [None, "spring", None]
    conv = ev.filter(pl.col("event") == "conversion")
    assert sorted(conv["revenue"].to_list()) == [10.0, 20.0, 25.0, 30.0, 50.0, 80.0]
    # the exact microsecond of the purchase is kept
    assert conv.filter(pl.col("user_id") == A)["timestamp"].dt.epoch("us").to_list() == [
        micros(t(3, 12, 5))
    ]
    # the session-less referral of C brings no touch
    assert touches.filter(pl.col("user_id") == C)["channel"].to_list() == [
        "Organic Social",
        "Direct",
    ]


def test_ga4_parquet_ndjson_glob_list_and_frame_agree(ga4_parquet, tmp_path):
    want = canonical(at.read_ga4(ga4_parquet))
    ndjson = write_daily_ndjson(ga4_rows(), tmp_path / "json")
    assert json.loads(ndjson[0].read_text().splitlines()[0])["event_timestamp"].isdigit()
    for source in (
        tmp_path / "json",
        str(tmp_path / "json" / "events_*.json"),
        sorted(ga4_parquet.glob("*.parquet")),
        ga4_frame(ga4_rows()),
        ga4_frame(ga4_rows()).lazy(),
        str(ga4_parquet / "events_2024030*.parquet"),
    ):
        # (the last one leaves out the February file, whose only event is session-less)
        assert canonical(at.read_ga4(source)).equals(want), source


def test_ga4_user_choices(ga4_parquet):
    by_id = canonical(at.read_ga4(ga4_parquet, user="user_id"))
    # only C's signed-in session (and purchase) have a user_id
    assert by_id.select("user_id", "channel", "event").rows() == [
        ("u-77", "Direct", "touch"),
        ("u-77", None, "conversion"),
    ]
    assert credit(by_id.lazy(), "first_touch") == {"Direct": (1, 80.0)}
    stitched = canonical(at.read_ga4(ga4_parquet, user="stitched"))
    # C's earlier session on the same device joins u-77's journey
    assert stitched.filter(pl.col("user_id") == "u-77")["channel"].to_list() == [
        "Organic Social",
        "Direct",
        None,
    ]
    assert sorted(stitched["user_id"].unique().to_list()) == sorted([A, B, D, E, F, "u-77"])
    assert credit(stitched.lazy(), "first_touch") == FIRST_TOUCH
    with pytest.raises(at.ValidationError, match="user='device' is not a GA4 user choice"):
        at.read_ga4(ga4_parquet, user="device")  # type: ignore[arg-type]


def test_ga4_duplicates_and_repeated_purchases(ga4_parquet):
    kept = canonical(at.read_ga4(ga4_parquet, dedupe_transactions=False))
    d = kept.filter(pl.col("user_id") == D)
    utc = dt.timezone.utc
    assert d.filter(pl.col("event") == "touch")["timestamp"].to_list() == [
        t(2, 14).replace(tzinfo=utc),  # the session
        t(2, 14, 5, 1).replace(tzinfo=utc),  # again, at the second purchase
    ]
    assert d.filter(pl.col("event") == "conversion").height == 2
    assert credit(kept.lazy(), "last_touch")["Organic Shopping"] == (2, 50.0)


def test_ga4_traffic_source_is_user_scoped_unless_asked():
    s = sid(t(5, 9))
    ts = {"source": "bing", "medium": "cpc", "name": "spring"}
    rows = [
        ga4_event(t(5, 9), "first_visit", "9.9", s, traffic_source=ts),
        ga4_event(t(5, 9), "session_start", "9.9", s, traffic_source=ts),
        ga4_event(t(6, 9), "session_start", "9.9", s + 86400, traffic_source=ts),
        ga4_event(t(6, 9, 1), "purchase", "9.9", s + 86400, revenue=5.0, traffic_source=ts),
    ]
    plain = canonical(at.read_ga4(ga4_frame(rows)))
    assert plain.filter(pl.col("event") == "touch")["channel"].to_list() == ["Direct", "Direct"]
    filled = canonical(at.read_ga4(ga4_frame(rows), first_session_fallback=True))
    touches = filled.filter(pl.col("event") == "touch")
    # only the session with first_visit takes the user's first source
    assert touches["channel"].to_list() == ["Paid Search", "Direct"]
    assert touches["campaign"].to_list() == ["spring", None]


def test_ga4_gclid_in_event_params_and_collected_source_first():
    s1, s2 = sid(t(7, 9)), sid(t(8, 9))
    rows = [
        # gclid as an event parameter: google / cpc, whatever the utm tags say
        ga4_event(t(7, 9), "page_view", "1.1", s1, params={"gclid": "abc", "campaign": "x"}),
        # collected_traffic_source wins over the event parameters, even on a later event
        ga4_event(
            t(8, 9), "session_start", "1.1", s2, params={"source": "newsletter", "medium": "email"}
        ),
        ga4_event(
            t(8, 9, 1),
            "page_view",
            "1.1",
            s2,
            collected={"manual_source": "Facebook", "manual_medium": "Social"},
        ),
    ]
    ev = canonical(at.read_ga4(ga4_frame(rows), validate=True))
    assert ev["channel"].to_list() == ["Paid Search", "Organic Social"]
    assert ev["campaign"].to_list() == ["x", None]


def test_ga4_session_traffic_source_last_click_gives_sessions_their_source(tmp_path):
    # the newer export's session-scoped record (Google: "To determine session traffic
    # source, use the session_traffic_source_last_click record"): manual_campaign
    # {source, medium, campaign_name}, google_ads_campaign {campaign_name, ...},
    # cross_channel_campaign {source, medium, campaign_name, ...}
    campaign = pl.Struct({"source": pl.String, "medium": pl.String, "campaign_name": pl.String})
    record = pl.Struct(
        {
            "manual_campaign": campaign,
            "google_ads_campaign": pl.Struct(
                {"customer_id": pl.String, "campaign_id": pl.String, "campaign_name": pl.String}
            ),
            "cross_channel_campaign": campaign,
        }
    )
    starts = [sid(t(10, h)) for h in (8, 9, 10, 11, 12)]
    rows, clicks = [], []
    cases = [
        # (collected_traffic_source, last click record, expected channel and campaign)
        (None, {"manual_campaign": {"source": "newsletter", "medium": "email",
                                    "campaign_name": "march"}}, ("Email", "march")),
        (None, {"google_ads_campaign": {"campaign_name": "brand"}}, ("Paid Search", "brand")),
        (None, {"cross_channel_campaign": {"source": "facebook", "medium": "paid_social",
                                           "campaign_name": None}}, ("Paid Social", None)),
        # the session's own collected source comes first
        ({"manual_source": "bing", "manual_medium": "organic"},
         {"manual_campaign": {"source": "newsletter", "medium": "email"}},
         ("Organic Search", None)),
        # an explicit (direct) carries no source
        (None, {"manual_campaign": {"source": "(direct)", "medium": "(none)"}}, ("Direct", None)),
    ]  # fmt: skip
    for start, (collected, click, _) in zip(starts, cases, strict=True):
        when = dt.datetime.fromtimestamp(start, dt.timezone.utc).replace(tzinfo=None)
        rows.append(ga4_event(when, "session_start", "1.1", start, collected=collected))
        clicks.append(click)
    frame = ga4_frame(rows).with_columns(
        pl.Series("session_traffic_source_last_click", clicks, dtype=record)
    )
    expected = [c for _, _, c in cases]
    frame.write_ndjson(tmp_path / "events_20240310.json")
    for source in (frame, tmp_path / "events_20240310.json"):
        ev = canonical(at.read_ga4(source))
        assert ev.select("channel", "campaign").rows() == expected
    # without the record, those sessions had no source: Direct
    old = canonical(at.read_ga4(frame.drop("session_traffic_source_last_click")))
    assert old["channel"].to_list() == ["Direct", "Direct", "Direct", "Organic Search", "Direct"]


def test_ga4_revenue_and_conversion_options():
    s = sid(t(9, 9))
    rows = [
        ga4_event(t(9, 9), "session_start", "1.1", s, params={"source": "bing", "medium": "cpc"}),
        ga4_event(t(9, 9, 1), "generate_lead", "1.1", s, params={"value": 7.5}),
        ga4_event(t(9, 9, 2), "purchase", "1.1", s, revenue=100.0, params={"value": 90.0}),
    ]
    frame = ga4_frame(rows)

    def conv_revenue(**kw):
        ev = canonical(at.read_ga4(frame, **kw))
        return ev.filter(pl.col("event") == "conversion")["revenue"].to_list()

    assert conv_revenue() == [100.0]
    assert conv_revenue(revenue="ecommerce.purchase_revenue_in_usd") == [pytest.approx(110.0)]
    assert conv_revenue(revenue="event_params.value") == [90.0]
    assert conv_revenue(revenue=None) == [0.0]
    assert conv_revenue(
        conversion_events=["generate_lead", "purchase"], revenue="event_params.value"
    ) == [7.5, 90.0]
    with pytest.raises(at.SchemaError, match=r"revenue field 'ecommerce.total' is not in"):
        at.read_ga4(frame, revenue="ecommerce.total")


def test_ga4_revenue_parameter_sent_as_text(tmp_path):
    # gtag sends value: "12.50" as text, which the export keeps in string_value (schema:
    # event_params.value.string_value): it is 12.5; text that is no number is refused, by
    # field, file and row, rather than read as no value (0)
    s = sid(t(9, 9))

    def export(value):
        return [
            ga4_event(
                t(9, 9), "session_start", "1.1", s, params={"source": "bing", "medium": "cpc"}
            ),
            ga4_event(t(9, 9, 2), "purchase", "1.1", s, params={"value": value}),
        ]

    for source in (ga4_frame(export(" 12.50 ")), write_daily_ndjson(export("12.50"), tmp_path)):
        ev = canonical(at.read_ga4(source, revenue="event_params.value"))
        assert ev.filter(pl.col("event") == "conversion")["revenue"].to_list() == [12.5]
    with pytest.raises(
        at.ValidationError,
        match=r"Field 'event_params.value' of the GA4 export has 1 values "
        r"that are not numbers \('12,50' at row 1\)",
    ):
        at.read_ga4(ga4_frame(export("12,50")), revenue="event_params.value")


def test_ga4_bad_exports_are_refused_by_name(tmp_path):
    rows = ga4_rows()[:3]
    with pytest.raises(at.SchemaError, match=r"Column 'user_pseudo_id' is missing from the GA4"):
        at.read_ga4(ga4_frame(rows).drop("user_pseudo_id"))
    with pytest.raises(at.SchemaError, match=r"user='user_id' needs it"):
        at.read_ga4(ga4_frame(rows).drop("user_id"), user="user_id")
    with pytest.raises(at.SchemaError, match=r"Column 'event_params' of the GA4 export has type"):
        at.read_ga4(ga4_frame(rows).with_columns(event_params=pl.lit("x")))
    with pytest.raises(at.SchemaError, match=r"'user_pseudo_id' .* has type Float64"):
        at.read_ga4(ga4_frame(rows).with_columns(user_pseudo_id=pl.lit(1.5)))
    bad = tmp_path / "events_20240301.json"
    lines = [
        json.dumps({"event_timestamp": v, "event_name": "page_view", "user_pseudo_id": "1"})
        for v in ("1709287200000000", "yesterday")
    ]
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'event_timestamp' of the GA4 export file '.*events_20240301.json' has 1 "
        r"values that are not whole numbers \('yesterday' at row 1\)",
    ):
        at.read_ga4(bad)
    array = tmp_path / "events_20240302.json"  # a JSON document, not one record per line
    array.write_text('{"rows": [\n  {"event_name": "page_view"}\n]}\n')
    with pytest.raises(
        at.ReadError,
        match=r"The GA4 export file '.*events_20240302.json' is not NDJSON: line 1 \(row 0\)",
    ):
        at.read_ga4(array)
    with pytest.raises(at.EmptyInputError, match=r"No GA4 export files match"):
        at.read_ga4(str(tmp_path / "nothing_*.parquet"))
    with pytest.raises(at.EmptyInputError, match=r"no sessions or conversions"):
        at.read_ga4(ga4_frame(rows).with_columns(user_pseudo_id=pl.lit(None, pl.String)))


# ------------------------------------------------------------------------------------------
# GA360

UA_CHANNELS = [
    "Organic Search",
    "Direct",
    "Referral",
    "Paid Search",
    "Affiliates",
    "Display",
    "Social",
    "(Other)",
]
SPECIAL_IDS = [
    "0253103469973976997",  # leading zero
    "253103469973976997",  # the same digits without it: another visitor
    "9816661942946332582",  # above 2^63
    "9816661942946332583",  # the same float64 as the one above
    "18446744073709551615",  # 20 digits, 2^64 - 1
    "0000000000000000001",
]


def ga360_sessions(seed=7, n_visitors=60):
    rng = np.random.default_rng(seed)
    ids = SPECIAL_IDS + [
        "".join(str(d) for d in rng.integers(0, 10, 19)) for _ in range(n_visitors - 6)
    ]
    sessions = []
    for visitor in ids:
        starts = 1_501_545_600 + np.sort(rng.choice(30 * 86_400, rng.integers(1, 7), replace=False))
        for start in starts:
            channel = UA_CHANNELS[rng.integers(len(UA_CHANNELS))]
            buys = rng.random() < 0.3
            tx = int(rng.choice([1, 1, 1, 2])) if buys else None
            rev = (
                int(rng.integers(1, 500)) * 1_000_000 + int(rng.integers(0, 100)) * 10_000
                if buys
                else None
            )
            sessions.append(
                ga360_session(
                    visitor,
                    int(start),
                    channel,
                    transactions=tx,
                    revenue_micros=rev,
                    hits=int(rng.integers(1, 4)),
                )
            )
    return sessions


def brute_force(sessions, model):
    """Per visitor, sessions in time order; a converting session closes the journey."""
    by_visitor = defaultdict(list)
    for s in sessions:
        by_visitor[s["fullVisitorId"]].append(s)
    out = defaultdict(lambda: [0.0, 0.0])
    for visits in by_visitor.values():
        journey = []
        for s in sorted(visits, key=lambda s: s["visitStartTime"]):
            journey.append(s["channelGrouping"])
            tx = s["totals"]["transactions"]
            if tx is None or tx <= 0:
                continue
            value = s["totals"]["totalTransactionRevenue"] / 1e6
            n = len(journey)
            if model == "first_touch":
                weights = [1.0] + [0.0] * (n - 1)
            elif model == "last_touch":
                weights = [0.0] * (n - 1) + [1.0]
            else:  # linear
                weights = [1.0 / n] * n
            for ch, w in zip(journey, weights, strict=True):
                out[ch][0] += w
                out[ch][1] += w * value
            journey = []
    return {c: (round(v[0], 9), round(v[1], 9)) for c, v in out.items() if v[0] > 0}


@pytest.fixture(scope="module")
def ga360_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("ga360") / "all_sessions.csv"
    ga360_hit_rows(ga360_sessions(), style="bare").write_csv(path)
    return path


def test_ga360_csv_with_19_digit_ids_and_null_flags_equals_a_brute_force(ga360_csv):
    text = ga360_csv.read_text()
    assert "0253103469973976997" in text and ",," in text  # ids as written, blank flags
    sessions = ga360_sessions()
    events = at.read_ga360(ga360_csv)
    ev = events.collect()
    # every visitor kept apart, ids exactly as written
    assert sorted(ev["user_id"].unique().to_list()) == sorted(
        {s["fullVisitorId"] for s in sessions}
    )
    assert ev.filter(pl.col("event") == "touch").height == len(sessions)
    n_conv = sum(1 for s in sessions if (s["totals"]["transactions"] or 0) > 0)
    assert ev.filter(pl.col("event") == "conversion").height == n_conv
    for model in ("first_touch", "last_touch", "linear"):
        assert credit(events, model) == brute_force(sessions, model), model


def test_ga360_layouts_agree(ga360_csv, tmp_path):
    want = canonical(at.read_ga360(ga360_csv))
    sessions = ga360_sessions()
    nested = ga360_frame(sessions)
    nested.write_parquet(tmp_path / "ga_sessions_20170801.parquet")
    ndjson = tmp_path / "ga_sessions_20170801.json"
    with ndjson.open("w") as f:
        for row in nested.to_dicts():  # BigQuery JSON: INT64 as text
            row["visitId"] = str(row["visitId"])
            row["visitStartTime"] = str(row["visitStartTime"])
            row["totals"] = {k: (None if v is None else str(v)) for k, v in row["totals"].items()}
            f.write(json.dumps(row) + "\n")
    for style in ("dot", "underscore"):
        ga360_hit_rows(sessions, style=style).write_csv(tmp_path / f"{style}.csv")
    kaggle = nested.select(
        "fullVisitorId",
        "visitId",
        "visitStartTime",
        "channelGrouping",
        pl.col("totals").struct.json_encode().alias("totals"),
        pl.col("trafficSource").struct.json_encode().alias("trafficSource"),
    )
    for source in (
        nested,
        tmp_path / "ga_sessions_20170801.parquet",
        ndjson,
        tmp_path / "dot.csv",
        tmp_path / "underscore.csv",
        kaggle,
    ):
        assert canonical(at.read_ga360(source)).equals(want), source


def test_ga360_hit_rows_take_session_totals_once():
    rows = [
        ga360_session(
            "0042", 1_501_600_000, "Referral", transactions=1, revenue_micros=30_500_000, hits=3
        )
    ]
    hits = ga360_hit_rows(rows, style="bare")
    assert hits.height == 3 and hits["totalTransactionRevenue"].to_list() == [30_500_000] * 3
    ev = at.read_ga360(hits).collect()
    assert ev.select("user_id", "event", "revenue").rows() == [
        ("0042", "touch", 0.0),
        ("0042", "conversion", 30.5),
    ]
    # an extract already in currency units
    scaled = hits.with_columns(pl.col("totalTransactionRevenue") / 1e6)
    assert at.read_ga360(scaled, revenue_scale=1).collect()["revenue"].to_list() == [0.0, 30.5]


def test_ga360_channel_rules_group_the_traffic_source():
    rows = [
        ga360_session("1", 1_501_600_000, "Organic Search", source="google", medium="organic"),
        ga360_session(
            "1",
            1_501_700_000,
            "Social",
            source="facebook",
            medium="cpc",
            transactions=1,
            revenue_micros=2_000_000,
        ),
    ]
    ev = canonical(at.read_ga360(ga360_frame(rows), channel_rules="ga4"))
    assert ev.filter(pl.col("event") == "touch")["channel"].to_list() == [
        "Organic Search",
        "Paid Social",
    ]
    assert ev["campaign"].unique().to_list() == ["(not set)"]
    mine = [("Search", "google|bing"), ("Other", None)]
    ev = canonical(at.read_ga360(ga360_frame(rows), channel_rules=mine))
    assert ev.filter(pl.col("event") == "touch")["channel"].to_list() == ["Search", "Other"]


def test_ga360_column_options_and_fallbacks():
    hits = ga360_hit_rows(
        [ga360_session("7", 1_501_600_000, "Direct", transactions=1, revenue_micros=1_000_000)],
        style="bare",
    )
    # no visitStartTime: visitId (the start time in GA360) is used
    no_start = canonical(at.read_ga360(hits.drop("visitStartTime")))
    assert no_start.equals(canonical(at.read_ga360(hits)))
    renamed = hits.rename({"fullVisitorId": "visitor", "transactions": "orders"})
    got = canonical(at.read_ga360(renamed, user_col="visitor", transactions_col="orders"))
    assert got.equals(canonical(at.read_ga360(hits)))
    # Kaggle's first extract has revenue but no transactions: revenue > 0 converts
    assert at.read_ga360(hits.drop("transactions")).collect()["event"].to_list() == [
        "touch",
        "conversion",
    ]
    with pytest.raises(at.SchemaError, match=r"no channel column .*channel_rules='ga4'"):
        at.read_ga360(hits.drop("channelGrouping"))
    with pytest.raises(at.SchemaError, match=r"Column 'visitor' \(user_col=\) is missing"):
        at.read_ga360(hits, user_col="visitor")


def test_ga360_hit_rows_with_a_null_channel_grouping_take_their_sessions(tmp_path):
    # hit-level extracts repeat the session's channelGrouping on every hit; a hit where it is
    # null (an extract's gap) belongs to the same session, whose channel is Referral
    path = tmp_path / "hits.csv"
    header = "fullVisitorId,visitId,visitStartTime,channelGrouping,transactions\n"
    path.write_text(
        header + "0001,1501600000,1501600000,,\n"
        "0001,1501600000,1501600000,Referral,\n"
        "0001,1501600000,1501600000,,\n"
        "0002,1501600100,1501600100,Direct,1\n"
    )
    ev = canonical(at.read_ga360(path))
    assert ev.select("user_id", "channel", "event").rows() == [
        ("0001", "Referral", "touch"),
        ("0002", "Direct", "conversion"),
        ("0002", "Direct", "touch"),
    ]
    # a session none of whose rows has one is refused; so is one whose rows disagree
    path.write_text(header + "0001,1501600000,1501600000,,\n0001,1501600000,1501600000,,\n")
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'channelGrouping' of the GA360 export file '.*hits.csv' has 1 sessions "
        r"without a channel grouping on any row \(row 0: fullVisitorId '0001', visitId "
        r"'1501600000'\)",
    ):
        at.read_ga360(path)
    path.write_text(
        header + "0001,1501600000,1501600000,Referral,\n0001,1501600000,1501600000,Direct,\n"
    )
    with pytest.raises(
        at.ValidationError,
        match=r"has 1 sessions whose rows disagree on the channel grouping \(row 0: fullVisitorId "
        r"'0001', visitId '1501600000': 'Referral', 'Direct'\)",
    ):
        at.read_ga360(path)


def test_ga360_files_that_cannot_be_read_are_named_by_line_and_column(tmp_path):
    # a Latin-1 byte and a row with a field too many were raw polars errors
    header = "fullVisitorId,visitId,visitStartTime,channelGrouping,transactions\n"
    path = tmp_path / "sessions.csv"
    path.write_bytes(
        header.encode() + b"0001,1501600000,1501600000,Direct,\n"
        b"0002,1501600000,1501600000,R\xe9f\xe9rence,1\n"
    )
    with pytest.raises(
        at.ReadError,
        match=r"The GA360 export file '.*sessions.csv' is not UTF-8 text: byte 0xe9 at line 3 "
        r"\(row 1\), column 'channelGrouping'",
    ):
        at.read_ga360(path)
    path.write_text(
        header + "0001,1501600000,1501600000,Direct,\n0002,1501600000,1501600000,Referral,1,9\n"
    )
    with pytest.raises(
        at.ReadError, match=r"has a row with more fields than its header: row 1 \(line 3\)"
    ):
        at.read_ga360([path])


def test_ga360_null_flags_convert_nothing_and_negative_flags_are_refused(tmp_path):
    path = tmp_path / "sessions.csv"
    path.write_text(
        "fullVisitorId,visitId,visitStartTime,channelGrouping,transactions,totalTransactionRevenue\n"
        "0001,1501600000,1501600000,Direct,,\n"
        "0001,1501700000,1501700000,Referral,0,\n"
        "0002,1501600000,1501600000,Direct,1,5000000\n"
    )
    ev = canonical(at.read_ga360(path))
    assert ev.filter(pl.col("event") == "conversion")["user_id"].to_list() == ["0002"]
    path.write_text(path.read_text() + "0003,1501600000,1501600000,Direct,-1,\n")
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'transactions' of the GA360 export file '.*sessions.csv' has 1 negative "
        r"values \(-1 at row 3\); transactions count",
    ):
        at.read_ga360(path)


def test_ga360_ids_a_spreadsheet_destroyed_are_counted_or_refused(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text(
        "fullVisitorId,visitId,visitStartTime,channelGrouping,transactions\n"
        "2.81772E+18,1501600000,1501600000,Direct,\n"
        "9.44E+18,1501600001,1501600001,Direct,1\n"
        "2.81772E+18,1501600002,1501600002,Referral,\n"
        "0123,1501600003,1501600003,Referral,\n"
    )
    # default: read as they are, with a warning counting the rounded ids and what is left of them
    with pytest.warns(
        at.DataQualityWarning,
        match=r"Column 'fullVisitorId' .* has 3 of 4 ids in scientific notation \('2.81772E\+18'"
        r" at row 0, '9.44E\+18' at row 1, '2.81772E\+18' at row 2\): a spreadsheet program "
        r"rounded them to 2 distinct values",
    ):
        events = at.read_ga360(path).collect()
    users = events.filter(pl.col("event") == "touch").group_by("user_id").len()
    assert dict(users.rows()) == {"2.81772E+18": 2, "9.44E+18": 1, "0123": 1}
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'fullVisitorId' .* has 3 ids in scientific notation \('2.81772E\+18' at "
        r"row 0, '9.44E\+18' at row 1, '2.81772E\+18' at row 2\); a spreadsheet program "
        r"rounded these ids",
    ):
        at.read_ga360(path, rounded_ids="raise")
    with pytest.raises(at.ValidationError, match="rounded_ids must be 'warn' or 'raise'"):
        at.read_ga360(path, rounded_ids="ignore")  # type: ignore[arg-type]
    exact = tmp_path / "exact.csv"
    text = path.read_text().replace("2.81772E+18", "2817720000000000001")
    exact.write_text(text.replace("9.44E+18", "9440000000000000000"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", at.DataQualityWarning)
        assert at.read_ga360(exact).collect().height == events.height
    floats = ga360_frame([ga360_session("1", 1_501_600_000, "Direct")]).with_columns(
        pl.col("fullVisitorId").cast(pl.Float64)
    )
    with pytest.raises(at.SchemaError, match=r"'fullVisitorId' .* has type Float64; expected ids"):
        at.read_ga360(floats)


# the 32 columns of the widely copied all_sessions.csv extract of the GA360 public sample (one
# row per hit or product; no visitStartTime; money in micro-units; blanks for nulls)
ALL_SESSIONS_COLUMNS = (
    "fullVisitorId,channelGrouping,time,country,city,totalTransactionRevenue,transactions,"
    "timeOnSite,pageviews,sessionQualityDim,date,visitId,type,productRefundAmount,"
    "productQuantity,productPrice,productRevenue,productSKU,v2ProductName,v2ProductCategory,"
    "productVariant,currencyCode,itemQuantity,itemRevenue,transactionRevenue,transactionId,"
    "pageTitle,searchKeyword,pagePathLevel1,eCommerceAction_type,eCommerceAction_step,"
    "eCommerceAction_option"
)


def test_ga360_all_sessions_extract_layout(tmp_path):
    def row(visitor, channel, visit, time_ms, revenue="", transactions="", product="GGOEGAAX0104"):
        values = dict.fromkeys(ALL_SESSIONS_COLUMNS.split(","), "")
        values |= {
            "fullVisitorId": visitor,
            "channelGrouping": channel,
            "time": str(time_ms),
            "country": "United States",
            "totalTransactionRevenue": revenue,
            "transactions": transactions,
            "date": "20170801",
            "visitId": str(visit),
            "type": "PAGE",
            "productPrice": "2990000",
            "productSKU": product,
            "currencyCode": "USD",
        }
        return ",".join(values.values())

    lines = [
        ALL_SESSIONS_COLUMNS,
        row("0811232283648281521", "Organic Search", 1501583974, 0),
        row("0811232283648281521", "Organic Search", 1501583974, 35000),
        # the buying visit: two product rows both carry the session's totals
        row("0811232283648281521", "Referral", 1501590000, 0, "305000000", "1"),
        row(
            "0811232283648281521", "Referral", 1501590000, 1200, "305000000", "1", "GGOEYFKQ020699"
        ),
        row("811232283648281521", "Direct", 1501590000, 0),  # no leading zero: someone else
    ]
    path = tmp_path / "all_sessions.csv"
    path.write_text("\n".join(lines) + "\n")
    ev = canonical(at.read_ga360(path))
    assert ev.select("user_id", "channel", "event", "revenue").rows() == [
        ("0811232283648281521", "Organic Search", "touch", 0.0),
        ("0811232283648281521", "Referral", "conversion", 305.0),
        ("0811232283648281521", "Referral", "touch", 0.0),
        ("811232283648281521", "Direct", "touch", 0.0),
    ]
    # the visit id is the start time (no visitStartTime column in this extract)
    assert ev["timestamp"].dt.epoch("s").to_list() == [
        1501583974,
        1501590000,
        1501590000,
        1501590000,
    ]


def test_ga360_pandas_ids_of_mixed_python_types_are_refused_by_name() -> None:
    frame = pd.DataFrame(
        {
            "fullVisitorId": pd.Series(["0012", 12], dtype=object),
            "visitStartTime": [1501583974, 1501583975],
            "channelGrouping": ["Direct", "Referral"],
            "totals.transactions": [None, 1],
        }
    )
    with pytest.raises(
        at.SchemaError, match=r"Column 'fullVisitorId' .*several types.*12 at row 1"
    ):
        at.read_ga360(frame)


def test_ga360_csv_with_semicolons_and_trailing_empty_lines(tmp_path) -> None:
    path = tmp_path / "ga_sessions.csv"
    path.write_text(
        "fullVisitorId;visitStartTime;channelGrouping;totals.transactions;"
        "totals.totalTransactionRevenue\r\n"
        "0253103469973976997;1501583974;Organic Search;;\r\n"
        "0253103469973976997;1501590000;Direct;1;30500000\r\n\r\n\r\n",
        newline="",
    )
    out = at.read_ga360(path).collect()
    start = dt.datetime.fromtimestamp(1501590000, dt.timezone.utc)
    assert out.select("user_id", "channel", "event", "revenue").rows() == [
        ("0253103469973976997", "Organic Search", "touch", 0.0),
        ("0253103469973976997", "Direct", "touch", 0.0),
        ("0253103469973976997", "Direct", "conversion", 30.5),
    ]
    assert out["timestamp"][-1] == start


def test_ga4_json_day_whose_ecommerce_is_null_everywhere_is_read(tmp_path):
    # BigQuery's JSON leaves null fields out; a day in which every event writes
    # "ecommerce": null (or one without any purchase) is typed Null, not a record
    day1 = [
        ga4_event(t(9, 9), "session_start", "1.1", 11, params={"source": "bing", "medium": "cpc"}),
        ga4_event(t(9, 9, 5), "page_view", "1.1", 11),
    ]
    day2 = [
        ga4_event(t(10, 9), "session_start", "1.1", 12, params={"medium": "email"}),
        ga4_event(t(10, 9, 1), "purchase", "1.1", 12, revenue=25.0, transaction_id="T1"),
    ]
    first = tmp_path / "events_20240309.json"
    first.write_text(
        "".join(
            json.dumps({**r, "event_timestamp": str(r["event_timestamp"])}) + "\n" for r in day1
        )
    )
    (second,) = write_daily_ndjson(day2, tmp_path / "b")
    ev = canonical(at.read_ga4([first, second]))
    assert ev.select("channel", "event", "revenue").rows() == [
        ("Paid Search", "touch", 0.0),
        ("Email", "touch", 0.0),
        (None, "conversion", 25.0),
    ]


def test_ga4_json_day_with_ecommerce_records_but_no_purchase_is_read(tmp_path):
    # a view_item's ecommerce has no purchase_revenue; BigQuery's JSON leaves it out
    view = ga4_event(t(9, 9, 5), "view_item", "1.1", 11, transaction_id="(not set)")
    view["ecommerce"] = {"total_item_quantity": 1, "unique_items": 1}
    rows = [ga4_event(t(9, 9), "session_start", "1.1", 11), view]
    (path,) = write_daily_ndjson(rows, tmp_path)
    ev = canonical(at.read_ga4(path))
    assert ev.select("channel", "event").rows() == [("Direct", "touch")]
    # with a purchase in the file, a missing field is the user's to name
    (bad,) = write_daily_ndjson([*rows, {**view, "event_name": "purchase"}], tmp_path / "p")
    with pytest.raises(at.SchemaError, match=r"revenue field 'ecommerce.purchase_revenue' is not"):
        at.read_ga4(bad)


def test_ga4_json_whose_event_params_are_all_empty_or_null_is_read(tmp_path):
    base = {"event_timestamp": "1700000000000000", "user_pseudo_id": "9.9"}
    empty = tmp_path / "empty.json"
    empty.write_text(
        json.dumps({**base, "event_name": "page_view", "event_params": []})
        + "\n"
        + json.dumps(
            {
                **base,
                "event_name": "purchase",
                "event_params": [],
                "ecommerce": {"purchase_revenue": 3.0},
            }
        )
        + "\n"
    )
    null_values = tmp_path / "null_values.json"
    null_values.write_text(
        json.dumps(
            {
                **base,
                "event_name": "purchase",
                "event_params": [{"key": "ga_session_id", "value": None}],
                "ecommerce": {"purchase_revenue": 3.0},
            }
        )
        + "\n"
    )
    for path in (empty, null_values):
        # no ga_session_id: no session, so no touch; the purchase still converts
        ev = canonical(at.read_ga4(path))
        assert ev.select("user_id", "event", "revenue").rows() == [("9.9", "conversion", 3.0)]


def test_ga4_revenue_text_that_is_not_a_number_is_refused_by_row(tmp_path):
    rows = [
        ga4_event(t(9, 9), "session_start", "1.1", 11),
        ga4_event(t(9, 9, 1), "purchase", "1.1", 11, revenue=1.0),
    ]
    (path,) = write_daily_ndjson(rows, tmp_path)
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["ecommerce"]["purchase_revenue"] = "12,50 EUR"
    path.write_text(lines[0] + "\n" + json.dumps(record) + "\n")
    with pytest.raises(
        at.ValidationError,
        match=r"Field 'ecommerce.purchase_revenue' of the GA4 export file .* 1 values that are "
        r"not numbers \('12,50 EUR' at row 1\)",
    ):
        at.read_ga4(path)


def test_ga4_null_event_timestamp_and_negative_revenue_name_the_file_field_and_row(tmp_path):
    rows = [
        ga4_event(t(9, 9), "session_start", "1.1", 11),
        ga4_event(t(9, 9, 1), "page_view", "1.1", 11),
        ga4_event(t(9, 9, 2), "purchase", "1.1", 11, revenue=-4.0),
    ]
    frame = ga4_frame(rows)
    with pytest.raises(
        at.ValidationError,
        match=r"Field 'ecommerce.purchase_revenue' of the GA4 export has 1 negative or "
        r"non-finite values on conversion events \(-4 at row 2\)",
    ):
        at.read_ga4(frame)
    # a refund-like negative value on an event that is not a conversion is not read
    ok = frame.with_columns(pl.Series("event_name", ["session_start", "page_view", "refund"]))
    assert canonical(at.read_ga4(ok))["event"].to_list() == ["touch"]
    # previously the event without a time was dropped and the session started later
    (path,) = write_daily_ndjson(rows[:2], tmp_path)
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    del first["event_timestamp"]
    path.write_text(json.dumps(first) + "\n" + lines[1] + "\n")
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'event_timestamp' of the GA4 export file .* has 1 nulls \(row 0\)",
    ):
        at.read_ga4(path)


def test_ga360_transactions_nan_is_refused_not_a_conversion(tmp_path):
    # NaN compares greater than every number: it used to make the session convert
    path = tmp_path / "s.csv"
    path.write_text(
        "fullVisitorId,visitStartTime,channelGrouping,totals.transactions\n"
        "1,1501583974,Direct,\n2,1501583975,Referral,NaN\n"
    )
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'totals.transactions' of the GA360 export file .* 1 "
        r"NaN or infinite values \(nan at row 1\)",
    ):
        at.read_ga360(path)


@pytest.mark.parametrize("factor", [1_000, 1_000_000])
def test_ga360_start_times_in_a_smaller_unit_name_the_column_and_value(tmp_path, factor):
    path = tmp_path / "s.csv"
    value = 1501583974 * factor
    path.write_text(
        "fullVisitorId,visitStartTime,channelGrouping,totals.transactions\n"
        f"1,1501583974,Direct,\n2,{value},Referral,1\n"
    )
    with pytest.raises(
        at.ValidationError,
        match=rf"Column 'visitStartTime' of the GA360 export file .* 1 times beyond the year "
        rf"9999 when read as epoch s \('{value}' at row 1\)",
    ):
        at.read_ga360(path)
    unit = {1_000: "ms", 1_000_000: "us"}[factor]
    path.write_text(
        f"fullVisitorId,visitStartTime,channelGrouping,totals.transactions\n2,{value},Referral,1\n"
    )
    ev = at.read_ga360(path, epoch_unit=unit).collect()
    assert (
        ev["timestamp"].to_list()
        == [dt.datetime(2017, 8, 1, 10, 39, 34, tzinfo=dt.timezone.utc)] * 2
    )


def test_ga_whole_decimals_are_read_as_integers():
    # BigQuery's NUMERIC arrives as a decimal without fraction
    frame = ga4_frame(
        [
            ga4_event(t(9, 9), "session_start", "1.1", 11, params={"medium": "email"}),
            ga4_event(t(9, 9, 1), "purchase", "1.1", 11, revenue=5.0),
        ]
    ).with_columns(pl.col("event_timestamp").cast(pl.Decimal(20, 0)))
    ev = canonical(at.read_ga4(frame))
    assert ev["timestamp"].to_list() == [
        t(9, 9).replace(tzinfo=dt.timezone.utc),
        t(9, 9, 1).replace(tzinfo=dt.timezone.utc),
    ]
    sessions = pl.DataFrame(
        {
            "fullVisitorId": pl.Series(["18446744073709551617"]).cast(pl.Decimal(38, 0)),
            "visitStartTime": pl.Series([1501583974]).cast(pl.Decimal(20, 0)),
            "channelGrouping": ["Direct"],
            "totals.transactions": [1],
        }
    )
    ev = at.read_ga360(sessions).collect()
    assert ev["user_id"].to_list() == ["18446744073709551617"] * 2
    assert ev["timestamp"][0] == dt.datetime.fromtimestamp(1501583974, dt.timezone.utc)


def test_ga360_totals_as_json_text_that_is_not_json_is_refused_by_row(tmp_path):
    # Kaggle's extract writes totals as JSON text; a broken record read as "no transaction"
    good = json.dumps({"visits": "1", "transactions": "1", "totalTransactionRevenue": "2000000"})
    path = tmp_path / "train.csv"
    frame = pl.DataFrame(
        {
            "fullVisitorId": ["0014262055593378383", "0014262055593378383"],
            "visitStartTime": ["1472880147", "1472900000"],
            "channelGrouping": ["Referral", "Direct"],
            "totals": [good, '{"visits": "1", "transactions": "1"'],
        }
    )
    frame.write_csv(path)
    with pytest.raises(
        at.ValidationError,
        match=r"Column 'totals' of the GA360 export file .* 1 values that are not JSON records "
        r"\('\{\"visits\": \"1\", \"transactions\": \"1\"' at row 1\)",
    ):
        at.read_ga360(path)
    frame.with_columns(pl.lit(good).alias("totals")).write_csv(path)
    ev = at.read_ga360(path).collect()
    assert ev.filter(pl.col("event") == "conversion")["revenue"].to_list() == [2.0, 2.0]


def test_ga360_time_col_of_days_or_iso_text_is_not_read_as_epoch_seconds(tmp_path):
    # 20170801 as epoch seconds is 1970-08-22: GA's date column used to be read so
    path = tmp_path / "sessions.csv"
    path.write_text(
        "fullVisitorId,date,channelGrouping,totals.transactions\n"
        "1,20170801,Direct,\n1,20170802,Referral,1\n"
    )
    ev = at.read_ga360(path, time_col="date").collect()
    day1 = dt.datetime(2017, 8, 1, tzinfo=dt.timezone.utc)
    day2 = day1 + dt.timedelta(days=1)
    assert ev["timestamp"].to_list() == [day1, day2, day2]  # the conversion with its touch
    as_ints = pl.read_csv(path, schema_overrides={"fullVisitorId": pl.String})
    assert at.read_ga360(as_ints, time_col="date").collect()["timestamp"].to_list() == (
        ev["timestamp"].to_list()
    )
    iso = as_ints.with_columns(ts=pl.Series(["2017-08-01T10:00:00Z", "2017-08-02 11:30"]))
    got = at.read_ga360(iso, time_col="ts").collect()["timestamp"].to_list()
    assert got[:2] == [
        day1 + dt.timedelta(hours=10),
        day1 + dt.timedelta(days=1, hours=11, minutes=30),
    ]


@pytest.mark.parametrize("factor", [10**-6, 10**-3, 10**3])
def test_ga4_event_timestamps_in_another_unit_are_refused(factor):
    # seconds read as microseconds fell in the first hour of 1970, silently
    when = micros(t(9, 9))
    value = int(when * factor)
    frame = ga4_frame([ga4_event(t(9, 9), "purchase", "1.1", 11, revenue=2.0)]).with_columns(
        pl.lit(value, pl.Int64).alias("event_timestamp")
    )
    with pytest.raises(
        at.ValidationError,
        match=rf"Column 'event_timestamp' of the GA4 export has 1 values outside 1973-5138 "
        rf"when read as microseconds \(GA4's unit\) \({value} at row 0\)",
    ):
        at.read_ga4(frame)


def test_ga_export_folders_skip_hidden_and_underscore_files(tmp_path):
    rows = [
        ga4_event(t(9, 9), "session_start", "1.1", 11, params={"medium": "email"}),
        ga4_event(t(9, 9, 1), "purchase", "1.1", 11, revenue=5.0),
    ]
    write_daily_ndjson(rows, tmp_path)
    (tmp_path / "._events_20240309.json").write_bytes(b"\x00\x05\x16\x07 resource fork")
    ev = canonical(at.read_ga4(tmp_path))
    assert ev.select("channel", "event", "revenue").rows() == [
        ("Email", "touch", 0.0),
        (None, "conversion", 5.0),
    ]


def test_ga4_json_day_without_any_signed_in_user_is_read_with_user_ids(tmp_path):
    # BigQuery's JSON leaves null fields out: a day on which nobody signed in has no user_id
    day1 = [
        ga4_event(t(9, 9), "session_start", "1.1", 11, params={"medium": "email"}),
    ]
    day2 = [
        ga4_event(
            t(10, 9),
            "session_start",
            "1.1",
            12,
            user_id="u1",
            params={"medium": "cpc", "source": "bing"},
        ),
        ga4_event(t(10, 9, 1), "purchase", "1.1", 12, user_id="u1", revenue=8.0),
    ]
    paths = write_daily_ndjson(day1 + day2, tmp_path)
    assert "user_id" not in paths[0].read_text()
    ev = canonical(at.read_ga4(tmp_path, user="stitched"))
    # stitched: the device's first user_id covers its anonymous day too
    assert ev.select("user_id", "channel", "event").rows() == [
        ("u1", "Email", "touch"),
        ("u1", "Paid Search", "touch"),
        ("u1", None, "conversion"),
    ]
    ev = canonical(at.read_ga4(tmp_path, user="user_id"))
    assert ev.select("user_id", "channel", "event").rows() == [
        ("u1", "Paid Search", "touch"),
        ("u1", None, "conversion"),
    ]
    with pytest.raises(at.SchemaError, match=r"Column 'user_id' is missing from the GA4 export"):
        at.read_ga4(paths[0], user="user_id")


def test_ga360_json_day_without_any_transaction_is_read(tmp_path):
    # BigQuery's JSON leaves null fields out: on a day without a transaction, totals has no
    # transactions field, which used to refuse the file ("neither a transactions nor ...")
    day1 = {
        "fullVisitorId": "0123",
        "visitId": "1",
        "visitStartTime": "1501583974",
        "channelGrouping": "Direct",
        "totals": {"visits": "1", "hits": "3"},
    }
    day2 = {
        "fullVisitorId": "0123",
        "visitId": "2",
        "visitStartTime": "1501670374",
        "channelGrouping": "Referral",
        "totals": {"visits": "1", "transactions": "1", "totalTransactionRevenue": "2500000"},
    }
    for name, row in (("ga_sessions_20170801.json", day1), ("ga_sessions_20170802.json", day2)):
        (tmp_path / name).write_text(json.dumps(row) + "\n")
    ev = at.read_ga360(tmp_path).collect()
    assert ev.select("channel", "event", "revenue").rows() == [
        ("Direct", "touch", 0.0),
        ("Referral", "touch", 0.0),
        ("Referral", "conversion", 2.5),
    ]


def test_ga4_json_day_of_cookieless_pings_only_is_left_out_not_refused(tmp_path):
    # consent mode: events without user_pseudo_id; in BigQuery's JSON a day of only such
    # events has no user_pseudo_id column, which used to refuse the whole export
    cookieless = ga4_event(t(9, 9), "page_view", None, 11)
    (first,) = write_daily_ndjson([cookieless], tmp_path / "a")
    assert "user_pseudo_id" not in first.read_text()
    rows = [
        ga4_event(t(10, 9), "session_start", "1.1", 12, params={"medium": "email"}),
        ga4_event(t(10, 9, 1), "purchase", "1.1", 12, revenue=4.0),
    ]
    (second,) = write_daily_ndjson(rows, tmp_path / "b")
    ev = canonical(at.read_ga4([first, second]))
    assert ev.select("user_id", "channel", "event", "revenue").rows() == [
        ("1.1", "Email", "touch", 0.0),
        ("1.1", None, "conversion", 4.0),
    ]
    with pytest.raises(at.SchemaError, match=r"Column 'user_pseudo_id' is missing from the GA4"):
        at.read_ga4(first)
