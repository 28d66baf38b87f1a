"""The package's shape: what ``import forecasting`` loads, what it imports, and old names."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import forecasting as fc
from forecasting import kernels

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "forecasting"


STUB = "attribution._base.moved"  # where a forwarding stub's __getattr__ comes from


def test_import_forecasting_loads_only_the_base_layer_of_attribution():
    code = (
        "import forecasting, json, sys; "
        "print(json.dumps({m: getattr(getattr(sys.modules[m], '__getattr__', None), "
        "'__module__', None) for m in sys.modules "
        "if m.split('.')[0] in ('attribution', 'statsmodels', 'sklearn', 'matplotlib')}))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    loaded = json.loads(run.stdout)
    assert "attribution._base.periods" in loaded and "attribution._base.time" in loaded
    # the package's lazy __init__ (with the forwarding stubs of old paths it loads) and the
    # base layer only: no model, journey, report, reader or KPI module, no heavy library
    others = [
        m
        for m, getattr_from in loaded.items()
        if m != "attribution" and not m.startswith("attribution._base") and getattr_from != STUB
    ]
    assert others == []
    for name in ("models", "journeys", "reporting", "io", "_api", "kpis", "evaluation", "clv"):
        assert f"attribution.{name}" not in loaded


def _imports(path: Path) -> dict[str, list[tuple[str, list[str]]]]:
    """``(module, names)`` imported by a file: at module level, for typing only, in functions."""
    tree = ast.parse(path.read_text())
    typing = [
        node
        for stmt in tree.body
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.dump(stmt.test)
        for node in ast.walk(stmt)
    ]
    out: dict[str, list[tuple[str, list[str]]]] = {"top": [], "typing": [], "inner": []}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            item = (node.module, [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            item = (node.names[0].name, [])
        else:
            continue
        where = "top" if node in tree.body else "typing" if node in typing else "inner"
        out[where].append(item)
    return out


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "cli.py")  # cli: the CLI's own


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_forecasting_imports_only_the_base_layer_and_public_names(path):
    found = _imports(path)
    for module, _ in found["top"]:
        if module.split(".")[0] == "attribution":
            assert module.startswith("attribution._base"), (path.name, module)
    for module, _ in found["typing"] + found["inner"]:
        if module.split(".")[0] == "attribution":  # only when a result becomes series
            assert (path.name, module) == ("series.py", "attribution.journeys")
    for module, names in found["top"] + found["typing"] + found["inner"]:
        if module.split(".")[0] in ("attribution", "forecasting"):
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{path.name} imports private names {private} from {module}"


def test_the_engine_runs_kernels_from_the_registry():
    assert set(fc.MODEL_NAMES) == {*kernels.KERNELS, "auto"}
    assert set(kernels.RAGGED) <= set(kernels.KERNELS) == set(kernels.MIN_LENGTH)


@pytest.mark.parametrize(
    "name", ["forecast", "MODEL_NAMES", "AUTO_CANDIDATES", "select_arima", "select_ets"]
)
def test_old_models_path_warns_and_gives_the_same_object(name):
    import forecasting.models as old

    with pytest.warns(DeprecationWarning, match=rf"forecasting.models has moved.*import {name}"):
        value = getattr(old, name)
    assert value is getattr(fc, name)
    new = "forecasting.kernels" if name.startswith("select") else "forecasting.engine"
    with pytest.warns(DeprecationWarning, match=rf"has moved to {new}; import {name} from {new}"):
        getattr(old, name)


def test_evaluate_is_renamed_accuracy_and_warns():
    with pytest.warns(DeprecationWarning, match="forecasting.evaluate is now forecasting.accuracy"):
        old = fc.evaluate
    assert old is fc.accuracy
    with pytest.warns(DeprecationWarning, match="forecasting.accuracy"):
        from forecasting.backtest import evaluate
    assert evaluate is fc.accuracy
    assert "evaluate" not in fc.__all__ and "accuracy" in fc.__all__
    with pytest.raises(AttributeError):
        _ = fc.no_such_name
