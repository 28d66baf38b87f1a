"""Channel groups: traffic source, medium and campaign mapped to marketing channels.

:func:`channel_group` is a Polars expression that gives Google Analytics 4's *default channel
group* ("Organic Search", "Paid Social", "Email", ...) from a session's or an event's source,
medium and campaign, or the groups of a rule table of the user's own. The readers use it
(:func:`attribution.read_events` with ``source_col=``, :func:`attribution.read_ga4`,
:func:`attribution.read_ga360`).

The GA4 rules
-------------
Google publishes the rules for manually tagged traffic in the help article "[GA4] Default
channel group" (https://support.google.com/analytics/answer/9756891). They are tried in the
order of Google's table and the first that matches gives the channel:

========================== =================================================================
channel                    rule
========================== =================================================================
Direct                     source is ``(direct)`` and medium is ``(not set)`` or ``(none)``
Cross-network              campaign contains ``cross-network``
Paid Shopping              (source is a shopping site or campaign matches the shop
                           regex) and medium matches the paid regex
Paid Search                source is a search site and medium is paid
Paid Social                source is a social site and medium is paid
Paid Video                 source is a video site and medium is paid
Display                    medium is one of display, banner, expandable, interstitial, cpm
Paid Other                 medium is paid
Organic Shopping           source is a shopping site or campaign matches the shop regex
Organic Social             source is a social site or medium is one of social,
                           social-network, social-media, sm, social network, social media
Organic Video              source is a video site or medium matches ``^(.*video.*)$``
Organic Search             source is a search site or medium is ``organic``
Referral                   medium is one of referral, app, link
Email                      source or medium is one of email, e-mail, e_mail, e mail
Affiliates                 medium is ``affiliate``
Audio                      medium is ``audio``
SMS                        source or medium is ``sms``
Mobile Push Notifications  medium ends with ``push`` or contains ``mobile`` or
                           ``notification``, or source is ``firebase``
Unassigned                 nothing above matched
========================== =================================================================

The paid regex is ``^(.*cp.*|ppc|retargeting|paid.*)$``, the shop regex
``^(.*(([^a-df-z]|^)shop|shopping).*)$``. How the rules are read here:

- **Case.** GA4's channel definitions are not case sensitive: every comparison ignores case
  (``Google`` / ``CPC`` is Paid Search).
- **Site lists.** "A search site" and the others are the sources of Google's source-category
  list (``SOURCE_CATEGORY_SEARCH``, ``_SOCIAL``, ``_VIDEO``, ``_SHOPPING``), matched exactly
  (``facebook`` and ``m.facebook.com`` are both on the list; ``facebook.example`` is not). The
  list ships with the package (``attribution/data/ga4_source_categories.csv``, 819 sources,
  from dbt-ga4's copy of Google's spreadsheet, MIT licence; see :func:`source_categories`).
- **"=" and "is one of" are exact matches** of the whole value: medium ``email`` is Email,
  ``newsletter_email`` is not (dbt-ga4 reads the Email rule as "contains"; Google's table
  writes "contains" where it means it, as for Cross-network).
- **Missing values.** Blank text counts as missing. A source and a medium that are both
  missing are GA4's ``(direct)`` / ``(none)``, so Direct; a missing source, medium or campaign
  on its own is ``(not set)`` (so ``(not set)`` / ``(not set)`` is Unassigned, as in GA4).
- **What the rules cannot see.** GA4 classifies Google Ads, Display & Video 360 and Search
  Ads 360 traffic on fields that are not in the data (the Ads network type, the DV360 creative
  format): auto-tagged Ads traffic arrives as ``google`` / ``cpc`` and is Paid Search here,
  where GA4 may say Cross-network (Performance Max), Paid Video (YouTube) or Display.

A rule table of your own
------------------------
``rules=`` also takes an ordered table with the columns ``channel``, ``source``, ``medium``
and ``campaign`` (a frame, or a list of ``(channel, source, medium, campaign)`` tuples or of
dicts). Each of the last three is a regular expression that must match the *whole* value,
ignoring case (as GA4's custom channel groups read "matches regex"); a null or blank cell is
no condition. The first row whose conditions all hold gives the channel; no match gives
``Unassigned``. :func:`ga4_rules` returns Google's rules in this form, so a table of your own
can extend them (``pl.concat([my_rows, ga4_rules()])``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Literal, TypeAlias

import polars as pl

from attribution._base.errors import SchemaError, ValidationError

__all__ = [
    "CHANNEL_GROUPS",
    "RULE_COLUMNS",
    "Rules",
    "channel_group",
    "ga4_rules",
    "rule_table",
    "source_categories",
]

#: GA4's default channel groups, in the order of Google's table ("Unassigned" last).
CHANNEL_GROUPS: tuple[str, ...] = (
    "Direct",
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Referral",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Unassigned",
)

#: Columns of a rule table, in order: the channel, then a regex for each of the three inputs.
RULE_COLUMNS: tuple[str, ...] = ("channel", "source", "medium", "campaign")

#: What ``rules=`` accepts: ``"ga4"``, a frame with :data:`RULE_COLUMNS` (a pandas one too),
#: a dict of those columns, or a list of rows.
Rules: TypeAlias = (
    Literal["ga4"]
    | pl.DataFrame
    | pl.LazyFrame
    | Mapping[str, Sequence[str | None]]
    | Sequence[Sequence[str | None]]
    | Sequence[Mapping[str, str | None]]
)

_UNASSIGNED = "Unassigned"
_CATEGORIES = ("search", "social", "video", "shopping")
_PAID = r".*cp.*|ppc|retargeting|paid.*"
_SHOP_CAMPAIGN = r".*(([^a-df-z]|^)shop|shopping).*"
_EMAIL = r"email|e-mail|e_mail|e mail"
_META = frozenset(r".^$*+?()[]{}|\#&-~")


def _literal(text: str) -> str:
    """Return a regex matching ``text`` exactly (escaping only the characters that need it)."""
    return "".join("\\" + ch if ch in _META else ch for ch in text)


@cache
def source_categories() -> pl.DataFrame:
    """Google's GA4 source categories: which sources are search, social, video, shopping sites.

    Returns
    -------
    DataFrame
        ``source`` (as Google writes it, e.g. ``"Google Shopping"``) and ``category`` (one of
        ``search``, ``social``, ``video``, ``shopping``), 819 rows. Read from the package file
        ``attribution/data/ga4_source_categories.csv`` (Google's list, as copied by dbt-ga4
        under the MIT licence; the file's header keeps the notice).

    Examples
    --------
    >>> cats = source_categories()
    >>> cats.filter(pl.col("source").is_in(["google", "facebook", "youtube", "ebay"])).rows()
    [('ebay', 'shopping'), ('facebook', 'social'), ('google', 'search'), ('youtube', 'video')]
    """
    path = resources.files("attribution").joinpath("data", "ga4_source_categories.csv")
    with resources.as_file(path) as file:
        raw = pl.read_csv(file, comment_prefix="#", schema_overrides={"source": pl.String})
    return raw.select(
        pl.col("source"),
        pl.col("source_category")
        .str.strip_prefix("SOURCE_CATEGORY_")
        .str.to_lowercase()
        .alias("category"),
    )


def _site_regex(category: str) -> str:
    names = source_categories().filter(pl.col("category") == category)["source"]
    return "|".join(_literal(n.lower()) for n in sorted(set(names.to_list())))


@cache
def _ga4_rows() -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    site = {c: _site_regex(c) for c in _CATEGORIES}
    return (
        ("Direct", r"\(direct\)", r"\(not set\)|\(none\)", None),
        ("Cross-network", None, None, r".*cross-network.*"),
        ("Paid Shopping", site["shopping"], _PAID, None),
        ("Paid Shopping", None, _PAID, _SHOP_CAMPAIGN),
        ("Paid Search", site["search"], _PAID, None),
        ("Paid Social", site["social"], _PAID, None),
        ("Paid Video", site["video"], _PAID, None),
        ("Display", None, r"display|banner|expandable|interstitial|cpm", None),
        ("Paid Other", None, _PAID, None),
        ("Organic Shopping", site["shopping"], None, None),
        ("Organic Shopping", None, None, _SHOP_CAMPAIGN),
        ("Organic Social", site["social"], None, None),
        (
            "Organic Social",
            None,
            r"social|social-network|social-media|sm|social network|social media",
            None,
        ),
        ("Organic Video", site["video"], None, None),
        ("Organic Video", None, r".*video.*", None),
        ("Organic Search", site["search"], None, None),
        ("Organic Search", None, r"organic", None),
        ("Referral", None, r"referral|app|link", None),
        ("Email", _EMAIL, None, None),
        ("Email", None, _EMAIL, None),
        ("Affiliates", None, r"affiliate", None),
        ("Audio", None, r"audio", None),
        ("SMS", r"sms", None, None),
        ("SMS", None, r"sms", None),
        ("Mobile Push Notifications", None, r".*push", None),
        ("Mobile Push Notifications", None, r".*(mobile|notification).*", None),
        ("Mobile Push Notifications", r"firebase", None, None),
    )


def ga4_rules() -> pl.DataFrame:
    """GA4's default channel group rules as an ordered rule table.

    One row per condition of Google's table (a rule with "or" takes two or three rows of the
    same channel); the site lists are spelled out as alternations of their sources. The
    ``"ga4"`` rules of :func:`channel_group` are this table; prepend rows of your own to
    change it.

    Returns
    -------
    DataFrame
        Columns ``channel``, ``source``, ``medium``, ``campaign`` (regexes, null = any value).

    Examples
    --------
    >>> rules = ga4_rules()
    >>> rules.height, rules["channel"].unique(maintain_order=True).to_list()[:4]
    (27, ['Direct', 'Cross-network', 'Paid Shopping', 'Paid Search'])
    """
    return pl.DataFrame(_ga4_rows(), schema=dict.fromkeys(RULE_COLUMNS, pl.String), orient="row")


def rule_table(rules: Rules) -> pl.DataFrame:
    """Check a rule table and return it as a frame with the columns :data:`RULE_COLUMNS`.

    Parameters
    ----------
    rules
        ``"ga4"``; a frame (Polars, lazy or pandas, or a dict of columns) with a ``channel``
        column and any of ``source``, ``medium``, ``campaign``; or a list of rows, each a
        ``(channel, source, medium, campaign)`` tuple (trailing conditions may be left out)
        or a dict with those keys.

    Raises
    ------
    SchemaError
        The table lacks a ``channel`` column, has other columns, or a row has too many cells.
    ValidationError
        The table has no rows, a channel is null or blank, or a pattern is not a valid
        regular expression (the message names the row and the pattern).
    """
    if isinstance(rules, str):
        if rules != "ga4":
            raise ValidationError(
                f"rules={rules!r} is not a rule set; expected 'ga4' or a rule table with the "
                f"columns {', '.join(RULE_COLUMNS)}."
            )
        return ga4_rules()
    if isinstance(rules, pl.DataFrame | pl.LazyFrame):
        frame = rules.lazy().collect()
    elif type(rules).__module__.startswith("pandas"):
        frame = pl.from_pandas(rules)
    elif isinstance(rules, Mapping):  # columns by name, as pl.DataFrame takes them
        frame = pl.DataFrame(dict(rules))
    else:
        rows = list(rules)
        dicts = [r for r in rows if isinstance(r, Mapping)]
        if dicts and len(dicts) != len(rows):
            raise SchemaError("A rule table given as a list takes all dicts or all tuples.")
        if dicts:
            frame = pl.DataFrame(
                [{k: d.get(k) for k in RULE_COLUMNS} for d in dicts],
                schema=dict.fromkeys(RULE_COLUMNS, pl.String),
            )
            extra = sorted({k for d in dicts for k in d} - set(RULE_COLUMNS))
            if extra:
                raise SchemaError(
                    f"Rule table rows have unknown keys {extra}; expected "
                    f"{', '.join(RULE_COLUMNS)}."
                )
        else:
            cells: list[tuple[str | None, ...]] = []
            for i, row in enumerate(rows):
                if (
                    isinstance(row, str)
                    or not isinstance(row, Sequence)
                    or len(row) > len(RULE_COLUMNS)
                ):
                    raise SchemaError(
                        f"Rule table row {i} is {row!r}; expected (channel, source, medium, "
                        "campaign), with null for no condition."
                    )
                cells.append(tuple(row) + (None,) * (len(RULE_COLUMNS) - len(row)))
            frame = pl.DataFrame(cells, schema=dict.fromkeys(RULE_COLUMNS, pl.String), orient="row")
    if "channel" not in frame.columns:
        raise SchemaError(
            f"The rule table has no 'channel' column; found columns: {frame.columns}. Expected "
            f"{', '.join(RULE_COLUMNS)}."
        )
    extra = [c for c in frame.columns if c not in RULE_COLUMNS]
    if extra:
        raise SchemaError(
            f"The rule table has unknown columns {extra}; expected {', '.join(RULE_COLUMNS)}."
        )
    table = frame.select(
        (pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, pl.String).alias(c))
        for c in RULE_COLUMNS
    )
    if table.height == 0:
        raise ValidationError(
            "The rule table has no rows; expected at least one rule (channel, source, medium, "
            "campaign), or rules='ga4'."
        )
    for i, row in enumerate(table.iter_rows(named=True)):
        if row["channel"] is None or not row["channel"].strip():
            raise ValidationError(
                f"Rule table row {i} has no channel ({row['channel']!r}); every rule needs one."
            )
        for col in RULE_COLUMNS[1:]:
            pattern = row[col]
            if pattern is None or not pattern.strip():
                continue
            try:
                pl.Series([""]).str.contains(_full(pattern))
            except pl.exceptions.PolarsError as exc:
                # polars' own message puts the reason on an 'error:' line of its own
                found = re.search(r"^error: (.+)$", str(exc), re.MULTILINE)
                lines = str(exc).strip().splitlines()
                first = found[1] if found else lines[0] if lines else type(exc).__name__
                raise ValidationError(
                    f"Rule table row {i} ({row['channel']!r}) has {col} pattern {pattern!r}, "
                    f"which is not a valid regular expression ({first})."
                ) from None
    return table


def _full(pattern: str) -> str:
    return f"(?i)^(?:{pattern})$"


_LITERAL = re.compile(r"(?:[^.^$*+?()\[\]{}|\\]|\\[.^$*+?()\[\]{}|\\#&~-])+")


def _matches(col: str, pattern: str) -> pl.Expr:
    """Test whether ``col`` (lower-case text) matches ``pattern`` in full, ignoring case.

    An alternation of plain words (the GA4 site lists) is a set lookup, much faster than the
    regex engine; anything else goes to the regex engine.
    """
    words = pattern.split("|")
    if all(_LITERAL.fullmatch(w) for w in words):
        plain = [re.sub(r"\\(.)", r"\1", w).lower() for w in words]
        return pl.col(col).is_in(plain)
    return pl.col(col).str.contains(_full(pattern))


def _text(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(text != "").then(text)


def _groups(keys: pl.DataFrame, table: pl.DataFrame) -> pl.Series:
    """Return the channel group of each row of ``keys`` (columns source, medium, campaign)."""
    s, m, c = (_text(pl.col(k)) for k in RULE_COLUMNS[1:])
    direct = s.is_null() & m.is_null()
    norm = keys.select(
        pl.when(direct)
        .then(pl.lit("(direct)"))
        .otherwise(s.fill_null("(not set)"))
        .alias("source"),
        pl.when(direct).then(pl.lit("(none)")).otherwise(m.fill_null("(not set)")).alias("medium"),
        c.fill_null("(not set)").alias("campaign"),
    )
    matches: list[pl.Expr] = []
    for row in table.iter_rows(named=True):
        conds = [
            _matches(col, row[col])
            for col in RULE_COLUMNS[1:]
            if row[col] is not None and row[col].strip()
        ]
        cond = pl.all_horizontal(conds) if conds else pl.lit(True)
        matches.append(pl.when(cond).then(pl.lit(row["channel"], pl.String)))
    # the first rule that matches wins: coalesce takes the first non-null of the rules' answers
    out = pl.coalesce([*matches, pl.lit(_UNASSIGNED, pl.String)])
    # with_columns: a table of rules without conditions gives one value for every row
    return norm.with_columns(out.alias("channel_group"))["channel_group"]


def channel_group(
    source: str | pl.Expr,
    medium: str | pl.Expr,
    campaign: str | pl.Expr | None = None,
    *,
    rules: Rules = "ga4",
) -> pl.Expr:
    """Give the channel group of a source, medium and campaign, as a Polars expression.

    Parameters
    ----------
    source, medium : str or Expr
        Column names or expressions holding the traffic source (``google``, ``newsletter``)
        and medium (``cpc``, ``email``), as GA's ``utm_source`` / ``utm_medium``.
    campaign : str or Expr, optional
        The campaign name (``utm_campaign``); needed for the Cross-network and shopping rules.
    rules : "ga4" or rule table
        ``"ga4"``: Google's default channel group rules (see the module documentation). Or an
        ordered table of the user's own: columns ``channel, source, medium, campaign``, the
        last three regexes matched against the whole value, ignoring case (null: any value).

    Returns
    -------
    Expr
        String expression named ``channel_group``; never null (``Unassigned`` when no rule
        matches). Missing values are read as GA4 reads them: no source and no medium is
        ``(direct)`` / ``(none)``; otherwise a missing value is ``(not set)``.

    Raises
    ------
    SchemaError, ValidationError
        The rule table is malformed (see :func:`rule_table`).

    Notes
    -----
    An expression cannot see the frame it is used on, so a frame without one of the named
    columns fails where the expression is run, with polars' ``ColumnNotFoundError`` (which
    names the column and lists the frame's). Where the package applies it itself,
    :func:`attribution.read_events` with ``source_col=`` / ``medium_col=`` checks the columns
    first and raises :class:`~attribution.SchemaError` naming the column and the file; the GA
    readers apply it to columns they build from the export's own fields.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"source": ["google", "Google", "facebook", "newsletter", None],
    ...                    "medium": ["organic", "CPC", "paid_social", "email", None]})
    >>> df.select(channel_group("source", "medium")).to_series().to_list()
    ['Organic Search', 'Paid Search', 'Paid Social', 'Email', 'Direct']
    >>> mine = [("Brand", "google", "cpc", ".*brand.*"), ("Search", "google|bing")]
    >>> df.with_columns(campaign=pl.lit("brand_uk")).select(
    ...     channel_group("source", "medium", "campaign", rules=mine)).to_series().to_list()
    ['Search', 'Brand', 'Unassigned', 'Unassigned', 'Unassigned']
    """
    table = rule_table(rules)

    def as_expr(value: str | pl.Expr | None) -> pl.Expr:
        if value is None:
            return pl.lit(None, pl.String)
        return (pl.col(value) if isinstance(value, str) else value).cast(pl.String)

    keys = pl.struct(
        as_expr(source).alias("source"),
        as_expr(medium).alias("medium"),
        as_expr(campaign).alias("campaign"),
    )

    def apply(batch: pl.Series) -> pl.Series:
        # the rules run once per distinct (source, medium, campaign), then are joined back
        frame = batch.struct.unnest()
        distinct = frame.unique()
        distinct = distinct.with_columns(_groups(distinct, table).alias("__group"))
        joined = frame.join(
            distinct,
            on=list(RULE_COLUMNS[1:]),
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        return joined["__group"]

    return keys.map_batches(apply, return_dtype=pl.String, is_elementwise=True).alias(
        "channel_group"
    )
