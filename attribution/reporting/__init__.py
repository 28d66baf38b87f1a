"""Reporting: path reports, and the HTML report built from tables.

=========== ================================================================================
module      what
=========== ================================================================================
``paths``   path reports over journeys or path tables: :func:`top_paths`, :func:`assists`,
            :func:`path_length`, :func:`time_to_convert`, :func:`time_to_convert_summary`;
            comparisons :func:`by_period`, :func:`against`, :func:`period_over_period`
``svg``     the inline-SVG chart builders (no plotting dependency)
=========== ================================================================================
"""

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

__all__ = [
    "DEFAULT_DAY_BINS",
    "against",
    "assists",
    "by_period",
    "path_length",
    "period_over_period",
    "time_to_convert",
    "time_to_convert_summary",
    "top_paths",
]
