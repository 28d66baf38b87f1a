"""A model that refuses the input: ``--model all`` and ``report`` go on without it.

The sample log has 8 channels in its converting journeys, so ``--max-channels 4`` makes the
exact Shapley value refuse (it needs every subset of the channels); every other model runs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import attribution as at
from tests.cli.conftest import SAMPLE, run_main


@pytest.fixture(scope="module")
def journeys() -> at.Journeys:
    return at.build_journeys(SAMPLE)


def test_the_sample_has_more_channels_than_the_limit(journeys: at.Journeys) -> None:
    converting = journeys.frame.filter(pl.col("converted"))["path"].explode().unique()
    assert converting.len() > 4


def test_attribute_all_skips_a_refusing_model_with_a_warning(journeys: at.Journeys) -> None:
    with pytest.raises(at.ModelError, match="max_channels=4"):
        at.attribute_all(journeys, max_channels=4)
    with pytest.warns(at.SkippedModelWarning, match=r"model 'shapley' skipped: .*max_channels=4"):
        table = at.attribute_all(journeys, max_channels=4, skip_refused=True)
    assert "shapley" not in set(table["model"])
    others = [m for m in at.MODELS if m != "shapley"]
    assert_frame_equal(table, at.attribute_all(journeys, models=others))


def test_when_every_model_refuses_the_refusal_is_raised(journeys: at.Journeys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", at.SkippedModelWarning)
        with pytest.raises(at.ModelError, match="max_channels=4"):
            at.attribute_all(journeys, models=["shapley"], max_channels=4, skip_refused=True)


def test_run_all_skips_shapley_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], journeys: at.Journeys
) -> None:
    out = tmp_path / "out"
    code, _, stderr = run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--max-channels", "4")
    assert code == 0, stderr
    assert "warning: model 'shapley' skipped:" in stderr
    assert "--max-channels 4" in stderr  # the limit, as the command's option
    channels = pl.read_parquet(out / "channels.parquet")
    assert "shapley" not in set(channels["model"])
    others = [m for m in at.MODELS if m != "shapley"]
    assert_frame_equal(channels, at.attribute_all(journeys, models=others))


def test_the_warning_shows_in_quiet_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(SAMPLE), "--out", str(tmp_path / "o"), "--max-channels", "4", "--quiet"]
    code, stdout, stderr = run_main(capsys, *argv)
    assert code == 0 and stdout == ""
    assert "attribution: warning: model 'shapley' skipped:" in stderr
    # every warning, the models' own too, is a line of its own in the command's format
    assert all(line.startswith("attribution: warning: ") for line in stderr.splitlines())


def test_a_single_model_that_refuses_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["run", str(SAMPLE), "--model", "shapley", "--max-channels", "4", "--out", str(out)]
    code, _, stderr = run_main(capsys, *argv)
    assert code == 2
    assert "error: Shapley" in stderr
    assert not out.exists()


def test_max_channels_reaches_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], journeys: at.Journeys
) -> None:
    out = tmp_path / "out"
    argv = ["run", str(SAMPLE), "--model", "shapley", "--max-channels", "9", "--out", str(out)]
    assert run_main(capsys, *argv, "--quiet")[0] == 0
    expected = at.attribute(journeys, "shapley", max_channels=9).channels
    assert_frame_equal(pl.read_parquet(out / "channels.parquet"), expected)


def test_report_skips_shapley_with_a_note_on_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["report", str(SAMPLE), "--out", str(out), "--max-channels", "4"]
    argv += ["--model", "linear", "shapley"]
    code, _, stderr = run_main(capsys, *argv)
    assert code == 0, stderr
    assert "warning: model 'shapley' skipped:" in stderr
    assert set(pl.read_parquet(out / "credit.parquet")["model"]) == {"linear"}
    page = (out / "report.html").read_text(encoding="utf-8")
    credit = page[page.index('<section id="credit">') :]
    credit = credit[: credit.index("</section>")]
    assert "Model &#x27;shapley&#x27; skipped: Shapley game" in credit


def test_build_report_notes_the_skipped_model(journeys: at.Journeys) -> None:
    from attribution.reporting import build_report

    with pytest.warns(at.SkippedModelWarning):
        rep = build_report(journeys, models=["linear", "shapley"], model_params={"max_channels": 4})
    assert rep.notes["credit"].startswith("Model 'shapley' skipped: ")
    assert set(rep.tables["credit"]["model"]) == {"linear"}


def test_python_warnings_are_printed_as_command_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Python's default format printed the file, line and source line of the warning
    import argparse

    from attribution.cli.options import guarded

    def command(args: argparse.Namespace) -> int:
        warnings.warn("3 of 4 ids are in scientific notation", at.DataQualityWarning, stacklevel=1)
        return 0

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert guarded(command, argparse.Namespace()) == 0
    err = capsys.readouterr().err
    assert err == "attribution: warning: 3 of 4 ids are in scientific notation\n"
