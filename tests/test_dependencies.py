"""What our packages import is what pyproject.toml declares: a plain `pip install .` has every import, and no
declared dependency is dead weight."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OURS = tuple(PYPROJECT["tool"]["importlinter"]["root_packages"])  # crawler, storage, tracker, alerts, ...
# Declared but imported by no module of ours, each for a reason.
NOT_IMPORTED = {
    "lxml-html-clean": "justext (trafilatura's boilerplate remover) imports lxml.html.clean",
    "python-multipart": "Starlette reads the subscribe form with it",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def declared(group: str | None = None) -> set[str]:
    project = PYPROJECT["project"]
    requirements = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {_name(r) for r in requirements}


def imported_modules() -> dict[str, str]:
    """Top-level module -> the first of our files that imports it (stdlib and our own packages left out)."""
    found: dict[str, str] = {}
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OURS:
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def distributions_of(modules: dict[str, str]) -> dict[str, str]:
    owners = packages_distributions()
    result = {}
    for module, where in modules.items():
        for dist in owners.get(module, [module]):
            result[dist.lower().replace("_", "-")] = f"{module} (in {where})"
    return result


def test_every_import_is_a_declared_runtime_dependency():
    used = distributions_of(imported_modules())
    undeclared = {dist: why for dist, why in used.items() if dist not in declared()}
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def test_every_runtime_dependency_is_imported():
    used = set(distributions_of(imported_modules()))
    unused = declared() - used - set(NOT_IMPORTED)
    assert not unused, f"declared in [project] dependencies but never imported: {sorted(unused)}"


def test_test_only_packages_are_not_imported_by_the_application():
    test_only = declared("test") - declared()
    used = distributions_of(imported_modules())
    leaked = {dist: why for dist, why in used.items() if dist in test_only}
    assert not leaked, f"only a test dependency, but the application imports it: {leaked}"
