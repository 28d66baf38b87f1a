"""``attribution forecast`` on hostile input: far-future years, misspelt columns, its help."""

from __future__ import annotations

from datetime import date

import polars as pl

from attribution.cli import main


def test_the_fan_chart_draws_years_past_9999(tmp_path):
    # whole-number years up to 9998: h = 3 reaches 9999, 10000 and 10001, beyond Python dates
    years = list(range(9985, 9999))
    src = tmp_path / "y.csv"
    pl.DataFrame(
        {"series_id": "a", "date": years, "value": [float(y % 7 + 1) for y in years]}
    ).write_csv(src)
    out = tmp_path / "o"
    assert (
        main(["forecast", str(src), "--h", "3", "--out", str(out), "--models", "naive", "--quiet"])
        == 0
    )
    fc = pl.read_parquet(out / "forecast.parquet")
    assert fc["date"][0] == date(9999, 1, 1)
    assert fc["date"].dt.strftime("%m-%d").to_list() == ["01-01"] * 3
    assert fc["date"].dt.year().to_list() == [9999, 10000, 10001]
    assert (out / "forecast.png").read_bytes()[:4] == b"\x89PNG"


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
