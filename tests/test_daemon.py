"""The daemon as a real process (`stp-tracker run`) against a local web: schedules, events, signals, kills, status."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from clirun import run_cli
from pdfgen import make_pdf
from tracker.demo.run import PUBLISHED
from storage import Archive, ArchiveError, Outbox
from tracker.daemon import DaemonError, DaemonLock, DaemonSettings, daemon_status, lock_owner

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tracker.cli"]
CONFIG = """
[crawl.scrapy]
AUTOTHROTTLE_ENABLED = false
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 10
RETRY_TIMES = 0

[daemon]
gather_seconds = 0.2
heartbeat_seconds = 1
startup_spread_seconds = 1
delivery_every_seconds = 1
stop_timeout_seconds = 20

[alerts]
allow_private_targets = true
"""
PLAN = PUBLISHED  # the demo story's published STP


def cli(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return run_cli(home, *args, timeout=timeout)


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Daemon:
    """`stp-tracker run` as a subprocess, its stderr in a file."""

    def __init__(self, home: Path, *args: str):
        self.log_path = home.parent / f"daemon-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen([*CLI, "--home", str(home), "run", *args], stdout=subprocess.DEVNULL,
                                     stderr=self.log, cwd=ROOT)

    def text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.log.close()

    def kill_if_running(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def daemons():
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill_if_running()


def site(web, home: Path, schedule: str = "2s", name: str = "ics", official: bool = True) -> Path:
    (home / "config.toml").write_text(CONFIG)
    path = home / "sources.test.toml"
    path.write_text(f"""
[[source]]
name = "{name}"
footprint = "QF7"
kind = "site"
official = {str(official).lower()}
start_urls = ["{web.url('/')}"]
max_depth = 2
schedule = "{schedule}"
""")
    return path


def plans_page(web, links: list[tuple[str, str]]) -> None:
    items = "".join(f"<li><a href='{href}'>{text}</a></li>" for href, text in links)
    web.set("/", f"<html><body><h1>South Yorkshire and Bassetlaw ICS</h1><p>Our plans.</p><ul>{items}</ul></body></html>")


def crawl_ids(home: Path) -> list[int]:
    try:
        with Archive(home, readonly=True) as archive:
            return sorted(c["id"] for c in archive.crawls(limit=10_000))
    except (ArchiveError, sqlite3.Error):  # the daemon is still creating the archive
        return []


def status(home: Path) -> dict:
    result = cli(home, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class Hooks:
    """A webhook receiver on 127.0.0.1: every POST body it got."""

    def __init__(self):
        self.bodies: list[dict] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hooks.bodies.append(json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def event_ids(self) -> list:
        ids = []
        for body in self.bodies:
            events = body.get("events") or [body.get("event") or body]
            ids.extend(e.get("id") for e in events if isinstance(e, dict))
        return ids


# -- the daemon at work -------------------------------------------------------------------------------


def test_a_change_on_the_web_becomes_an_event_then_sigterm_exits_0(web, home, daemons):
    sources = site(web, home)
    plans_page(web, [])
    d = Daemon(home, "--sources", str(sources))
    daemons.append(d)
    wait_for(lambda: (home / "archive.db").exists() and crawl_ids(home), 30, "the first (baseline) crawl")

    report = status(home)
    assert report["running"] and report["state"] == "running" and report["pid"] == d.proc.pid
    (source,) = report["sources"]
    assert source["name"] == "ics" and source["schedule"] == "2s" and source["next_due"]

    # A second daemon on the same archive is refused, naming the first.
    second = cli(home, "run", "--sources", str(sources), timeout=60)
    assert second.returncode == 2 and str(d.proc.pid) in second.stderr

    # The plan appears: the next scheduled crawl finds it and it becomes a `published` event.
    plans_page(web, [("/docs/stp.pdf", "Our STP (October 2016)")])
    web.set("/docs/stp.pdf", make_pdf(["\n".join(PLAN)], title="SYB STP"), content_type="application/pdf")

    def published() -> list:
        result = cli(home, "events", "--json")
        return [e for e in json.loads(result.stdout or "[]") if e["kind"] == "published"]

    events = wait_for(published, 40, "a published event")
    assert events[0]["source"] == "ics" and "stp.pdf" in events[0]["url"]

    started = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 15
    log = d.text()
    assert "crawl finished" in log and "event" in log and "stopped" in log
    after = status(home)
    assert not after["running"] and after["heartbeat"]["stopped_at"]
    with Archive(home, readonly=True) as archive:
        assert archive.integrity_check() == "ok"
        assert not [c for c in archive.crawls(limit=10_000) if c["status"] == "running"]
        assert archive.unanalysed_crawls() == [], log


def test_sigkill_mid_crawl_then_restart_loses_nothing_and_repeats_nothing(web, home, daemons):
    hooks = Hooks()
    sources = site(web, home)
    plans_page(web, [])
    # Baseline first (--once exits by itself), so that the plan appearing next is news worth an alert.
    first = cli(home, "run", "--once", "--sources", str(sources))
    assert first.returncode == 0, first.stderr
    assert cli(home, "subscribe", hooks.url).returncode == 0

    plans_page(web, [("/docs/stp.pdf", "Our STP (October 2016)")])
    web.set("/docs/stp.pdf", make_pdf(["\n".join(PLAN)], title="SYB STP"), content_type="application/pdf")
    d = Daemon(home, "--sources", str(sources))
    daemons.append(d)
    wait_for(lambda: hooks.event_ids(), 40, "the publication's alert to reach the webhook")

    # Now a page that hangs: the next crawl is caught in the middle, and the daemon is killed there.
    plans_page(web, [("/docs/stp.pdf", "Our STP (October 2016)"), ("/slow", "Minutes")])
    web.hang("/slow", 4)
    wait_for(lambda: web.requests_for("/slow"), 30, "a crawl to reach the hanging page")
    with Archive(home, readonly=True) as archive:
        before = {f["id"]: (f["url"], f["blob_sha256"]) for f in archive.fetches()}
        events_before = [(e.id, e.kind, e.document_id) for e in archive.events(include_all=True)]
    d.stop(signal.SIGKILL)
    delivered = list(hooks.event_ids())

    web.hang("/slow", 0)
    again = cli(home, "run", "--once", "--sources", str(sources))
    assert again.returncode == 0, again.stderr
    assert "took over a stale lock" in again.stderr
    with Archive(home, readonly=True) as archive:
        assert archive.integrity_check() == "ok"
        after = {f["id"]: (f["url"], f["blob_sha256"]) for f in archive.fetches()}
        assert {k: after.get(k) for k in before} == before, "a fetch recorded before the kill is missing"
        crawls = archive.crawls(limit=10_000)
        assert any(c["status"] == "abandoned" for c in crawls)
        assert archive.unanalysed_crawls() == []
        events_after = [(e.id, e.kind, e.document_id) for e in archive.events(include_all=True)]
    assert events_after[:len(events_before)] == events_before
    kinds = [(kind, doc) for _, kind, doc in events_after]
    assert len(kinds) == len(set(kinds)), f"an event was decided twice: {events_after}"
    assert hooks.event_ids() == delivered and len(delivered) == len(set(delivered)), "an alert was sent twice"


def test_schedule_survives_a_restart(web, home, daemons):
    (home / "config.toml").write_text(CONFIG)
    plans_page(web, [])
    web.set("/other", "<html><body><p>Another watched page with some words in it.</p></body></html>")
    sources = home / "two.toml"
    crawled = f"""
[[source]]
name = "crawled-just-now"
kind = "page"
start_urls = ["{web.url('/')}"]
schedule = "40s"
"""
    sources.write_text(crawled)
    once = cli(home, "run", "--once", "--sources", str(sources))
    assert once.returncode == 0, once.stderr
    assert len(crawl_ids(home)) == 1
    # A source added since: the next start crawls it soon, and leaves the one crawled seconds ago alone.
    sources.write_text(crawled + f"""
[[source]]
name = "never-crawled"
kind = "page"
start_urls = ["{web.url('/other')}"]
schedule = "40s"
""")
    web.clear_log()
    d = Daemon(home, "--sources", str(sources))
    daemons.append(d)
    wait_for(lambda: web.requests_for("/other"), 20, "the never-crawled source to run")
    # Not a pause then "nothing happened": wait until the restarted daemon has started a crawl (so it has
    # scheduled every source), then the source crawled just before the restart must not have run.
    wait_for(lambda: any(s["name"] == "never-crawled" and s["last_crawl_at"] for s in status(home)["sources"]),
             30, "the restarted daemon to crawl the never-crawled source")
    assert web.requests_for("/") == [], "a source crawled just before the restart was crawled again at once"
    report = status(home)
    due = {s["name"]: s["next_due"] for s in report["sources"]}
    assert due["crawled-just-now"] > report["heartbeat"]["at"]
    assert d.stop() == 0


def test_run_once_with_nothing_due_exits_at_once(web, home):
    sources = site(web, home, schedule="1h")
    plans_page(web, [])
    assert cli(home, "run", "--once", "--sources", str(sources)).returncode == 0
    again = cli(home, "run", "--once", "--sources", str(sources))
    assert again.returncode == 0 and "due=0" in again.stderr
    assert len(crawl_ids(home)) == 1


def test_demo_tells_the_whole_story(tmp_path):
    result = run_cli(None, "demo", "--home", str(tmp_path / "demo"), timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    for kind in ("leaked", "published", "revised", "replaced"):
        assert kind in result.stdout
    assert (tmp_path / "demo" / "feed.atom").read_text().count("<entry") >= 4


# -- pieces --------------------------------------------------------------------------------------------


def test_lock_refuses_a_second_holder_and_is_free_after_release(tmp_path):
    first = DaemonLock(tmp_path).acquire()
    assert lock_owner(tmp_path)["pid"] == os.getpid()
    with pytest.raises(DaemonError, match=f"pid {os.getpid()}"):
        DaemonLock(tmp_path).acquire(attempts=2)
    first.release()
    assert lock_owner(tmp_path) is None
    DaemonLock(tmp_path).acquire().release()


def test_status_of_a_home_with_no_daemon(tmp_path):
    assert daemon_status(tmp_path)["running"] is False
    Archive(tmp_path).close()
    report = daemon_status(tmp_path)
    assert report["state"] == "not running" and report["sources"] == []


def test_status_says_when_the_alert_outbox_cannot_be_read(tmp_path):
    with Archive(tmp_path) as archive:
        Outbox(archive)  # subscribers.db, beside the archive (issue 16)
    assert daemon_status(tmp_path)["alerts"] == {"pending": 0, "retrying": 0, "oldest_pending": None}
    with sqlite3.connect(tmp_path / "subscribers.db") as db:
        db.execute("DROP TABLE deliveries")
    with pytest.raises(ArchiveError, match="cannot read the alert outbox.*deliveries"):
        daemon_status(tmp_path)  # not "no outbox": every archive has one


def test_daemon_settings_are_checked(tmp_path):
    (tmp_path / "config.toml").write_text("[daemon]\ngather_seconds = 0.5\nmax_batch = 5\n")
    settings = DaemonSettings.from_home(tmp_path)
    assert settings.gather_seconds == 0.5 and settings.max_batch == 5
    (tmp_path / "config.toml").write_text("[daemon]\ngather_secs = 1\n")
    with pytest.raises(DaemonError, match="gather_secs.*unknown"):
        DaemonSettings.from_home(tmp_path)
    (tmp_path / "config.toml").write_text("[daemon]\nmax_batch = 'lots'\n")
    with pytest.raises(DaemonError, match="max_batch"):
        DaemonSettings.from_home(tmp_path)


@pytest.mark.parametrize("table, wanted", [
    ('[alerts]\nsmtp_port = "not-a-port"\n', "[alerts] smtp_port: expected a whole number"),
    ("[backfill]\ndelay = false\n", "[backfill] delay: expected a number"),
    ('[preserve]\nkinds = ["moved"]\n', "[preserve] kinds"),
    ("[crawl]\nscrapy = 5\n", "[crawl.scrapy] must be a table"),
    ("[daemon]\nmax_batch = -1\n", "[daemon] max_batch: must be a number >= 0"),
    ("[events]\nquiet = true\n", "no table [events]"),  # documented once, never read: a typo'd table is refused
])
def test_a_bad_value_in_any_table_stops_the_daemon_before_it_starts(web, home, table, wanted):
    path = site(web, home)
    (home / "config.toml").write_text(table)
    result = cli(home, "run", "--once", "--sources", str(path), timeout=60)
    assert result.returncode == 2 and wanted in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (home / "daemon.lock").exists() or lock_owner(home) is None
    assert web.requests == []  # nothing was crawled


def test_bad_schedule_stops_the_daemon_before_it_starts(web, home):
    path = site(web, home, schedule="every tuesday")
    result = cli(home, "run", "--sources", str(path), timeout=60)
    assert result.returncode == 2 and "every tuesday" in result.stderr and "ics" in result.stderr


def test_sigterm_mid_crawl_stops_the_crawl_and_it_runs_again_next_start(web, home, daemons):
    sources = site(web, home, schedule="1h")
    plans_page(web, [("/slow", "Minutes")])
    web.hang("/slow", 30)
    d = Daemon(home, "--sources", str(sources))
    daemons.append(d)
    wait_for(lambda: web.requests_for("/slow"), 30, "the crawl to reach the hanging page")
    started = time.monotonic()
    assert d.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 15, "SIGTERM waited for the hanging request"
    with Archive(home, readonly=True) as archive:
        assert [c["status"] for c in archive.crawls()] == ["abandoned"]
        assert archive.integrity_check() == "ok"
    (source,) = status(home)["sources"]
    assert source["in_flight"], "a crawl cut short by a stop must run again soon after the next start"
    web.hang("/slow", 0)
    again = cli(home, "run", "--once", "--sources", str(sources))
    assert again.returncode == 0 and "due=1" in again.stderr


def test_home_sources_add_to_and_override_the_registry(home):
    from tracker.daemon import load_daemon_sources

    builtin = load_daemon_sources(home)  # the registry ships: if it does not load, that is a failure
    first = builtin[0]
    (home / "sources.toml").write_text(f"""
[[source]]
name = "{first.name}"
kind = "page"
start_urls = ["https://example.org/only-this-page"]
schedule = "2h"

[[source]]
name = "my-campaign-watch"
kind = "page"
start_urls = ["https://example.org/watch"]
""")
    merged = {s.name: s for s in load_daemon_sources(home)}
    assert len(merged) == len(builtin) + 1
    assert merged[first.name].start_urls == ["https://example.org/only-this-page"]
    assert merged[first.name].schedule == "2h"
    assert "my-campaign-watch" in merged
