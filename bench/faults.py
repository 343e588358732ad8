"""Fault harness: each hostile server or document, crawled with the real pipeline, judged on five things.

    .venv/bin/python bench/faults.py [--only NAME ...] [--timeout 5] [--max-rss 400] [--keep DIR]

For every fault a fresh data home is crawled three times with `stp-tracker crawl` (crawl, analysis and events in
one process, as a person runs it), from a local site (tests/fixtureweb.py) that links a good plan PDF, a page
and a target URL (on the same site, or on tests/hostile.py's raw-socket server):

  crawl 1   everything is good: the target serves a plan, which is archived (its baseline)
  crawl 2   the target turns hostile, and a new good file appears on the site
  crawl 3   the same again (a withdrawal needs two consecutive crawls to find a document gone)

and prints one row per fault:

  reason        what crawl 2 recorded for the target: fetches.error, else its HTTP status, plus the extraction
                status of a body that was stored
  continued     the new good file of crawl 2 was fetched, stored and filed under a document version
  intact        after crawl 3 the plan archived by crawl 1 still has its version, text and verified blob, and
                `PRAGMA integrity_check` says ok
  false events  alerting events about the target in crawls 2-3 (only a soft 404's withdrawal is expected)
  give up       the target's fetch duration in crawl 2 (timeouts include Scrapy's retries)
  peak MB       peak resident memory of crawl 2's process (VmHWM; extraction workers are separate processes)

Crawls use the project's default settings except for no politeness delays and DOWNLOAD_TIMEOUT (--timeout);
retries (2), DOWNLOAD_MAXSIZE (100 MB) and REDIRECT_MAX_TIMES (10) are the defaults. Exit status 1 when any row
fails (a missing reason, a stopped crawl, a damaged archive, a false event, or a peak over --max-rss).
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_load import wait_peak  # noqa: E402
from fixtureweb import FixtureWeb  # noqa: E402
from hostile import MB, HostileServer, gzip_bomb  # noqa: E402

from storage import Archive  # noqa: E402
from tracker.demo.web import make_pdf  # noqa: E402

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOMB_SIZE = 512 * MB


def plan_pdf(name: str, doc_id: str | None = None) -> bytes:
    """A plan; another `doc_id` gives other bytes with the same text."""
    return make_pdf([f"{name} Sustainability and Transformation Plan 2016/17 to 2020/21",
                     f"South Yorkshire and Bassetlaw. The {name} plan reduces acute beds by 180 and saves £571m.",
                     f"{name}: Bassetlaw A&E will close overnight from April 2017."], title=f"{name} STP", doc_id=doc_id)


PLAN_PAGE = ("<p>South Yorkshire and Bassetlaw Sustainability and Transformation Plan 2016/17 to 2020/21.</p>"
             "<p>Our plan – agreed by the partnership’s board – will save £571 million, keep Rotherham’s "
             "maternity unit open, and close Bassetlaw A&amp;E overnight from April 2017. Café, naïve, résumé.</p>")


def plan_page(charset: str | None) -> bytes:
    meta = f'<meta charset="{charset}">' if charset else ""
    html = f"<html><head>{meta}<title>Our plan</title></head><body><h1>Our plan</h1>{PLAN_PAGE}</body></html>"
    return html.encode(charset or "windows-1252")


# -- hostile documents ----------------------------------------------------------------------------------------


def zip_bomb(kind: str) -> bytes:
    """A DOCX or XLSX whose main part expands 200 MB of XML from ~200 KB (the sizes it declares are true)."""
    part, root = ("word/document.xml", b"<w:document><w:body>") if kind == "docx" else \
        ("xl/worksheets/sheet1.xml", b"<worksheet><sheetData>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                           'package/2006/content-types"/>')
        if kind == "xlsx":
            zf.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets>'
                                           '</workbook>')
        with zf.open(part, "w", force_zip64=True) as member:
            member.write(root)
            chunk = b" " * MB
            for _ in range(200):
                member.write(chunk)
    return out.getvalue()


def corpus(relative: str) -> bytes:
    path = CORPUS / relative
    if not path.exists():
        raise SystemExit(f"missing {path}: the harness needs ../shared/corpus (see its SOURCES.md)")
    return path.read_bytes()


# -- the faults --------------------------------------------------------------------------------------------------


@dataclass
class Site:
    web: FixtureWeb
    bad: HostileServer


@dataclass
class Fault:
    name: str
    where: str  # "web" (FixtureWeb) or "bad" (HostileServer)
    path: str
    turn: Callable[[Site, str], None]  # make `path` hostile
    expect: str  # a substring of the recorded reason
    before: Callable[[Site, str], None] | None = None  # what the target serves in crawl 1 (default: a plan PDF)
    expected_events: tuple[str, ...] = ()
    note: str = ""


def web_set(body: bytes | str, content_type: str = "text/html", status: int = 200,
            headers: dict[str, str] | None = None) -> Callable[[Site, str], None]:
    return lambda site, path: site.web.set(path, body, content_type, status, headers)


def bad_behaviour(name: str) -> Callable[[Site, str], None]:
    return lambda site, path: site.bad.behaviours.__setitem__(path, site.bad.behaviours[name])


def bad_set(body: bytes, content_type: str, **headers: str) -> Callable[[Site, str], None]:
    return lambda site, path: site.bad.set(path, body, content_type, **headers)


def redirect_loop(site: Site, path: str) -> None:
    site.web.redirect(path, "/loop/a")
    site.web.redirect("/loop/a", "/loop/b")
    site.web.redirect("/loop/b", path)


def robots_disallow(site: Site, path: str) -> None:
    site.web.set_robots(f"User-agent: *\nDisallow: {path}\n")


def faults() -> list[Fault]:
    junk = random.Random(8).randbytes(40_000)
    return [
        Fault("slowloris", "bad", "/plans/plan.pdf", bad_behaviour("/slowloris"), "timeout"),
        Fault("stall after headers", "bad", "/plans/plan.pdf", bad_behaviour("/stall"), "timeout"),
        Fault("connection reset", "bad", "/plans/plan.pdf", bad_behaviour("/reset"), "connection lost"),
        Fault("oversize (1 GB declared)", "bad", "/plans/plan.pdf", bad_behaviour("/oversize"), "too large"),
        Fault("endless body, no length", "bad", "/plans/plan.pdf", bad_behaviour("/endless"), "too large"),
        Fault("gzip bomb (512 MB)", "bad", "/plans/plan.pdf", bad_behaviour("/bomb.html"), "too large"),
        Fault("redirect loop", "web", "/plans/plan.pdf", redirect_loop, "redirect"),
        Fault("403 bot block", "web", "/plans/plan.pdf", web_set("<h1>Access denied</h1>", status=403), "HTTP 403"),
        Fault("429 Retry-After 3600", "web", "/plans/plan.pdf",
              web_set("<h1>Slow down</h1>", status=429, headers={"Retry-After": "3600"}), "HTTP 429"),
        Fault("500 server error", "web", "/plans/plan.pdf", web_set("<h1>Oops</h1>", status=500), "HTTP 500"),
        Fault("503 unavailable", "web", "/plans/plan.pdf", web_set("<h1>Down</h1>", status=503), "HTTP 503"),
        Fault("soft 404 (200 'not found')", "web", "/plans/plan.pdf",
              web_set("<html><body><h1>Page not found</h1><p>Sorry, we could not find that page.</p></body></html>"),
              "HTTP 200", expected_events=("withdrawn",),
              note="a plan's URL serving a not-found page twice is a withdrawal, by design (tracker/events.py)"),
        Fault("robots.txt now disallows", "web", "/plans/plan.pdf", robots_disallow, "robots.txt"),
        Fault("wrong type (PDF as text/html)", "web", "/plans/plan.pdf", web_set(plan_pdf("Target", doc_id="re-saved"), "text/html"), "HTTP 200; same text"),
        Fault("re-encoded windows-1252", "web", "/plans/plan.html",
              web_set(plan_page("windows-1252"), "text/html; charset=windows-1252"), "HTTP 200",
              before=web_set(plan_page("utf-8"), "text/html; charset=utf-8")),
        Fault("re-encoded, charset undeclared", "web", "/plans/plan.html", web_set(plan_page(None), "text/html"),
              "HTTP 200", before=web_set(plan_page("utf-8"), "text/html; charset=utf-8"),
              note="nothing declared and no UTF-8 sequence: read as windows-1252, as browsers do (it was read as "
                   "UTF-8 with replacement characters, a false revision, until this harness found it)"),
        Fault("zip bomb DOCX", "web", "/plans/plan.docx", web_set(zip_bomb("docx"), DOCX), "too_large"),
        Fault("zip bomb XLSX", "web", "/plans/plan.xlsx", web_set(zip_bomb("xlsx"), XLSX), "too_large"),
        Fault("encrypted PDF", "web", "/plans/plan.pdf", web_set(corpus("pdf/pdfminer-aes-256-r6.pdf"), PDF),
              "encrypted"),
        Fault("encrypted XLSX", "web", "/plans/plan.xlsx", web_set(corpus("office/xlsx-pass_protected.xlsx"), XLSX),
              "encrypted"),
        Fault("broken PDF", "web", "/plans/plan.pdf", web_set(corpus("pdf/pdfjs-REDHAT-1531897-0.pdf"), PDF),
              "broken"),
        Fault("truncated PDF (half)", "web", "/plans/plan.pdf", web_set(plan_pdf("Target")[:400], PDF), "HTTP 200"),
        Fault("HTML that is not HTML", "web", "/plans/plan.html", web_set(junk, "text/html"), "HTTP 200"),
    ]


# -- one fault, three crawls ----------------------------------------------------------------------------------------


CONFIG = ("[crawl.scrapy]\nAUTOTHROTTLE_ENABLED = false\nDOWNLOAD_DELAY = 0\nDOWNLOAD_TIMEOUT = {timeout}\n"
          "CONCURRENT_REQUESTS_PER_DOMAIN = 8\n")


@dataclass
class Row:
    fault: Fault
    reason: str = ""
    continued: bool = False
    intact: bool = False
    false_events: list[str] = field(default_factory=list)
    give_up: float | None = None
    crawl_seconds: float = 0.0
    peak_mb: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def crawl(home: Path, sources: Path) -> tuple[float, float, str]:
    """`stp-tracker crawl` in a child process: wall seconds, peak RSS (MB), and stderr (its summary)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "tracker.cli", "--home", str(home), "crawl", "--sources",
                                 str(sources)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, "COLUMNS": "200"})
        code, peak = wait_peak(proc)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if code not in (0, 1):
        raise RuntimeError(f"stp-tracker crawl exited {code}:\n{text[-2000:]}")
    return time.monotonic() - started, peak, text


def run_fault(fault: Fault, folder: Path, timeout: float, max_rss: float) -> Row:
    row = Row(fault)
    home = folder / "home"
    home.mkdir(parents=True)
    (home / "config.toml").write_text(CONFIG.format(timeout=timeout))
    web = FixtureWeb().start()
    bad = HostileServer(bomb_size=BOMB_SIZE).start()
    site = Site(web, bad)
    try:
        target = (web if fault.where == "web" else bad).url(fault.path)
        links = [web.url("/plans/good.pdf"), web.url("/news.html"), target]
        web.set("/", "<h1>Plans</h1>" + "".join(f'<a href="{u}">link {i}</a> ' for i, u in enumerate(links)))
        web.set("/plans/good.pdf", plan_pdf("Good"), PDF)
        web.set("/news.html", "<html><body><h1>News</h1><p>The board met on Tuesday and agreed the minutes of "
                              "the last meeting, with a note on the winter plan.</p></body></html>")
        (fault.before or (lambda s, p: (web if fault.where == "web" else bad).set(p, plan_pdf("Target"), PDF)))(
            site, fault.path)
        sources = folder / "sources.toml"
        sources.write_text(f'[[source]]\nname = "site"\nkind = "site"\nfootprint = "QF7"\nofficial = true\n'
                           f'start_urls = ["{web.url("/")}"]\nmax_depth = 1\n')
        crawl(home, sources)
        with Archive(home) as archive:
            first = [f for f in archive.fetches(crawl_id=1) if f["url"] == target]
            if not first or not first[0]["version_id"]:
                seen = [(f["status"], f["error"], f["blob_sha256"] and archive.blob_info(f["blob_sha256"]))
                        for f in first]
                row.problems.append(f"crawl 1 did not archive the target (harness fault): {seen}")
                return row
            kept = {"document": first[0]["document_id"], "version": first[0]["version_id"],
                    "blob": first[0]["blob_sha256"], "text": archive.version_text(first[0]["version_id"])}

        new = web.url("/papers/minutes.pdf")
        web.set("/", web.routes["/"].body.decode() + f'<a href="{new}">minutes</a>')
        web.set("/papers/minutes.pdf", make_pdf(["Minutes of the board meeting held on 7 November",
                                                 "Present: the chair, the chief executive. Apologies: none."]), PDF)
        fault.turn(site, fault.path)
        row.crawl_seconds, row.peak_mb, _ = crawl(home, sources)
        crawl(home, sources)
        judge(row, home, target, new, kept)
    finally:
        web.stop()
        bad.stop()
    if row.peak_mb > max_rss:
        row.problems.append(f"peak RSS {row.peak_mb:.0f} MB > {max_rss:.0f} MB")
    return row


def judge(row: Row, home: Path, target: str, new: str, kept: dict[str, Any]) -> None:
    fault = row.fault
    with Archive(home) as archive:
        fetched = [f for f in archive.fetches(crawl_id=2) if f["url"] == target]
        if fetched:
            f = fetched[-1]
            parts = [f["error"] or f"HTTP {f['status']}"]
            served = f["status"] is not None and 200 <= f["status"] < 300
            info = archive.blob_info(f["blob_sha256"]) if f["blob_sha256"] and served else None
            if info and info.get("extraction_status") and info["extraction_status"] != "ok":
                parts.append(f"{info['extraction_status']}: {info.get('extraction_error') or ''}".rstrip(": "))
            elif info and f["version_id"] == kept["version"]:
                parts.append("same text")
            elif info and f["version_id"]:
                parts.append("new version")
            elif info:
                parts.append("not filed as the plan")
            row.reason = "; ".join(parts)
            row.give_up = f["duration_ms"] / 1000 if f["duration_ms"] is not None else None
        if fault.expect not in row.reason:
            row.problems.append(f"reason {row.reason!r} lacks {fault.expect!r}")

        good = [f for f in archive.fetches(crawl_id=2) if f["url"] == new]
        row.continued = bool(good and good[0]["status"] == 200 and good[0]["blob_sha256"] and good[0]["version_id"]
                             and archive.blob(good[0]["blob_sha256"]))
        if not row.continued:
            row.problems.append("the crawl did not go on to the new good file")

        versions = {v["id"] for v in archive.versions_of(kept["document"])}
        try:
            blob_ok = archive.blob(kept["blob"]) is not None  # verified against its sha256
        except Exception as exc:  # noqa: BLE001 - a damaged store is what this column reports
            blob_ok = False
            row.problems.append(f"blob of crawl 1: {exc}")
        row.intact = (kept["version"] in versions and archive.version_text(kept["version"]) == kept["text"]
                      and blob_ok)
        with sqlite3.connect(f"file:{home / 'archive.db'}?mode=ro", uri=True) as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        row.intact = row.intact and integrity == "ok"
        if not row.intact:
            row.problems.append(f"earlier archive damaged (integrity_check: {integrity})")

        target_docs = {kept["document"]} | {f["document_id"] for f in archive.fetches(url=target)
                                           if f["document_id"]}
        alerts = [e for e in archive.events() if e.alert and (e.crawl_id or 0) >= 2
                  and (e.url == target or e.document_id in target_docs)]
        row.false_events = [e.kind for e in alerts if e.kind not in fault.expected_events]
        if row.false_events:
            row.problems.append("false events: " + ", ".join(f"{e.kind} ({e.summary})" for e in alerts
                                                             if e.kind not in fault.expected_events))


# -- the table -------------------------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = ["fault", "recorded reason", "crawl continued", "earlier archive intact", "false events",
            "give up (s)", "crawl 2 (s)", "peak RSS (MB)", "ok"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        reason = r.reason.replace("|", "/")
        if len(reason) > 90:
            reason = reason[:87] + "..."
        give_up = f"{r.give_up:.2f}" if r.give_up is not None else "-"
        events = str(len(r.false_events)) + (f" ({', '.join(r.fault.expected_events)} expected)"
                                             if r.fault.expected_events else "")
        lines.append(f"| {r.fault.name} | {reason} | {'yes' if r.continued else 'NO'} | "
                     f"{'yes' if r.intact else 'NO'} | {events} | {give_up} | {r.crawl_seconds:.1f} | "
                     f"{r.peak_mb:.0f} | {'ok' if r.ok else 'FAIL'} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only faults whose name contains NAME (repeatable)")
    parser.add_argument("--timeout", type=float, default=5, help="DOWNLOAD_TIMEOUT in seconds (default 5)")
    parser.add_argument("--max-rss", type=float, default=400, help="fail a row whose crawl peaks over this (MB)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep every fault's data home under DIR")
    parser.add_argument("--list", action="store_true", help="list the faults and exit")
    args = parser.parse_args()
    chosen = [f for f in faults() if not args.only or any(o.lower() in f.name.lower() for o in args.only)]
    if args.list or not chosen:
        print("\n".join(f.name for f in faults()))
        return 0 if args.list else 2
    gzip_bomb(BOMB_SIZE)  # built once before the clock starts (about 2 s), cached for every server
    base = args.keep or Path(tempfile.mkdtemp(prefix="stp-faults-"))
    rows = []
    started = time.monotonic()
    try:
        for n, fault in enumerate(chosen, start=1):
            print(f"[{n}/{len(chosen)}] {fault.name} ...", file=sys.stderr, flush=True)
            folder = base / f"{n:02d}"
            try:
                row = run_fault(fault, folder, args.timeout, args.max_rss)
            except Exception as exc:  # noqa: BLE001 - a harness that crashes on a fault is a failed row
                row = Row(fault, reason=f"harness error: {type(exc).__name__}: {exc}")
                row.problems.append(row.reason)
            rows.append(row)
            for problem in row.problems:
                print(f"    FAIL: {problem}", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"Faults, {dt.date.today().isoformat()}: DOWNLOAD_TIMEOUT {args.timeout:g} s, other settings default; "
          f"{len(rows)} faults in {time.monotonic() - started:.0f} s\n")
    print(table(rows))
    notes = [f"- {r.fault.name}: {r.fault.note}" for r in rows if r.fault.note]
    if notes:
        print("\n" + "\n".join(notes))
    failed = [r for r in rows if not r.ok]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} faults handled" +
          (": FAILED " + ", ".join(r.fault.name for r in failed) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
