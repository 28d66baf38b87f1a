"""``attribution forecast`` on hostile input: far-future years, misspelt columns, its help."""

from __future__ import annotations

import polars as pl

from attribution.cli import main


def test_a_misspelt_value_column_is_named_not_read_as_an_event_log(tmp_path, capsys):
    src = tmp_path / "s.csv"
    months = [f"2023-{m:02d}-01" for m in range(1, 13)]
    pl.DataFrame({"series_id": "a", "date": months, "vlue": 1.0}).write_csv(src)
    assert main(["forecast", str(src), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Column 'value' is missing from the series file" in err
    assert "found columns: 'series_id', 'date', 'vlue'" in err
    assert "--value-col" in err and "event log" not in err
    # a file that is neither says what each would need
    pl.DataFrame({"a": [1], "b": [2]}).write_csv(src)
    assert main(["forecast", str(src), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "missing from the event log" in err
    assert "Nor is it a series file: that needs the columns 'series_id', 'date', 'value'" in err


def test_n_jobs_help_speaks_of_threads(capsys):
    try:
        main(["forecast", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--n-jobs N_JOBS threads (-1: one per core" in text
    assert "process" not in text.split("--n-jobs N_JOBS", 1)[1].split("--no-plot", 1)[0]
