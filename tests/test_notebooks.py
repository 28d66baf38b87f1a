"""Execute every notebook in ``notebooks/`` top to bottom; a cell that raises fails the test."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
kernelspec = pytest.importorskip("jupyter_client.kernelspec")

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL = "python3"
CELL_TIMEOUT = 600

# jupyter_client replaces these argv[0] values with sys.executable when it starts a kernel.
_SELF = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}


def _runs_this_interpreter(argv: list[str]) -> bool:
    if not argv:
        return False
    exe = argv[0]
    return exe in _SELF or os.path.abspath(exe) == os.path.abspath(sys.executable)


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Make the ``python3`` kernel run this interpreter (the venv with the package).

    ipykernel's own kernelspec (argv ``python -m ipykernel_launcher``) resolves to
    ``sys.executable``. If the ``python3`` spec that Jupyter finds is missing or points at another
    interpreter (e.g. a user-level spec), a spec for this interpreter is written to a temporary
    directory put first on ``JUPYTER_PATH`` for the duration of the tests; nothing is installed.
    """
    try:
        argv = kernelspec.KernelSpecManager().get_kernel_spec(KERNEL).argv
    except kernelspec.NoSuchKernel:
        argv = []
    if _runs_this_interpreter(argv):
        yield
        return
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({sys.prefix})",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as mp:
        paths = [str(root), os.environ.get("JUPYTER_PATH", "")]
        mp.setenv("JUPYTER_PATH", os.pathsep.join(p for p in paths if p))
        found = kernelspec.KernelSpecManager().get_kernel_spec(KERNEL).argv
        assert _runs_this_interpreter(found), found
        yield


def _execute(path: Path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def test_notebooks_exist() -> None:
    assert any(p.name == "quickstart.ipynb" for p in NOTEBOOK_PATHS)


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.name for p in NOTEBOOK_PATHS])
def test_notebook_runs(path: Path, kernel_env: None) -> None:
    nb = _execute(path)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, errors
    # every notebook here shows charts: losing them is a failure too
    images = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") in {"display_data", "execute_result"}
        and "image/png" in out.get("data", {})
    ]
    assert images, f"{path.name} rendered no chart (no image/png output)"
