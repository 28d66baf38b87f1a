"""Helpers of the command-line tests: run a command, look at what a folder holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import attribution as at
from attribution.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(at.__file__).parent / "datasets" / "data" / "sample_events.csv"
SPEND = SAMPLE.parent / "sample_spend.csv"


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``attribution ARGV`` in this process: exit status, stdout, stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_process(
    *argv: str, timeout: float = 300, path: list[Path] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m attribution.cli ARGV`` in a fresh process (the worktree on PYTHONPATH).

    ``path`` puts more folders first on PYTHONPATH (a ``sitecustomize.py`` there runs first).
    """
    folders = [*(path or []), ROOT]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(f) for f in folders)}
    return subprocess.run(
        [sys.executable, "-m", "attribution.cli", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def names(folder: Path) -> list[str]:
    """Every entry of ``folder``, hidden ones included, sorted."""
    return sorted(p.name for p in folder.iterdir())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder`` and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(folder: Path) -> list[str]:
    """Staging or set-aside folders of ``folder`` left beside it (``.NAME.tmp-...``)."""
    parent = folder.parent
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{folder.name}."))
