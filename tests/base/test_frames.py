"""Frames in (attribution._base.frames): reading, column checks, the rule harness, ratios."""

from __future__ import annotations

import polars as pl
import pytest

from attribution._base.errors import EmptyInputError, SchemaError, ValidationError
from attribution._base.frames import ROW, Rule, check_columns, check_rules, ratio, to_lazy


def test_to_lazy_reads_paths_and_frames_alike(tmp_path):
    df = pl.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    df.write_parquet(tmp_path / "t.parquet")
    df.write_csv(tmp_path / "t.csv")
    df.write_ndjson(tmp_path / "t.ndjson")
    for source in (
        df,
        df.lazy(),
        df.to_pandas(),
        tmp_path / "t.parquet",
        str(tmp_path / "t.csv"),
        tmp_path / "t.ndjson",
        tmp_path,
    ):
        assert to_lazy(source).collect().equals(df)


def test_to_lazy_refusals_name_the_input(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"The spend table file '.*nope.csv' does not"):
        to_lazy(tmp_path / "nope.csv", what="spend table")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(EmptyInputError, match=r"is empty \(0 bytes\)"):
        to_lazy(tmp_path / "e.csv")
    (tmp_path / "x.xlsx").write_text("x")
    with pytest.raises(SchemaError, match=r"unknown file type '.xlsx'"):
        to_lazy(tmp_path / "x.xlsx")
    with pytest.raises(SchemaError, match=r"Cannot read the input from a list"):
        to_lazy([1, 2])


def test_check_columns_names_missing_and_found():
    with pytest.raises(
        SchemaError,
        match=r"Columns 'x', 'y' are missing from the log; found "
        r"columns: 'a'\. Pass the right name",
    ):
        check_columns(pl.Schema({"a": pl.Int64}), ["a", "x", "y"], "log")


def test_rules_are_counted_in_one_pass_and_the_first_broken_one_is_quoted():
    lf = pl.LazyFrame({"x": [1.0, -2.0, None, -4.0, 5.0]}).with_row_index(ROW)
    rules = [
        Rule("x", pl.col("x").is_null(), "nulls", "x is required", show_values=False),
        Rule("x", pl.col("x") < 0, "negative values", "x must be ≥ 0"),
    ]
    with pytest.raises(ValidationError, match=r"Column 'x' of the t has 1 nulls \(row 2\); x is"):
        check_rules(lf, rules, "t")
    with pytest.raises(ValidationError, match=r"2 negative values \(-2 at row 1, -4 at row 3\)"):
        check_rules(lf, rules[1:], "t")
    assert check_rules(lf.filter(pl.col("x") > 0), rules, "t") == 2
    with pytest.raises(EmptyInputError, match=r"The t is empty \(0 rows\)"):
        check_rules(lf.head(0), rules, "t")


def test_ratio_is_null_not_infinite():
    df = pl.DataFrame({"n": [1.0, 1.0, 3.0], "d": [2.0, 0.0, None]})
    assert df.select(ratio("n", "d", 100)).to_series().to_list() == [50.0, None, None]
