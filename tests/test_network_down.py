"""When the network or DNS is down: one line per failure, totals by cause, exit codes, bounded lookups and stops.

The real thing runs in a network namespace with loopback only (tests/netns.py, needs root and `ip`); the resolver
tests that need no namespace use the resolvers of tests/hungdns.py, named in the Scrapy settings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hungdns import PORT_ENV, Blackhole
from netns import LoopbackOnly, unavailable
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tracker.cli"]
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 30}
HOSTS = ["www.southyorkshireandbassetlaw.nhs.uk", "democracy.kent.gov.uk", "www.england.nhs.uk"]
SOURCES = f"""
[[source]]
name = "syb-ics"
footprint = "QF7"
kind = "site"
start_urls = ["https://{HOSTS[0]}/", "https://{HOSTS[0]}/plans"]
max_depth = 1

[[source]]
name = "kent-council"
kind = "page"
start_urls = ["https://{HOSTS[1]}/ieListDocuments.aspx"]

[[source]]
name = "nhse"
kind = "page"
start_urls = ["https://{HOSTS[2]}/long-term-plan/"]
"""


def env(**extra: str) -> dict[str, str]:
    """The environment of a command that may load a resolver class from tests/ (hungdns)."""
    paths = [str(ROOT / "tests"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "COLUMNS": "80", **extra}


def write_home(home: Path, scrapy: dict | None = None, daemon: str = "") -> Path:
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**FAST, **(scrapy or {})}.items())
    (home / "config.toml").write_text(f"[crawl.scrapy]\n{settings}\n{daemon}")
    path = home.parent / "sources.toml"
    path.write_text(SOURCES)
    return path


def no_tracebacks(text: str) -> None:
    assert "Traceback" not in text and "CancelledError" not in text, text


# -- the resolver is installed and bounded (no namespace needed) ----------------------------------------------


def test_dns_resolver_setting_is_used_and_dns_timeout_ends_a_hung_lookup(home: Path) -> None:
    hole = Blackhole()
    try:
        sources = home.parent / "one.toml"
        sources.write_text('[[source]]\nname = "ics"\nkind = "page"\nstart_urls = ["http://plans.example.invalid/a"]\n')
        settings = {**FAST, "DNS_RESOLVER": "hungdns.BlackholeResolver", "DNS_TIMEOUT": 1}
        proc = subprocess.run(
            [sys.executable, "-m", "crawler.runner", "--home", str(home), "--sources", str(sources), "--verbose",
             "--settings", json.dumps(settings)],
            cwd=ROOT, env=env(**{PORT_ENV: str(hole.port)}), capture_output=True, text=True, timeout=60,
        )
    finally:
        hole.close()
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["sources"]["ics"]["error"] == (
        "unreachable: DNS lookup timed out for plans.example.invalid (no answer within 1 s, DNS_TIMEOUT)")
    assert summary["sources"]["ics"]["cause"] == "DNS"
    # The operator's resolver class asked the server; robots.txt and the page shared one lookup (a failed name
    # fails again at once for DNS_FAILURE_TTL).
    assert hole.names() == ["plans.example.invalid"]
    # Scrapy's own logs are on (--verbose), and still no robots.txt traceback for a DNS failure: one line.
    no_tracebacks(proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if "plans.example.invalid/a" in line]
    assert len(lines) == 1 and "ics" in lines[0] and "[DNS]" in lines[0], proc.stderr


def test_crawl_totals_by_cause_and_exit_codes(web, home: Path) -> None:
    web.set("/", "<html><body><p>Our plans.</p></body></html>")
    write_home(home, {"TWISTED_DNS_RESOLVER": "hungdns.NoDnsResolver"})
    sources = home.parent / "mixed.toml"
    sources.write_text(f"""
[[source]]
name = "local"
kind = "page"
start_urls = ["{web.url('/')}"]

[[source]]
name = "gone"
kind = "page"
start_urls = ["https://plans.example.invalid/stp"]
""")

    def crawl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*CLI, "--home", str(home), "crawl", "--sources", str(sources), *args], cwd=ROOT,
                              env=env(), capture_output=True, text=True, timeout=120)

    some = crawl()
    assert some.returncode == 1, some.stderr
    assert "1 of 2 sources reachable: 1 DNS failure" in some.stderr
    (line,) = [x for x in some.stderr.splitlines() if "[DNS]" in x]
    assert line.startswith("gone: https://plans.example.invalid/stp: DNS lookup failed for plans.example.invalid")
    no_tracebacks(some.stderr)

    none = crawl("--only", "gone")
    assert none.returncode == 3, none.stderr
    assert "0 of 1 source reachable: 1 DNS failure: is the network up?" in none.stderr

    ok = crawl("--only", "local")
    assert ok.returncode == 0 and "1 of 1 source reachable" in ok.stderr, ok.stderr

    (home.parent / "bad.toml").write_text("[[source]]\nname = 3\n")
    bad = subprocess.run([*CLI, "--home", str(home), "crawl", "--sources", str(home.parent / "bad.toml")],
                         cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("error:") == 1, bad.stderr


# -- the network really down: a namespace with loopback only ---------------------------------------------------

needs_netns = pytest.mark.skipif(bool(unavailable()), reason=f"no network namespace: {unavailable()}")


@needs_netns
@pytest.mark.slow
def test_network_down_crawl_says_so_once_per_failure(home: Path) -> None:
    sources = write_home(home)
    with LoopbackOnly("fail") as net:
        result = net.run([*CLI, "--home", str(home), "crawl", "--sources", str(sources)], cwd=ROOT, env=env(),
                         timeout=120)
    assert result.returncode == 3, result.stderr
    assert "0 of 3 sources reachable: 3 DNS failures: is the network up?" in result.stderr
    no_tracebacks(result.stderr)
    failures = [line for line in result.stderr.splitlines() if line.endswith("[DNS]")]
    assert len(failures) == 4, result.stderr  # one per URL: syb-ics has two
    assert any(line.startswith(f"nhse: https://{HOSTS[2]}/long-term-plan/: DNS lookup failed") for line in failures)


@needs_netns
@pytest.mark.slow
def test_hung_dns_run_once_is_bounded_by_dns_timeout(home: Path) -> None:
    # The C library would wait 2 x 30 s per lookup, and DOWNLOAD_TIMEOUT is longer than the test's own timeout:
    # only DNS_TIMEOUT (2 s) can end these lookups in time.
    sources = write_home(home, {"DNS_TIMEOUT": 2, "DOWNLOAD_TIMEOUT": 180})
    with LoopbackOnly("hang", dns_wait=30) as net:
        result = net.run([*CLI, "--home", str(home), "run", "--once", "--sources", str(sources)], cwd=ROOT,
                         env=env(), timeout=100)
    assert result.returncode == 3, result.stderr
    no_tracebacks(result.stderr)
    failures = [line for line in result.stderr.splitlines() if "[DNS]" in line]
    assert len(failures) == 4 and all("DNS lookup timed out" in line and "DNS_TIMEOUT" in line for line in failures)
    assert "run finished: 0 of 3 sources reachable: 3 DNS failures: is the network up?" in result.stderr
    with Archive(home, readonly=True) as archive:
        assert [c["status"] for c in archive.crawls()] == ["finished"]


@needs_netns
@pytest.mark.slow
def test_sigterm_with_dns_hung_stops_at_once_and_abandons_the_crawls(home: Path) -> None:
    sources = write_home(home, {"DNS_TIMEOUT": 120, "DOWNLOAD_TIMEOUT": 180},
                         daemon="[daemon]\nstartup_spread_seconds = 0\ngather_seconds = 0.2\n")
    log = home.parent / "daemon.log"
    with LoopbackOnly("hang", dns_wait=30) as net, log.open("w") as stderr:
        proc = net.popen([*CLI, "--home", str(home), "run", "--sources", str(sources)], cwd=ROOT, env=env(),
                         stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 60
            while "crawl started" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert "crawl started" in log.read_text(), log.read_text()
            time.sleep(1)  # the lookups are under way, and hang
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)  # the deliverable: a stop within 10 s, whatever DNS does
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    text = log.read_text()
    assert code == 0, text
    no_tracebacks(text)
    assert "Error running job" not in text
    with Archive(home, readonly=True) as archive:
        crawls = archive.crawls()
        assert crawls and all(c["status"] == "abandoned" for c in crawls), crawls
        assert archive.integrity_check() == "ok"


def test_a_source_crawl_has_a_wall_clock_budget(web, home: Path) -> None:
    web.set("/", '<a href="/slow">Minutes</a> <a href="/a">A</a>')
    web.set("/a", "<p>a page</p>")
    web.hang("/slow", 60)
    sources = home.parent / "budget.toml"
    sources.write_text(f'[[source]]\nname = "ics"\nkind = "site"\nstart_urls = ["{web.url("/")}"]\n')
    settings = {**FAST, "CLOSESPIDER_TIMEOUT": 2, "DOWNLOAD_TIMEOUT": 6}
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.runner", "--home", str(home), "--sources", str(sources),
         "--settings", json.dumps(settings)],
        cwd=ROOT, env=env(), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    ics = json.loads(proc.stdout)["sources"]["ics"]
    assert ics["ok"] and ics["note"] == "cut short: its time budget ran out (2 s, CLOSESPIDER_TIMEOUT)", ics
    with Archive(home, readonly=True) as archive:
        assert {web.url("/"), web.url("/a")} <= {f["url"] for f in archive.fetches()}


def test_a_failure_line_in_json_logs_has_its_fields() -> None:
    import logging

    from tracker.daemon.logs import JsonFormatter, TextFormatter

    record = logging.LogRecord("stp_tracker.fetch", logging.WARNING, __file__, 1, "%s: %s: %s [%s]",
                               ("ics", "https://x.invalid/", "DNS lookup failed for x.invalid", "DNS"), None)
    record.data = {"source": "ics", "url": "https://x.invalid/", "cause": "DNS", "error": "DNS lookup failed for x.invalid"}
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "ics: https://x.invalid/: DNS lookup failed for x.invalid [DNS]"
    assert (data["source"], data["url"], data["cause"]) == ("ics", "https://x.invalid/", "DNS")
    assert TextFormatter().format(record).endswith("WARNING fetch: " + data["message"])  # said once, not twice
