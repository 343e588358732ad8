"""CLI start-up (issue 19): `--help` and `status` import no crawler, PDF or alert-delivery library.

Speed itself is measured in bench/bench_cli.py, not here; this checks the cause: which packages got imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, runpy, sys
sys.argv = ["stp-tracker", *sys.argv[1:]]
try:
    runpy.run_module("tracker.cli", run_name="__main__")
except SystemExit:
    pass
heavy = {"scrapy", "twisted", "apprise", "pypdfium2", "apscheduler", "trafilatura", "openpyxl"}
if "--help" in sys.argv:
    heavy.add("sqlite_utils")  # help opens no archive
else:
    heavy |= {"pydantic", "markdown_it"}  # a command that runs converts plain options itself, renders no help
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m.startswith("tracker.meaning"))),
      file=sys.stderr)
"""


def imported_by(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"], ["sources", "--help"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    assert imported_by(*args) == []


def test_status_imports_nothing_heavy(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "tracker.cli", "--home", str(tmp_path), "init"], check=True,
                   capture_output=True, cwd=ROOT, timeout=60)
    assert imported_by("--home", str(tmp_path), "status") == []


def test_the_probe_can_fail() -> None:
    """A command that does need Scrapy shows up (so an empty list above means something)."""
    proc = subprocess.run([sys.executable, "-c", PROBE.replace("runpy.run_module", "import scrapy; runpy.run_module"),
                           "--help"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "scrapy" in json.loads(proc.stderr.strip().splitlines()[-1])


def test_options_are_still_converted_and_checked(tmp_path: Path) -> None:
    """Plain str and Path options skip Typer's Pydantic converter; every other value still goes through it."""
    from typer.testing import CliRunner

    from tracker.cli import app

    runner = CliRunner()
    home = tmp_path / "home"
    made = runner.invoke(app, ["--home", str(home), "init"])
    assert made.exit_code == 0, made.output
    assert (home / "archive.db").exists()  # the --home value arrived as a usable path
    bad = runner.invoke(app, ["--home", str(home), "search", "beds", "--limit", "many"])
    assert bad.exit_code == 2 and "valid integer" in bad.output  # an int option still refuses a word, in Typer's words
    ok = runner.invoke(app, ["--home", str(home), "search", "beds", "--limit", "3"])
    assert ok.exit_code == 0, ok.output
