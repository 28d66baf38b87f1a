"""Targets of the trends section: read from frames, files and mappings; bad ones named."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
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
            r"Column 'period' of the targets table has 1 values that are not dates or times "
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


def test_target_periods_are_read_by_the_one_date_reader(tmp_path: Path) -> None:
    """ISO text with Z or an offset, YYYY-MM, YYYYMMDD and datetimes all name their period."""
    t = read_targets(
        pl.DataFrame(
            {
                "period": ["2024-01-31T23:30:00Z", "2024-02", "20240315", "2024-04-02T10:00+02:00"],
                "metric": ["revenue"] * 4,
                "target": [1, 2, 3, 4],
            }
        )
    )
    assert t["period"].to_list() == [date(2024, m, 1) for m in (1, 2, 3, 4)]
    path = tmp_path / "targets.csv"
    pl.DataFrame(
        {"period": ["2024-05", ""], "metric": ["revenue", "conversions"], "target": [5, 6]}
    ).write_csv(path)
    assert read_targets(path).rows() == [
        (date(2024, 5, 1), "revenue", 5.0),
        (None, "conversions", 6.0),
    ]
    when = pl.DataFrame(
        {"period": [datetime(2024, 6, 30, 23, 0)], "metric": ["revenue"], "target": [1]}
    )
    assert read_targets(when)["period"].to_list() == [date(2024, 6, 1)]


@pytest.mark.parametrize(
    ("alias", "own"), [("MS", "1mo"), ("M", "1mo"), ("W", "1w"), ("QS", "1q"), ("Y", "1y")]
)
def test_targets_take_pandas_period_aliases(alias: str, own: str) -> None:
    frame = pl.DataFrame(
        {
            "period": ["2024-02-14", "2024-08-30", None],
            "metric": ["revenue", "conversions", "revenue"],
            "target": [1, 2, 3],
        }
    )
    assert read_targets(frame, freq=alias).equals(read_targets(frame, freq=own))


def test_duplicate_targets_name_the_period_in_words() -> None:
    frame = pl.DataFrame(
        {"period": ["2024-01-01", "2024-01-02"], "metric": ["revenue"] * 2, "target": [1, 2]}
    )
    with pytest.raises(at.ValidationError, match=r"give one target per 2 weeks and metric\."):
        read_targets(frame, freq="2w")
    with pytest.raises(at.ValidationError, match=r"give one target per month and metric\."):
        read_targets(frame, freq="MS")


def test_a_period_column_without_dates_is_refused() -> None:
    frame = pl.DataFrame({"period": [True], "metric": ["revenue"], "target": [1]})
    with pytest.raises(
        at.SchemaError, match=r"Column 'period' of the targets table has type Boolean"
    ):
        read_targets(frame)


def test_an_empty_mapping_is_no_targets() -> None:
    assert read_targets({}).height == 0


@pytest.mark.parametrize("value", ["abc", None, [1, 2], True])
def test_a_mapping_target_that_is_not_a_number_is_named(value: object) -> None:
    """Was a raw ValueError or TypeError from float()."""
    with pytest.raises(at.ValidationError, match=r"The target of 'revenue' is "):
        read_targets({"conversions": 3, "revenue": value})


def test_targets_written_as_text_are_read_and_words_named(tmp_path: Path) -> None:
    """A target column of text was refused by its type; a stray word was not named."""
    text = pl.DataFrame({"period": ["2024-01", "2024-02"], "metric": ["revenue"] * 2,
                         "target": ["100", " 12.5"]})  # fmt: skip
    assert read_targets(text)["target"].to_list() == [100.0, 12.5]
    with pytest.raises(at.ValidationError, match=r"Column 'target' has 1 values that are not "
                       r"numbers \('n/a' at row 1\)"):  # fmt: skip
        read_targets(text.with_columns(target=pl.Series(["100", "n/a"])))
    # a CSV whose first 150 targets are whole numbers and a later one is not
    days = pl.date_range(date(2024, 1, 1), date(2024, 6, 1), eager=True)
    lines = [f"{d},revenue,{i}" for i, d in enumerate(days.to_list())]
    lines[-1] = f"{days[-1]},revenue,12.5"
    path = tmp_path / "targets.csv"
    path.write_text("period,metric,target\n" + "\n".join(lines) + "\n")
    got = read_targets(path, freq="1d")
    assert got.height == len(days)
    assert got["target"][-1] == 12.5
