"""Docs that cannot rot: every command has help with an example and is in README; README names no command
that does not exist; .ci/run runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import typer.main

from tracker.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _commands() -> dict[str, click.Command]:
    """Every leaf command by its full path ("crawl", "sources list")."""
    top = typer.main.get_command(app)
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix}{name}"
            if hasattr(command, "commands"):  # a group (typer carries its own copy of click: no isinstance)
                walk(command, path + " ")
            else:
                found[path] = command

    walk(top, "")
    return found


def test_every_command_has_help_with_an_example():
    missing = [path for path, command in _commands().items()
               if not command.help or "Example:" not in command.help]
    assert missing == [], f"commands without help text and an example: {missing}"


def test_every_command_is_in_the_readme():
    missing = [path for path in _commands() if f"stp-tracker {path}" not in README
               and not re.search(rf"stp-tracker (--home \S+ )?{re.escape(path)}\b", README)]
    assert missing == [], f"commands README does not mention: {missing}"


def test_every_command_the_readme_names_exists():
    commands = _commands()
    named = set()
    for match in re.finditer(r"stp-tracker (?:--home \S+ )?([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", README):
        first, second = match.group(1), match.group(2)
        named.add(f"{first} {second}" if second and f"{first} {second}" in commands else first)
    unknown = sorted(n for n in named if n not in commands and not any(c.startswith(n + " ") for c in commands))
    assert unknown == [], f"README names commands that do not exist: {unknown}"


def test_ci_runs_exactly_the_readme_test_command():
    commands = re.findall(r"^ {4}(python3 -m venv .*)$", README, flags=re.M)
    test_command = [c for c in commands if "pytest" in c]
    assert len(test_command) == 1, commands
    assert test_command[0] in (ROOT / ".ci" / "run").read_text()
    assert any("stp-tracker run" in c for c in commands), "the main job is the daemon"


def test_public_surface_of_each_package():
    import alerts
    import storage

    for package in (storage, alerts):
        assert package.__all__, package.__name__
        for name in package.__all__:
            assert hasattr(package, name), f"{package.__name__}.__all__ names missing {name}"
