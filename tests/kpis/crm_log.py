"""A hand-built CRM lifecycle log and sales activity log whose answers are worked by hand.

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

import polars as pl

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


def crm_frame() -> pl.DataFrame:
    """The lifecycle log as the user gives it (text times, default column names)."""
    return pl.DataFrame(
        ROWS, schema=["user_id", "timestamp", "stage", "source", "amount"], orient="row"
    )


def activity_frame() -> pl.DataFrame:
    """The sales activity log as the user gives it."""
    return pl.DataFrame(ACTIVITIES, schema=["user_id", "timestamp", "activity"], orient="row")


def d(month: int, day: int) -> dt.date:
    """A day of 2024."""
    return dt.date(2024, month, day)
