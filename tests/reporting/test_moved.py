"""Old import paths of the reporting modules still work, with a DeprecationWarning."""

from __future__ import annotations

import importlib

import pytest

import attribution as at
from attribution import reporting
from attribution.reporting import paths

#: Public names of the old ``attribution.report`` module (the HTML report).
OLD_REPORT = [
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
#: Public names of the old ``attribution.reports`` module (the path reports).
OLD_REPORTS = [
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


@pytest.mark.parametrize("name", OLD_REPORT)
def test_attribution_report_warns_and_gives_the_same_object(name: str) -> None:
    old = importlib.import_module("attribution.report")
    with pytest.warns(DeprecationWarning, match=r"attribution\.report has moved to attribution\."):
        value = getattr(old, name)
    assert value is getattr(reporting, name)
    assert name not in dir(old)  # dir() lists the stub's own names only


@pytest.mark.parametrize("name", OLD_REPORTS)
def test_attribution_reports_warns_and_gives_the_same_object(name: str) -> None:
    old = importlib.import_module("attribution.reports")
    with pytest.warns(DeprecationWarning, match=r"attribution\.reports has moved to attribution\."):
        value = getattr(old, name)
    assert value is getattr(paths, name)
    assert value is getattr(reporting, name)
    assert name not in dir(old)  # dir() lists the stub's own names only


def test_from_imports_of_the_old_paths_warn() -> None:
    with pytest.warns(DeprecationWarning, match=r"import build_report from attribution\.reporting"):
        from attribution.report import build_report
    assert build_report is reporting.build_report
    with pytest.warns(DeprecationWarning, match=r"import top_paths from attribution\.reporting"):
        from attribution.reports import top_paths
    assert top_paths is paths.top_paths


def test_the_package_attributes_reach_the_old_and_new_modules() -> None:
    assert at.reporting is reporting
    with pytest.warns(DeprecationWarning, match=r"attribution\.report has moved"):
        assert at.report.render_html is reporting.render_html
    with pytest.warns(DeprecationWarning, match=r"attribution\.reports has moved"):
        assert at.reports.assists is reporting.assists


def test_the_old_modules_have_no_other_names() -> None:
    old = importlib.import_module("attribution.report")
    with pytest.raises(AttributeError, match=r"module 'attribution.report' has no attribute"):
        old.no_such_name  # noqa: B018
