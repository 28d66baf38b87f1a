"""The report's charts, built from its tables alone.

:func:`make_charts` turns whichever tables are present into :class:`Chart` values holding inline
SVG (drawn by :mod:`attribution.reporting.svg`). The number formats here are shared with the
page's tables.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from attribution.reporting import svg
from attribution.schema import CRM_STAGES

__all__ = ["Chart", "format_count", "format_money", "format_percent", "make_charts"]


@dataclass(frozen=True)
class Chart:
    """One inline SVG chart of a section.

    Attributes
    ----------
    section : str
        Key of the :data:`~attribution.reporting.html.SECTIONS` entry it belongs to.
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


def format_percent(v: float) -> str:
    """Format a percentage (already multiplied by 100): ``12.5 %``.

    Examples
    --------
    >>> format_percent(12.345), format_percent(1500.0)
    ('12.3 %', '1,500.0 %')
    """
    return f"{v:,.1f} %"


def format_money(v: float) -> str:
    """Format an amount: whole units from 100 up, cents below.

    Examples
    --------
    >>> format_money(12345.6), format_money(12.5)
    ('12,346', '12.50')
    """
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def format_count(v: float) -> str:
    """Format a count: whole numbers as they are, fractional credit with one decimal below 100.

    Examples
    --------
    >>> format_count(1200.0), format_count(2.25), format_count(250.4)
    ('1,200', '2.2', '250')
    """
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
                svg.grouped_bars(
                    order,
                    series,
                    title="Conversions credited per channel, by model",
                    y_label="conversions",
                    x_label="channel",
                    value_fmt=format_count,
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
            svg.hbar(
                rev["channel"].to_list(),
                rev["revenue"].to_list(),
                title=title,
                x_label="attributed revenue",
                value_fmt=format_money,
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
            svg.hbar(
                channels,
                values,
                title=f"ROI by channel{suffix}",
                x_label="ROI (%) = (revenue − spend) / spend",
                value_fmt=format_percent,
                missing="no spend",
            ),
            "Red bars lose money: the attributed revenue is below the spend.",
        ),
        Chart(
            "roi",
            "spend_vs_revenue",
            f"Spend and attributed revenue by channel{suffix}",
            svg.grouped_bars(
                channels,
                {"spend": head["spend"].to_list(), "revenue": head["revenue"].to_list()},
                title=f"Spend and attributed revenue by channel{suffix}",
                y_label="amount",
                x_label="channel",
                value_fmt=format_money,
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
        fmt = format_money if metric == "revenue" else format_count
        title = f"{metric.capitalize()} per period against {ref_name}"
        charts.append(
            Chart(
                "trends",
                f"trend_{metric}",
                title,
                svg.line_chart(
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
                svg.funnel_chart(
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
                svg.hbar(
                    labels,
                    rates,
                    title="Stage-to-stage conversion rate",
                    x_label="share of contacts reaching the first stage that reach the next (%)",
                    value_fmt=format_percent,
                    missing="no contacts",
                ),
            )
        )
    return charts


def _sla_value(metric: str, v: float | None) -> str:
    if v is None:
        return "—"
    if "within" in metric or "share" in metric or "rate" in metric:
        return format_percent(100.0 * v)
    return format_count(v)


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
            svg.status_grid(rows, cols, cells, title="SLA attainment per period and team"),
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
                svg.line_chart(
                    [col_of[p] for p in mql["period"].to_list()],
                    mql["actual"].to_list(),
                    mql["target"].to_list(),
                    title="MQLs delivered against the commitment",
                    y_label="MQLs",
                    actual_name="delivered",
                    reference_name="commitment",
                    value_fmt=format_count,
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
                svg.hbar(
                    tp["path"].to_list(),
                    tp["conversions"].to_list(),
                    title="Top converting paths",
                    x_label="conversions",
                    value_fmt=format_count,
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
                svg.grouped_bars(
                    a["channel"].to_list(),
                    {
                        "assisted": a["assisted_conversions"].to_list(),
                        "last touch": a["last_touch_conversions"].to_list(),
                    },
                    title="Assisted and last-touch conversions by channel",
                    y_label="conversions",
                    x_label="channel",
                    value_fmt=format_count,
                ),
                "A channel assists when it appears in a converting journey before its last touch.",
            )
        )
    return charts
