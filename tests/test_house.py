"""The house rules: each package's public surface is its `__init__.__all__`, and other packages use only that."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The units whose `__init__` names a public surface, longest first (a module belongs to the first that prefixes it).
UNITS = ["crawler.registry", "tracker.meaning", "tracker.cli", "tracker.daemon", "tracker.web", "tracker.webarchives",
         "tracker.research", "tracker.demo", "storage", "crawler", "alerts", "tracker"]
# Imported for their side effect, never for a name: none (extractors, source kinds and alert channels register
# by subclassing, in the module that defines the registry's users).
SIDE_EFFECT_MODULES: set[str] = set()
# Plumbing of the surfaces themselves (how a package's __init__ exports lazily), not a domain name.
PACKAGE_PLUMBING = {"tracker._lazy"}


def unit_of(module: str) -> str | None:
    return next((u for u in UNITS if module == u or module.startswith(u + ".")), None)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cross_unit_imports() -> list[tuple[str, int, str, str | None]]:
    found = []
    for package in ("storage", "crawler", "alerts", "tracker"):
        for path in sorted((ROOT / package).rglob("*.py")):
            mine = unit_of(module_name(path))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and unit_of(node.module):
                    if unit_of(node.module) != mine:
                        found += [(f"{path.relative_to(ROOT)}:{node.lineno}", node.module, a.name) for a in node.names]
                elif isinstance(node, ast.Import):
                    found += [(f"{path.relative_to(ROOT)}:{node.lineno}", a.name, None) for a in node.names
                              if unit_of(a.name) and unit_of(a.name) != mine]
    return found


def test_other_packages_import_only_public_names():
    wrong = []
    for where, module, name in cross_unit_imports():
        unit = unit_of(module)
        if module in PACKAGE_PLUMBING and where.split(':')[0].endswith('__init__.py'):
            continue
        if name is None:
            if module != unit and module not in SIDE_EFFECT_MODULES:
                wrong.append(f"{where}: `import {module}` (use `from {unit} import ...`)")
        elif module != unit:
            wrong.append(f"{where}: from {module} import {name} (use `from {unit} import {name}`)")
        elif name not in importlib.import_module(unit).__all__:
            wrong.append(f"{where}: {name} is not in {unit}.__all__")
    assert not wrong, "imports across packages that bypass the public surface:\n" + "\n".join(wrong)


@pytest.mark.parametrize("unit", UNITS)
def test_every_public_name_exists(unit):
    package = importlib.import_module(unit)
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert not missing, f"{unit}.__all__ names what it does not have: {missing}"


def test_the_import_contracts_are_declared():
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    names = " | ".join(c["name"] for c in contracts)
    for rule in ("storage imports none", "crawler imports only storage", "alerts imports only storage",
                 "tracker.meaning is pure"):
        assert rule in names
