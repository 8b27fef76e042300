"""The layout by stage holds: imports point one way, with no cycles, and production code never
imports the development tools (the contracts are in pyproject.toml, ``[tool.importlinter]``)."""

from __future__ import annotations

import ast
import pkgutil
import tomllib
from pathlib import Path

import pytest
from importlinter.application.use_cases import lint_imports
from importlinter.configuration import configure

import schoolnet

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"


def _contracts() -> dict[str, dict[str, object]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def test_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    configure()  # what the lint-imports command does first: the readers and the graph builder
    kept = lint_imports(config_filename=str(PYPROJECT), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert kept, report


def test_every_part_of_the_package_is_in_a_layer() -> None:
    """A new subpackage, or a module left loose beside them, would escape the layers contract."""
    layered = {
        name.strip()
        for layer in _contracts()["layers"]["layers"]  # type: ignore[attr-defined]  # tomllib's values are typed object
        for name in layer.split("|")
    }
    parts = {f"schoolnet.{info.name}" for info in pkgutil.iter_modules(schoolnet.__path__)}
    assert parts == layered


def _schoolnet_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.startswith("schoolnet.")}


@pytest.mark.parametrize("dag_file", sorted((ROOT / "dags").glob("*.py")), ids=lambda p: p.name)
def test_dags_wire_orchestration_not_tools(dag_file: Path) -> None:
    """The DAG files are production: they import what they run, never the demo or the CLI."""
    imports = _schoolnet_imports(dag_file)
    assert imports, "a DAG file that imports nothing of schoolnet"
    forbidden = {"schoolnet.devtools", "schoolnet.cli"}
    assert not {
        name
        for name in imports
        if name.split(".")[0:2] and ".".join(name.split(".")[:2]) in forbidden
    }


def _private_imports(path: Path) -> list[str]:
    """The ``_private`` names ``path`` imports from schoolnet modules (dunder names are public)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            module = "." * node.level + (node.module or "")
            if not (node.level or module == "schoolnet" or module.startswith("schoolnet.")):
                continue
            found.extend(
                f"{path.relative_to(ROOT)}:{node.lineno}: from {module} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            )
        elif isinstance(node, ast.Import):
            found.extend(
                f"{path.relative_to(ROOT)}:{node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name.startswith("schoolnet.")
                and any(
                    part.startswith("_") and not part.startswith("__")
                    for part in alias.name.split(".")
                )
            )
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    """A name that starts with ``_`` belongs to its module: one shared by several modules is made
    public (or moved to where they all read it), so that renaming a private name never breaks
    another module."""
    sources = sorted(Path(schoolnet.__file__).parent.rglob("*.py")) + sorted(
        (ROOT / "dags").glob("*.py")
    )
    assert [found for path in sources for found in _private_imports(path)] == []
