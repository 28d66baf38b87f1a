"""Output folders: one set per run, checked before any work, same permissions, signals.

Every command (run, report, forecast) publishes its files as one set: a run never leaves the
files of an earlier run beside its own, never a staging folder, and a failed, interrupted or
terminated run leaves the folder as it was.
"""

from __future__ import annotations

import os
import signal
import stat
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import attribution.cli.options as cli_options
from attribution._base import output
from tests.cli.conftest import (
    SAMPLE,
    SPEND,
    leftovers,
    names,
    run_main,
    run_process,
    snapshot,
)

RUN = ["channels.csv", "channels.parquet", "paths.csv", "paths.parquet"]
ROI = ["roi.csv", "roi.parquet"]


def _series(tmp_path: Path) -> Path:
    months = pl.date_range(pl.date(2021, 1, 1), pl.date(2023, 12, 1), "1mo", eager=True)
    t = np.arange(len(months))
    src = tmp_path / "series.csv"
    pl.DataFrame({"series_id": ["a"] * len(t), "date": months, "value": 100 + 2.0 * t}).write_csv(
        src
    )
    return src


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    """One quick invocation of each command, without --out."""
    return {
        "run": ["run", str(SAMPLE), "--model", "last_touch", "--quiet"],
        "report": ["report", str(SAMPLE), "--model", "last_touch", "--quiet"],
        "forecast": [
            *("forecast", str(_series(tmp_path)), "--h", "2", "--models", "naive"),
            *("--n-jobs", "1", "--quiet"),
        ],
    }


# ----------------------------------------------------------------------------------------------
# one set per run


def test_a_run_without_spend_removes_the_roi_files_of_an_earlier_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--spend", str(SPEND))[0] == 0
    assert names(out) == sorted(RUN + ROI)
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--quiet")[0] == 0
    assert names(out) == RUN
    assert leftovers(out) == []


def test_a_report_folder_reused_by_run_keeps_no_report_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    cmds = _commands(tmp_path)
    assert run_main(capsys, *cmds["report"], "--out", str(out))[0] == 0
    assert "report.html" in names(out)
    assert run_main(capsys, *cmds["run"], "--out", str(out))[0] == 0
    assert names(out) == RUN


def test_forecast_without_plot_removes_an_earlier_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    cmd = _commands(tmp_path)["forecast"]
    assert run_main(capsys, *cmd, "--out", str(out))[0] == 0
    assert names(out) == ["forecast.csv", "forecast.parquet", "forecast.png"]
    assert run_main(capsys, *cmd, "--no-plot", "--out", str(out))[0] == 0
    assert names(out) == ["forecast.csv", "forecast.parquet"]


def test_files_no_run_writes_are_carried_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "link").symlink_to("notes.txt")
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--quiet")[0] == 0
    assert names(out) == sorted([*RUN, "notes.txt", "link"])
    assert (out / "notes.txt").read_text() == "mine"
    assert os.readlink(out / "link") == "notes.txt"


def test_a_stale_staging_folder_of_a_dead_process_is_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    dead = tmp_path / ".out.tmp-999999999-abc"  # no such process
    alive = tmp_path / f".out.tmp-{os.getppid()}-abc"  # a running process's own
    for d in (dead, alive):
        d.mkdir()
        (d / "channels.csv").write_text("half")
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--quiet")[0] == 0
    assert not dead.exists()
    assert alive.exists()


def test_without_an_atomic_exchange_the_folder_is_still_replaced_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--spend", str(SPEND))[0] == 0
    monkeypatch.setattr(output, "_exchange", lambda a, b: False)  # two renames instead
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--quiet")[0] == 0
    assert names(out) == RUN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_reader_never_sees_a_mix_of_two_sets(tmp_path: Path) -> None:
    """Publish two different sets in turn while another thread lists the folder."""
    out = tmp_path / "out"
    sets = [{"a.csv": "1", "b.csv": "1"}, {"a.csv": "2", "c.csv": "2"}]
    owned = {"a.csv", "b.csv", "c.csv"}
    with output.output_set(out, owned=owned) as stage:
        for name, text in sets[0].items():
            (stage / name).write_text(text)
    seen: list[frozenset[str]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                seen.append(frozenset(os.listdir(out)))
            except FileNotFoundError:
                seen.append(frozenset({"<no folder>"}))

    reader = threading.Thread(target=watch)
    reader.start()
    try:
        for i in range(60):
            with output.output_set(out, owned=owned) as stage:
                for name, text in sets[(i + 1) % 2].items():
                    (stage / name).write_text(text)
    finally:
        stop.set()
        reader.join()
    # The path always names one whole set; a listing that began in the old folder may find
    # it being emptied (a subset of one set), never files of both sets.
    whole = [frozenset(s) for s in sets]
    assert len(seen) > 100
    mixed = [v for v in seen if not any(v <= w for w in whole)]
    assert mixed == []
    assert sum(v in whole for v in seen) > len(seen) / 2


# ----------------------------------------------------------------------------------------------
# the output location is checked before any work


@pytest.mark.parametrize("command", ["run", "report", "forecast"])
@pytest.mark.parametrize("where", ["a file", "below a file", "the working folder"])
def test_a_bad_out_location_exits_2_before_any_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    where: str,
) -> None:
    cmd = _commands(tmp_path)[command]
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    out = {"a file": blocker, "below a file": blocker / "sub" / "out"}.get(where, tmp_path / "w")
    if where == "the working folder":
        out.mkdir()
        monkeypatch.chdir(out)
    import attribution.cli.forecast as forecast

    started: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        started.append("work")
        raise AssertionError("the command started its work")

    monkeypatch.setattr(cli_options, "build_journeys", refuse)
    monkeypatch.setattr(forecast, "to_lazy", refuse)
    code, stdout, stderr = run_main(capsys, *cmd, "--out", str(out))
    assert code == 2, stderr
    assert stderr.startswith("error: --out ")
    assert {"a file": "is a file", "below a file": "which is a file"}.get(
        where, "working folder"
    ) in stderr
    assert started == []
    assert blocker.read_text() == "a file"
    assert stdout == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
@pytest.mark.parametrize("command", ["run", "report", "forecast"])
def test_an_unwritable_out_location_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, _, stderr = run_main(
            capsys, *_commands(tmp_path)[command], "--out", str(locked / "out")
        )
    finally:
        locked.chmod(0o755)
    assert code == 2
    assert "no permission to write" in stderr


def test_a_folder_no_run_wrote_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    (out / "photos").mkdir(parents=True)
    (out / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    called: list[str] = []
    monkeypatch.setattr(cli_options, "build_journeys", lambda *a, **k: called.append("x"))
    code, _, stderr = run_main(capsys, "run", str(SAMPLE), "--out", str(out))
    assert code == 2
    assert "holds folders that no run wrote ('photos')" in stderr
    assert called == []
    assert (out / "photos" / "cat.jpg").read_bytes() == b"\xff\xd8"


# ----------------------------------------------------------------------------------------------
# permissions: the umask's, for every command


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("command", ["run", "report", "forecast"])
def test_every_file_gets_the_permissions_of_the_umask(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], umask_027: None, command: str
) -> None:
    out = tmp_path / "out"
    assert run_main(capsys, *_commands(tmp_path)[command], "--out", str(out))[0] == 0
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes and set(modes.values()) == {0o640}, modes
    assert stat.S_IMODE(out.stat().st_mode) == 0o750


def test_run_and_report_files_have_the_same_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report wrote 0600 and run 0644 under the same umask."""
    mask = os.umask(0)
    os.umask(mask)
    cmds = _commands(tmp_path)
    modes = set()
    for command in ("run", "report"):
        out = tmp_path / command
        assert run_main(capsys, *cmds[command], "--out", str(out))[0] == 0
        modes |= {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert modes == {0o666 & ~mask}


def test_a_replaced_folder_keeps_its_own_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o700)
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--quiet")[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


# ----------------------------------------------------------------------------------------------
# interrupted and terminated runs


def _first_write_then(action: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the second table write do ``action`` (the first one has been written)."""
    real = pl.DataFrame.write_csv
    calls: list[int] = []

    def write_csv(self: pl.DataFrame, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            action()  # type: ignore[operator]
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.DataFrame, "write_csv", write_csv)


@pytest.mark.parametrize(
    ("how", "status", "word"),
    [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")],
)
def test_a_signal_while_writing_leaves_the_earlier_set(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    status: int,
    word: str,
) -> None:
    out = tmp_path / "out"
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--spend", str(SPEND))[0] == 0
    before = snapshot(out)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    sig = getattr(signal, how)
    _first_write_then(lambda: os.kill(os.getpid(), sig), monkeypatch)
    code, _, stderr = run_main(capsys, "run", str(SAMPLE), "--model", "linear", "--out", str(out))
    assert code == status
    assert word in stderr
    assert snapshot(out) == before
    assert leftovers(out) == []
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


def test_a_signal_while_the_folders_are_swapped_waits_for_the_swap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--spend", str(SPEND))[0] == 0
    real = output._exchange

    def exchange(a: Path, b: Path) -> bool:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of publishing
        return real(a, b)

    monkeypatch.setattr(output, "_exchange", exchange)
    code, _, stderr = run_main(capsys, "run", str(SAMPLE), "--model", "linear", "--out", str(out))
    assert code == 143
    assert "terminated" in stderr
    # the new set was published whole before the signal was delivered
    assert names(out) == RUN
    assert pl.read_parquet(out / "channels.parquet").columns[0] == "channel"
    assert leftovers(out) == []


def test_sigterm_in_a_fresh_process_cleans_up_and_exits_143(tmp_path: Path) -> None:
    """The real signal, sent to the process by itself while it builds journeys."""
    out = tmp_path / "out"
    assert run_process("run", str(SAMPLE), "--out", str(out), "--spend", str(SPEND)).returncode == 0
    before = snapshot(out)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import os, signal
            import attribution.cli.options as options
            real = options.build_journeys
            def build_journeys(*args, **kwargs):
                os.kill(os.getpid(), signal.SIGTERM)
                return real(*args, **kwargs)
            options.build_journeys = build_journeys
            """
        )
    )
    proc = run_process("run", str(SAMPLE), "--model", "linear", "--out", str(out), path=[hook])
    assert proc.returncode == 143, proc.stderr
    assert "terminated" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_a_failure_while_writing_leaves_the_earlier_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_main(capsys, "run", str(SAMPLE), "--model", "last_touch", "--out", str(out))[0] == 0
    before = snapshot(out)

    def disk_full() -> None:
        raise OSError(28, "No space left on device")

    _first_write_then(disk_full, monkeypatch)
    code, _, stderr = run_main(capsys, "run", str(SAMPLE), "--out", str(out), "--quiet")
    assert code == 2
    assert f"error: --out '{out}' could not be written (No space left on device)" in stderr
    assert "Traceback" not in stderr
    assert snapshot(out) == before
    assert leftovers(out) == []


def test_a_forecast_whose_chart_fails_leaves_the_earlier_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """csv and parquet are written before the chart: they must not be published without it."""
    import attribution.cli.forecast as forecast

    out = tmp_path / "out"
    cmd = _commands(tmp_path)["forecast"]
    assert run_main(capsys, *cmd, "--h", "3", "--out", str(out))[0] == 0
    before = snapshot(out)

    def chart_fails(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(forecast, "fan_chart", chart_fails)
    code, _, stderr = run_main(capsys, *cmd, "--out", str(out))
    assert code == 2
    assert "No space left on device" in stderr
    assert snapshot(out) == before
    assert pl.read_parquet(out / "forecast.parquet").height == 3
    assert leftovers(out) == []


def test_a_read_only_place_is_refused_before_any_work_even_for_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only file system refuses root too: the check makes a folder, not only asks."""
    real = output.tempfile.mkdtemp

    def read_only(*args: object, **kwargs: object) -> str:
        if str(kwargs.get("prefix", "")).startswith(".write-check-"):
            raise OSError(30, "Read-only file system")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(output.tempfile, "mkdtemp", read_only)
    called: list[int] = []
    monkeypatch.setattr(cli_options, "build_journeys", lambda *a, **k: called.append(1))
    code, _, stderr = run_main(capsys, "run", str(SAMPLE), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "cannot be written: no permission to write in" in stderr
    assert called == []
