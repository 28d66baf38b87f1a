"""The report page: its sections, style sheet and tables, as a pure function of tables and charts.

:func:`render_html` lays out :data:`SECTIONS` in order: each shows its charts and tables, or a
note saying why it was skipped and what it needs. The page loads nothing: no scripts, fonts,
images or style sheets from anywhere (a Content-Security-Policy of ``default-src 'none'`` makes
the browser refuse any attempt), and all text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from attribution.reporting.charts import Chart, format_count, format_money, format_percent
from attribution.reporting.svg import escape_text

__all__ = ["SECTIONS", "Section", "render_html"]

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


_e = escape_text


def _cell(value: object, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="null">—</td>'
    if isinstance(value, bool):
        return '<td class="yes">✓ yes</td>' if value else '<td class="no">✗ no</td>'
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        if column in _PERCENT_COLUMNS:
            return f'<td class="num">{_e(format_percent(100.0 * value))}</td>'
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
    fmt: dict[str, Callable[[float], str]] = {"revenue": format_money, "spend": format_money}
    items = []
    for metric, value in df.select("metric", "value").iter_rows():
        text = "—" if value is None else fmt.get(metric, format_count)(value)
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
        elif sec.key in notes:  # shown, with a warning (a model that refused the input)
            parts.append(f'<p class="note">{_e(notes[sec.key])}</p>')
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
