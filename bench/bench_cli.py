"""CLI start-up: `stp-tracker --help` and `status` against a bare interpreter and a one-command Typer app.

    .venv/bin/python bench/bench_cli.py [--runs 15]

Each command runs as a fresh process (as a user's shell runs it) `--runs` times, interleaved with the baselines
so that a busy machine slows all of them alike; prints the median and best wall time of each, and what the
commands add to a Typer app that does nothing (a command with an option makes Typer 0.29 import pydantic to
coerce it: that is in the second baseline; target: `--help` and `status` under 0.25 s). `status` reads a
small archive made for the run. Also lists which heavy packages (Scrapy, apprise, pypdfium2, APScheduler) each
command imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
HEAVY = ("scrapy", "twisted", "apprise", "pypdfium2", "apscheduler", "trafilatura", "openpyxl")
TYPER_APP = """
import typer
app = typer.Typer(add_completion=False)
@app.command()
def hello(name: str = "x") -> None:
    "Say hello."
@app.command()
def bye(loud: bool = typer.Option(False, "--loud")) -> None:
    "Say bye."
app()
"""


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT)
    return time.perf_counter() - started


def heavy_imports(args: list[str]) -> list[str]:
    code = ("import runpy, sys\nsys.argv = ['stp-tracker', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('tracker.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)")
    proc = subprocess.run([PY, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    return proc.stderr.strip().splitlines()[-1:] or [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        subprocess.run([PY, "-m", "tracker.cli", "--home", home, "init"], check=True, capture_output=True, cwd=ROOT)
        cases = {
            "python -c pass": [PY, "-c", "pass"],
            "typer app --help": [PY, "-c", TYPER_APP, "--help"],
            "typer app bye --loud": [PY, "-c", TYPER_APP, "bye", "--loud"],
            "stp-tracker --help": [PY, "-m", "tracker.cli", "--help"],
            "stp-tracker status": [PY, "-m", "tracker.cli", "--home", home, "status"],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, argv in cases.items():
                times[name].append(timed(argv))
        loaded = {name: heavy_imports(argv[3:]) for name, argv in cases.items() if name.startswith("stp")}
    print(f"{'command':<22} {'median s':>9} {'best s':>8}  heavy packages imported")
    for name, values in times.items():
        print(f"{name:<22} {statistics.median(values):>9.3f} {min(values):>8.3f}  {loaded.get(name, [''])[0] or '-'}")
    for name, base in (("stp-tracker --help", "typer app --help"), ("stp-tracker status", "typer app bye --loud")):
        median, floor = statistics.median(times[name]), statistics.median(times[base])
        print(f"{name}: median {median:.3f} s (target < 0.25 s), x{median / floor:.2f} `{base}`, "
              f"+{median - floor:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
