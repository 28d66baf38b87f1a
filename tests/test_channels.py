"""GA4 default channel groups and user rule tables (attribution.channels).

Reference: Google's rules for manual traffic in "[GA4] Default channel group"
(https://support.google.com/analytics/answer/9756891), worked out by hand below for each pair,
and a second, row-by-row implementation of the same published rules written in this file with
Python's ``re`` (``_google_rules``).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
from importlib import resources

import polars as pl
import pytest

import attribution as at
from attribution.channels import CHANNEL_GROUPS, ga4_rules, rule_table, source_categories

PAID = r"^(.*cp.*|ppc|retargeting|paid.*)$"
SHOP = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"

# (source, medium, campaign, expected channel, the rule of Google's table that decides it)
HAND_WORKED = [
    ("(direct)", "(none)", None, "Direct", "1: source (direct), medium (none)"),
    ("(direct)", "(not set)", None, "Direct", "1: source (direct), medium (not set)"),
    (
        "google",
        "cpc",
        "pmax_cross-network_q3",
        "Cross-network",
        "2: campaign contains cross-network (before 4)",
    ),
    ("amazon", "cpc", None, "Paid Shopping", "3: amazon is a shopping site, cpc matches " + PAID),
    (
        "newsletter",
        "ppc",
        "spring_shop",
        "Paid Shopping",
        "3: '_shop' matches " + SHOP + " ('_' is [^a-df-z]), ppc is paid",
    ),
    (
        "partner.example",
        "cpc",
        "eshop_launch",
        "Paid Shopping",
        "3: 'eshop' matches the shop regex ('e' is in [^a-df-z])",
    ),
    ("google", "cpc", None, "Paid Search", "4: google is a search site, cpc is paid"),
    (
        "bing",
        "paid_search",
        None,
        "Paid Search",
        "4: bing is a search site, paid_search matches paid.*",
    ),
    (
        "google",
        "cpm",
        None,
        "Paid Search",
        "4 before 7: cpm matches .*cp.* and google is a search site",
    ),
    ("facebook", "paid", None, "Paid Social", "5: facebook is a social site, paid matches paid.*"),
    ("t.co", "retargeting", None, "Paid Social", "5: t.co is a social site, retargeting is paid"),
    ("youtube", "cpv", None, "Paid Video", "6: youtube is a video site, cpv matches .*cp.*"),
    ("publisher.example", "display", None, "Display", "7: medium display"),
    ("publisher.example", "cpm", None, "Display", "7 before 8: cpm is in Display's list"),
    ("publisher.example", "banner", None, "Display", "7: medium banner"),
    ("partner.example", "cpc", None, "Paid Other", "8: cpc is paid, the source is on no list"),
    (
        "newsletter",
        "cpc",
        "workshop_promo",
        "Paid Other",
        "8: 'kshop' does not match the shop regex ('k' is in a-d,f-z)",
    ),
    ("ebay", "referral", None, "Organic Shopping", "9 before 13: ebay is a shopping site"),
    (
        "blog.example",
        "referral",
        "black_friday_shopping",
        "Organic Shopping",
        "9: campaign contains shopping",
    ),
    ("instagram", "referral", None, "Organic Social", "10 before 13: instagram is a social site"),
    ("forum.example", "social", None, "Organic Social", "10: medium social"),
    ("forum.example", "social network", None, "Organic Social", "10: medium 'social network'"),
    ("vimeo", "referral", None, "Organic Video", "11 before 13: vimeo is a video site"),
    ("player.example", "video", None, "Organic Video", "11: medium matches ^(.*video.*)$"),
    ("duckduckgo", "referral", None, "Organic Search", "12 before 13: duckduckgo is a search site"),
    ("search.example", "organic", None, "Organic Search", "12: medium organic"),
    (
        "google",
        "(none)",
        None,
        "Organic Search",
        "12: google is a search site (medium does not matter)",
    ),
    ("blog.example", "referral", None, "Referral", "13: medium referral"),
    ("app.example", "app", None, "Referral", "13: medium app"),
    ("partner.example", "link", None, "Referral", "13: medium link"),
    ("newsletter", "email", None, "Email", "14: medium email"),
    ("e-mail", "(not set)", None, "Email", "14: source e-mail"),
    ("crm.example", "e mail", None, "Email", "14: medium 'e mail'"),
    ("partner.example", "affiliate", None, "Affiliates", "15: medium affiliate"),
    ("podcast.example", "audio", None, "Audio", "16: medium audio"),
    ("sms", "(not set)", None, "SMS", "17: source sms"),
    ("gateway.example", "sms", None, "SMS", "17: medium sms"),
    ("app.example", "web_push", None, "Mobile Push Notifications", "18: medium ends with push"),
    ("app.example", "mobile", None, "Mobile Push Notifications", "18: medium contains mobile"),
    (
        "app.example",
        "notification_daily",
        None,
        "Mobile Push Notifications",
        "18: medium contains notification",
    ),
    ("firebase", "(not set)", None, "Mobile Push Notifications", "18: source firebase"),
    ("blog.example", "(not set)", None, "Unassigned", "19: no rule matches"),
    ("(not set)", "(not set)", None, "Unassigned", "19: (not set) is not (direct)"),
    (
        "newsletter",
        "newsletter_email",
        None,
        "Unassigned",
        "14 is an exact match: newsletter_email is not email",
    ),
    ("google.com", "referral", None, "Referral", "google.com is not on Google's search list (13)"),
]


def groups(rows, rules="ga4"):
    df = pl.DataFrame(
        [r[:3] for r in rows],
        schema=dict.fromkeys(["source", "medium", "campaign"], pl.String),
        orient="row",
    )
    return df.select(at.channel_group("source", "medium", "campaign", rules=rules)).to_series()


@pytest.mark.parametrize("row", HAND_WORKED, ids=[f"{r[0]}/{r[1]}/{r[2]}" for r in HAND_WORKED])
def test_channel_group_matches_googles_published_rules(row):
    assert groups([row]).to_list() == [row[3]], row[4]


def test_every_default_channel_group_is_reached():
    reached = set(r[3] for r in HAND_WORKED)
    assert reached == set(CHANNEL_GROUPS)


def test_case_and_blanks_are_ignored():
    rows = [
        ("GOOGLE", "CPC", None),  # Paid Search
        ("Google Shopping", "Cpc", None),  # on the list as "Google Shopping": Paid Shopping
        ("igshopping", "CPC", None),  # listed as "IGShopping"
        ("  Facebook ", " Referral", None),  # Organic Social
        ("News", "EMAIL", None),
        ("(DIRECT)", "(None)", None),
        ("Partner", "CPC", "Summer_SHOP"),
    ]
    assert groups(rows).to_list() == [
        "Paid Search",
        "Paid Shopping",
        "Paid Shopping",
        "Organic Social",
        "Email",
        "Direct",
        "Paid Shopping",
    ]


def test_missing_values_read_as_ga4_writes_them():
    rows = [
        (None, None, None),  # (direct) / (none)
        ("", "  ", None),  # blanks are missing
        ("(direct)", None, None),  # medium (not set): still Direct
        (None, "(none)", None),  # source (not set): no rule
        ("google", None, None),  # search site: Organic Search
        (None, "cpc", None),  # (not set) / cpc: Paid Other
        (None, None, "cross-network-summer"),  # (direct)/(none): rule 1 before rule 2
        ("(not set)", None, "cross-network-summer"),  # not direct: Cross-network
    ]
    assert groups(rows).to_list() == [
        "Direct",
        "Direct",
        "Direct",
        "Unassigned",
        "Organic Search",
        "Paid Other",
        "Direct",
        "Cross-network",
    ]


def test_campaign_is_optional():
    df = pl.DataFrame({"s": ["amazon", "google"], "m": ["cpc", "cpc"]})
    out = df.select(at.channel_group("s", "m")).to_series().to_list()
    assert out == ["Paid Shopping", "Paid Search"]


def test_arguments_may_be_expressions_and_categoricals_and_lazy_equals_eager():
    df = pl.DataFrame(
        {
            "utm": ["google|cpc", "newsletter|email", "ebay|referral"],
            "cat_source": pl.Series(["google", "newsletter", "ebay"], dtype=pl.Categorical),
            "cat_medium": pl.Series(["cpc", "email", "referral"], dtype=pl.Categorical),
        }
    )
    src = pl.col("utm").str.split("|").list.get(0)
    med = pl.col("utm").str.split("|").list.get(1)
    expected = ["Paid Search", "Email", "Organic Shopping"]
    assert df.select(at.channel_group(src, med)).to_series().to_list() == expected
    cats = at.channel_group("cat_source", "cat_medium")
    assert df.select(cats).to_series().to_list() == expected
    lazy = df.lazy().with_columns(cats).filter(pl.col("channel_group") != "Email").collect()
    assert lazy["channel_group"].to_list() == ["Paid Search", "Organic Shopping"]
    assert df.select(cats.alias("channel")).columns == ["channel"]


@functools.cache
def _site_lists():
    cats = source_categories()
    return {
        c: {s.lower() for s in cats.filter(pl.col("category") == c)["source"]}
        for c in ("search", "social", "video", "shopping")
    }


def _google_rules(source, medium, campaign):
    """Google's table, rule by rule, with Python's re (case folded, missing values as GA4)."""
    lists = _site_lists()

    def clean(v):
        v = None if v is None else v.strip().lower()
        return v or None

    s, m, c = clean(source), clean(medium), clean(campaign)
    if s is None and m is None:
        s, m = "(direct)", "(none)"
    s, m, c = s or "(not set)", m or "(not set)", c or "(not set)"
    paid = re.fullmatch(PAID, m) is not None
    shop_campaign = re.fullmatch(SHOP, c) is not None
    if s == "(direct)" and m in ("(not set)", "(none)"):
        return "Direct"
    if "cross-network" in c:
        return "Cross-network"
    if (s in lists["shopping"] or shop_campaign) and paid:
        return "Paid Shopping"
    if s in lists["search"] and paid:
        return "Paid Search"
    if s in lists["social"] and paid:
        return "Paid Social"
    if s in lists["video"] and paid:
        return "Paid Video"
    if m in ("display", "banner", "expandable", "interstitial", "cpm"):
        return "Display"
    if paid:
        return "Paid Other"
    if s in lists["shopping"] or shop_campaign:
        return "Organic Shopping"
    social_media = (
        "social",
        "social-network",
        "social-media",
        "sm",
        "social network",
        "social media",
    )
    if s in lists["social"] or m in social_media:
        return "Organic Social"
    if s in lists["video"] or re.fullmatch(r"^(.*video.*)$", m):
        return "Organic Video"
    if s in lists["search"] or m == "organic":
        return "Organic Search"
    if m in ("referral", "app", "link"):
        return "Referral"
    email = ("email", "e-mail", "e_mail", "e mail")
    if s in email or m in email:
        return "Email"
    if m == "affiliate":
        return "Affiliates"
    if m == "audio":
        return "Audio"
    if s == "sms" or m == "sms":
        return "SMS"
    if m.endswith("push") or "mobile" in m or "notification" in m or s == "firebase":
        return "Mobile Push Notifications"
    return "Unassigned"


def test_agrees_with_a_rule_by_rule_implementation_on_a_grid():
    sources = [
        None,
        "",
        "(direct)",
        "(not set)",
        "Google",
        "bing",
        "facebook",
        "m.facebook.com",
        "t.co",
        "youtube",
        "netflix",
        "amazon",
        "Google Shopping",
        "walmart",
        "newsletter",
        "email",
        "e_mail",
        "sms",
        "firebase",
        "blog.example",
        "google.com",
    ]
    media = [
        None,
        "(none)",
        "(not set)",
        "cpc",
        "CPM",
        "ppc",
        "retargeting",
        "paid_social",
        "display",
        "interstitial",
        "organic",
        "referral",
        "link",
        "app",
        "social",
        "sm",
        "video_ads",
        "email",
        "e-mail",
        "affiliate",
        "audio",
        "sms",
        "push",
        "mobile_app",
        "notification",
        "cpv",
        "newsletter",
    ]
    campaigns = [None, "(not set)", "summer_shop", "workshop", "shopping_days", "x-cross-network"]
    rows = list(itertools.product(sources, media, campaigns))
    got = groups(rows).to_list()
    want = [_google_rules(*r) for r in rows]
    mismatches = [(r, g, w) for r, g, w in zip(rows, got, want, strict=True) if g != w]
    assert mismatches == []
    assert set(want) >= set(CHANNEL_GROUPS) - {"Unassigned"}


def test_bundled_source_categories_are_googles_list_as_published():
    cats = source_categories()
    counts = dict(cats.group_by("category").len().iter_rows())
    # 819 rows (revenuescope.jp describes Google's spreadsheet as 819 rows; dbt-ga4's copy)
    assert cats.height == 819
    assert counts == {"social": 592, "search": 129, "shopping": 52, "video": 46}
    assert cats["source"].str.to_lowercase().n_unique() == 819
    # the data rows are byte for byte the copy whose hash was recorded when it was fetched
    text = resources.files("attribution").joinpath("data", "ga4_source_categories.csv").read_text()
    data = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))
    digest = hashlib.sha256(data.encode()).hexdigest()
    assert digest == "ca1c0e9aa2196688dfffd13fb87e93ebcbd0218267b1d5118663dbed6ac24bfa"
    assert "Copyright (c) 2022 Adam Ribaudo" in text
    licence = resources.files("attribution").joinpath("data", "LICENSE-dbt-ga4").read_text()
    assert "MIT License" in licence and "Adam Ribaudo" in licence


def test_ga4_rules_table_is_googles_order():
    table = ga4_rules()
    order = table["channel"].unique(maintain_order=True).to_list()
    assert order == [c for c in CHANNEL_GROUPS if c != "Unassigned"]
    assert table.columns == ["channel", "source", "medium", "campaign"]


# ------------------------------------------------------------------------------------------
# rule tables of the user's own


def test_user_rule_table_first_match_wins_full_match_ignoring_case():
    rules = [
        ("Brand search", "google|bing", "cpc", r".*brand.*"),
        ("Search ads", "google|bing", "cpc"),
        ("Newsletter", None, "e-?mail"),
        ("Everything else", None, None, None),
    ]
    rows = [
        ("Google", "CPC", "UK_Brand_2024"),
        ("google", "cpc", "generic"),
        ("google.com", "cpc", "brand"),  # "google" must match the whole source
        ("news", "EMAIL", None),
        ("news", "e-mail", None),
        (None, None, None),
    ]
    assert groups(rows, rules).to_list() == [
        "Brand search",
        "Search ads",
        "Everything else",
        "Newsletter",
        "Newsletter",
        "Everything else",
    ]
    # the order of rows decides: the generic rule first takes the brand campaign too
    assert groups(rows[:1], [rules[1], rules[0]]).to_list() == ["Search ads"]


def test_user_rule_table_forms_agree_and_unmatched_is_unassigned():
    as_tuples = [("Paid", None, "cpc|ppc"), ("Mail", "newsletter", None)]
    as_dicts = [
        {"channel": "Paid", "medium": "cpc|ppc"},
        {"channel": "Mail", "source": "newsletter"},
    ]
    as_frame = pl.DataFrame(
        {"channel": ["Paid", "Mail"], "source": [None, "newsletter"], "medium": ["cpc|ppc", None]}
    )
    rows = [("x", "ppc", None), ("newsletter", "email", None), ("x", "organic", None)]
    want = ["Paid", "Mail", "Unassigned"]
    for rules in (as_tuples, as_dicts, as_frame):
        assert groups(rows, rules).to_list() == want
        assert rule_table(rules).columns == ["channel", "source", "medium", "campaign"]


def test_user_rows_can_extend_the_ga4_rules():
    mine = pl.DataFrame(
        {"channel": ["Newsletter"], "source": [None], "medium": [".*email.*"], "campaign": [None]},
        schema=dict.fromkeys(ga4_rules().columns, pl.String),
    )
    rules = pl.concat([mine, ga4_rules()])
    rows = [("news", "newsletter_email", None), ("google", "organic", None)]
    assert groups(rows, rules).to_list() == ["Newsletter", "Organic Search"]


def test_bad_rule_tables_are_refused_by_name():
    with pytest.raises(at.ValidationError, match=r"rules='ga3' is not a rule set"):
        at.channel_group("s", "m", rules="ga3")
    with pytest.raises(at.ValidationError, match=r"row 1 \('B'\) has medium pattern '\(cpc'"):
        at.channel_group("s", "m", rules=[("A", "x"), ("B", None, "(cpc")])
    with pytest.raises(at.ValidationError, match=r"row 0 has no channel"):
        at.channel_group("s", "m", rules=[(None, "x")])
    with pytest.raises(at.SchemaError, match=r"unknown columns \['sauce'\]"):
        at.channel_group("s", "m", rules=pl.DataFrame({"channel": ["a"], "sauce": ["x"]}))
    with pytest.raises(at.SchemaError, match=r"no 'channel' column"):
        at.channel_group("s", "m", rules=pl.DataFrame({"source": ["x"]}))
    with pytest.raises(at.SchemaError, match=r"row 0 is .*expected \(channel, source"):
        at.channel_group("s", "m", rules=[("a", "b", "c", "d", "e")])


# ------------------------------------------------------------------------------------------
# read_events with source / medium / campaign columns


def utm_log():
    return pl.DataFrame(
        {
            "uid": [1, 1, 1, 2, 2, 2],
            "ts": [
                "2024-03-01T10:00:00Z",
                "2024-03-02T10:00:00Z",
                "2024-03-03T10:00:00Z",
                "2024-03-01T09:00:00Z",
                "2024-03-04T09:00:00Z",
                "2024-03-04T09:30:00Z",
            ],
            "utm_source": ["google", "newsletter", None, "amazon", "facebook", None],
            "utm_medium": ["organic", "email", None, "cpc", "paid", None],
            "utm_campaign": [None, "march", None, None, "spring", None],
            "kind": ["touch", "touch", "conversion", "touch", "touch", "conversion"],
            "value": [None, None, 20.0, None, None, 15.0],
        }
    )


def test_read_events_takes_source_medium_campaign_in_place_of_a_channel():
    ev = at.read_events(
        utm_log(),
        user_col="uid",
        time_col="ts",
        source_col="utm_source",
        medium_col="utm_medium",
        campaign_col="utm_campaign",
        event_col="kind",
        revenue_col="value",
    ).collect()
    touches = ev.filter(pl.col("event") == "touch")
    assert touches["channel"].to_list() == [
        "Organic Search",
        "Email",
        "Paid Shopping",
        "Paid Social",
    ]
    assert touches["campaign"].to_list() == [None, "march", None, "spring"]
    assert ev.columns == ["user_id", "timestamp", "channel", "event", "revenue", "campaign"]
    result = at.attribute(ev, "last_touch")
    credit = dict(result.channels.select("channel", "revenue").iter_rows())
    assert credit["Email"] == 20.0 and credit["Paid Social"] == 15.0


def test_read_events_channel_rules_and_two_tables():
    log = utm_log()
    touches = log.filter(pl.col("kind") == "touch").drop("kind", "value")
    convs = log.filter(pl.col("kind") == "conversion").select("uid", "ts", "value")
    rules = [("Paid", None, "cpc|paid"), ("Owned", "newsletter")]
    ev = at.read_events(
        touches,
        user_col="uid",
        time_col="ts",
        source_col="utm_source",
        medium_col="utm_medium",
        channel_rules=rules,
        conversions=convs,
        revenue_col="value",
    ).collect()
    assert ev.filter(pl.col("event") == "touch")["channel"].to_list() == [
        "Unassigned",
        "Owned",
        "Paid",
        "Paid",
    ]
    assert ev.filter(pl.col("event") == "conversion")["revenue"].to_list() == [20.0, 15.0]


def test_read_events_source_columns_are_checked():
    log = utm_log()
    with pytest.raises(at.SchemaError, match=r"pass both source_col= and medium_col="):
        at.read_events(
            log, user_col="uid", time_col="ts", source_col="utm_source", event_col="kind"
        )
    with pytest.raises(at.SchemaError, match=r"Column 'utm_term' is missing"):
        at.read_events(
            log,
            user_col="uid",
            time_col="ts",
            source_col="utm_source",
            medium_col="utm_term",
            event_col="kind",
        )
    with pytest.raises(at.SchemaError, match=r"Column 'value' has type Float64; expected text"):
        at.read_events(
            log,
            user_col="uid",
            time_col="ts",
            source_col="utm_source",
            medium_col="value",
            event_col="kind",
        )


@pytest.mark.parametrize(
    ("drop", "kw"),
    [
        ("utm_medium", {}),
        ("utm_source", {}),
        ("utm_campaign", {"campaign_col": "utm_campaign"}),
    ],
)
def test_read_events_names_the_missing_source_column_and_the_file(tmp_path, drop, kw):
    # channel_group is an expression: used on this frame directly, polars raises its own
    # ColumnNotFoundError; read_events checks the columns first and names the file
    log = utm_log().drop(drop)
    path = tmp_path / "utm.csv"
    log.write_csv(path)
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        log.select(at.channel_group("utm_source", "utm_medium", kw.get("campaign_col")))
    with pytest.raises(at.SchemaError) as err:
        at.read_events(
            path,
            user_col="uid",
            time_col="ts",
            source_col="utm_source",
            medium_col="utm_medium",
            event_col="kind",
            revenue_col="value",
            **kw,
        )
    message = str(err.value)
    assert f"Column {drop!r} is missing from the event log file {str(path)!r}" in message


def test_read_events_two_tables_name_the_missing_medium_of_the_touch_table(tmp_path):
    log = utm_log()
    touches = log.filter(pl.col("kind") == "touch").drop("kind", "value", "utm_medium")
    path = tmp_path / "touches.parquet"
    touches.write_parquet(path)
    convs = log.filter(pl.col("kind") == "conversion").select("uid", "ts", "value")
    shown = re.escape(repr(str(path)))
    with pytest.raises(
        at.SchemaError, match=rf"Column 'utm_medium' is missing from the touch table file {shown}"
    ):
        at.read_events(
            path,
            user_col="uid",
            time_col="ts",
            source_col="utm_source",
            medium_col="utm_medium",
            conversions=convs,
            revenue_col="value",
        )


_PAIRS = pl.DataFrame({"s": ["google", "Bing", "newsletter"], "m": ["cpc", "CPC", "email"]})


def _groups_of(rules: object) -> list[str]:
    return _PAIRS.select(at.channel_group("s", "m", rules=rules)).to_series().to_list()  # type: ignore[arg-type]


def test_rule_tables_as_lazy_pandas_or_dict_of_columns_read_like_a_frame() -> None:
    import pandas as pd

    columns = {"channel": ["Google Ads", "Other"], "source": ["google", None]}
    # by hand: google/cpc matches the first rule; every other row the catch-all
    expected = ["Google Ads", "Other", "Other"]
    assert _groups_of(pl.DataFrame(columns)) == expected
    assert _groups_of(pl.LazyFrame(columns)) == expected
    assert _groups_of(pd.DataFrame(columns)) == expected
    assert _groups_of(columns) == expected


def test_a_table_of_catch_all_rules_only_gives_its_channel_to_every_row() -> None:
    assert _groups_of([("Everything",)]) == ["Everything"] * 3
    assert _groups_of({"channel": ["Everything"]}) == ["Everything"] * 3


def test_empty_rule_tables_and_rows_that_are_not_rows_are_refused() -> None:
    with pytest.raises(at.ValidationError, match=r"The rule table has no rows"):
        _groups_of([])
    with pytest.raises(at.ValidationError, match=r"The rule table has no rows"):
        _groups_of(pl.DataFrame(schema={"channel": pl.String, "source": pl.String}))
    with pytest.raises(at.SchemaError, match=r"Rule table row 1 is None; expected \(channel,"):
        _groups_of([("A", "google"), None])


def test_an_invalid_pattern_names_the_regex_engine_s_reason() -> None:
    with pytest.raises(
        at.ValidationError,
        match=r"row 0 \('A'\) has source pattern '\(goo', which is not a valid regular "
        r"expression \(unclosed group\)",
    ):
        _groups_of([("A", "(goo")])


def test_read_events_with_source_and_medium_keeps_ids_as_written(tmp_path):
    """'007' and '7' are two users whether the channel is a column or a channel group."""
    path = tmp_path / "events.csv"
    pl.DataFrame(
        {
            "uid": ["007", "7", "007", "7"],
            "ts": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"],
            "utm_source": ["google", "newsletter", None, None],
            "utm_medium": ["cpc", "email", None, None],
            "kind": ["touch", "touch", "conversion", "conversion"],
        }
    ).write_csv(path)
    common = dict(user_col="uid", time_col="ts", event_col="kind", revenue_col=None)
    plain = at.read_events(path, channel_col="utm_source", **common).collect()
    grouped = at.read_events(
        path, source_col="utm_source", medium_col="utm_medium", **common
    ).collect()
    assert grouped["user_id"].to_list() == plain["user_id"].to_list() == ["007", "7", "007", "7"]
    journeys = at.build_journeys(grouped)
    assert journeys.n_conversions == 2  # each user converts once, after their own touch
