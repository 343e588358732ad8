"""The systemd units in deploy/: both commands exist, the daemon's memory limit sits above its workers' caps."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from tracker.workers import EXTRACT_MEMORY_MB

ROOT = Path(__file__).resolve().parents[1]
MAX_WORKERS = 4  # tracker/workers.py: min(4, cores)
DAEMON_MB = 512


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string((ROOT / "deploy" / name).read_text())
    return parser


def megabytes(value: str) -> int:
    number, suffix = re.fullmatch(r"(\d+)([KMG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * {"K": 1 / 1024, "M": 1, "G": 1024, "": 1 / 1024 / 1024}[suffix]


def test_daemon_unit_memory_is_above_every_worker_at_its_cap() -> None:
    service = unit("stp-tracker.service")["Service"]
    text = (ROOT / "deploy" / "stp-tracker.service").read_text()
    # The unit states the worker cap it was sized for (the default of tracker/workers.py).
    cap = int(re.search(r"Environment=STP_TRACKER_EXTRACT_MEMORY_MB=(\d+)", text).group(1))  # type: ignore[union-attr]
    assert cap >= min(EXTRACT_MEMORY_MB, 2048)
    high = megabytes(re.search(r"^MemoryHigh=(\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    hard = megabytes(re.search(r"^MemoryMax=(\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    assert hard >= MAX_WORKERS * cap + DAEMON_MB and high < hard
    assert "run --log-format json" in service["ExecStart"]
    assert int(service["TimeoutStopSec"]) > 10  # the daemon stops within about 10 s


def test_web_unit_serves_the_archive() -> None:
    service = unit("stp-tracker-web.service")["Service"]
    assert " serve " in service["ExecStart"] and "--host 127.0.0.1" in service["ExecStart"]
    assert service["User"] == "stp-tracker" and service["ReadWritePaths"] == "/var/lib/stp-tracker"
    assert megabytes(service["MemoryMax"]) >= 512
