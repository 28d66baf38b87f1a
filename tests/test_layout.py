"""The house rules, checked on the code: no private names across modules, light imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("attribution", "forecasting")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _private_imports() -> list[str]:
    """Every ``from m import _x`` and ``m._x`` across modules of the project."""
    found = []
    modules = _modules()
    for name, path in sorted(modules.items()):
        tree = ast.parse(path.read_text(), filename=str(path))
        aliases: dict[str, str] = {}  # local name -> project module it names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not node.module.startswith(PACKAGES):
                    continue
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in modules:
                        aliases[alias.asname or alias.name] = full
                        continue
                    if alias.name.startswith("_") and node.module != name:
                        found.append(f"{name}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(PACKAGES) and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and aliases[node.value.id] != name
            ):
                found.append(f"{name}: {aliases[node.value.id]}.{node.attr}")
    return sorted(set(found))


def test_no_module_imports_another_modules_private_names():
    assert _private_imports() == []


def test_the_base_layer_imports_nothing_else_of_the_project():
    for name, path in _modules().items():
        if not name.startswith("attribution._base"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith(PACKAGES):
                    assert node.module.startswith("attribution._base"), (name, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(PACKAGES):
                        assert alias.name.startswith("attribution._base"), (name, alias.name)


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return {m for m in out.stdout.split() if m.startswith(PACKAGES)}


@pytest.mark.parametrize("statement", ["import forecasting", "import attribution"])
def test_light_imports_load_no_models_journeys_or_reports(statement):
    loaded = _loaded_after(statement)
    heavy = {
        m
        for m in loaded
        if m.startswith("attribution.")
        and not m.startswith("attribution._base")
        and m not in {"attribution.roi", "attribution.evaluate"}  # forwarding stubs only
    }
    assert heavy == set(), sorted(heavy)
