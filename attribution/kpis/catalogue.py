"""The KPI catalogue: documented functions over plain tables, not dashboard constants.

Every function takes a frame (Polars, pandas, or a path: see
:data:`attribution._base.frames.FrameLike`), names its input columns with keyword parameters,
and returns a Polars ``DataFrame``: one overall row, or one row per group (``by=``) and/or
period (``freq=``, from ``time_col``; the ``period`` column holds the start date of each
period, weeks start on Monday). ``freq`` is any period of a day or longer in the base layer's
spellings (``"1w"``, ``"1mo"``, ``"1q"`` or ``"W"``, ``"MS"``, ``"M"``, ``"QS"``...); dates are
read by its one parser (dates, datetimes, ISO text with ``Z`` or offsets, ``YYYY-MM``), and a
value that is not a date raises naming its rows. Ratios whose
denominator is 0 are null, never infinite. Rates are fractions (0.1 is 10 %); columns named
``pct_*`` and the NPS are on a 0–100 scale.

Input rules are checked in one aggregate pass; a broken rule raises
:class:`~attribution.ValidationError` naming the column, the rule, up to five offending rows
with their values, and how many rows break it. A missing column raises
:class:`~attribution.SchemaError`; an empty table :class:`~attribution.EmptyInputError`.

Lead conversion from a CRM lifecycle log (leads are the contacts that passed the lead stage)
is :func:`attribution.kpis.funnel.crm_lead_conversion_rate`: the same figure, named for what
it takes.

Definitions (the seed documents' worked examples are in each docstring):

======================================= ===============================================
function                                figure
======================================= ===============================================
:func:`lead_conversion_rate`            leads flagged converted / leads
:func:`cart_abandonment_rate`           checkouts not completed / checkouts started
:func:`bounce_rate`                     sessions with exactly one page view / sessions
:func:`email_metrics`                   opens and clicks over delivered emails
:func:`landing_page_conversion_rate`    converting visits / visits
:func:`retention`                       renewals / subscriptions due, or the survival of
                                        each period's starting customers
:func:`cost_to_serve`                   service costs / customers served
:func:`nps`                             % promoters (9–10) − % detractors (0–6)
:func:`csat`                            share of satisfied answers (4–5 on a 1–5 scale)
:func:`market_share`                    revenue / market size
======================================= ===============================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from attribution._base.errors import SchemaError, ValidationError
from attribution._base.frames import (
    ROW,
    By,
    FrameLike,
    Rule,
    as_list,
    check_columns,
    check_rules,
    numeric_expr,
    ratio,
    to_lazy,
)
from attribution._base.periods import FreqLike, Period, as_period
from attribution._base.time import parse_dates, parse_times

__all__ = [
    "bounce_rate",
    "cart_abandonment_rate",
    "cost_to_serve",
    "csat",
    "email_metrics",
    "landing_page_conversion_rate",
    "lead_conversion_rate",
    "market_share",
    "nps",
    "retention",
]


# ----------------------------------------------------------------------------------------------
# shared plumbing


def _prepare(
    data: FrameLike,
    *,
    what: str,
    needed: Sequence[str],
    by: By,
    freq: FreqLike | None,
    time_col: str,
) -> tuple[pl.LazyFrame, list[str]]:
    """Read the frame, check columns, add a ``period`` column; return it with the group keys.

    Dates are read by the base layer's one parser (ISO text with ``Z`` or offsets, ``YYYY-MM``,
    ``YYYYMMDD``, dates, datetimes, epoch numbers): a value that is not a date raises naming
    its rows, and with ``freq`` every row needs a date.
    """
    lf = to_lazy(data, what=what)
    keys = as_list(by)
    schema = lf.collect_schema()
    period = as_period(freq, optional=True)
    check_columns(schema, [*needed, *keys, *([time_col] if period else [])], what)
    if "period" in keys:
        raise SchemaError("'period' is the name of the output period column; rename it in by=.")
    if period is None:
        return lf.with_row_index(ROW), keys
    day = parse_dates(lf, time_col, what=what)
    lf = lf.with_row_index(ROW)
    # periods are computed once: the checks and the aggregate then reuse them
    cols = list(dict.fromkeys([ROW, *needed, *keys, time_col]))
    df = lf.select(*cols, period.truncate(day).alias("period")).collect()
    if df.height:
        rule = Rule(
            time_col,
            pl.col("period").is_null(),
            "nulls",
            "every row needs a date when freq= is given",
            show_values=False,
        )
        check_rules(df.lazy(), [rule], what)
    return df.lazy(), [*keys, "period"]


def _flag(schema: pl.Schema, col: str, what: str) -> tuple[pl.Expr, list[Rule]]:
    """Build a 0/1 Int64 expression for a boolean or 0/1 column, with its rules."""
    dtype = schema[col]
    c = pl.col(col)
    nulls = Rule(col, c.is_null(), "nulls", "expected True/False or 0/1 on every row", False)
    if dtype == pl.Boolean:
        return c.cast(pl.Int64), [nulls]
    if dtype.is_numeric():
        bad = c.is_not_null() & ~c.is_in([0, 1])
        return c.cast(pl.Int64, strict=False), [
            nulls,
            Rule(col, bad, "values other than 0/1", "expected True/False or 0/1"),
        ]
    raise SchemaError(
        f"Column {col!r} of the {what} has type {dtype}; expected booleans or 0/1 numbers."
    )


def _count(
    lf: pl.LazyFrame, schema: pl.Schema, col: str, rule: str = "counts must be ≥ 0"
) -> tuple[pl.Expr, Rule]:
    """Build a Float64 count column (numbers, or numbers as text) with its ≥ 0 rule."""
    expr = numeric_expr(lf, col, schema[col], "counts ≥ 0")
    bad = expr.is_null() | ~expr.is_finite() | (expr < 0)
    return expr, Rule(col, bad, "null, negative or non-finite values", rule)


def _aggregate(lf: pl.LazyFrame, keys: list[str], aggs: Sequence[pl.Expr]) -> pl.DataFrame:
    """One row per key (sorted, nulls last), or one overall row without keys."""
    if keys:
        return lf.group_by(keys).agg(aggs).sort(keys, nulls_last=True).collect()
    return lf.select(aggs).collect()


def _flag_rate(
    data: FrameLike,
    *,
    flag_col: str,
    what: str,
    rows_name: str,
    yes_name: str,
    no_name: str | None,
    rate_name: str,
    rate_of: Literal["yes", "no"],
    by: By,
    freq: FreqLike | None,
    time_col: str,
) -> pl.DataFrame:
    """Rows, flagged rows (and unflagged ones), and the share of ``rate_of`` rows."""
    lf, keys = _prepare(data, what=what, needed=[flag_col], by=by, freq=freq, time_col=time_col)
    flag, rules = _flag(lf.collect_schema(), flag_col, what)
    check_rules(lf, rules, what)
    aggs = [pl.len().cast(pl.Int64).alias(rows_name), flag.sum().cast(pl.Int64).alias(yes_name)]
    out = _aggregate(lf, keys, aggs)
    cols = [*keys, rows_name, yes_name]
    if no_name is not None:
        out = out.with_columns((pl.col(rows_name) - pl.col(yes_name)).alias(no_name))
        cols.append(no_name)
    num = yes_name if rate_of == "yes" else no_name
    assert num is not None
    return out.select(*cols, ratio(num, rows_name).alias(rate_name))


# ----------------------------------------------------------------------------------------------
# funnel and site rates


def lead_conversion_rate(
    leads: FrameLike,
    *,
    converted_col: str = "converted",
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute the lead conversion rate from a table of leads: converted leads / leads.

    One row per lead with a flag; for a CRM lifecycle log use
    :func:`attribution.kpis.funnel.crm_lead_conversion_rate` (the same figure, customers /
    leads, with the funnel's rules for who is a lead).

    Parameters
    ----------
    leads
        One row per lead, with ``converted_col`` (bool or 0/1: the lead became a customer),
        the ``by`` columns (e.g. source) and, with ``freq``, ``time_col`` (when the lead was
        created, so a period's rate is that cohort's).
    converted_col : str
        The conversion flag.
    by : str or sequence of str, optional
        Grouping columns.
    freq : str, optional
        Period length (``"1w"``, ``"1mo"``, ``"MS"``...); adds a ``period`` column.
    time_col : str
        Date or datetime column used with ``freq``.

    Returns
    -------
    DataFrame
        ``[by..., period,] leads, conversions, lead_conversion_rate``.

    Examples
    --------
    The seed example: 10 of 100 leads buy, a rate of 10 %.

    >>> import polars as pl
    >>> leads = pl.DataFrame({"converted": [True] * 10 + [False] * 90})
    >>> lead_conversion_rate(leads).row(0)
    (100, 10, 0.1)
    """
    return _flag_rate(
        leads,
        flag_col=converted_col,
        what="lead table",
        rows_name="leads",
        yes_name="conversions",
        no_name=None,
        rate_name="lead_conversion_rate",
        rate_of="yes",
        by=by,
        freq=freq,
        time_col=time_col,
    )


def cart_abandonment_rate(
    checkouts: FrameLike,
    *,
    completed_col: str = "completed",
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute the cart abandonment rate: checkouts started but not completed / started.

    Parameters
    ----------
    checkouts
        One row per checkout started (or cart created), with ``completed_col`` (bool or 0/1:
        it ended in a purchase), the ``by`` columns and, with ``freq``, ``time_col``.
    completed_col : str
        The completion flag.
    by, freq, time_col
        Grouping columns, period length and the date column (see :func:`lead_conversion_rate`).

    Returns
    -------
    DataFrame
        ``[by..., period,] checkouts, completed, abandoned, cart_abandonment_rate``.

    Examples
    --------
    The seed example: 20 of 100 checkouts are abandoned, 20 %.

    >>> import polars as pl
    >>> carts = pl.DataFrame({"completed": [1] * 80 + [0] * 20})
    >>> cart_abandonment_rate(carts).row(0)
    (100, 80, 20, 0.2)
    """
    return _flag_rate(
        checkouts,
        flag_col=completed_col,
        what="checkout table",
        rows_name="checkouts",
        yes_name="completed",
        no_name="abandoned",
        rate_name="cart_abandonment_rate",
        rate_of="no",
        by=by,
        freq=freq,
        time_col=time_col,
    )


def landing_page_conversion_rate(
    visits: FrameLike,
    *,
    converted_col: str = "converted",
    page_col: str | None = None,
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute the landing-page conversion rate: visits that converted / visits.

    Parameters
    ----------
    visits
        One row per visit (session) that landed on a page, with ``converted_col`` (bool or
        0/1: the visit converted), the landing page and, with ``freq``, ``time_col``.
    converted_col : str
        The conversion flag.
    page_col : str, optional
        Landing page column: one row per page (added in front of ``by``). ``None`` gives one
        overall figure (or one per ``by`` group).
    by, freq, time_col
        Grouping columns, period length and the date column (see :func:`lead_conversion_rate`).

    Returns
    -------
    DataFrame
        ``[page, by..., period,] visits, conversions, conversion_rate``.

    Examples
    --------
    The seed example: 1,000 visits and 100 conversions, 10 %.

    >>> import polars as pl
    >>> visits = pl.DataFrame({"landing_page": ["/offer"] * 1000,
    ...                        "converted": [1] * 100 + [0] * 900})
    >>> landing_page_conversion_rate(visits, page_col="landing_page").row(0)
    ('/offer', 1000, 100, 0.1)
    """
    return _flag_rate(
        visits,
        flag_col=converted_col,
        what="visit table",
        rows_name="visits",
        yes_name="conversions",
        no_name=None,
        rate_name="conversion_rate",
        rate_of="yes",
        by=[*([page_col] if page_col else []), *as_list(by)],
        freq=freq,
        time_col=time_col,
    )


def bounce_rate(
    sessions: FrameLike,
    *,
    pageviews_col: str = "pageviews",
    session_col: str | None = None,
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute the bounce rate: sessions with exactly one page view / sessions.

    Parameters
    ----------
    sessions
        One row per session with its number of page views (``pageviews_col``, whole numbers
        ≥ 0; a session with 0 page views is not a bounce). Or, with ``session_col``, one row per
        page view: views are counted per session id (a session takes the ``by`` values of its
        first row and the period of its earliest row).
    pageviews_col : str
        Page views per session (ignored with ``session_col``).
    session_col : str, optional
        Session id column of a page-view log.
    by, freq, time_col
        Grouping columns, period length and the date column (see :func:`lead_conversion_rate`).

    Returns
    -------
    DataFrame
        ``[by..., period,] sessions, bounces, bounce_rate``.

    Examples
    --------
    The seed example: 40 of 100 sessions bounce, 40 %.

    >>> import polars as pl
    >>> s = pl.DataFrame({"pageviews": [1] * 40 + [3] * 60})
    >>> bounce_rate(s).row(0)
    (100, 40, 0.4)
    """
    what = "session table" if session_col is None else "page-view log"
    needed = [session_col] if session_col is not None else [pageviews_col]
    lf, keys = _prepare(sessions, what=what, needed=needed, by=by, freq=freq, time_col=time_col)
    if session_col is not None:
        rules = [
            Rule(
                session_col,
                pl.col(session_col).is_null(),
                "nulls",
                "every page view needs a session id",
                False,
            )
        ]
        check_rules(lf, rules, what)
        extra = [k for k in keys if k != "period"]
        firsts = [pl.col(c).first() for c in extra]
        if "period" in keys:
            firsts.append(pl.col("period").min())
        lf = lf.group_by(session_col).agg(pl.len().alias("__views"), *firsts)
        views = pl.col("__views")
    else:
        dtype = lf.collect_schema()[pageviews_col]
        if not dtype.is_numeric():
            raise SchemaError(
                f"Column {pageviews_col!r} of the {what} has type {dtype}; expected page-view "
                "counts."
            )
        views = pl.col(pageviews_col)
        bad = views.is_null() | ~views.cast(pl.Float64).is_finite() | (views < 0)
        bad = bad | (views.cast(pl.Float64) != views.cast(pl.Float64).floor())
        check_rules(
            lf,
            [
                Rule(
                    pageviews_col,
                    bad,
                    "values that are not whole numbers ≥ 0",
                    "page views per session must be whole numbers ≥ 0",
                )
            ],
            what,
        )
    aggs = [
        pl.len().cast(pl.Int64).alias("sessions"),
        (views == 1).sum().cast(pl.Int64).alias("bounces"),
    ]
    out = _aggregate(lf, keys, aggs)
    return out.select(
        *keys, "sessions", "bounces", ratio("bounces", "sessions").alias("bounce_rate")
    )


def email_metrics(
    sends: FrameLike,
    *,
    sent_col: str | None = None,
    delivered_col: str | None = None,
    opened_col: str = "opened",
    clicked_col: str = "clicked",
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute email sends, deliveries, opens and clicks with their rates.

    Rates are over *delivered* emails (the usual convention of email platforms): ``open_rate``
    = opens / delivered, ``click_rate`` = clicks / delivered (click-through rate) and
    ``click_to_open`` = clicks / opens. Without a delivered column every email sent counts as
    delivered. Give unique opens and clicks (0/1 per email) for the usual rates.

    Parameters
    ----------
    sends
        Either one row per email sent with 0/1 (or boolean) flags, or one row per campaign (or
        day) with counts. Every column is summed.
    sent_col : str, optional
        Emails sent per row; ``None`` counts each row as one email.
    delivered_col : str, optional
        Emails delivered per row; ``None`` means all were delivered.
    opened_col, clicked_col : str
        Opens and clicks per row.
    by, freq, time_col
        Grouping columns (campaign, list...), period length and the date column.

    Returns
    -------
    DataFrame
        ``[by..., period,] sent, delivered, opens, clicks, open_rate, click_rate,
        click_to_open``.

    Raises
    ------
    ValidationError
        Null or negative counts; more deliveries than sends, or more opens or clicks than
        deliveries, on a row.

    Examples
    --------
    The seed example: 1,000 sent, a 20 % open rate and a 5 % click rate are 200 opens and 50
    clicks.

    >>> import polars as pl
    >>> mails = pl.DataFrame({"opened": [1] * 200 + [0] * 800,
    ...                       "clicked": [1] * 50 + [0] * 950})
    >>> email_metrics(mails).row(0)
    (1000.0, 1000.0, 200.0, 50.0, 0.2, 0.05, 0.25)
    """
    cols = [c for c in (sent_col, delivered_col, opened_col, clicked_col) if c is not None]
    lf, keys = _prepare(sends, what="email table", needed=cols, by=by, freq=freq, time_col=time_col)
    schema = lf.collect_schema()
    rules: list[Rule] = []
    expr: dict[str, pl.Expr] = {}
    for name, col in (
        ("sent", sent_col),
        ("delivered", delivered_col),
        ("opens", opened_col),
        ("clicks", clicked_col),
    ):
        if col is None:
            continue
        if schema[col] == pl.Boolean:
            e = pl.col(col).cast(pl.Float64)
            rules.append(Rule(col, pl.col(col).is_null(), "nulls", "counts must be ≥ 0", False))
        else:
            e, rule = _count(lf, schema, col)
            rules.append(rule)
        expr[name] = e
    lf = lf.with_columns(pl.lit(1.0).alias("__one"))
    sent = expr.get("sent", pl.col("__one"))
    delivered = expr.get("delivered", sent)
    if delivered_col is not None:
        rules.append(
            Rule(
                delivered_col,
                delivered > sent,
                "rows with more deliveries than sends",
                "delivered must be ≤ sent",
            )
        )
    base = delivered_col or sent_col
    for name, col in (("opens", opened_col), ("clicks", clicked_col)):
        rules.append(
            Rule(
                col,
                expr[name] > delivered,
                f"rows with more {name} than delivered emails",
                f"{name} must be ≤ {'delivered' if base else '1 per email'}",
            )
        )
    check_rules(lf, rules, "email table")
    aggs = [
        sent.sum().alias("sent"),
        delivered.sum().alias("delivered"),
        expr["opens"].sum().alias("opens"),
        expr["clicks"].sum().alias("clicks"),
    ]
    out = _aggregate(lf, keys, aggs)
    return out.select(
        *keys,
        pl.col("sent", "delivered", "opens", "clicks").cast(pl.Float64),
        ratio("opens", "delivered").alias("open_rate"),
        ratio("clicks", "delivered").alias("click_rate"),
        ratio("clicks", "opens").alias("click_to_open"),
    )


# ----------------------------------------------------------------------------------------------
# customers


def retention(
    subscriptions: FrameLike,
    *,
    renewed_col: str = "renewed",
    start_col: str | None = None,
    end_col: str | None = None,
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute renewal (retention) and churn rates, from renewal flags or from start/end dates.

    **Renewal flags** (default): one row per subscription that came up for renewal, with
    ``renewed_col`` (bool or 0/1). ``renewal_rate`` = renewed / due, ``churn_rate`` = 1 −
    renewal rate.

    **Start and end dates** (``start_col`` and ``end_col``): one row per subscription; a null
    end means still active. Per period (``freq`` defaults to ``"1mo"``): ``at_start`` counts
    subscriptions started in an earlier period and not ended in an earlier one; ``churned``
    those of them that end in this period; ``new`` subscriptions started in the period;
    ``at_end`` = at_start + new − every subscription that ended in the period.
    ``retention_rate`` = (at_start − churned) / at_start and ``churn_rate`` = churned /
    at_start, so new subscriptions that end at once do not count against retention. Periods run
    from the first start to the last start or end; periods with no subscription at all are
    left out.

    Parameters
    ----------
    subscriptions
        The table described above, plus the ``by`` columns (plan, channel...).
    renewed_col : str
        The renewal flag (flag mode).
    start_col, end_col : str, optional
        Start and end dates or datetimes (date mode); both or neither.
    by : str or sequence of str, optional
        Grouping columns.
    freq : str, optional
        Period length (in flag mode, of ``time_col``: when the renewal fell due).
    time_col : str
        Date column of the flag mode with ``freq``.

    Returns
    -------
    DataFrame
        Flag mode: ``[by..., period,] due, renewed, churned, renewal_rate, churn_rate``.
        Date mode: ``[by...,] period, at_start, new, churned, at_end, retention_rate,
        churn_rate``.

    Raises
    ------
    ValidationError
        Null flags or start dates, values other than 0/1, ends before starts.

    Examples
    --------
    The seed example: 80 of 100 subscriptions renew, 80 %.

    >>> import polars as pl
    >>> subs = pl.DataFrame({"renewed": [True] * 80 + [False] * 20})
    >>> retention(subs).row(0)
    (100, 80, 20, 0.8, 0.2)
    """
    if (start_col is None) != (end_col is None):
        raise ValidationError(
            "retention's date mode needs both start_col= and end_col=; got only "
            + ("start_col." if start_col is not None else "end_col.")
        )
    if start_col is None:
        out = _flag_rate(
            subscriptions,
            flag_col=renewed_col,
            what="subscription table",
            rows_name="due",
            yes_name="renewed",
            no_name="churned",
            rate_name="renewal_rate",
            rate_of="yes",
            by=by,
            freq=freq,
            time_col=time_col,
        )
        return out.with_columns(ratio("churned", "due").alias("churn_rate"))
    assert end_col is not None
    period = as_period(freq or "1mo")
    assert period is not None  # not optional
    return _retention_dates(subscriptions, start_col, end_col, as_list(by), period)


def _retention_dates(
    data: FrameLike, start_col: str, end_col: str, keys: list[str], period: Period
) -> pl.DataFrame:
    what = "subscription table"
    lf, keys = _prepare(
        data, what=what, needed=[start_col, end_col], by=keys, freq=None, time_col=start_col
    )
    # a value that is not a date raises here, naming its rows; nulls stay null
    raw = lf.drop(ROW)  # the parser quotes rows by its own index
    start = parse_times(raw, start_col, what=what)
    end = parse_times(raw, end_col, what=what)
    check_rules(
        lf,
        [
            Rule(
                start_col,
                start.is_null(),
                "nulls",
                "every subscription needs a start date",
                show_values=False,
            ),
            Rule(
                end_col,
                end < start,
                "end dates before the start",
                "a subscription cannot end before it starts",
            ),
        ],
        what,
    )
    frame = lf.select(
        *keys,
        period.truncate(start).alias("__ps"),
        period.truncate(end).alias("__pe"),
    ).collect()
    first = frame["__ps"].min()
    last = pl.concat([frame["__ps"], frame["__pe"].drop_nulls()]).max()
    periods = pl.select(
        pl.date_range(first, last, interval=period.step)  # type: ignore[arg-type]
    ).to_series()
    grid = periods.to_physical().to_numpy().astype(np.int64)
    n_per = len(grid)
    ps = np.searchsorted(grid, frame["__ps"].to_physical().to_numpy())
    pe_raw = frame["__pe"].to_physical()
    ended = pe_raw.is_not_null().to_numpy()
    pe = np.full(frame.height, n_per, dtype=np.int64)  # never ends: past the grid
    pe[ended] = np.searchsorted(grid, pe_raw.drop_nulls().to_numpy())
    if keys:
        groups = frame.select(keys).with_columns(pl.struct(keys).rank("dense").alias("__g"))
        g = groups["__g"].to_numpy().astype(np.int64) - 1
        n_groups = int(g.max()) + 1
        labels = groups.unique("__g").sort("__g").select(keys)
    else:
        g = np.zeros(frame.height, dtype=np.int64)
        n_groups = 1
        labels = pl.DataFrame()
    size = n_groups * (n_per + 1)

    def count(period: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        idx = g * (n_per + 1) + period
        if mask is not None:
            idx = idx[mask]
        return np.bincount(idx, minlength=size).reshape(n_groups, n_per + 1)[:, :n_per]

    new = count(ps)
    ends = count(pe)
    churned = count(pe, pe > ps)
    at_end = np.cumsum(new - ends, axis=1)
    at_start = at_end - new + ends
    out = pl.DataFrame(
        {
            "__g": np.repeat(np.arange(n_groups), n_per),
            "period": pl.Series(np.tile(grid, n_groups)).cast(pl.Int32).cast(pl.Date),
            "at_start": at_start.ravel(),
            "new": new.ravel(),
            "churned": churned.ravel(),
            "at_end": at_end.ravel(),
        }
    ).filter((pl.col("at_start") + pl.col("new")) > 0)
    out = out.with_columns((pl.col("at_start") - pl.col("churned")).alias("__kept"))
    if keys:
        out = out.join(
            labels.with_row_index("__g").with_columns(pl.col("__g").cast(pl.Int64)),
            on="__g",
            how="left",
        )
    return out.select(
        *keys,
        "period",
        pl.col("at_start", "new", "churned", "at_end").cast(pl.Int64),
        ratio("__kept", "at_start").alias("retention_rate"),
        ratio("churned", "at_start").alias("churn_rate"),
    )


def cost_to_serve(
    costs: FrameLike,
    customers: FrameLike | int,
    *,
    cost_col: str = "cost",
    customer_col: str = "customer_id",
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "date",
    customer_time_col: str | None = None,
) -> pl.DataFrame:
    """Compute the cost to serve a customer: service costs / customers served.

    Parameters
    ----------
    costs
        Service costs (support, fulfilment, account management), one row per cost item with
        ``cost_col`` (≥ 0), the ``by`` columns and, with ``freq``, ``time_col``.
    customers
        The customers served: a frame with ``customer_col`` (distinct ids are counted), the
        same ``by`` columns and, with ``freq``, ``customer_time_col``; or a number of customers
        (applies to every row).
    cost_col, customer_col : str
        Column names.
    by, freq : optional
        Grouping columns and period length (costs and customers are matched on them).
    time_col : str
        Date column of ``costs`` with ``freq``.
    customer_time_col : str, optional
        Date column of ``customers`` with ``freq`` (default: ``time_col``).

    Returns
    -------
    DataFrame
        ``[by..., period,] cost, customers, cost_to_serve``; a group present on one side only
        shows 0 on the other (a null ratio when it has no customers).

    Examples
    --------
    The seed example: 1,000 € of service costs for 100 customers, 10 € each.

    >>> import polars as pl
    >>> costs = pl.DataFrame({"cost": [600.0, 400.0]})
    >>> cost_to_serve(costs, pl.DataFrame({"customer_id": range(100)})).row(0)
    (1000.0, 100, 10.0)
    """
    lf, keys = _prepare(
        costs, what="cost table", needed=[cost_col], by=by, freq=freq, time_col=time_col
    )
    amount, rule = _count(lf, lf.collect_schema(), cost_col, "costs must be ≥ 0")
    check_rules(lf, [rule], "cost table")
    cost = _aggregate(lf, keys, [amount.sum().alias("cost")])
    if isinstance(customers, int | np.integer) and not isinstance(customers, bool):
        if customers < 0:
            raise ValidationError(f"customers must be ≥ 0; got {customers!r}.")
        out = cost.with_columns(pl.lit(int(customers), pl.Int64).alias("customers"))
    else:
        clf, ckeys = _prepare(
            customers,
            what="customer table",
            needed=[customer_col],
            by=by,
            freq=freq,
            time_col=customer_time_col or time_col,
        )
        check_rules(
            clf,
            [
                Rule(
                    customer_col,
                    pl.col(customer_col).is_null(),
                    "nulls",
                    "every row needs a customer id",
                    False,
                )
            ],
            "customer table",
        )
        served = _aggregate(
            clf, ckeys, [pl.col(customer_col).n_unique().cast(pl.Int64).alias("customers")]
        )
        if keys:
            out = cost.join(served, on=keys, how="full", coalesce=True, nulls_equal=True)
            out = out.with_columns(
                pl.col("cost").fill_null(0.0), pl.col("customers").fill_null(0)
            ).sort(keys, nulls_last=True)
        else:
            out = pl.concat([cost, served], how="horizontal")
    return out.select(*keys, "cost", "customers", ratio("cost", "customers").alias("cost_to_serve"))


# ----------------------------------------------------------------------------------------------
# surveys


def _score_rules(col: str, lo: int, hi: int, what: str) -> list[Rule]:
    c = pl.col(col)
    out_of_range = c.is_not_null() & ((c < lo) | (c > hi) | (c.cast(pl.Float64).floor() != c))
    return [
        Rule(
            col,
            c.is_null(),
            "nulls",
            f"drop unanswered rows; {what} scores are whole numbers from {lo} to {hi}",
            False,
        ),
        Rule(
            col,
            out_of_range,
            f"scores outside {lo}-{hi}",
            f"{what} scores are whole numbers from {lo} to {hi}",
        ),
    ]


def _numeric_scores(lf: pl.LazyFrame, col: str, what: str) -> None:
    dtype = lf.collect_schema()[col]
    if not dtype.is_numeric():
        raise SchemaError(f"Column {col!r} of the {what} has type {dtype}; expected scores.")


def nps(
    responses: FrameLike,
    *,
    score_col: str = "score",
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute the Net Promoter Score from 0–10 survey answers, with its standard error.

    Promoters answer 9–10, passives 7–8, detractors 0–6 (Reichheld, 2003).
    ``nps`` = % promoters − % detractors, from −100 to 100. Its standard error treats the NPS
    as 100 × the mean of +1 (promoter), 0 and −1 (detractor):
    ``nps_se = 100 × sqrt((p + d − (p − d)²) / n)`` with ``p`` and ``d`` the shares of promoters
    and detractors among ``n`` answers (the multinomial variance of ``p − d``); a 95 % margin
    of error is about 1.96 × ``nps_se``.

    Parameters
    ----------
    responses
        One row per answer with ``score_col`` (whole numbers 0–10), the ``by`` columns and,
        with ``freq``, ``time_col``.
    score_col : str
        The 0–10 answer.
    by, freq, time_col
        Grouping columns, period length and the date column.

    Returns
    -------
    DataFrame
        ``[by..., period,] responses, promoters, passives, detractors, pct_promoters,
        pct_detractors, nps, nps_se``.

    Raises
    ------
    ValidationError
        Null scores or scores outside 0–10 (the message names them and their rows).

    Examples
    --------
    >>> import polars as pl
    >>> answers = pl.DataFrame({"score": [10, 9, 9, 8, 7, 3, 10, 0, 9, 6]})
    >>> nps(answers).select("promoters", "detractors", "nps").row(0)
    (5, 3, 20.0)
    """
    what = "survey table"
    lf, keys = _prepare(
        responses, what=what, needed=[score_col], by=by, freq=freq, time_col=time_col
    )
    _numeric_scores(lf, score_col, what)
    check_rules(lf, _score_rules(score_col, 0, 10, "NPS"), what)
    s = pl.col(score_col)
    aggs = [
        pl.len().cast(pl.Int64).alias("responses"),
        (s >= 9).sum().cast(pl.Int64).alias("promoters"),
        ((s >= 7) & (s <= 8)).sum().cast(pl.Int64).alias("passives"),
        (s <= 6).sum().cast(pl.Int64).alias("detractors"),
    ]
    out = _aggregate(lf, keys, aggs)
    p = pl.col("promoters") / pl.col("responses")
    d = pl.col("detractors") / pl.col("responses")
    return out.select(
        *keys,
        "responses",
        "promoters",
        "passives",
        "detractors",
        ratio("promoters", "responses", 100.0).alias("pct_promoters"),
        ratio("detractors", "responses", 100.0).alias("pct_detractors"),
        (100.0 * (p - d)).alias("nps"),
        (100.0 * ((p + d - (p - d) ** 2).clip(lower_bound=0.0) / pl.col("responses")).sqrt()).alias(
            "nps_se"
        ),
    )


def csat(
    responses: FrameLike,
    *,
    score_col: str = "score",
    scale: tuple[int, int] = (1, 5),
    satisfied_from: int | None = None,
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute the customer satisfaction score: the share of satisfied answers.

    By default the satisfied answers are the top two of the scale (4 and 5 on 1–5; 6 and 7 on
    1–7). ``csat_se`` is the binomial standard error ``sqrt(csat × (1 − csat) / n)``.

    Parameters
    ----------
    responses
        One row per answer with ``score_col`` (whole numbers on ``scale``), the ``by`` columns
        and, with ``freq``, ``time_col``.
    score_col : str
        The answer.
    scale : (int, int)
        Lowest and highest possible answer.
    satisfied_from : int, optional
        Lowest answer that counts as satisfied (default: the scale's top two).
    by, freq, time_col
        Grouping columns, period length and the date column.

    Returns
    -------
    DataFrame
        ``[by..., period,] responses, satisfied, csat, csat_se`` (``csat`` a fraction: 0.8 is
        80 %).

    Examples
    --------
    >>> import polars as pl
    >>> csat(pl.DataFrame({"score": [5, 4, 4, 3, 1]})).select("satisfied", "csat").row(0)
    (3, 0.6)
    """
    lo, hi = (int(v) for v in scale)
    if not lo < hi:
        raise ValidationError(
            f"scale must be (lowest, highest) with lowest < highest; got {scale!r}."
        )
    top = hi - 1 if satisfied_from is None else int(satisfied_from)
    if not lo <= top <= hi:
        raise ValidationError(f"satisfied_from must lie on the scale {lo}-{hi}; got {top!r}.")
    what = "survey table"
    lf, keys = _prepare(
        responses, what=what, needed=[score_col], by=by, freq=freq, time_col=time_col
    )
    _numeric_scores(lf, score_col, what)
    check_rules(lf, _score_rules(score_col, lo, hi, "CSAT"), what)
    aggs = [
        pl.len().cast(pl.Int64).alias("responses"),
        (pl.col(score_col) >= top).sum().cast(pl.Int64).alias("satisfied"),
    ]
    out = _aggregate(lf, keys, aggs).with_columns(ratio("satisfied", "responses").alias("csat"))
    return out.select(
        *keys,
        "responses",
        "satisfied",
        "csat",
        (pl.col("csat") * (1 - pl.col("csat")) / pl.col("responses")).sqrt().alias("csat_se"),
    )


# ----------------------------------------------------------------------------------------------
# market


def market_share(
    sales: FrameLike,
    market_size: float | Mapping[Any, float] | FrameLike,
    *,
    revenue_col: str = "revenue",
    market_col: str = "market_size",
    by: By = None,
    freq: FreqLike | None = None,
    time_col: str = "timestamp",
) -> pl.DataFrame:
    """Compute market share: our revenue / the size of the market.

    Parameters
    ----------
    sales
        Our sales, one row per sale (or per period and segment) with ``revenue_col`` (≥ 0),
        the ``by`` columns and, with ``freq``, ``time_col``.
    market_size
        The market's total revenue: a number (the same market for every row), a mapping from
        the single ``by`` key to a size, or a frame with the ``by`` columns (and ``period``
        as dates when ``freq`` is given) and ``market_col``.
    revenue_col, market_col : str
        Column names.
    by, freq, time_col
        Grouping columns (region, product line), period length and the date column.

    Returns
    -------
    DataFrame
        ``[by..., period,] revenue, market_size, market_share`` (a fraction; null when the
        market size is 0 or unknown for the row). Segments of a market frame without sales
        appear with 0 revenue.

    Examples
    --------
    >>> import polars as pl
    >>> sales = pl.DataFrame({"region": ["north", "north", "south"],
    ...                       "revenue": [30.0, 20.0, 10.0]})
    >>> market_share(sales, {"north": 500.0, "south": 400.0}, by="region").rows()
    [('north', 50.0, 500.0, 0.1), ('south', 10.0, 400.0, 0.025)]
    """
    what = "sales table"
    lf, keys = _prepare(sales, what=what, needed=[revenue_col], by=by, freq=freq, time_col=time_col)
    amount, rule = _count(lf, lf.collect_schema(), revenue_col, "revenue must be ≥ 0")
    check_rules(lf, [rule], what)
    ours = _aggregate(lf, keys, [amount.sum().alias("revenue")])
    if isinstance(market_size, int | float | np.integer | np.floating) and not isinstance(
        market_size, bool
    ):
        if not (np.isfinite(market_size) and market_size >= 0):
            raise ValidationError(f"market_size must be a finite number ≥ 0; got {market_size!r}.")
        out = ours.with_columns(pl.lit(float(market_size)).alias("market_size"))
    else:
        if isinstance(market_size, Mapping):
            if len(keys) != 1:
                raise ValidationError(
                    "A mapping market_size needs exactly one grouping column (by= without "
                    f"freq=); the keys are {keys!r}. Pass a frame instead."
                )
            market = pl.DataFrame(
                {
                    keys[0]: list(market_size.keys()),
                    "market_size": [float(v) for v in market_size.values()],
                }
            )
            market = market.with_columns(pl.col(keys[0]).cast(ours.schema[keys[0]]))
            mkt_name = "market_size"
        else:
            mlf = to_lazy(market_size, what="market table")
            mschema = mlf.collect_schema()
            check_columns(mschema, [*keys, market_col], "market table")
            period = as_period(freq, optional=True)
            if period is not None:  # period starts given as dates, datetimes or text
                start = parse_dates(mlf, "period", what="market table")
                mlf = mlf.with_columns(period.truncate(start).alias("period"))
            mkt = numeric_expr(mlf, market_col, mlf.collect_schema()[market_col], "sizes ≥ 0")
            market = mlf.select(*keys, mkt.alias("market_size")).collect()
            mkt_name = market_col
        size = pl.col("market_size")
        if market.height:
            check_rules(
                market.lazy().with_row_index(ROW).with_columns(size.alias(mkt_name)),
                [
                    Rule(
                        mkt_name,
                        size.is_null() | ~size.is_finite() | (size < 0),
                        "null, negative or non-finite sizes",
                        "market sizes must be ≥ 0",
                    )
                ],
                "market table",
            )
        dup = market.filter(pl.struct(keys).is_duplicated()) if keys else market.head(0)
        if dup.height or (not keys and market.height != 1):
            raise ValidationError(
                f"The market table must have one row per {keys or 'table'}; "
                f"{dup.height or market.height} rows repeat a key."
            )
        if keys:
            out = ours.join(market, on=keys, how="full", coalesce=True, nulls_equal=True)
            out = out.with_columns(pl.col("revenue").fill_null(0.0)).sort(keys, nulls_last=True)
        else:
            out = pl.concat([ours, market], how="horizontal")
    return out.select(
        *keys, "revenue", "market_size", ratio("revenue", "market_size").alias("market_share")
    )
