"""Reporting: the HTML report of charts and tables, and the path reports.

=========== ================================================================================
module      what
=========== ================================================================================
``build``   :func:`build_report` computes every table from the inputs given; :class:`Report`
            holds them, renders the page and writes it beside every table as files
``targets`` :func:`read_targets`: targets per period and metric (or one per metric), and
            :data:`TREND_METRICS`, the metrics they may name
``trends``  :func:`trends`: conversions and revenue per period, against the targets or else
            the previous period
``charts``  :func:`make_charts`: the report's :class:`Chart` values (inline SVG) from its
            tables
``html``    :func:`render_html`: the page, a pure function of tables and charts, laid out in
            the :data:`SECTIONS` (each a :class:`Section`)
``svg``     the inline-SVG chart builders (no plotting dependency)
``paths``   path reports over journeys or path tables: :func:`top_paths`, :func:`assists`,
            :func:`path_length`, :func:`time_to_convert`, :func:`time_to_convert_summary`;
            :func:`by_period` runs any report per period, :func:`against` and
            :func:`period_over_period` compare a figure with a target or the previous period
=========== ================================================================================

Rendering reads nothing but tables: any frames with the documented columns (see
:mod:`attribution.reporting.build`) can be charted and rendered without building a report.

Examples
--------
>>> import polars as pl
>>> from attribution import reporting
>>> ev = pl.DataFrame({"user_id": [1, 1, 2, 2], "channel": ["a", None, "b", None],
...     "event": ["touch", "conversion"] * 2, "revenue": [0.0, 10.0, 0.0, 30.0],
...     "timestamp": ["2024-01-03", "2024-01-05", "2024-02-01", "2024-02-02"]})
>>> rep = reporting.build_report(ev, models=["linear"])
>>> page = reporting.render_html(rep.tables, reporting.make_charts(rep.tables))
>>> page.startswith("<!DOCTYPE html>"), '<section id="credit">' in page
(True, True)
"""

from attribution.reporting.build import Report, build_report
from attribution.reporting.charts import Chart, make_charts
from attribution.reporting.html import SECTIONS, Section, render_html
from attribution.reporting.paths import (
    DEFAULT_DAY_BINS,
    against,
    assists,
    by_period,
    path_length,
    period_over_period,
    time_to_convert,
    time_to_convert_summary,
    top_paths,
)
from attribution.reporting.targets import TREND_METRICS, read_targets
from attribution.reporting.trends import trends

__all__ = [
    "DEFAULT_DAY_BINS",
    "SECTIONS",
    "TREND_METRICS",
    "Chart",
    "Report",
    "Section",
    "against",
    "assists",
    "build_report",
    "by_period",
    "make_charts",
    "path_length",
    "period_over_period",
    "read_targets",
    "render_html",
    "time_to_convert",
    "time_to_convert_summary",
    "top_paths",
    "trends",
]
