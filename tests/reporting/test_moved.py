"""Old import paths of the reporting modules still work, with a DeprecationWarning."""

from __future__ import annotations

import importlib

import pytest

from attribution.reporting import paths

#: Public names of the old ``attribution.reports`` module.
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


@pytest.mark.parametrize("name", OLD_REPORTS)
def test_attribution_reports_warns_and_gives_the_same_object(name: str) -> None:
    old = importlib.import_module("attribution.reports")
    with pytest.warns(DeprecationWarning, match=r"attribution\.reports has moved to attribution\."):
        value = getattr(old, name)
    assert value is getattr(paths, name)
    assert name in dir(old)


def test_from_import_of_the_old_path_warns() -> None:
    with pytest.warns(DeprecationWarning, match=r"import top_paths from attribution\.reporting"):
        from attribution.reports import top_paths
    assert top_paths is paths.top_paths
