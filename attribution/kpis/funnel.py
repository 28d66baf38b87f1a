"""Funnel figures from CRM lifecycle rows: stage counts, transitions, conversion and cycle.

The CRM lifecycle log has one row per stage change: ``user_id``, ``timestamp``, ``stage`` in
:data:`attribution.schema.CRM_STAGES` (subscriber -> lead -> mql -> sql -> opportunity ->
customer -> evangelist), optional ``source`` (marketing or sales) and ``amount`` on customer
rows. Read it with :func:`attribution.crm.read_crm`; every function here accepts its output or
anything it accepts with the default column names. SLA attainment is in
:mod:`attribution.kpis.sla`, attribution of a stage to channels in
:mod:`attribution.kpis.stage_attribution`; both follow the rules below.

Rules used throughout (each stated again where it matters):

- **Order.** A contact's rows are ordered by time; rows at the same instant by funnel order.
- **Entering** a stage is a row with that stage whose previous row (of the same contact) had
  another stage; a row repeating the previous stage is a *repeat*, not an entry.
- **Passing** a stage ``s``: a contact passes ``s`` at the first row that is at ``s`` or later
  while the contact has been at ``s`` or earlier at some point up to that row. So a skip
  (lead -> sql) passes the skipped stage (mql) at the time of the later stage, while a contact
  created directly at a later stage (its first row is sql) did not pass the earlier ones and is
  left out of their rates. Why: a contact that jumps over mql has progressed, so counting it as
  lost at mql would understate every rate it skipped; a contact that never was at or before a
  stage is not part of that stage's cohort (otherwise the subscriber -> lead rate would count
  every contact created as a lead as a converted subscriber).
- **Converting** from ``s`` to a later stage ``e``: the first row at or after the row where the
  contact passed ``s`` whose stage is ``e`` or later. Days between stages are measured between
  those two rows, so a skip books its whole time to the first pair and 0 days to the pairs it
  jumped over, and one contact's days add up along the funnel.
- **Periods** are calendar periods in UTC (``freq`` a period of a day or longer: ``"1d"``,
  ``"1w"``, ``"1mo"``, ``"1q"``, ``"1y"``, or the pandas aliases ``"D"``, ``"W"``, ``"MS"``,
  ``"M"``, ``"QS"``, ``"Y"``; see :class:`attribution._base.periods.Period`), labelled by
  their first day (weeks start on Monday). Rates by period
  are cohort rates: contacts are grouped by the period in which they passed the starting
  stage (so recent cohorts are still maturing).
- Ratios with a zero denominator are null, never infinite.
"""

from __future__ import annotations

import datetime as dt
from numbers import Real
from typing import NamedTuple

import polars as pl

from attribution._base.errors import ValidationError
from attribution._base.frames import FrameLike, ratio
from attribution._base.periods import FreqLike, as_period
from attribution._base.time import parse_time
from attribution.kpis._lifecycle import (
    RANK,
    US_PER_DAY,
    days_between,
    load_lifecycle,
    pass_and_reach,
    period_grid,
    required_period,
    stage_rank,
)
from attribution.schema import CRM_STAGES

__all__ = [
    "SalesCycle",
    "close_rate",
    "conversion_rate",
    "crm_lead_conversion_rate",
    "funnel",
    "opportunity_win_rate",
    "sales_cycle",
    "sourcing",
    "stage_conversion",
    "transition_counts",
    "transitions",
]


def _cohort_rate(
    crm: FrameLike,
    start: int,
    end: int,
    freq: FreqLike | None,
    names: tuple[str, str, str],
) -> pl.DataFrame:
    """Contacts that passed ``start``, those that reached ``end`` after, and their ratio."""
    period = as_period(freq, optional=True)
    reach = pass_and_reach(load_lifecycle(crm), start, end)
    keys = []
    if period is not None:
        reach = reach.with_columns(period.truncate(pl.col("start_time")).alias("period"))
        keys = ["period"]
    agg = [
        pl.len().cast(pl.Int64).alias(names[0]),
        pl.col("end_time").is_not_null().sum().cast(pl.Int64).alias(names[1]),
    ]
    out = reach.group_by(keys).agg(agg).sort(keys) if keys else reach.select(agg)
    return out.with_columns(ratio(names[1], names[0]).alias(names[2]))


# ----------------------------------------------------------------------------------------------
# funnel, transitions, conversion between stages


def funnel(crm: FrameLike, *, freq: FreqLike = "1mo") -> pl.DataFrame:
    """Count the contacts entering each stage, per period.

    A contact enters a stage with a row at that stage whose previous row had another stage
    (a repeated row is not a new entry); a contact entering a stage twice in one period counts
    once. Skipped stages are not entered (see :func:`stage_conversion` for rates that count a
    skip as passing).

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    freq : str
        Period length (calendar periods in UTC).

    Returns
    -------
    DataFrame
        ``period`` (Date, first day), ``stage`` (String), ``contacts`` (Int64, distinct contacts
        entering the stage in the period). Every period from the first to the last of the log
        times every stage, zeros included; sorted by period, then funnel order.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2], "stage": ["lead", "mql", "lead"],
    ...                     "timestamp": ["2024-01-03", "2024-02-01", "2024-01-09"]})
    >>> f = funnel(crm)
    >>> f.filter(pl.col("contacts") > 0).rows()
    [(datetime.date(2024, 1, 1), 'lead', 2), (datetime.date(2024, 2, 1), 'mql', 1)]
    """
    period = required_period(freq)
    df = load_lifecycle(crm)
    entries = df.filter(pl.col("prev").is_null() | (pl.col("prev") != pl.col("rank")))
    counts = (
        entries.with_columns(period.truncate(pl.col("timestamp")).alias("period"))
        .group_by("period", "rank")
        .agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("contacts"))
    )
    bounds = df.select(
        period.truncate(pl.col("timestamp").min()).alias("a"),
        period.truncate(pl.col("timestamp").max()).alias("b"),
    ).row(0)
    ranks = pl.DataFrame({"rank": pl.Series(range(len(CRM_STAGES)), dtype=pl.Int8)})
    grid = period_grid(bounds[0], bounds[1], period).join(ranks, how="cross")
    names = dict(enumerate(CRM_STAGES))
    return (
        grid.join(counts, on=["period", "rank"], how="left")
        .sort("period", "rank")
        .select(
            "period",
            pl.col("rank").replace_strict(names, return_dtype=pl.String).alias("stage"),
            pl.col("contacts").fill_null(0),
        )
    )


def transitions(crm: FrameLike) -> pl.DataFrame:
    """List each contact's consecutive stage changes and classify them.

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.

    Returns
    -------
    DataFrame
        One row per pair of consecutive rows of a contact: ``user_id``, ``from_stage``,
        ``to_stage``, ``from_time``, ``to_time``, ``days`` (Float64), ``kind`` (``forward``: to
        the next stage; ``skip``: further down the funnel, over at least one stage;
        ``fallback``: back to an earlier stage; ``repeat``: the same stage again) and
        ``stages_skipped`` (List[String], the stages jumped over by a skip, else empty).
        Sorted by contact and time. A contact with a single row has no transitions.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 1], "stage": ["lead", "sql", "mql"],
    ...     "timestamp": ["2024-01-01", "2024-01-03", "2024-01-04"]})
    >>> transitions(crm).select("from_stage", "to_stage", "kind", "stages_skipped").rows()
    [('lead', 'sql', 'skip', ['mql']), ('sql', 'mql', 'fallback', [])]
    """
    df = load_lifecycle(crm)
    user = "user_id"
    pairs = df.with_columns(
        pl.col("timestamp").shift(1).alias("from_time"),
        pl.col("stage").shift(1).alias("from_stage"),
    ).filter(~pl.col("first"))
    n = len(CRM_STAGES)
    table = pl.DataFrame(
        {
            "prev": [i for i in range(n) for _ in range(n)],
            "rank": [j for _ in range(n) for j in range(n)],
            "stages_skipped": [list(CRM_STAGES[i + 1 : j]) for i in range(n) for j in range(n)],
        },
        schema={"prev": pl.Int8, "rank": pl.Int8, "stages_skipped": pl.List(pl.String)},
    )
    step = pl.col("rank").cast(pl.Int64) - pl.col("prev").cast(pl.Int64)
    kind = (
        pl.when(step == 1)
        .then(pl.lit("forward"))
        .when(step > 1)
        .then(pl.lit("skip"))
        .when(step < 0)
        .then(pl.lit("fallback"))
        .otherwise(pl.lit("repeat"))
    )
    return pairs.join(table, on=["prev", "rank"], how="left").select(
        user,
        "from_stage",
        pl.col("stage").alias("to_stage"),
        "from_time",
        pl.col("timestamp").alias("to_time"),
        days_between("from_time", "timestamp").alias("days"),
        kind.alias("kind"),
        "stages_skipped",
    )


def transition_counts(crm: FrameLike) -> pl.DataFrame:
    """Count transitions by origin and destination stage (the flows of a Sankey chart).

    Returns
    -------
    DataFrame
        ``from_stage``, ``to_stage``, ``kind``, ``transitions`` (Int64, number of changes),
        ``contacts`` (Int64, distinct contacts making them), ``median_days``; sorted in funnel
        order of ``from_stage`` then ``to_stage``.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2], "stage": ["lead", "mql"] * 2,
    ...     "timestamp": ["2024-01-01", "2024-01-03", "2024-01-01", "2024-01-02"]})
    >>> transition_counts(crm).rows()
    [('lead', 'mql', 'forward', 2, 2, 1.5)]
    """
    t = transitions(crm)
    order = pl.col("from_stage").replace_strict(RANK), pl.col("to_stage").replace_strict(RANK)
    return (
        t.group_by("from_stage", "to_stage", "kind")
        .agg(
            pl.len().cast(pl.Int64).alias("transitions"),
            pl.col("user_id").n_unique().cast(pl.Int64).alias("contacts"),
            pl.col("days").median().alias("median_days"),
        )
        .sort(*order)
    )


def stage_conversion(crm: FrameLike) -> pl.DataFrame:
    """Conversion rate and time between each pair of adjacent funnel stages.

    A contact counts for ``from -> to`` when it passed ``from`` (entered it, or skipped over it
    from an earlier stage; a contact created directly at a later stage is not counted) and it
    converts when it is later at ``to`` or a further stage. So a contact going lead -> sql
    counts as passing mql for the mql -> sql rate: it progressed past mql, and counting it as
    lost at mql would understate both rates. Days run from the row that passed ``from`` to the
    first row at ``to`` or later after it; the skipper above books its lead -> sql time to
    lead -> mql and 0 days to mql -> sql, so a contact's days add up along the funnel.

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.

    Returns
    -------
    DataFrame
        One row per adjacent pair, in funnel order: ``from_stage``, ``to_stage``,
        ``reached_from`` (contacts that passed ``from``), ``reached_to_after`` (of those, the
        ones at ``to`` or later afterwards), ``rate`` (their ratio, null when none passed),
        ``median_days``, ``mean_days`` (over converting contacts), ``via_skip`` (converting
        contacts that skipped ``from`` or ``to``).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2, 3], "stage": ["lead", "mql", "lead",
    ...     "sql", "lead"], "timestamp": ["2024-01-01", "2024-01-03", "2024-01-01",
    ...     "2024-01-02", "2024-01-05"]})
    >>> sc = stage_conversion(crm)
    >>> sc.filter(pl.col("from_stage") == "lead").select("reached_from", "reached_to_after",
    ...     "median_days", "via_skip").row(0)
    (3, 2, 1.5, 1)
    """
    df = load_lifecycle(crm)
    rows = []
    for s in range(len(CRM_STAGES) - 1):
        r = pass_and_reach(df, s, s + 1)
        won = r.filter(pl.col("end_time").is_not_null())
        stats = won.select(
            days_between("start_time", "end_time").median().alias("median_days"),
            days_between("start_time", "end_time").mean().alias("mean_days"),
            ((pl.col("start_rank") != s) | (pl.col("end_rank") != s + 1))
            .sum()
            .cast(pl.Int64)
            .alias("via_skip"),
        ).row(0)
        rows.append((CRM_STAGES[s], CRM_STAGES[s + 1], r.height, won.height, *stats))
    schema = {
        "from_stage": pl.String,
        "to_stage": pl.String,
        "reached_from": pl.Int64,
        "reached_to_after": pl.Int64,
        "median_days": pl.Float64,
        "mean_days": pl.Float64,
        "via_skip": pl.Int64,
    }
    out = pl.DataFrame(rows, schema=schema, orient="row")
    return out.select(
        "from_stage",
        "to_stage",
        "reached_from",
        "reached_to_after",
        ratio("reached_to_after", "reached_from").alias("rate"),
        "median_days",
        "mean_days",
        "via_skip",
    )


# ----------------------------------------------------------------------------------------------
# cycle length, close rate, win rate, lead conversion, sourcing


class SalesCycle(NamedTuple):
    """Result of :func:`sales_cycle`: per-contact days and a summary (unpacks as a pair)."""

    contacts: pl.DataFrame
    summary: pl.DataFrame


def sales_cycle(
    crm: FrameLike,
    *,
    start: str = "lead",
    end: str = "customer",
    freq: FreqLike | None = None,
) -> SalesCycle:
    """Measure the sales cycle: days from passing ``start`` to first reaching ``end``.

    Passing and reaching follow the module's rules: a skip over ``start`` passes it at the
    later stage's time; reaching ``end`` means the first row at ``end`` or a later stage after
    that (a new customer that goes straight to evangelist closes then).

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    start, end : str
        Stages from :data:`~attribution.schema.CRM_STAGES`, ``start`` before ``end``.
    freq : str, optional
        Summarise per cohort: contacts grouped by the period in which they passed ``start``.

    Returns
    -------
    SalesCycle
        ``contacts``: ``user_id``, ``start_time``, ``end_time`` (null while open), ``days``
        (Float64, null while open), one row per contact that passed ``start``.
        ``summary``: ``[period,] contacts, closed, median_days, mean_days, min_days,
        max_days`` (days over closed contacts).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2], "stage": ["lead", "customer"] * 2,
    ...     "timestamp": ["2024-01-01", "2024-01-11", "2024-01-01", "2024-01-31"]})
    >>> per_contact, summary = sales_cycle(crm)
    >>> per_contact["days"].to_list(), summary["median_days"].to_list()
    ([10.0, 30.0], [20.0])
    """
    s, e = stage_rank(start, "start"), stage_rank(end, "end")
    if not s < e:
        raise ValidationError(
            f"start must come before end in the funnel ({' -> '.join(CRM_STAGES)}); "
            f"got start={start!r}, end={end!r}."
        )
    period = as_period(freq, optional=True)
    r = pass_and_reach(load_lifecycle(crm), s, e)
    contacts = r.select(
        "user_id", "start_time", "end_time", days_between("start_time", "end_time").alias("days")
    )
    keys: list[str] = []
    base = contacts
    if period is not None:
        base = contacts.with_columns(period.truncate(pl.col("start_time")).alias("period"))
        keys = ["period"]
    days = pl.col("days")
    agg = [
        pl.len().cast(pl.Int64).alias("contacts"),
        days.is_not_null().sum().cast(pl.Int64).alias("closed"),
        days.median().alias("median_days"),
        days.mean().alias("mean_days"),
        days.min().alias("min_days"),
        days.max().alias("max_days"),
    ]
    summary = base.group_by(keys).agg(agg).sort(keys) if keys else base.select(agg)
    return SalesCycle(contacts, summary)


def conversion_rate(
    crm: FrameLike, *, start: str, end: str, freq: FreqLike | None = None
) -> pl.DataFrame:
    """Share of contacts passing ``start`` that later reach ``end`` (or a later stage).

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    start, end : str
        Stages, ``start`` before ``end``.
    freq : str, optional
        Cohorts by the period in which contacts passed ``start``.

    Returns
    -------
    DataFrame
        ``[period,] contacts, converted, rate`` (rate null when no contact passed ``start``).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2], "stage": ["mql", "sql", "mql"],
    ...                     "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01"]})
    >>> conversion_rate(crm, start="mql", end="sql").row(0)
    (2, 1, 0.5)
    """
    s, e = stage_rank(start, "start"), stage_rank(end, "end")
    if not s < e:
        raise ValidationError(
            f"start must come before end in the funnel; got start={start!r}, end={end!r}."
        )
    return _cohort_rate(crm, s, e, freq, ("contacts", "converted", "rate"))


def close_rate(crm: FrameLike, *, freq: FreqLike | None = None) -> pl.DataFrame:
    """Close rate: customers / opportunities (25 won of 100 proposals is 25%).

    Opportunities are contacts that passed the opportunity stage; customers are those of them
    that became customers (or evangelists) afterwards. Open opportunities count as not closed;
    see :func:`opportunity_win_rate` for the rate over decided opportunities only.

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    freq : str, optional
        Cohorts by the period in which the opportunity was opened.

    Returns
    -------
    DataFrame
        ``[period,] opportunities, customers, close_rate``.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": list(range(100)) + list(range(25)),
    ...     "stage": ["opportunity"] * 100 + ["customer"] * 25,
    ...     "timestamp": ["2024-01-01"] * 100 + ["2024-02-01"] * 25})
    >>> close_rate(crm).row(0)
    (100, 25, 0.25)
    """
    return _cohort_rate(
        crm,
        RANK["opportunity"],
        RANK["customer"],
        freq,
        ("opportunities", "customers", "close_rate"),
    )


def crm_lead_conversion_rate(crm: FrameLike, *, freq: FreqLike | None = None) -> pl.DataFrame:
    """Lead conversion from a CRM lifecycle log: customers / leads (10 of 100 leads is 10%).

    Leads are the contacts that passed the lead stage (see the module notes: a contact
    created directly beyond lead is not one); customers are those of them that later reached
    customer or evangelist. The same figure from a table with one row per lead and a
    ``converted`` flag is :func:`attribution.kpis.catalogue.lead_conversion_rate`; the names
    say what each takes. (``attribution.funnel.lead_conversion_rate``, the old name of this
    one, still works with a ``DeprecationWarning``.)

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    freq : str, optional
        Cohorts by the period in which contacts became leads (``"1w"``, ``"1mo"``, ``"MS"``...).

    Returns
    -------
    DataFrame
        ``[period,] leads, customers, lead_conversion_rate``.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": list(range(100)) + list(range(10)),
    ...     "stage": ["lead"] * 100 + ["customer"] * 10,
    ...     "timestamp": ["2024-01-01"] * 100 + ["2024-03-01"] * 10})
    >>> crm_lead_conversion_rate(crm).row(0)
    (100, 10, 0.1)
    """
    return _cohort_rate(
        crm, RANK["lead"], RANK["customer"], freq, ("leads", "customers", "lead_conversion_rate")
    )


def opportunity_win_rate(
    crm: FrameLike,
    *,
    freq: FreqLike | None = None,
    stale_after_days: float | None = None,
    as_of: dt.datetime | dt.date | str | None = None,
) -> pl.DataFrame:
    """Opportunity-to-win rate: won / (won + lost), over decided opportunities only.

    Each contact that passed the opportunity stage is *won* when it later reaches customer (or
    evangelist); otherwise *lost* when it fell back to a stage before opportunity after it
    (a recycled deal), or when it has been open longer than ``stale_after_days`` at ``as_of``;
    otherwise *open*, and left out of the rate (unlike :func:`close_rate`, which counts open
    opportunities as not closed).

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    freq : str, optional
        Cohorts by the period in which the opportunity was opened.
    stale_after_days : float, optional
        Count open opportunities older than this as lost.
    as_of : datetime, date or ISO text, optional
        The time open opportunities are aged at (naive means UTC, a date its midnight);
        default the last timestamp of the log.

    Returns
    -------
    DataFrame
        ``[period,] opportunities, won, lost, open, win_rate`` (null when none is decided).

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 2, 3], "stage": ["opportunity", "customer",
    ...     "opportunity", "mql", "opportunity"], "timestamp": ["2024-01-01", "2024-01-05",
    ...     "2024-01-01", "2024-01-09", "2024-01-02"]})
    >>> opportunity_win_rate(crm).row(0)
    (3, 1, 1, 1, 0.5)
    """
    period = as_period(freq, optional=True)
    if stale_after_days is not None and (
        isinstance(stale_after_days, bool)
        or not isinstance(stale_after_days, Real)
        or not stale_after_days > 0
    ):
        raise ValidationError(f"stale_after_days must be > 0 or None; got {stale_after_days!r}.")
    df = load_lifecycle(crm)
    opp = RANK["opportunity"]
    r = pass_and_reach(df, opp, RANK["customer"])
    fell = (
        df.join(r.select("user_id", "start_time"), on="user_id")
        .filter((pl.col("timestamp") > pl.col("start_time")) & (pl.col("rank") < opp))
        .select("user_id")
        .unique()
        .with_columns(pl.lit(True).alias("fell_back"))
    )
    r = r.join(fell, on="user_id", how="left")
    if as_of is None:
        ref = df["timestamp"].max()
    else:
        ref = parse_time(as_of, name="as_of")
    won = pl.col("end_time").is_not_null()
    lost = ~won & pl.col("fell_back").fill_null(False)
    if stale_after_days is not None:
        age = (pl.lit(ref, pl.Datetime("us", "UTC")) - pl.col("start_time")).dt.total_microseconds()
        lost = lost | (~won & (age > stale_after_days * US_PER_DAY))
    r = r.with_columns(won.alias("__won"), lost.alias("__lost"))
    keys: list[str] = []
    if period is not None:
        r = r.with_columns(period.truncate(pl.col("start_time")).alias("period"))
        keys = ["period"]
    agg = [
        pl.len().cast(pl.Int64).alias("opportunities"),
        pl.col("__won").sum().cast(pl.Int64).alias("won"),
        pl.col("__lost").sum().cast(pl.Int64).alias("lost"),
    ]
    out = r.group_by(keys).agg(agg).sort(keys) if keys else r.select(agg)
    decided = pl.col("won") + pl.col("lost")
    return out.with_columns(
        (pl.col("opportunities") - decided).alias("open"),
        pl.when(decided > 0).then(pl.col("won") / decided).otherwise(None).alias("win_rate"),
    )


def sourcing(crm: FrameLike, *, freq: FreqLike | None = None) -> pl.DataFrame:
    """Leads, customers and revenue by the team that sourced the contact (marketing vs sales).

    A contact's source is the first non-null ``source`` among its rows in time order (null when
    it has none). Here a lead is any contact that reached lead or a later stage, however it
    entered (sourcing counts what each team brought in, including contacts created directly as
    sql or customer), at the time of its first such row; a customer is a contact that reached
    customer or evangelist, at the time of its first such row; revenue is the sum of
    ``amount`` over customer rows, at their time.

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    freq : str, optional
        Count per period (leads in the period they became leads, customers and revenue in the
        period they were won).

    Returns
    -------
    DataFrame
        ``[period,] source, leads, customers, revenue, lead_share, customer_share,
        revenue_share`` (shares of the period's totals, null when the total is 0); sorted by
        period and source, null source last.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 1, 2, 3], "stage": ["lead", "customer", "lead",
    ...     "lead"], "source": ["marketing", None, "sales", "marketing"], "amount": [None,
    ...     90.0, None, None], "timestamp": ["2024-01-01", "2024-01-09", "2024-01-02",
    ...     "2024-01-03"]})
    >>> sourcing(crm).select("source", "leads", "customers", "revenue").rows()
    [('marketing', 2, 1, 90.0), ('sales', 1, 0, 0.0)]
    """
    period = as_period(freq, optional=True)
    df = load_lifecycle(crm)
    src = (
        df.filter(pl.col("source").is_not_null())
        .filter(pl.col("g").is_first_distinct())
        .select("g", pl.col("source").alias("__src"))
    )
    df = df.join(src, on="g", how="left", maintain_order="left")
    keys = ["__src"]
    if period is not None:
        df = df.with_columns(period.truncate(pl.col("timestamp")).alias("period"))
        keys = ["period", "__src"]

    def first_at(rank: int, name: str) -> pl.DataFrame:
        firsts = df.filter(pl.col("rank") >= rank).filter(pl.col("g").is_first_distinct())
        return firsts.group_by(keys).agg(pl.len().cast(pl.Int64).alias(name))

    leads = first_at(RANK["lead"], "leads")
    customers = first_at(RANK["customer"], "customers")
    revenue = (
        df.filter(pl.col("rank") == RANK["customer"])
        .group_by(keys)
        .agg(pl.col("amount").sum().alias("revenue"))
    )
    out = (
        leads.join(customers, on=keys, how="full", coalesce=True, nulls_equal=True)
        .join(revenue, on=keys, how="full", coalesce=True, nulls_equal=True)
        .with_columns(
            pl.col("leads").fill_null(0),
            pl.col("customers").fill_null(0),
            pl.col("revenue").fill_null(0.0),
        )
    )
    over = "period" if period is not None else None

    def share(col: str) -> pl.Expr:
        total = pl.col(col).sum().over(over) if over else pl.col(col).sum()
        return pl.when(total > 0).then(pl.col(col) / total).otherwise(None)

    out = out.with_columns(
        share("leads").alias("lead_share"),
        share("customers").alias("customer_share"),
        share("revenue").alias("revenue_share"),
    )
    order = [*keys[:-1], pl.col("__src").is_null(), "__src"]
    return out.sort(order).select(
        *keys[:-1],
        pl.col("__src").alias("source"),
        "leads",
        "customers",
        "revenue",
        "lead_share",
        "customer_share",
        "revenue_share",
    )
