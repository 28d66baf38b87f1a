"""SLA attainment between marketing and sales, per period and team.

Marketing commits a number of MQLs per period; sales commits to follow up each SQL within a
time (24 hours; under 5 minutes is the best practice) with a bounded number of attempts.
:func:`sla_attainment` reports each commitment against what the CRM lifecycle log and the
sales activity log show, by the funnel rules of :mod:`attribution.kpis.funnel` (passing a
stage, entering it). Read the logs with :func:`attribution.crm.read_crm` and
:func:`attribution.crm.read_activities`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import polars as pl

from attribution._base.errors import SchemaError, ValidationError
from attribution._base.frames import ROW, FrameLike, Rule, check_columns, check_rules, to_lazy
from attribution._base.periods import FreqLike, Period
from attribution._base.time import parse_date, parse_dates
from attribution.crm import ACTIVITY_LOG, CRM_LOG, read_activities
from attribution.kpis._lifecycle import (
    RANK,
    load_lifecycle,
    pass_and_reach,
    period_grid,
    required_period,
)

__all__ = ["sla_attainment"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)\s*$")
_UNIT_US = {"s": 1e6, "sec": 1e6, "m": 6e7, "min": 6e7, "h": 3.6e9, "d": 8.64e10}


def _duration(value: str | dt.timedelta) -> tuple[str, int]:
    """Parse a follow-up window into (label, microseconds): ``"24h"``, ``"5m"``, or a timedelta."""
    if isinstance(value, dt.timedelta):
        us = round(value.total_seconds() * 1e6)
        secs = us // 1_000_000
        if us <= 0:
            raise ValidationError(f"follow_up windows must be positive; got {value!r}.")
        if us % 1_000_000 == 0 and secs % 86_400 == 0:
            label = f"{secs // 86_400}d"
        elif us % 1_000_000 == 0 and secs % 3_600 == 0:
            label = f"{secs // 3_600}h"
        elif us % 1_000_000 == 0 and secs % 60 == 0:
            label = f"{secs // 60}m"
        else:
            label = f"{us / 1e6:g}s"
        return label, us
    m = _DURATION.match(str(value))
    if not m or float(m.group(1)) <= 0:
        raise ValidationError(
            f"follow_up windows must be positive durations such as '24h', '5m', '90s' or '2d' "
            f"(s, m, h, d); got {value!r}."
        )
    return str(value).strip(), round(float(m.group(1)) * _UNIT_US[m.group(2)])


def _to_period(value: Any, period: Period, what: str) -> dt.date:
    """Find the start of the period holding ``value`` (a date, datetime or ISO text)."""
    day = parse_date(value, name=f"{what} period")
    start: dt.date = pl.select(period.truncate(pl.lit(day, dtype=pl.Date))).item()
    return start


def _commitments(commitment: Any, period: Period) -> pl.DataFrame | float | None:
    """Normalise the MQL commitment to a number, or a frame ``period, target`` at period starts."""
    what = "mql_commitment"
    if commitment is None:
        return None
    if isinstance(commitment, Real) and not isinstance(commitment, bool):
        number = float(commitment)
        if not (math.isfinite(number) and number >= 0):
            raise ValidationError(f"{what} must be a finite number ≥ 0; got {commitment!r}.")
        return number
    if isinstance(commitment, pl.DataFrame | pl.LazyFrame):
        lf = to_lazy(commitment)
        schema = lf.collect_schema()
        check_columns(schema, ["period", "target"], f"{what} frame")
        if not (schema["target"].is_numeric() or schema["target"] == pl.Null):
            raise SchemaError(
                f"Column 'target' of the {what} frame has type {schema['target']}; targets must "
                "be finite numbers ≥ 0."
            )
        day = parse_dates(lf, "period", what=f"{what} frame")
        frame = lf.select(period.truncate(day).alias("period"), "target").collect()
        if frame.height:
            nulls = Rule(
                "period", pl.col("period").is_null(), "nulls", "targets need a period", False
            )
            check_rules(frame.lazy().with_row_index(ROW), [nulls], f"{what} frame")
        periods, values = frame["period"].to_list(), frame["target"].to_list()
    elif isinstance(commitment, Mapping):
        periods = [_to_period(k, period, what) for k in commitment]
        values = []
        for key, value in commitment.items():
            if isinstance(value, bool) or not (value is None or isinstance(value, Real)):
                raise ValidationError(
                    f"{what} for {key!r} is {value!r}; targets must be finite numbers ≥ 0."
                )
            values.append(value)
    else:
        raise ValidationError(
            f"{what} must be a number, a dict {{period: number}} or a frame with columns "
            f"'period' and 'target'; got a {type(commitment).__name__}."
        )
    out = pl.DataFrame(
        {"period": periods, "target": values}, schema={"period": pl.Date, "target": pl.Float64}
    )
    # NaN sorts above every number (NaN >= 0 holds) and a null comparison is dropped: test each
    target = pl.col("target")
    bad = out.filter(target.is_null() | ~target.is_finite() | (target < 0))
    if bad.height:
        raise ValidationError(
            f"{what} has {bad.height} targets that are null, negative, NaN or infinite "
            f"(periods {', '.join(str(p) for p in bad['period'].head(5).to_list())}); targets "
            "must be finite numbers ≥ 0."
        )
    dup = out.group_by("period").len().filter(pl.col("len") > 1)
    if dup.height:
        raise ValidationError(
            f"{what} gives {dup.height} periods more than one target once dates are moved to "
            f"the start of their {period} period ({', '.join(str(p) for p in dup['period'])})."
        )
    return out


def sla_attainment(
    crm: FrameLike,
    activities: FrameLike | None = None,
    *,
    mql_commitment: float | Mapping[Any, float] | pl.DataFrame | None = None,
    freq: FreqLike = "1mo",
    follow_up: Sequence[str | dt.timedelta] | str | dt.timedelta = ("24h", "5m"),
    follow_up_target: float | Mapping[str, float] = 1.0,
    max_attempts: int | None = None,
) -> pl.DataFrame:
    """SLA attainment per period and team: MQLs delivered, SQL follow-up time and attempts.

    Metrics (``team`` in brackets):

    - ``mqls_delivered`` (marketing): contacts that passed the mql stage in the period for the
      first time (a skip from lead to sql passes mql; contacts created beyond mql do not);
      target ``mql_commitment``; attained when actual ≥ target.
    - ``sql_followed_up_within_<window>`` (sales), one per ``follow_up`` window: share of the
      period's SQLs whose follow-up came within the window (inclusive). An SQL is each entry
      to the sql stage (a fall-back and a new entry is a new SQL; a repeated sql row is not).
      Its follow-up is the contact's first activity at or after the SQL time; an SQL without
      one is not followed up and counts against the share. Target ``follow_up_target``
      (default 1.0: the SLA promises to follow up *each* SQL; use e.g. 0.9 for a 90% goal);
      attained when share ≥ target.
    - ``attempts_per_lead`` (sales), when ``max_attempts`` is given: the largest number of
      activities on one of the period's SQLs, counted from the SQL time until the contact's
      next stage change (or the end of the log); attained when that maximum ≤ ``max_attempts``.

    With ``activities=None`` only the marketing metric is reported.

    Parameters
    ----------
    crm
        Output of :func:`attribution.crm.read_crm`, or anything it accepts with the default
        column names.
    activities
        Output of :func:`attribution.crm.read_activities`, or anything it accepts with the
        default names.
    mql_commitment : float, dict or DataFrame, optional
        MQLs marketing commits to per period: one number for every period, a dict
        ``{period: number}`` (dates, datetimes or ISO strings, moved to the start of their
        period) or a frame with columns ``period`` and ``target``. Periods without a target
        (or ``None``) get a null target and null ``attained``.
    freq : str
        Period length, a day or longer (``"1w"``, ``"1mo"``, ``"MS"``, ``"W"``...). Periods
        run from the first to the last of the CRM log (plus any period with a commitment).
    follow_up : str, timedelta or sequence of them
        Follow-up windows such as ``"24h"`` and ``"5m"`` (units s, m, h, d).
    follow_up_target : float or dict
        Required share of SQLs followed up in time, one for all windows or per window label
        (``{"24h": 1.0, "5m": 0.5}``).
    max_attempts : int, optional
        Agreed maximum number of attempts per SQL.

    Returns
    -------
    DataFrame
        Long format: ``period`` (Date), ``team`` (``marketing`` or ``sales``), ``metric``,
        ``actual`` (Float64; a share in [0, 1] for follow-ups, null when the period has no
        SQL), ``target`` (Float64), ``attained`` (Boolean, null when the target or actual is
        null), ``base`` (Int64: the number of SQLs a sales figure is measured over; null for
        ``mqls_delivered``). Sorted by period, team, then metric in the order above.

    Examples
    --------
    >>> import polars as pl
    >>> crm = pl.DataFrame({"user_id": [1, 2, 2], "stage": ["mql", "mql", "sql"],
    ...     "timestamp": ["2024-01-02", "2024-01-03", "2024-01-04T10:00:00"]})
    >>> acts = pl.DataFrame({"user_id": [2], "timestamp": ["2024-01-04T12:00:00"],
    ...                      "activity": ["call"]})
    >>> sla = sla_attainment(crm, acts, mql_commitment=3, follow_up="24h")
    >>> sla.select("team", "metric", "actual", "target", "attained").rows()
    [('marketing', 'mqls_delivered', 2.0, 3.0, False), ('sales', 'sql_followed_up_within_24h', 1.0, 1.0, True)]
    """  # noqa: E501
    period = required_period(freq)
    windows = [follow_up] if isinstance(follow_up, str | dt.timedelta) else list(follow_up)
    parsed = [_duration(w) for w in windows]
    labels = [label for label, _ in parsed]
    if len(set(labels)) != len(labels):
        raise ValidationError(f"follow_up has repeated windows: {labels}.")
    targets = _follow_up_targets(follow_up_target, labels)
    if max_attempts is not None and (
        isinstance(max_attempts, bool)
        or not isinstance(max_attempts, Real)
        or not math.isfinite(max_attempts)
        or int(max_attempts) != max_attempts
        or max_attempts < 0
    ):
        raise ValidationError(
            f"max_attempts must be a whole number ≥ 0 or None; got {max_attempts!r}."
        )
    commitment = _commitments(mql_commitment, period)

    df = load_lifecycle(crm)
    lo, hi = df.select(
        period.truncate(pl.col("timestamp").min()).alias("lo"),
        period.truncate(pl.col("timestamp").max()).alias("hi"),
    ).row(0)
    if isinstance(commitment, pl.DataFrame) and commitment.height:
        lo = min(lo, commitment["period"].min())
        hi = max(hi, commitment["period"].max())
    grid = period_grid(lo, hi, period)

    # marketing: MQLs delivered
    mql = pass_and_reach(df, RANK["mql"], None)
    mql_counts = mql.group_by(period.truncate(pl.col("start_time")).alias("period")).agg(
        pl.len().cast(pl.Float64).alias("actual")
    )
    marketing = grid.join(mql_counts, on="period", how="left").with_columns(
        pl.col("actual").fill_null(0.0)
    )
    if isinstance(commitment, pl.DataFrame):
        marketing = marketing.join(commitment, on="period", how="left")
    else:
        marketing = marketing.with_columns(pl.lit(commitment, pl.Float64).alias("target"))
    parts = [
        marketing.select(
            "period",
            pl.lit("marketing").alias("team"),
            pl.lit("mqls_delivered").alias("metric"),
            "actual",
            "target",
            (pl.col("actual") >= pl.col("target")).alias("attained"),
            pl.lit(None, pl.Int64).alias("base"),
        )
    ]

    if activities is not None:
        acts = read_activities(activities).collect()
        if acts["user_id"].dtype != df["user_id"].dtype:
            raise SchemaError(
                f"User ids are {df['user_id'].dtype} in the {CRM_LOG} but "
                f"{acts['user_id'].dtype} in the {ACTIVITY_LOG}; they must have the same type to "
                "be matched."
            )
        parts.append(_sales_metrics(df, acts, grid, period, parsed, targets, max_attempts))

    order = {
        "mqls_delivered": 0,
        **{f"sql_followed_up_within_{lb}": i + 1 for i, lb in enumerate(labels)},
        "attempts_per_lead": len(labels) + 1,
    }
    out = pl.concat(parts, how="vertical")
    return out.sort("period", "team", pl.col("metric").replace_strict(order, return_dtype=pl.Int64))


def _follow_up_targets(target: float | Mapping[str, float], labels: list[str]) -> dict[str, float]:
    if isinstance(target, Mapping):
        missing = [lb for lb in labels if lb not in target]
        if missing:
            raise ValidationError(
                f"follow_up_target has no target for the window(s) {missing}; give one per "
                f"follow_up window ({labels}) or a single number."
            )
        out = {lb: float(target[lb]) for lb in labels}
    else:
        out = dict.fromkeys(labels, float(target))
    for lb, v in out.items():
        if not 0.0 <= v <= 1.0:
            raise ValidationError(
                f"follow_up_target must be a share in [0, 1]; got {v!r} for window {lb!r}."
            )
    return out


def _sales_metrics(
    df: pl.DataFrame,
    acts: pl.DataFrame,
    grid: pl.DataFrame,
    period: Period,
    windows: list[tuple[str, int]],
    targets: dict[str, float],
    max_attempts: int | None,
) -> pl.DataFrame:
    user = "user_id"
    sql = RANK["sql"]
    entries = df.filter(pl.col("prev").is_null() | (pl.col("prev") != pl.col("rank")))
    same = pl.col("g").shift(-1) == pl.col("g")
    entries = entries.with_columns(
        pl.when(same).then(pl.col("timestamp").shift(-1)).otherwise(None).alias("__next")
    )
    sqls = (
        entries.filter(pl.col("rank") == sql)
        .select(user, pl.col("timestamp").alias("__t"), "__next")
        .with_row_index("__sql")
        .sort("__t")
    )
    first_act = sqls.join_asof(
        acts.select(user, pl.col("timestamp").alias("__a")).sort("__a"),
        left_on="__t",
        right_on="__a",
        by=user,
        strategy="forward",
        check_sortedness=False,  # sorted by time above; the check cannot see groups
    )
    delay = (pl.col("__a") - pl.col("__t")).dt.total_microseconds()
    per_sql = first_act.with_columns(
        period.truncate(pl.col("__t")).alias("period"),
        *[(delay <= us).fill_null(False).alias(f"__w{i}") for i, (_, us) in enumerate(windows)],
    )
    aggs = [pl.len().cast(pl.Int64).alias("base")]
    aggs += [pl.col(f"__w{i}").mean().alias(f"__w{i}") for i in range(len(windows))]
    if max_attempts is not None:
        attempts = (
            sqls.join(acts.select(user, pl.col("timestamp").alias("__a")), on=user)
            .filter(
                (pl.col("__a") >= pl.col("__t"))
                & (pl.col("__next").is_null() | (pl.col("__a") < pl.col("__next")))
            )
            .group_by("__sql")
            .agg(pl.len().cast(pl.Int64).alias("__attempts"))
        )
        per_sql = per_sql.join(attempts, on="__sql", how="left").with_columns(
            pl.col("__attempts").fill_null(0)
        )
        aggs.append(pl.col("__attempts").max().cast(pl.Float64).alias("__attempts"))
    stats = grid.join(per_sql.group_by("period").agg(aggs), on="period", how="left").with_columns(
        pl.col("base").fill_null(0)
    )
    rows = []
    for i, (label, _) in enumerate(windows):
        rows.append(
            stats.select(
                "period",
                pl.lit("sales").alias("team"),
                pl.lit(f"sql_followed_up_within_{label}").alias("metric"),
                pl.col(f"__w{i}").cast(pl.Float64).alias("actual"),
                pl.lit(targets[label], pl.Float64).alias("target"),
                (pl.col(f"__w{i}") >= targets[label]).alias("attained"),
                "base",
            )
        )
    if max_attempts is not None:
        rows.append(
            stats.select(
                "period",
                pl.lit("sales").alias("team"),
                pl.lit("attempts_per_lead").alias("metric"),
                pl.col("__attempts").alias("actual"),
                pl.lit(float(max_attempts), pl.Float64).alias("target"),
                (pl.col("__attempts") <= max_attempts).alias("attained"),
                "base",
            )
        )
    return pl.concat(rows, how="vertical")
