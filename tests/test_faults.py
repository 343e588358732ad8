"""Hostile servers, refusals and a full disk: each fault is recorded with a reason, the crawl goes on, nothing
archived before is lost, and no false event appears (issue 8)."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clirun import run_cli
from fixtureweb import FixtureWeb
from hostile import MB, HostileServer, gzip_bomb
from pdfgen import make_pdf
from storage import Archive
from test_crawler import FAST, crawl, fetches_by_url, write_sources

ROOT = Path(__file__).resolve().parents[1]
PDF = "application/pdf"
CLI = [sys.executable, "-m", "tracker.cli"]
FAST_CONFIG = "[crawl.scrapy]\nAUTOTHROTTLE_ENABLED = false\nDOWNLOAD_DELAY = 0\nDOWNLOAD_TIMEOUT = 3\nRETRY_TIMES = 0\n"


def plan_pdf(name: str) -> bytes:
    return make_pdf([f"{name} Sustainability and Transformation Plan 2016/17 to 2020/21",
                     f"South Yorkshire and Bassetlaw. The {name} plan reduces acute beds by 180 and saves £571m.",
                     f"{name}: Bassetlaw A&E will close overnight from April 2017."], title=f"{name} STP")


def crawl_measured(home: Path, sources: list[dict], **settings: object) -> tuple[dict, int]:
    """One crawl in a subprocess; its summary and the child's peak resident memory in MB (from wait4)."""
    file = write_sources(home.parent / "sources.toml", sources)
    proc = subprocess.Popen([sys.executable, "-m", "crawler.runner", "--home", str(home), "--sources", str(file),
                             "--settings", json.dumps({**FAST, **settings})], cwd=ROOT, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    return json.loads(out), usage.ru_maxrss // 1024


def test_hostile_server_faults_are_recorded_and_the_crawl_goes_on(web: FixtureWeb, home: Path) -> None:
    gzip_bomb(256 * MB)  # built before the crawl (it takes a second), cached for the server
    with HostileServer(bomb_size=256 * MB) as bad:
        hostile = ["/slowloris", "/stall", "/reset", "/bomb.html", "/ok.html"]
        chain = "".join(f'<a href="/chain/{n}">c</a>' for n in range(1))
        web.set("/", "".join(f'<a href="{bad.url(p)}">x</a>' for p in hostile) + chain
                + '<a href="/plans/my plan.pdf">space</a> <a href="/plans/pl%C3%A1n%2B.pdf">pct</a>'
                + '<a href="/plans/plán.pdf">unicode</a> <a href="/fake.pdf">fake</a> <a href="/real.html">real</a>'
                + '<a href="/a.pdf">a</a>')
        for n in range(30):  # an endless chain (as far as a crawler can tell)
            web.redirect(f"/chain/{n}", f"/chain/{n + 1}")
        web.set("/plans/my%20plan.pdf", make_pdf(["space"]), PDF)
        web.set("/plans/pl%C3%A1n%2B.pdf", make_pdf(["percent"]), PDF)
        web.set("/plans/pl%C3%A1n.pdf", make_pdf(["unicode"]), PDF)
        web.set("/fake.pdf", "<html><body><p>I am HTML, served as a PDF.</p></body></html>", PDF)
        web.set("/real.html", make_pdf(["a PDF served as text/html"]), "text/html")
        web.set("/a.pdf", make_pdf(["an ordinary document"]), PDF)
        summary, peak_mb = crawl_measured(home, [{"name": "hostile", "start_urls": [web.url("/")]}],
                                          DOWNLOAD_TIMEOUT=2, DOWNLOAD_MAXSIZE=20 * MB, REDIRECT_MAX_TIMES=5)
    fetched = fetches_by_url(home, summary["crawl_id"])
    by_path = {url.split(":", 2)[2].split("/", 1)[1]: row for url, row in fetched.items()}
    assert by_path["slowloris"]["error"] == "timeout after 2 s"  # a byte a second does not keep it alive
    assert by_path["stall"]["error"] == "timeout after 2 s"
    assert by_path["reset"]["error"].startswith("connection lost")
    # A 256 MB gzip bomb (250 KB on the wire) stops at DOWNLOAD_MAXSIZE once decompressed, and memory stays bounded.
    assert by_path["bomb.html"]["error"] == f"too large: more than {20 * MB} bytes once decompressed (DOWNLOAD_MAXSIZE)"
    assert peak_mb < 400, f"the crawl process peaked at {peak_mb} MB"
    assert by_path["chain/0"]["error"] == "too many redirects (more than 5, REDIRECT_MAX_TIMES)"
    for path in ("ok.html", "a.pdf", "plans/my%20plan.pdf", "plans/pl%C3%A1n.pdf",
                 "fake.pdf", "real.html"):
        assert by_path[path]["status"] == 200, path
    assert summary["sources"]["hostile"]["ok"]
    with Archive(home) as archive:
        assert archive.blob(by_path["plans/pl%C3%A1n.pdf"]["blob_sha256"]) == make_pdf(["unicode"])


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    return run_cli(home, *args, timeout=240, code=0)


@pytest.mark.slow
def test_refusals_soft_404_and_robots_changes_raise_no_false_events(web: FixtureWeb, home: Path) -> None:
    (home / "config.toml").write_text(FAST_CONFIG)
    names = ["blocked", "limited", "storm", "robots", "soft404"]
    web.set("/", "<h1>Plans</h1>" + "".join(f'<a href="/plans/{n}.pdf">{n}</a>' for n in names))
    for n in names:
        web.set(f"/plans/{n}.pdf", plan_pdf(n.title()), PDF)
    sources = write_sources(home.parent / "faults.toml", [
        {"name": "ics", "footprint": "QF7", "official": True, "start_urls": [web.url("/")], "max_depth": 1}])
    run(home, "crawl", "--sources", str(sources))
    baseline = json.loads(run(home, "events", "--all", "--json").stdout)
    with Archive(home) as archive:
        before = {row["url"]: row["blob_sha256"] for row in archive.fetches() if row["blob_sha256"]}

    # Then, twice (withdrawal needs two confirmations): a bot block, a 429, a 5xx, robots.txt now disallows,
    # and a "not found" page served with 200.
    web.set("/plans/blocked.pdf", "<h1>Access denied</h1>", status=403)
    web.set("/plans/limited.pdf", "<h1>Slow down</h1>", status=429, headers={"Retry-After": "3600"})
    web.set("/plans/storm.pdf", "<h1>Service unavailable</h1>", status=503)
    web.set_robots("User-agent: *\nDisallow: /plans/robots.pdf\n")
    web.set("/plans/soft404.pdf", "<html><body><h1>Page not found</h1><p>Sorry, we could not find that page."
                                   "</p></body></html>")
    for _ in range(2):
        run(home, "crawl", "--sources", str(sources))
    events = json.loads(run(home, "events", "--all", "--json").stdout)
    new = [e for e in events if e["id"] not in {b["id"] for b in baseline}]
    with Archive(home) as archive:
        last = archive.fetches(crawl_id=3)
        for sha in before.values():
            assert archive.blob(sha)  # nothing archived before is lost
    recorded = {row["url"].rsplit("/", 1)[-1]: (row["status"], row["error"]) for row in last}
    assert recorded["blocked.pdf"] == (403, None)
    assert recorded["limited.pdf"] == (429, None)
    assert recorded["storm.pdf"] == (503, None)
    assert recorded["robots.pdf"] == (None, "forbidden by robots.txt")
    assert recorded["soft404.pdf"][0] in (200, 304)  # 304: unchanged since crawl 2
    # Refusals never count towards withdrawal, and a "not found" page is no new version of a plan.
    false = [(e["kind"], e["url"]) for e in new if e["kind"] in ("withdrawn", "revised", "published", "leaked")
             and "soft404" not in (e["url"] or "")]
    assert false == [], new
    # The "not found" page is other content at the plan's URL, never a version of the plan. (No withdrawal either:
    # the same plan is still at the other four URLs, whose refusals are transient.)
    assert [e for e in new if e["kind"] == "revised"] == [], new
    with Archive(home) as archive:
        soft = [f for f in archive.fetches() if f["url"].endswith("/soft404.pdf")]
        plan_document = soft[0]["document_id"]
        assert archive.document(plan_document)["kind"] == "plan"
        assert all(f["document_id"] != plan_document for f in soft[1:]), soft
        assert len(archive.versions_of(plan_document)) == 1


def test_a_full_disk_stops_the_source_with_a_clear_error_and_no_corruption(web: FixtureWeb, home: Path) -> None:
    web.set("/", '<a href="/a.pdf">a</a>')
    web.set("/a.pdf", make_pdf(["kept"]), PDF)
    first = crawl(home, [{"name": "disk", "start_urls": [web.url("/")]}])
    web.set("/", '<a href="/a.pdf">a</a> <a href="/big.pdf">big</a>')
    web.set("/big.pdf", os.urandom(3 * MB), PDF)
    file = write_sources(home.parent / "sources.toml", [{"name": "disk", "start_urls": [web.url("/")]}])

    def results_with_file_size_limit(limit: int) -> dict:
        # RLIMIT_FSIZE makes every write past `limit` bytes fail with EFBIG (Python ignores SIGXFSZ): a full
        # disk, as root too (chmod does not stop root), without mounting anything.
        def limited() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        proc = subprocess.run([sys.executable, "-m", "crawler.runner", "--home", str(home), "--sources", str(file),
                               "--settings", json.dumps(FAST)], cwd=ROOT, capture_output=True, text=True,
                              preexec_fn=limited, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["sources"]["disk"]

    # Room for the rows but not for a 3 MB blob: the fetch is recorded with why its body is missing.
    db_size = (home / "archive.db").stat().st_size
    result = results_with_file_size_limit(db_size + 200_000)
    assert result["ok"]
    (big,) = [r for r in Archive(home).fetches(source="disk") if r["url"].endswith("/big.pdf")]
    assert big["error"] == "body not stored: File too large" and big["blob_sha256"] is None
    # No room for the database to grow: the source stops and says why (it used to end "ok" with fetches lost).
    result = results_with_file_size_limit(60_000)
    assert not result["ok"]
    assert result["error"].startswith("archive write failed") and "disk full" in result["error"]
    with sqlite3.connect(home / "archive.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Archive(home) as archive:
        (kept,) = [r for r in archive.fetches(crawl_id=first["crawl_id"]) if r["url"].endswith("/a.pdf")]
        assert archive.blob(kept["blob_sha256"]) == make_pdf(["kept"])
