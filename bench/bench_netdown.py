"""The daemon with the network down, for real: a network namespace with loopback only (needs root and `ip`).

Runs `stp-tracker run --once` over the built-in registry (every source) twice, with DNS refused at once and with a
DNS server that never answers, and then `stp-tracker run` with DNS hung, stopped by SIGTERM while it crawls.
Prints, for each: wall time, exit code, lines on stderr, tracebacks, per-fetch failure lines, the closing line, and
for the stop the time from SIGTERM to exit and the crawls' recorded status. Baseline: the figures the issue
measured before (124 s and 23,674 lines; 36 minutes with DNS hung; SIGTERM 124 s).

    sudo .venv/bin/python bench/bench_netdown.py [--only fail|hang|sigterm] [--sources FILE]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from netns import LoopbackOnly, unavailable  # noqa: E402

CLI = [sys.executable, "-m", "tracker.cli"]


def count(text: str) -> dict:
    lines = text.splitlines()
    return {"lines": len(lines), "tracebacks": text.count("Traceback"),
            "fetch_lines": sum(1 for line in lines if " WARNING fetch: " in line or " INFO fetch: " in line),
            "last": next((line.split(": ", 1)[1] for line in reversed(lines) if "run finished" in line), "")}


def once(mode: str, sources: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp, LoopbackOnly(mode, dns_wait=30) as net:
        started = time.monotonic()
        result = net.run([*CLI, "--home", tmp, "run", "--once", *sources], cwd=ROOT, timeout=3600)
        seconds = time.monotonic() - started
    return {"mode": mode, "seconds": round(seconds, 1), "exit": result.returncode, **count(result.stderr)}


def sigterm(sources: list[str], after: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp, LoopbackOnly("hang", dns_wait=30) as net:
        home = Path(tmp)
        (home / "config.toml").write_text("[daemon]\nstartup_spread_seconds = 5\n")
        log = home / "daemon.log"
        with log.open("w") as stderr:
            proc = net.popen([*CLI, "--home", tmp, "run", *sources], cwd=ROOT, stderr=stderr,
                             stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while "crawl started" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(after)
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(300)
            stop = time.monotonic() - sent
        text = log.read_text()
        status = subprocess.run([*CLI, "--home", tmp, "status", "--json"], cwd=ROOT, capture_output=True, text=True)
        from storage import Archive

        with Archive(home, readonly=True) as archive:
            crawls = [c["status"] for c in archive.crawls(limit=10_000)]
    return {"mode": "sigterm (DNS hung)", "stop_seconds": round(stop, 2), "exit": code,
            "crawls": {s: crawls.count(s) for s in sorted(set(crawls))},
            "in_flight": sum(bool(s.get("in_flight")) for s in json.loads(status.stdout or "{}").get("sources", [])),
            **count(text)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["fail", "hang", "sigterm"], action="append")
    parser.add_argument("--sources", help="a sources file instead of the built-in registry")
    parser.add_argument("--after", type=float, default=20.0, help="seconds of crawling before the SIGTERM")
    args = parser.parse_args()
    why = unavailable()
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    sources = ["--sources", args.sources] if args.sources else []
    for mode in args.only or ["fail", "hang", "sigterm"]:
        row = sigterm(sources, args.after) if mode == "sigterm" else once(mode, sources)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
