"""``attribution forecast`` on hostile input: far-future years, misspelt columns, its help."""

from __future__ import annotations

from attribution.cli import main


def test_n_jobs_help_speaks_of_threads(capsys):
    try:
        main(["forecast", "--help"])
    except SystemExit:
        pass
    text = " ".join(capsys.readouterr().out.split())
    assert "--n-jobs N_JOBS threads (-1: one per core" in text
    assert "process" not in text.split("--n-jobs N_JOBS", 1)[1].split("--no-plot", 1)[0]
