"""The HTML report: one self-contained page of charts and tables, plus every table as files.

:func:`build_report` computes the tables from an event log (or journeys / a path table) and the
optional spend, CRM, sales-activity and target inputs; :class:`Report` holds them and writes
``report.html`` beside ``<table>.parquet`` and ``<table>.csv`` for every table. Rendering is a
pure function of the tables: :func:`make_charts` turns them into inline SVG charts and
:func:`render_html` into the page, so any frame with the documented columns can be rendered.

Tables and where they come from:

================== =========================================================================
table              columns (source)
================== =========================================================================
summary            ``metric, value`` (counts and totals of the input)
credit             ``model, channel, conversions, revenue, share`` (:func:`attribute_all`)
roi                ``model, channel, conversions, revenue, spend, roi, roas, cpa``
                   (:func:`attribution.roi`; needs ``spend``)
trends             ``period, metric, actual, target, previous, basis, delta, delta_pct,
                   attained`` (:func:`trends`; needs journeys with times)
funnel             ``period, stage, contacts`` (``attribution.funnel.funnel``; needs ``crm``)
stage_conversion   ``from_stage, to_stage, reached_from, reached_to_after, rate, median_days,
                   mean_days`` (``attribution.funnel.stage_conversion``; needs ``crm``)
sla                ``period, team, metric, actual, target, attained``
                   (``attribution.funnel.sla_attainment``; needs ``crm`` and a commitment)
top_paths          ``path, conversions, revenue, nulls, conversion_rate, share``
                   (``attribution.reports.top_paths``)
assists            ``channel, assisted_conversions, last_touch_conversions, assist_ratio, ...``
                   (``attribution.reports.assists``)
================== =========================================================================

A section whose input is not given is skipped with a note on the page saying what to pass.
The page loads nothing: no scripts, fonts, images or style sheets from anywhere (a
Content-Security-Policy of ``default-src 'none'`` makes the browser refuse any attempt).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl

from attribution import _svg
from attribution._base.errors import EmptyInputError, ValidationError, describe_rows
from attribution._base.progress import Progress
from attribution.io import FrameLike, atomic_path, to_lazy, write_frame
from attribution.journeys import Journeys, PathTable
from attribution.schema import CRM_STAGES, Freq, check_columns, check_freq

__all__ = [
    "SECTIONS",
    "TREND_METRICS",
    "Chart",
    "Report",
    "Section",
    "build_report",
    "make_charts",
    "read_targets",
    "render_html",
    "trends",
]

#: Metrics the trends section follows (and that targets may name).
TREND_METRICS: tuple[str, ...] = ("conversions", "revenue")

_FREQ_NAMES = {"1d": "day", "1w": "week", "1mo": "month", "1q": "quarter", "1y": "year"}
_PERCENT_COLUMNS = frozenset({"share", "rate", "conversion_rate", "delta_pct", "roi"})
_MAX_HTML_ROWS = 500


@dataclass(frozen=True)
class Section:
    """One part of the page: a heading, the tables it shows and what it needs when absent."""

    key: str
    heading: str
    tables: tuple[str, ...]
    intro: str
    needs: str


#: The page's sections in order.
SECTIONS: tuple[Section, ...] = (
    Section(
        "summary",
        "Summary",
        ("summary",),
        "Size of the input and the totals every other figure divides up.",
        "an event log",
    ),
    Section(
        "credit",
        "Credit by channel and model",
        ("credit",),
        "Conversions and revenue credited to each channel by each attribution model. Models "
        "agree where the bars of a channel have similar heights; where they differ, the credit "
        "depends on the model's assumption about which touches matter.",
        "an event log",
    ),
    Section(
        "roi",
        "Return on spend by channel",
        ("roi",),
        "ROI = (attributed revenue − spend) / spend; ROAS = revenue / spend; CPA = spend / "
        "conversions. Undefined ratios (no spend, no conversions) are left empty.",
        "a spend table (date, channel, spend): spend= / --spend",
    ),
    Section(
        "trends",
        "Conversions and revenue over time",
        ("trends",),
        "Conversions and revenue per period (by conversion time, UTC) against the target where "
        "one is given, otherwise against the previous period.",
        "journeys with times (an event log, not a path table)",
    ),
    Section(
        "funnel",
        "Lifecycle funnel",
        ("funnel", "stage_conversion"),
        "Contacts entering each lifecycle stage, and how many of those reaching a stage go on "
        "to the next one.",
        "a CRM lifecycle table (user_id, timestamp, stage): crm= / --crm",
    ),
    Section(
        "sla",
        "SLA attainment",
        ("sla",),
        "Marketing's MQL commitment and sales' follow-up commitments, per period and team.",
        "a CRM lifecycle table and an MQL commitment or sales activities: crm= with "
        "mql_commitment= or activities= (--crm with --mql-commitment or --activities)",
    ),
    Section(
        "paths",
        "Top converting paths and assists",
        ("top_paths", "assists"),
        "The paths that convert most often, and how often each channel assists a conversion "
        "(appears before the last touch) compared with closing it.",
        "journeys or a path table",
    ),
)

_SECTION_OF = {t: s.key for s in SECTIONS for t in s.tables}


@dataclass(frozen=True)
class Chart:
    """One inline SVG chart of a section.

    Attributes
    ----------
    section : str
        Key of the :data:`SECTIONS` entry it belongs to.
    key : str
        Identifier, unique within the report (used as the figure's HTML id).
    title : str
        Heading shown above the chart (also the SVG's ``<title>`` and ``aria-label``).
    svg : str
        The ``<svg>`` element.
    caption : str
        A sentence under the chart.
    """

    section: str
    key: str
    title: str
    svg: str
    caption: str = ""


# ----------------------------------------------------------------------------------------------
# targets and trends


def _as_date(col: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    if dtype == pl.String:
        return col.str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if dtype == pl.Null:
        return col.cast(pl.Date)
    return None


def read_targets(
    source: FrameLike | Mapping[str, float],
    *,
    freq: Freq = "1mo",
    period_col: str = "period",
    metric_col: str = "metric",
    target_col: str = "target",
) -> pl.DataFrame:
    """Read targets for the trends section: per period and metric, or one per metric.

    Parameters
    ----------
    source
        A table (path or frame) with a period, a metric and a target column, or a mapping
        ``{metric: target}`` that applies to every period.
    freq : {"1d", "1w", "1mo", "1q", "1y"}
        Period length; each period is moved to the start of its period (``2024-01-15`` is
        January with ``"1mo"``).
    period_col, metric_col, target_col : str
        Column names in ``source``. A null period means "every period without its own target".

    Returns
    -------
    DataFrame
        ``period`` (Date, null for every period), ``metric`` (one of :data:`TREND_METRICS`),
        ``target`` (Float64 ≥ 0).

    Raises
    ------
    SchemaError
        A column is missing.
    ValidationError
        An unknown metric, a null, negative or non-finite target, a period that is not a date,
        or two targets for the same period and metric.

    Examples
    --------
    >>> import polars as pl
    >>> t = pl.DataFrame({"period": ["2024-01-15", None], "metric": ["revenue", "conversions"],
    ...                   "target": [5000, 40]})
    >>> read_targets(t).rows()
    [(datetime.date(2024, 1, 1), 'revenue', 5000.0), (None, 'conversions', 40.0)]
    """
    check_freq(freq)
    if isinstance(source, Mapping):
        metrics = [str(k) for k in source]
        frame = pl.DataFrame(
            {
                "period": pl.Series([None] * len(metrics), dtype=pl.Date),
                "metric": metrics,
                "target": pl.Series([float(v) for v in source.values()], dtype=pl.Float64),
            }
        )
        what = "targets"
    else:
        lf = to_lazy(source, what="targets table")
        schema = lf.collect_schema()
        check_columns(schema, [period_col, metric_col, target_col], "targets table")
        period = _as_date(pl.col(period_col), schema[period_col])
        if period is None:
            raise ValidationError(
                f"Column {period_col!r} of the targets table has type {schema[period_col]}; "
                "expected dates (YYYY-MM-DD)."
            )
        if not (schema[target_col].is_numeric() or schema[target_col] == pl.Null):
            raise ValidationError(
                f"Column {target_col!r} of the targets table has type {schema[target_col]}; "
                "targets must be numbers ≥ 0."
            )
        raw = lf.select(
            period.alias("period"),
            pl.col(period_col).cast(pl.String).alias("__raw_period"),
            pl.col(metric_col).cast(pl.String).alias("metric"),
            pl.col(target_col).cast(pl.Float64).alias("target"),
        ).collect()
        if raw.height == 0:
            raise EmptyInputError("The targets table is empty (0 rows).")
        bad = raw.with_row_index("row").filter(
            pl.col("period").is_null() & pl.col("__raw_period").is_not_null()
        )
        if bad.height:
            desc = describe_rows(bad["row"].to_list(), values=bad["__raw_period"].to_list())
            raise ValidationError(
                f"Column {period_col!r} of the targets table has {bad.height} values that are "
                f"not dates ({desc}); expected YYYY-MM-DD."
            )
        frame = raw.drop("__raw_period")
        what = f"Column {metric_col!r} of the targets table"
    rows = frame.with_row_index("row")
    unknown = rows.filter(~pl.col("metric").is_in(list(TREND_METRICS)) | pl.col("metric").is_null())
    if unknown.height:
        desc = describe_rows(unknown["row"].to_list(), values=unknown["metric"].to_list())
        raise ValidationError(
            f"{what} has {unknown.height} unknown metrics ({desc}); expected one of "
            f"{', '.join(TREND_METRICS)}."
        )
    t = pl.col("target")
    bad_t = rows.filter(t.is_null() | ~t.is_finite() | (t < 0))
    if bad_t.height:
        desc = describe_rows(bad_t["row"].to_list(), values=bad_t["target"].to_list())
        name = repr(target_col) if what != "targets" else "'target'"
        raise ValidationError(
            f"Column {name} of the targets has {bad_t.height} null, negative or non-finite "
            f"values ({desc}); targets must be finite numbers ≥ 0."
        )
    out = frame.with_columns(
        pl.col("period").cast(pl.Datetime("us")).dt.truncate(freq).dt.date()
    ).select("period", "metric", "target")
    dup = out.with_row_index("row").filter(pl.struct("period", "metric").is_duplicated())
    if dup.height:
        desc = describe_rows(
            dup["row"].to_list(),
            values=[f"{p} {m}" for p, m in zip(dup["period"], dup["metric"], strict=True)],
        )
        raise ValidationError(
            f"The targets have {dup.height} rows sharing a period and metric ({desc}); give "
            f"one target per {_FREQ_NAMES[freq]} and metric."
        )
    return out


def trends(
    journeys: Journeys,
    *,
    targets: FrameLike | Mapping[str, float] | None = None,
    freq: Freq = "1mo",
) -> pl.DataFrame:
    """Conversions and revenue per period, against targets or else the previous period.

    Parameters
    ----------
    journeys : Journeys
        Converting journeys are counted in the period of their conversion time (UTC).
    targets
        Optional targets, anything :func:`read_targets` accepts (a frame ``period, metric,
        target`` or a mapping ``{metric: target}``).
    freq : {"1d", "1w", "1mo", "1q", "1y"}
        Period length. Periods from the first to the last conversion are all listed, with
        zeros where nothing converted.

    Returns
    -------
    DataFrame
        ``period`` (Date), ``metric`` (``conversions`` or ``revenue``), ``actual``,
        ``target`` (null without one), ``previous`` (the previous period's actual; null for the
        first), ``basis`` (``"target"`` where a target exists, else ``"previous"``, null when
        neither), ``delta`` (actual − basis), ``delta_pct`` (delta / basis; null when the basis
        is 0 or missing) and ``attained`` (actual ≥ target; null without a target). Sorted by
        metric, then period.

    Raises
    ------
    EmptyInputError
        No journey converted.

    Examples
    --------
    >>> import polars as pl, attribution as at
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 10.0, 0.0, 30.0],
    ...     "timestamp": ["2024-01-03", "2024-01-05", "2024-02-01", "2024-02-02"]})
    >>> tr = trends(at.build_journeys(ev), targets={"revenue": 20})
    >>> tr.filter(pl.col("metric") == "revenue").select("actual", "basis", "delta").rows()
    [(10.0, 'target', -10.0), (30.0, 'target', 10.0)]
    """
    check_freq(freq)
    conv = journeys.converted
    if not conv.any():
        raise EmptyInputError("The journeys have no conversions; trends need at least one.")
    utc = pl.Datetime("us", "UTC")
    df = pl.DataFrame(
        {
            "t": pl.Series(journeys.conversion_time[conv]).cast(pl.Datetime("us")),
            "revenue": np.asarray(journeys.revenue[conv], dtype=np.float64),
        }
    ).with_columns(pl.col("t").dt.replace_time_zone("UTC").cast(utc))
    per = df.group_by(pl.col("t").dt.truncate(freq).dt.date().alias("period")).agg(
        pl.len().cast(pl.Float64).alias("conversions"), pl.col("revenue").sum()
    )
    first, last = cast(date, per["period"].min()), cast(date, per["period"].max())
    span = pl.date_range(first, last, interval=freq, eager=True)
    full = (
        pl.DataFrame({"period": span})
        .join(per, on="period", how="left")
        .fill_null(0.0)
        .unpivot(index="period", variable_name="metric", value_name="actual")
        .sort("metric", "period")
        .with_columns(pl.col("actual").shift(1).over("metric").alias("previous"))
    )
    if targets is None:
        full = full.with_columns(pl.lit(None, pl.Float64).alias("target"))
    else:
        tg = read_targets(targets, freq=freq)
        dated = tg.filter(pl.col("period").is_not_null())
        flat = tg.filter(pl.col("period").is_null()).select(
            "metric", pl.col("target").alias("__flat")
        )
        full = (
            full.join(dated, on=["period", "metric"], how="left")
            .join(flat, on="metric", how="left")
            .with_columns(pl.coalesce("target", "__flat").alias("target"))
            .drop("__flat")
        )
    basis_value = pl.coalesce("target", "previous")
    delta = pl.col("actual") - basis_value
    return full.select(
        "period",
        "metric",
        "actual",
        "target",
        "previous",
        pl.when(pl.col("target").is_not_null())
        .then(pl.lit("target"))
        .when(pl.col("previous").is_not_null())
        .then(pl.lit("previous"))
        .alias("basis"),
        delta.alias("delta"),
        pl.when(basis_value != 0).then(delta / basis_value).alias("delta_pct"),
        (pl.col("actual") >= pl.col("target")).alias("attained"),
    ).sort("metric", "period")


# ----------------------------------------------------------------------------------------------
# the report


@dataclass(frozen=True)
class Report:
    """Tables of the report, ready to render and write.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Every table by name (see the module docstring for names and columns).
    notes : dict of str to str
        Why a section was skipped, by section key.
    title : str
        Page title.
    headline_model : str or None
        The model whose credit the single-model charts (revenue, ROI) show.
    meta : dict of str to str
        Facts about the inputs shown under the title.
    """

    tables: dict[str, pl.DataFrame]
    notes: dict[str, str] = field(default_factory=dict)
    title: str = "Attribution report"
    headline_model: str | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def charts(self) -> list[Chart]:
        """The charts of the report (:func:`make_charts` of its tables)."""
        return make_charts(self.tables, headline_model=self.headline_model)

    def to_html(self) -> str:
        """Render the page (:func:`render_html`)."""
        return render_html(
            self.tables, self.charts, title=self.title, notes=self.notes, meta=self.meta
        )

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write ``report.html`` and every table as ``<name>.parquet`` and ``<name>.csv``.

        Each file is written atomically (a temporary file moved into place); the HTML comes
        last, so a complete ``report.html`` means every table beside it is complete too.

        Returns
        -------
        list of Path
            The files written, the HTML last.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in self.tables.items():
            for suffix in (".parquet", ".csv"):
                written.append(write_frame(df, out / f"{name}{suffix}"))
        page = self.to_html()
        target = out / "report.html"
        with atomic_path(target) as tmp:
            tmp.write_text(page, encoding="utf-8")
        written.append(target)
        return written

    def __repr__(self) -> str:
        names = ", ".join(f"{k} ({v.height} rows)" for k, v in self.tables.items())
        return f"Report({self.title!r}: {names})"


def _summary(data: Journeys | PathTable, spend_total: float | None, n_models: int) -> pl.DataFrame:
    if isinstance(data, Journeys):
        rows = [
            ("journeys", float(data.n_journeys)),
            ("conversions", float(data.n_conversions)),
            ("revenue", float(np.where(data.converted, data.revenue, 0.0).sum())),
            ("touches", float(data.n_touches)),
        ]
    else:
        rows = [
            ("paths", float(data.n_paths)),
            ("conversions", data.total_conversions),
            ("revenue", float(data.value.sum())),
            ("non-conversions", float(data.nulls.sum())),
        ]
    rows.append(("channels", float(len(data.channels))))
    rows.append(("models", float(n_models)))
    if spend_total is not None:
        rows.append(("spend", spend_total))
    return pl.DataFrame(rows, schema={"metric": pl.String, "value": pl.Float64}, orient="row")


def build_report(
    events: Journeys | PathTable | FrameLike,
    *,
    spend: FrameLike | None = None,
    crm: FrameLike | None = None,
    activities: FrameLike | None = None,
    targets: FrameLike | Mapping[str, float] | None = None,
    models: Sequence[str] | None = None,
    lookback_days: float | None = None,
    freq: Freq = "1mo",
    mql_commitment: Any = None,
    title: str = "Attribution report",
    headline_model: str | None = None,
    model_params: Mapping[str, Any] | None = None,
    top_n: int = 10,
    progress: bool = False,
) -> Report:
    """Compute every table of the report from the inputs that are given.

    Parameters
    ----------
    events
        An event log (path or frame, read with the contract's default column names; build the
        journeys yourself for other names or options), :class:`Journeys` or a
        :class:`PathTable` (then the trends section is skipped: it needs times).
    spend
        Spend table (``date, channel, spend``) for the ROI section.
    crm, activities
        CRM lifecycle rows (``user_id, timestamp, stage``) for the funnel and SLA sections, and
        sales activities (``user_id, timestamp, activity``) for the SLA follow-up figures; read
        with ``attribution.funnel.read_crm`` / ``read_activities``.
    targets
        Targets for the trends section (see :func:`read_targets`); without them each period is
        compared with the previous one.
    models : sequence of str, optional
        Models to run (default: every model the input supports).
    lookback_days : float, optional
        Lookback window used when journeys are built from ``events``.
    freq : {"1d", "1w", "1mo", "1q", "1y"}
        Period length of the trends, funnel and SLA sections.
    mql_commitment
        Marketing's MQL commitment per period (a number, or what
        ``attribution.funnel.sla_attainment`` accepts). The SLA section runs when ``crm`` and
        at least one of ``mql_commitment`` and ``activities`` are given.
    title : str
        Page title.
    headline_model : str, optional
        Model shown in the single-model charts; default ``markov`` when run, else the first.
    model_params : mapping, optional
        Model parameters passed to :func:`attribution.attribute_all` (e.g. ``half_life_days``).
    top_n : int
        Number of top converting paths.
    progress : bool
        Print each step and its duration on stderr.

    Returns
    -------
    Report
        The tables; sections whose input is missing are noted in ``Report.notes``.

    Raises
    ------
    AttributionError
        Any input problem, from the readers and figures the report calls (a subclass names
        the column, rule and offending rows).

    Examples
    --------
    >>> import polars as pl
    >>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
    ...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 10.0, 0.0, 30.0],
    ...     "timestamp": ["2024-01-03", "2024-01-05", "2024-02-01", "2024-02-02"]})
    >>> rep = build_report(ev, models=["linear"])
    >>> rep.tables["credit"].select("channel", "revenue").rows()
    [('a', 10.0), ('b', 30.0)]
    >>> "<svg" in rep.to_html()
    True
    """
    from attribution._api import attribute_all
    from attribution.journeys import build_journeys
    from attribution.kpis.roi import roi

    check_freq(freq)
    prog = Progress(enabled=progress)
    if isinstance(events, Journeys | PathTable):
        if lookback_days is not None:
            raise ValidationError(
                "lookback_days applies when the report builds journeys from an event log; "
                "these journeys are already built (pass lookback_days to build_journeys)."
            )
        data: Journeys | PathTable = events
    else:
        data = build_journeys(events, lookback_days=lookback_days, progress=progress)
    tables: dict[str, pl.DataFrame] = {}
    notes: dict[str, str] = {}
    with prog.step("attributing"):
        credit = attribute_all(data, models=models, **dict(model_params or {}))
    run_models = credit["model"].unique(maintain_order=True).to_list()
    if headline_model is None:
        headline_model = "markov" if "markov" in run_models else run_models[0]
    elif headline_model not in run_models:
        raise ValidationError(
            f"headline_model {headline_model!r} is not among the models run "
            f"({', '.join(run_models)})."
        )
    spend_total = None
    roi_table = None
    if spend is not None:
        with prog.step("joining spend"):
            roi_table = roi(credit, spend)
        spend_total = float(roi_table.filter(pl.col("model") == run_models[0])["spend"].sum())
    tables["summary"] = _summary(data, spend_total, len(run_models))
    tables["credit"] = credit
    if roi_table is not None:
        tables["roi"] = roi_table
    else:
        notes["roi"] = "No spend table was given."
    if isinstance(data, Journeys):
        if data.n_conversions:
            with prog.step("trends"):
                tables["trends"] = trends(data, targets=targets, freq=freq)
        else:
            notes["trends"] = "No journey converted."
    else:
        notes["trends"] = "The input is a path table, which has no times."
    _crm_sections(tables, notes, crm, activities, mql_commitment, freq, prog)
    _path_sections(tables, notes, data, top_n, prog)
    meta = {
        "input": _describe_input(events),
        "models": ", ".join(run_models),
        "headline model": headline_model,
        "period": _FREQ_NAMES[freq],
    }
    if lookback_days is not None:
        meta["lookback"] = f"{lookback_days:g} days"
    return Report(tables, notes, title, headline_model, meta)


def _describe_input(events: object) -> str:
    if isinstance(events, str | os.PathLike):
        return Path(events).name
    return repr(events) if isinstance(events, Journeys | PathTable) else type(events).__name__


def _crm_sections(
    tables: dict[str, pl.DataFrame],
    notes: dict[str, str],
    crm: FrameLike | None,
    activities: FrameLike | None,
    mql_commitment: Any,
    freq: Freq,
    prog: Progress,
) -> None:
    if crm is None:
        notes["funnel"] = "No CRM lifecycle table was given."
        notes["sla"] = "No CRM lifecycle table was given."
        return
    from attribution.crm import read_activities, read_crm
    from attribution.kpis.funnel import funnel, stage_conversion
    from attribution.kpis.sla import sla_attainment

    with prog.step("funnel"):
        crm_lf = read_crm(crm)
        tables["funnel"] = funnel(crm_lf, freq=freq)
        tables["stage_conversion"] = stage_conversion(crm_lf)
    if mql_commitment is None and activities is None:
        notes["sla"] = "Neither an MQL commitment nor sales activities were given."
        return
    with prog.step("SLA attainment"):
        acts = read_activities(activities) if activities is not None else None
        tables["sla"] = sla_attainment(crm_lf, acts, mql_commitment=mql_commitment, freq=freq)


def _path_sections(
    tables: dict[str, pl.DataFrame],
    notes: dict[str, str],
    data: Journeys | PathTable,
    top_n: int,
    prog: Progress,
) -> None:
    try:
        from attribution import reports
    except ImportError:  # pragma: no cover - until attribution.reports lands
        notes["paths"] = "attribution.reports is not available in this version."
        return
    with prog.step("paths and assists"):
        tables["top_paths"] = reports.top_paths(data, n=top_n)
        tables["assists"] = reports.assists(data)


# ----------------------------------------------------------------------------------------------
# charts


def _pct(v: float) -> str:
    return f"{v:,.1f} %"


def _money(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def _count(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.1f}"


def _headline(df: pl.DataFrame, model: str | None) -> tuple[pl.DataFrame, str | None]:
    if "model" not in df.columns:
        return df, None
    models = df["model"].unique(maintain_order=True).to_list()
    chosen = model if model in models else ("markov" if "markov" in models else models[0])
    return df.filter(pl.col("model") == chosen), chosen


def make_charts(
    tables: Mapping[str, pl.DataFrame], *, headline_model: str | None = None
) -> list[Chart]:
    """Build the report's charts from whichever tables are present.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Tables by name, with the columns listed in the module docstring (extra columns are
        ignored; a missing table just means no chart for it).
    headline_model : str, optional
        Model for the single-model charts (default ``markov`` when present, else the first).

    Returns
    -------
    list of Chart
        In page order.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"period": [None, None], "stage": ["mql", "lead"],
    ...                   "contacts": [5, 20]})
    >>> [c.key for c in make_charts({"funnel": f})]
    ['funnel']
    """
    charts: list[Chart] = []
    for builder in (_credit_charts, _roi_charts, _trend_charts, _funnel_charts, _sla_charts):
        charts.extend(builder(tables, headline_model))
    charts.extend(_path_charts(tables, headline_model))
    return charts


def _credit_charts(tables: Mapping[str, pl.DataFrame], model: str | None) -> list[Chart]:
    df = tables.get("credit")
    if df is None or df.height == 0:
        return []
    head, chosen = _headline(df, model)
    order = head.sort("conversions", "channel", descending=[True, False])["channel"].to_list()
    order += sorted(set(df["channel"].to_list()) - set(order))
    charts = []
    if "model" in df.columns:
        models = df["model"].unique(maintain_order=True).to_list()
        wide = df.pivot(on="model", index="channel", values="conversions", aggregate_function="sum")
        lookup = {r["channel"]: r for r in wide.iter_rows(named=True)}
        series = {m: [lookup.get(c, {}).get(m) for c in order] for m in models}
        charts.append(
            Chart(
                "credit",
                "credit_by_model",
                "Conversions credited per channel, by model",
                _svg.grouped_bars(
                    order,
                    series,
                    title="Conversions credited per channel, by model",
                    y_label="conversions",
                    x_label="channel",
                    value_fmt=_count,
                ),
                "One bar per model; channels ordered by the headline model's credit.",
            )
        )
    rev = head.sort("revenue", "channel", descending=[True, False])
    title = "Revenue credited per channel" + (f" ({chosen})" if chosen else "")
    charts.append(
        Chart(
            "credit",
            "revenue_by_channel",
            title,
            _svg.hbar(
                rev["channel"].to_list(),
                rev["revenue"].to_list(),
                title=title,
                x_label="attributed revenue",
                value_fmt=_money,
            ),
        )
    )
    return charts


def _roi_charts(tables: Mapping[str, pl.DataFrame], model: str | None) -> list[Chart]:
    df = tables.get("roi")
    if df is None or df.height == 0:
        return []
    head, chosen = _headline(df, model)
    head = head.sort(pl.col("roi").fill_null(-math.inf), "channel", descending=[True, False])
    suffix = f" ({chosen})" if chosen else ""
    values = [None if v is None else 100.0 * v for v in head["roi"].to_list()]
    channels = head["channel"].to_list()
    return [
        Chart(
            "roi",
            "roi_by_channel",
            f"ROI by channel{suffix}",
            _svg.hbar(
                channels,
                values,
                title=f"ROI by channel{suffix}",
                x_label="ROI (%) = (revenue − spend) / spend",
                value_fmt=_pct,
                missing="no spend",
            ),
            "Red bars lose money: the attributed revenue is below the spend.",
        ),
        Chart(
            "roi",
            "spend_vs_revenue",
            f"Spend and attributed revenue by channel{suffix}",
            _svg.grouped_bars(
                channels,
                {"spend": head["spend"].to_list(), "revenue": head["revenue"].to_list()},
                title=f"Spend and attributed revenue by channel{suffix}",
                y_label="amount",
                x_label="channel",
                value_fmt=_money,
            ),
        ),
    ]


def _period_label(p: object, freq_hint: int) -> str:
    if isinstance(p, datetime | date):
        return p.strftime("%Y-%m") if freq_hint >= 28 else p.isoformat()
    return "all" if p is None else str(p)


def _period_labels(periods: Sequence[object]) -> list[str]:
    dates = sorted({p for p in periods if isinstance(p, date)})
    gaps = [(b - a).days for a, b in itertools.pairwise(dates)]
    hint = min(gaps) if gaps else 31
    return [_period_label(p, hint) for p in periods]


def _trend_charts(tables: Mapping[str, pl.DataFrame], model: str | None) -> list[Chart]:
    df = tables.get("trends")
    if df is None or df.height == 0:
        return []
    charts = []
    for metric in df["metric"].unique(maintain_order=True).to_list():
        part = df.filter(pl.col("metric") == metric).sort("period")
        target = part["target"].to_list()
        previous = part["previous"].to_list()
        has_t = [t is not None for t in target]
        ref = [t if t is not None else p for t, p in zip(target, previous, strict=True)]
        if all(has_t):
            ref_name = "target"
        elif not any(has_t):
            ref_name = "previous period"
        else:
            ref_name = "target (else previous period)"
        fmt = _money if metric == "revenue" else _count
        title = f"{metric.capitalize()} per period against {ref_name}"
        charts.append(
            Chart(
                "trends",
                f"trend_{metric}",
                title,
                _svg.line_chart(
                    _period_labels(part["period"].to_list()),
                    part["actual"].to_list(),
                    ref,
                    title=title,
                    y_label=metric,
                    actual_name=metric,
                    reference_name=ref_name,
                    value_fmt=fmt,
                ),
            )
        )
    return charts


def _stage_rank(stage: str) -> int:
    return CRM_STAGES.index(stage) if stage in CRM_STAGES else len(CRM_STAGES)


def _funnel_charts(tables: Mapping[str, pl.DataFrame], model: str | None) -> list[Chart]:
    charts = []
    df = tables.get("funnel")
    if df is not None and df.height:
        per = df.group_by("stage").agg(pl.col("contacts").sum())
        rows = sorted(per.iter_rows(), key=lambda r: (_stage_rank(r[0]), r[0]))
        charts.append(
            Chart(
                "funnel",
                "funnel",
                "Contacts entering each stage (all periods)",
                _svg.funnel_chart(
                    [r[0] for r in rows],
                    [float(r[1]) for r in rows],
                    title="Contacts entering each stage (all periods)",
                ),
                "Bar width is proportional to the contacts entering the stage.",
            )
        )
    sc = tables.get("stage_conversion")
    if sc is not None and sc.height:
        labels = [f"{a} → {b}" for a, b in zip(sc["from_stage"], sc["to_stage"], strict=True)]
        rates = [None if r is None else 100.0 * r for r in sc["rate"].to_list()]
        charts.append(
            Chart(
                "funnel",
                "stage_conversion",
                "Stage-to-stage conversion rate",
                _svg.hbar(
                    labels,
                    rates,
                    title="Stage-to-stage conversion rate",
                    x_label="share of contacts reaching the first stage that reach the next (%)",
                    value_fmt=_pct,
                    missing="no contacts",
                ),
            )
        )
    return charts


def _sla_value(metric: str, v: float | None) -> str:
    if v is None:
        return "—"
    if "within" in metric or "share" in metric or "rate" in metric:
        return _pct(100.0 * v)
    return _count(v)


def _sla_charts(tables: Mapping[str, pl.DataFrame], model: str | None) -> list[Chart]:
    df = tables.get("sla")
    if df is None or df.height == 0:
        return []
    df = df.sort("period", "team", "metric")
    periods = df["period"].unique(maintain_order=True).to_list()
    cols = _period_labels(periods)
    col_of = dict(zip(periods, cols, strict=True))
    keys = df.select("team", "metric").unique(maintain_order=True).rows()
    rows = [f"{team} · {metric}" for team, metric in keys]
    cells = {
        (f"{r['team']} · {r['metric']}", col_of[r["period"]]): (
            _sla_value(r["metric"], r["actual"]),
            r["attained"],
        )
        for r in df.iter_rows(named=True)
    }
    charts = [
        Chart(
            "sla",
            "sla_grid",
            "SLA attainment per period and team",
            _svg.status_grid(rows, cols, cells, title="SLA attainment per period and team"),
            "Green: attained; red: missed; grey: no target. Hover a cell for its value.",
        )
    ]
    mql = df.filter(pl.col("metric") == "mqls_delivered").sort("period")
    if mql.height:
        charts.append(
            Chart(
                "sla",
                "sla_mqls",
                "MQLs delivered against the commitment",
                _svg.line_chart(
                    [col_of[p] for p in mql["period"].to_list()],
                    mql["actual"].to_list(),
                    mql["target"].to_list(),
                    title="MQLs delivered against the commitment",
                    y_label="MQLs",
                    actual_name="delivered",
                    reference_name="commitment",
                    value_fmt=_count,
                ),
            )
        )
    return charts


def _path_charts(tables: Mapping[str, pl.DataFrame], model: str | None) -> list[Chart]:
    charts = []
    tp = tables.get("top_paths")
    if tp is not None and tp.height:
        charts.append(
            Chart(
                "paths",
                "top_paths",
                "Top converting paths",
                _svg.hbar(
                    tp["path"].to_list(),
                    tp["conversions"].to_list(),
                    title="Top converting paths",
                    x_label="conversions",
                    value_fmt=_count,
                ),
            )
        )
    a = tables.get("assists")
    if a is not None and a.height:
        a = a.sort("assisted_conversions", "channel", descending=[True, False])
        charts.append(
            Chart(
                "paths",
                "assists",
                "Assisted and last-touch conversions by channel",
                _svg.grouped_bars(
                    a["channel"].to_list(),
                    {
                        "assisted": a["assisted_conversions"].to_list(),
                        "last touch": a["last_touch_conversions"].to_list(),
                    },
                    title="Assisted and last-touch conversions by channel",
                    y_label="conversions",
                    x_label="channel",
                    value_fmt=_count,
                ),
                "A channel assists when it appears in a converting journey before its last touch.",
            )
        )
    return charts


# ----------------------------------------------------------------------------------------------
# HTML


_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
  Arial, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #102a43; color: #fff; padding: 24px 40px 18px; }
header h1 { margin: 0 0 6px; font-size: 24px; font-weight: 600; }
header .meta { margin: 0; color: #bcccdc; font-size: 13px; }
header .meta span { margin-right: 18px; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: 8px 40px;
  position: sticky; top: 0; z-index: 1; }
nav a { color: var(--accent); text-decoration: none; margin-right: 18px; font-size: 13px; }
nav a:hover { text-decoration: underline; }
main { max-width: 1180px; margin: 0 auto; padding: 12px 40px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 18px 24px 20px; margin: 20px 0; }
h2 { margin: 0 0 4px; font-size: 18px; font-weight: 600; }
p.intro { margin: 0 0 14px; color: var(--muted); max-width: 880px; }
p.note { margin: 0; padding: 10px 14px; background: #fffbea; border-left: 4px solid #f0b429;
  color: #5c4813; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { flex: 1 1 140px; border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
figure { margin: 8px 0 18px; }
figure h3 { margin: 0 0 6px; font-size: 14px; font-weight: 600; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; }
svg.chart { display: block; max-width: 100%; height: auto; font-size: 12px; }
svg.chart text { fill: var(--ink); }
svg.chart text.tick, svg.chart text.muted { fill: var(--muted); font-size: 11px; }
svg.chart text.axis-label { fill: var(--muted); font-size: 12px; font-style: italic; }
svg.chart text.value { font-size: 11px; font-variant-numeric: tabular-nums; }
svg.chart text.cell-text { fill: #fff; font-weight: 600; font-size: 12px; }
svg.chart .grid line { stroke: #e4e7eb; stroke-width: 1; }
svg.chart .grid line.zero { stroke: #9aa5b1; }
svg.chart rect.bar:hover, svg.chart rect.cell:hover { opacity: .8; }
details { margin: 10px 0 0; }
summary { cursor: pointer; color: var(--accent); font-size: 13px; }
summary .files { color: var(--muted); margin-left: 8px; }
.table-wrap { overflow-x: auto; margin-top: 8px; }
table { border-collapse: collapse; font-size: 13px; min-width: 50%; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
th { background: #f0f4f8; font-weight: 600; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.yes { color: #1e8449; font-weight: 600; }
td.no { color: #c0392b; font-weight: 600; }
td.null { color: #9aa5b1; }
tbody tr:hover { background: #f7fafc; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 0 30px; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _cell(value: object, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="null">—</td>'
    if isinstance(value, bool):
        return '<td class="yes">✓ yes</td>' if value else '<td class="no">✗ no</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        if column in _PERCENT_COLUMNS:
            return f'<td class="num">{_e(_pct(100.0 * value))}</td>'
        return f'<td class="num">{value:,.2f}</td>'
    if isinstance(value, datetime | date):
        return f"<td>{_e(value.isoformat())}</td>"
    return f"<td>{_e(value)}</td>"


def _html_table(name: str, df: pl.DataFrame) -> str:
    shown = df.head(_MAX_HTML_ROWS)
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(_cell(v, c) for v, c in zip(row, df.columns, strict=True)) + "</tr>"
        for row in shown.iter_rows()
    )
    more = (
        f'<p class="note">First {_MAX_HTML_ROWS:,} of {df.height:,} rows; the full table is '
        f"in {_e(name)}.csv.</p>"
        if df.height > _MAX_HTML_ROWS
        else ""
    )
    is_open = " open" if df.height <= 12 else ""
    return (
        f'<details class="table" id="table-{_e(name)}"{is_open}><summary>Table '
        f"<strong>{_e(name)}</strong> — {df.height:,} rows"
        f'<span class="files">{_e(name)}.parquet · {_e(name)}.csv</span></summary>'
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>{more}</details>"
    )


def _cards(df: pl.DataFrame) -> str:
    fmt: dict[str, Callable[[float], str]] = {"revenue": _money, "spend": _money}
    items = []
    for metric, value in df.select("metric", "value").iter_rows():
        text = "—" if value is None else fmt.get(metric, _count)(value)
        items.append(
            f'<div class="card"><div class="k">{_e(metric)}</div>'
            f'<div class="v">{_e(text)}</div></div>'
        )
    return f'<div class="cards">{"".join(items)}</div>'


def render_html(
    tables: Mapping[str, pl.DataFrame],
    charts: Sequence[Chart],
    *,
    title: str = "Attribution report",
    notes: Mapping[str, str] | None = None,
    meta: Mapping[str, str] | None = None,
) -> str:
    """Render the report page: a pure function of its tables and charts.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Tables by name; each is shown in the section of :data:`SECTIONS` that lists it
        (tables no section lists go to an "Other tables" section).
    charts : sequence of Chart
        Charts, placed in their section in the given order (see :func:`make_charts`).
    title : str
        Page title and heading.
    notes : mapping of str to str, optional
        Why a section was skipped, by section key; shown with what the section needs.
    meta : mapping of str to str, optional
        Facts shown under the title (input, models, ...).

    Returns
    -------
    str
        A complete HTML5 document with inline CSS and inline SVG; it references no external
        resource, and all text is escaped.

    Examples
    --------
    >>> import polars as pl
    >>> page = render_html({"summary": pl.DataFrame({"metric": ["conversions"],
    ...                                              "value": [3.0]})}, [], title="A & B")
    >>> "<title>A &amp; B</title>" in page, 'id="summary"' in page
    (True, True)
    """
    notes = dict(notes or {})
    by_section: dict[str, list[Chart]] = {}
    for chart in charts:
        by_section.setdefault(chart.section, []).append(chart)
    sections = list(SECTIONS)
    extra = tuple(t for t in tables if t not in _SECTION_OF)
    if extra:
        sections.append(Section("other", "Other tables", extra, "", ""))
    nav = []
    body = []
    for sec in sections:
        present = [t for t in sec.tables if t in tables]
        nav.append(f'<a href="#{_e(sec.key)}">{_e(sec.heading)}</a>')
        parts = [f'<section id="{_e(sec.key)}"><h2>{_e(sec.heading)}</h2>']
        if sec.intro:
            parts.append(f'<p class="intro">{_e(sec.intro)}</p>')
        if not present:
            why = notes.get(sec.key, "Not computed.")
            parts.append(
                f'<p class="note">Section skipped: {_e(why)} It needs {_e(sec.needs)}.</p>'
            )
        for chart in by_section.get(sec.key, []):
            caption = f"<figcaption>{_e(chart.caption)}</figcaption>" if chart.caption else ""
            parts.append(
                f'<figure id="chart-{_e(chart.key)}"><h3>{_e(chart.title)}</h3>'
                f"{chart.svg}{caption}</figure>"
            )
        for name in present:
            if name == "summary":
                parts.append(_cards(tables[name]))
            parts.append(_html_table(name, tables[name]))
        parts.append("</section>")
        body.append("".join(parts))
    meta_html = "".join(
        f"<span>{_e(k)}: <strong>{_e(v)}</strong></span>" for k, v in (meta or {}).items()
    )
    csp = "default-src 'none'; style-src 'unsafe-inline'"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="attribution-engine">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f'<body><header><h1>{_e(title)}</h1><p class="meta">{meta_html}</p></header>\n'
        f"<nav>{''.join(nav)}</nav>\n<main>\n"
        + "\n".join(body)
        + "\n</main><footer>Generated by attribution-engine. Every table on this page is also "
        "written as Parquet and CSV beside it.</footer></body></html>\n"
    )
