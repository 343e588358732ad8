"""The one way tests run `stp-tracker` in a subprocess (a real process: its exit code, stderr, signals)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tracker.cli"]


def run_cli(home: Path | None, *args: str, timeout: float = 120, env: Mapping[str, str] | None = None,
            code: int | None = None, preexec_fn: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
    """`stp-tracker [--home HOME] ARGS...` from the project root; `env` is added to this process's environment.
    With `code`, the exit code must be that one (the assertion shows stderr)."""
    command = [*CLI, *(["--home", str(home)] if home is not None else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                            env={**os.environ, **env} if env else None, preexec_fn=preexec_fn)
    if code is not None:
        assert result.returncode == code, f"{args}: exit {result.returncode}, expected {code}: {result.stderr}"
    return result
