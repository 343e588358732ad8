"""Memory (RSS) and CPU of the daemon: idle with the full default registry, and over many short scheduled crawls.

    .venv/bin/python bench/bench_daemon.py [--idle-seconds 30] [--crawls 200]

Runs `stp-tracker run` as a subprocess against a temporary data home and samples /proc (Linux).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLI = [sys.executable, "-m", "tracker.cli"]
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except (OSError, IndexError):
        return 0.0


def children(pid: int) -> list[int]:
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
            found.extend(int(c) for c in text)
    except OSError:
        pass
    return found + [g for c in found for g in children(c)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def crawls(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'archive.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM crawls WHERE status != 'running'").fetchone()[0]
    except sqlite3.Error:
        return 0


def start(home: Path, *args: str) -> subprocess.Popen:
    log = (home / "daemon.log").open("a")
    return subprocess.Popen([*CLI, "--home", str(home), "run", *args], stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def idle(seconds: float) -> None:
    """The full default registry, every source scheduled for tomorrow: what a quiet daemon costs."""
    from storage import Archive
    from tracker.daemon import STATE_PREFIX, load_daemon_sources
    from tracker.daemon.schedule import SourceState, iso, schedule_for

    home = Path(tempfile.mkdtemp(prefix="stp-bench-idle-"))
    args: list[str] = []
    try:
        sources = load_daemon_sources(home)
    except Exception as exc:  # noqa: BLE001 - report why, then measure the part of the registry that loads
        from crawler.registry import default_sources
        from crawler.sources import KINDS, sources_from_dicts

        loadable = [d for d in default_sources() if d["kind"] in KINDS]
        print(f"idle: the full default registry does not load ({exc}); measuring its {len(loadable)} loadable sources")
        sources = sources_from_dicts(loadable)
        lines = []
        for s in sources:
            lines.append(f'[[source]]\nname = {json.dumps(s.name)}\nkind = {json.dumps(s.kind)}\n'
                         f'start_urls = {json.dumps(s.start_urls)}\nschedule = {json.dumps(s.schedule or "24h")}\n')
        (home / "registry.toml").write_text("\n".join(lines))
        args = ["--sources", str(home / "registry.toml")]
    now = dt.datetime.now(dt.timezone.utc)
    with Archive(home) as archive:
        archive.set_states({
            STATE_PREFIX + s.name: SourceState(schedule=schedule_for(s).text, last_started=iso(now),
                                               next_due=iso(now + dt.timedelta(days=1))).to_json()
            for s in sources
        })
    proc = start(home, *args)
    time.sleep(3)  # imports and start-up
    cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
    samples = []
    while time.monotonic() - t0 < seconds:
        samples.append(rss_mb(proc.pid))
        time.sleep(1)
    cpu = cpu_seconds(proc.pid) - cpu0
    elapsed = time.monotonic() - t0
    code = stop(proc)
    print(f"idle daemon, {len(sources)} sources scheduled, nothing due, {elapsed:.0f} s: "
          f"RSS first {samples[0]:.1f} MB, last {samples[-1]:.1f} MB, peak {max(samples):.1f} MB; "
          f"CPU {cpu:.2f} s ({100 * cpu / elapsed:.2f} %); crawls run {crawls(home)}; exit {code}")


def busy(target: int) -> None:
    """A small local site crawled `target` times at a 1 s interval (4 sources): RSS must not grow."""
    from tracker.demo.web import DemoWeb, page

    web = DemoWeb().start()
    web.set("/", page("Plans", "<p>Our plans and papers, with enough words to be a page.</p>",
                      [(f"/p{i}.html", f"Paper {i}") for i in range(5)]))
    for i in range(5):
        web.set(f"/p{i}.html", page(f"Paper {i}", f"<p>Paper number {i} says something about the plan.</p>"))
    home = Path(tempfile.mkdtemp(prefix="stp-bench-busy-"))
    (home / "config.toml").write_text(
        "[crawl.scrapy]\nAUTOTHROTTLE_ENABLED = false\nDOWNLOAD_DELAY = 0\nRETRY_TIMES = 0\n"
        "[daemon]\ngather_seconds = 0.05\nstartup_spread_seconds = 1\nmax_parallel_crawls = 2\n")
    sources = home / "sources.toml"
    sources.write_text("".join(
        f'[[source]]\nname = "site-{n}"\nkind = "site"\nstart_urls = ["{web.url("/")}"]\nmax_depth = 1\n'
        f'schedule = "1s"\n\n' for n in range(4)))
    proc = start(home, "--sources", str(sources))
    t0 = time.monotonic()
    samples: list[tuple[int, float, float]] = []
    try:
        while crawls(home) < target and time.monotonic() - t0 < target * 2:
            kids = sum(rss_mb(c) for c in children(proc.pid))
            samples.append((crawls(home), rss_mb(proc.pid), kids))
            time.sleep(1)
        cpu = cpu_seconds(proc.pid)
    finally:
        code = stop(proc)
        web.stop()
    elapsed = time.monotonic() - t0
    done = crawls(home)
    steady = [s for s in samples if s[0] >= 20] or samples  # after warm-up (imports, first extraction workers)
    main = [s[1] for s in steady]
    print(f"{done} scheduled crawls in {elapsed:.0f} s ({done / elapsed:.1f}/s), CPU {cpu:.1f} s, exit {code}")
    print(f"  daemon RSS after 20 crawls: first {main[0]:.1f} MB, last {main[-1]:.1f} MB, peak {max(main):.1f} MB "
          f"(from start: peak {max(s[1] for s in samples):.1f} MB)")
    print(f"  extraction workers RSS (sum): first {steady[0][2]:.1f} MB, last {steady[-1][2]:.1f} MB, "
          f"peak {max(s[2] for s in steady):.1f} MB")
    for count, main_rss, kids in samples[:: max(1, len(samples) // 8)]:
        print(f"    after {count:4d} crawls: daemon {main_rss:6.1f} MB, workers {kids:6.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--crawls", type=int, default=200)
    args = parser.parse_args()
    idle(args.idle_seconds)
    busy(args.crawls)


if __name__ == "__main__":
    main()
