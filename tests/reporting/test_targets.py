"""Targets of the trends section: read from frames, files and mappings; bad ones named."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

import attribution as at
from attribution.reporting import read_targets


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        (
            {"period": ["2024-01-01"], "metric": ["conversions"]},
            {},
            at.SchemaError,
            r"Column 'target' is missing from the targets table; found columns: 'period', "
            r"'metric'",
        ),
        (
            {
                "period": ["2024-01-01"] * 3,
                "metric": ["visits", "revenue", "leads"],
                "target": [1, 2, 3],
            },
            {},
            at.ValidationError,
            r"Column 'metric' of the targets table has 2 unknown metrics \('visits' at row 0, "
            r"'leads' at row 2\); expected one of conversions, revenue\.",
        ),
        (
            {"period": ["2024-01-01", "2024-02-01"], "metric": ["revenue"] * 2, "target": [5, -1]},
            {},
            at.ValidationError,
            r"Column 'target' of the targets has 1 null, negative or non-finite values "
            r"\(-1 at row 1\)",
        ),
        (
            {"period": ["2024-01-01", "January"], "metric": ["revenue"] * 2, "target": [5, 1]},
            {},
            at.ValidationError,
            r"Column 'period' of the targets table has 1 values that are not dates "
            r"\('January' at row 1\)",
        ),
        (
            {"period": ["2024-01-03", "2024-01-20"], "metric": ["revenue"] * 2, "target": [5, 6]},
            {},
            at.ValidationError,
            r"The targets have 2 rows sharing a period and metric \('2024-01-01 revenue' at row "
            r"0, '2024-01-01 revenue' at row 1\); give one target per month and metric\.",
        ),
        (
            {"period": ["2024-01-01"], "metric": ["revenue"], "target": [5]},
            {"freq": "monthly-ish"},
            at.ValidationError,
            r"freq 'monthly-ish' is not a period",
        ),
    ],
)
def test_bad_targets_are_named(
    frame: dict[str, list[Any]], kwargs: dict[str, Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        read_targets(pl.DataFrame(frame), **kwargs)


def test_targets_with_other_column_names_and_a_mapping() -> None:
    t = read_targets(
        pl.DataFrame({"month": [date(2024, 2, 10)], "kpi": ["revenue"], "goal": [7]}),
        period_col="month",
        metric_col="kpi",
        target_col="goal",
    )
    assert t.rows() == [(date(2024, 2, 1), "revenue", 7.0)]
    with pytest.raises(at.ValidationError, match=r"targets has 1 unknown metrics \('roi' at row"):
        read_targets({"roi": 2.0})
