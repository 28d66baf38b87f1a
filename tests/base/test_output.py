"""attribution._base.output: one file atomically, a folder of files as one set."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from attribution import OutputError
from attribution._base import output
from attribution._base.output import (
    atomic_path,
    check_out_dir,
    file_mode,
    held_signals,
    output_set,
)

OWNED = {"a.csv", "b.csv", "c.csv"}


def _publish(out: Path, files: dict[str, str]) -> None:
    with output_set(out, owned=OWNED) as stage:
        for name, text in files.items():
            (stage / name).write_text(text)


def _entries(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in folder.iterdir()}


def test_a_new_folder_is_published_with_its_files(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"
    _publish(out, {"a.csv": "1", "b.csv": "1"})
    assert _entries(out) == {"a.csv": "1", "b.csv": "1"}
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["out"]


def test_a_second_set_replaces_the_first_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out, {"a.csv": "1", "b.csv": "1"})
    (out / "mine.txt").write_text("kept")
    _publish(out, {"a.csv": "2", "c.csv": "2"})
    assert _entries(out) == {"a.csv": "2", "c.csv": "2", "mine.txt": "kept"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_carried_file_is_the_same_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out, {"a.csv": "1"})
    (out / "big.bin").write_bytes(b"x" * 1000)
    inode = (out / "big.bin").stat().st_ino
    _publish(out, {"a.csv": "2"})
    assert (out / "big.bin").stat().st_ino == inode  # a hard link, not a copy


def test_an_error_leaves_the_folder_and_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _publish(out, {"a.csv": "1", "b.csv": "1"})
    with pytest.raises(RuntimeError, match="boom"):
        with output_set(out, owned=OWNED) as stage:
            (stage / "a.csv").write_text("half")
            raise RuntimeError("boom")
    assert _entries(out) == {"a.csv": "1", "b.csv": "1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_error_makes_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(KeyError):
        with output_set(out) as stage:
            (stage / "a.csv").write_text("half")
            raise KeyError("x")
    assert list(tmp_path.iterdir()) == []


def test_a_symlinked_folder_is_published_where_it_points(tmp_path: Path) -> None:
    real = tmp_path / "real"
    _publish(real, {"a.csv": "1"})
    (tmp_path / "link").symlink_to(real)
    _publish(tmp_path / "link", {"b.csv": "2"})
    assert (tmp_path / "link").is_symlink()
    assert _entries(real) == {"b.csv": "2"}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: (t / "f").write_text("x") and t / "f", "is a file"),
        (lambda t: (t / "f").write_text("x") and t / "f" / "a" / "b", "which is a file"),
        (lambda t: Path("/"), "is the root folder"),
        (lambda t: (t / "o" / "sub").mkdir(parents=True) or t / "o", "holds folders that no run"),
    ],
)
def test_check_out_dir_refuses(tmp_path: Path, make: object, message: str) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(OutputError, match=message):
        check_out_dir(target, what="--out")


def test_check_out_dir_refuses_the_working_folder_and_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    for target in (inner, tmp_path / "a", Path(".")):
        with pytest.raises(OutputError, match="working folder"):
            check_out_dir(target)
    assert check_out_dir("new") == inner / "new"


def test_the_folders_an_earlier_version_left_are_not_carried(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / ".attribution-abc123").mkdir(parents=True)  # an old version's staging folder
    (out / ".channels.csv.xyz.tmp").write_text("half")
    check_out_dir(out)  # not a folder that no run wrote
    _publish(out, {"a.csv": "1"})
    assert _entries(out) == {"a.csv": "1"}


def test_files_get_the_permissions_of_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        assert file_mode() == 0o600
        assert file_mode(folder=True) == 0o700
        with atomic_path(tmp_path / "one.txt") as tmp:
            tmp.write_text("x")
        _publish(tmp_path / "out", {"a.csv": "1"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "one.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out" / "a.csv").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700
    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "two.txt") as tmp:
            tmp.write_text("x")  # mkstemp makes 0600; the file gets the umask's 0644
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "two.txt").stat().st_mode) == 0o644


def test_the_umask_is_read_without_changing_it() -> None:
    old = os.umask(0o027)
    try:
        assert output._umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(old)


def test_held_signals_are_delivered_after_the_block() -> None:
    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with held_signals():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("after the signal")
        steps.append("not reached: delivered when the block ended")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
