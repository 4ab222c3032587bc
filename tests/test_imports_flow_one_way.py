"""ENGINEERING.md rule 5: imports flow one way (app -> overview -> capabilities -> spaces -> core;
auth -> spaces -> core), and the package root holds only the wiring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ens"
CAPABILITIES = {"vitals", "records", "vaccination", "documents"}

# What each part may import (besides itself and the standard library / third parties).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "spaces": {"core"},
    "auth": {"core", "spaces"},
    **{capability: {"core", "spaces"} for capability in CAPABILITIES},
    "overview": {"core", "spaces", *CAPABILITIES},
    "demo": {"core", "spaces", "auth", *CAPABILITIES},
    "app": {"core", "spaces", "auth", "overview", *CAPABILITIES},
    "cli": {"core", "spaces", "auth", "overview", "app", "demo", *CAPABILITIES},
}


def _part(module_path: Path) -> str:
    relative = module_path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def _ens_imports(module_path: Path) -> set[str]:
    """The parts of ``ens`` a module imports, at the top or inside a function."""
    parts: set[str] = set()
    for node in ast.walk(ast.parse(module_path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + ([f"{node.module}.{a.name}" for a in node.names] if node.module == "ens" else [])
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "ens" and len(pieces) > 1:
                parts.add(pieces[1])
    return parts


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("module_path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_what_lies_below_it(module_path: Path) -> None:
    part = _part(module_path)
    forbidden = _ens_imports(module_path) - ALLOWED[part] - {part}
    assert forbidden == set(), f"{module_path.relative_to(PACKAGE)} imports {sorted(forbidden)}"


def test_the_package_root_holds_only_the_wiring_and_folders() -> None:
    files = {p.name for p in PACKAGE.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files == {"__init__.py", "demo.py"}
