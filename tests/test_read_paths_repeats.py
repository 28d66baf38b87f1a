"""read_paths and Google Analytics' repeat notation in path exports ("Direct × 2").

GA's conversion-path reports collapse a channel repeated n times in a row into "X × n" (the
Multi-Channel Funnels "Top Conversion Paths" export; blog.advesa.com describes "Direct x2" as
"users came directly to your website twice"). The reference is the same path table written
out step by step.
"""

from __future__ import annotations

import polars as pl
import pytest

import attribution as at


def table(paths, conversions=None, value=None, nulls=None):
    n = len(paths)
    return pl.DataFrame(
        {
            "path": paths,
            "total_conversions": conversions or [1.0] * n,
            "total_conversion_value": value or [10.0] * n,
            "total_null": nulls or [0.0] * n,
        }
    )


@pytest.mark.parametrize(
    "written",
    [
        "Direct × 2",
        "Direct ×2",
        "Direct×2",
        "Direct x 2",
        "Direct x2",
        "Direct X 2",
        "Direct  ×  2",
    ],
)
def test_expand_reads_every_spelling_as_repeated_steps(written):
    got = at.read_paths(table([f"Email > {written} > Referral"]), repeats="expand")
    assert got.to_frame()["path"].to_list() == ["Email > Direct > Direct > Referral"]


def test_expanded_table_equals_the_table_written_out():
    ga = table(
        ["Organic Search × 3 > Direct", "Paid Search > Email × 2", "Direct × 1", "Referral"],
        conversions=[3.0, 2.0, 5.0, 1.0],
        value=[30.0, 25.0, 40.0, 9.0],
        nulls=[10.0, 4.0, 7.0, 2.0],
    )
    written = table(
        [
            "Organic Search > Organic Search > Organic Search > Direct",
            "Paid Search > Email > Email",
            "Direct",
            "Referral",
        ],
        conversions=[3.0, 2.0, 5.0, 1.0],
        value=[30.0, 25.0, 40.0, 9.0],
        nulls=[10.0, 4.0, 7.0, 2.0],
    )
    expanded = at.read_paths(ga, repeats="expand")
    reference = at.read_paths(written)
    assert expanded.to_frame().equals(reference.to_frame())
    for model in ("linear", "first_touch", "markov"):
        a = at.attribute(expanded, model).channels.sort("channel")
        b = at.attribute(reference, model).channels.sort("channel")
        assert a.equals(b), model


def test_a_notation_path_and_its_written_form_are_merged():
    got = at.read_paths(
        table(["Direct × 2 > Email", "Direct > Direct > Email"], conversions=[1.0, 2.0]),
        repeats="expand",
    ).to_frame()
    assert got.rows() == [("Direct > Direct > Email", 3.0, 20.0, 0.0)]


def test_refused_by_default_naming_the_parameter_the_row_and_the_value():
    paths = table(["Email > Referral", "Organic Search > Direct × 2", "Direct"])
    with pytest.raises(at.ValidationError) as err:
        at.read_paths(paths)
    text = str(err.value)
    assert "'Organic Search > Direct × 2' at row 1" in text
    assert "repeats='expand'" in text and "repeats='keep'" in text
    assert "Column 'path' has 1 paths" in text


def test_keep_takes_the_text_as_a_channel():
    got = at.read_paths(table(["Direct × 2 > Email"]), repeats="keep").to_frame()
    assert got["path"].to_list() == ["Direct × 2 > Email"]
    assert at.attribute(at.read_paths(table(["Direct × 2"]), repeats="keep"), "linear").channels[
        "channel"
    ].to_list() == ["Direct × 2"]


def test_names_that_only_look_alike_are_channels():
    paths = ["Box > Fax2", "Channel x", "Direct×", "Max", "Ex 2"]
    got = at.read_paths(table(paths)).to_frame()  # no notation: nothing refused
    assert sorted(got["path"].to_list()) == sorted(paths)


def test_bad_counts_and_choices_are_refused():
    with pytest.raises(at.ValidationError, match=r"repeat count below 1 \('Direct × 0' at row 0\)"):
        at.read_paths(table(["Direct × 0"]), repeats="expand")
    with pytest.raises(at.ValidationError, match=r"repeats='split' is not a choice"):
        at.read_paths(table(["a"]), repeats="split")  # type: ignore[arg-type]


def test_csv_export_with_the_multiplication_sign(tmp_path):
    path = tmp_path / "paths.csv"
    path.write_text(
        "path,total_conversions,total_conversion_value,total_null\n"
        "Organic Search × 2 > Direct,4,120.5,3\n",
        encoding="utf-8",
    )
    got = at.read_paths(path, repeats="expand").to_frame()
    assert got.rows() == [("Organic Search > Organic Search > Direct", 4.0, 120.5, 3.0)]


@pytest.mark.parametrize("count", ["1000001", "99999999999999", "9" * 30])
def test_repeat_counts_too_large_to_expand_are_refused_by_row(count):
    # these used to fail inside polars (a u32 cast) or try to build the repeats in memory
    paths = ["Email", f"Direct × {count} > Email"]
    with pytest.raises(
        at.ValidationError,
        match=rf"1 paths with a repeat count above 1,000,000 \('Direct × {count} > Email' at "
        r"row 1\); 'X × n' needs n ≤ 1,000,000",
    ):
        at.read_paths(table(paths), repeats="expand")


def test_the_largest_repeat_count_is_expanded():
    got = at.read_paths(table(["Direct × 1000000"]), repeats="expand")
    assert got.to_frame()["path"].str.count_matches("Direct").to_list() == [1_000_000]


def test_paths_given_as_lists_of_channels_are_read_like_text():
    as_lists = pl.DataFrame({"path": [["a", "b"], ["b"]], "total_conversions": [1, 2]})
    as_text = pl.DataFrame({"path": ["a > b", "b"], "total_conversions": [1, 2]})
    assert at.read_paths(as_lists).to_frame().sort("path").rows() == (
        at.read_paths(as_text).to_frame().sort("path").rows()
    )
    with pytest.raises(at.ValidationError, match=r"containing the separator '>' \(\['a>c'"):
        at.read_paths(as_lists.with_columns(pl.Series("path", [["a>c"], ["b"]])))
    with pytest.raises(at.ValidationError, match=r"1 null or empty paths \(row 0\)"):
        at.read_paths(as_lists.with_columns(pl.Series("path", [["a", None], ["b"]])))


def test_an_empty_separator_is_refused():
    # it used to split every name into its characters
    with pytest.raises(at.ValidationError, match=r"sep='' is not a separator"):
        at.read_paths(table(["ab > c"]), sep="")
