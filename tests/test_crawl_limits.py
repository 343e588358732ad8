"""URLs that are the same page are one URL; a failing source stops early; a calendar trap cannot use up a crawl.

Crawls run in a subprocess (`python -m crawler.runner`), as in test_crawler.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.links import canonical, without_session_and_tracking
from crawler.spiders.site import url_shape
from messyweb import MessyWeb
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 5,
        "DNS_TIMEOUT": 5}


def crawl(home: Path, sources: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    lines = []
    for source in sources:
        lines.append("[[source]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    file = home.parent / "sources.toml"
    file.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([sys.executable, "-m", "crawler.runner", "--home", str(home), "--sources", str(file),
                           "--settings", json.dumps({**FAST, **settings})],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("url, expected", [
    ("https://icb.example/board/papers.pdf;jsessionid=0A1B2C3D?x=1", "https://icb.example/board/papers.pdf?x=1"),
    ("https://icb.example/board;JSESSIONID=FF00/", "https://icb.example/board/"),
    ("https://icb.example/p?PHPSESSID=abc&id=3&utm_source=twitter&utm_medium=social", "https://icb.example/p?id=3"),
    ("https://icb.example/p?sid=9f8e&sessionid=1&page=2", "https://icb.example/p?page=2"),
    ("https://icb.example/news?fbclid=IwAR0&gclid=Cj0&msclkid=1", "https://icb.example/news"),
    # kept exactly: opaque valueless tokens (ASP.NET Document.ashx), ordinary parameters, names that only look alike
    ("https://c.example/Document.ashx?czJKcaeAi5tUFL1DTL2UE4zNRBcoShgo", "https://c.example/Document.ashx?czJKcaeAi5tUFL1DTL2UE4zNRBcoShgo"),
    ("https://c.example/ieListDocuments.aspx?CId=711&MId=10221", "https://c.example/ieListDocuments.aspx?CId=711&MId=10221"),
    ("https://c.example/p?side=left&sidebar=1", "https://c.example/p?side=left&sidebar=1"),
])
def test_session_ids_and_tracking_parameters_are_stripped(url: str, expected: str) -> None:
    assert without_session_and_tracking(url) == expected
    assert canonical(url) == canonical(expected)


def test_calendar_pages_share_one_shape_and_pages_do_not() -> None:
    assert url_shape("http://a/events/2025/03/14/") == url_shape("http://a/events/2031/11/02/")
    assert url_shape("http://a/events/?month=2025-03") == url_shape("http://a/events/?month=1999-12")
    assert url_shape("http://a/news/new-plan/") != url_shape("http://a/news/board-meeting/")


def test_session_ids_in_links_do_not_grow_a_sources_urls(tmp_path: Path) -> None:
    home = tmp_path / "home"
    web = MessyWeb().start()
    try:
        links = "".join(f"<li><a href='/board/meeting-{m}{{{{SESSION}}}}'>Board {m}</a></li>" for m in range(1, 9))
        web.set("/", f"<html><body><div id='cookie-{{{{COOKIE}}}}'>We use cookies.</div><ul>{links}</ul>"
                     "<a href='/news/?utm_source=home&amp;utm_medium=web'>News</a></body></html>")
        web.set("/news/", "<html><body><p>News</p><a href='/?fbclid=abc'>Home</a></body></html>")
        for m in range(1, 9):
            web.set(f"/board/meeting-{m}", f"<html><body><p>Meeting {m}</p>"
                                           f"<a href='/board/paper-{m}.pdf{{{{SESSION}}}}'>Paper</a></body></html>")
        source = {"name": "tomcat", "kind": "site", "official": True, "start_urls": [web.url("/")], "max_depth": 3}
        counts = []
        for _ in range(3):
            crawl(home, [source])
            with Archive(home) as archive:
                counts.append(len(archive.known_urls("tomcat")))
        assert counts[0] == counts[1] == counts[2] == 1 + 1 + 8 + 8, counts  # home, news, meetings, papers
        with Archive(home) as archive:
            assert not [k.url for k in archive.known_urls("tomcat") if "jsessionid" in k.url or "utm_" in k.url]
    finally:
        web.stop()


def test_a_site_wide_outage_stops_the_source_after_a_few_failures(tmp_path: Path) -> None:
    home = tmp_path / "home"
    web = MessyWeb().start()
    try:
        web.set("/", "<html><body>" + "".join(f"<a href='/p{n}/'>{n}</a>" for n in range(40)) + "</body></html>")
        for n in range(40):
            web.set(f"/p{n}/", f"<html><body><p>Page {n}</p></body></html>")
        source = {"name": "flaky", "kind": "site", "official": True, "start_urls": [web.url("/")], "max_depth": 2}
        first = crawl(home, [source], CONCURRENT_REQUESTS_PER_DOMAIN=1)
        assert first["sources"]["flaky"]["ok"]
        web.outage = 503
        web.clear_log()
        down = crawl(home, [source], CONCURRENT_REQUESTS_PER_DOMAIN=1)
        result = down["sources"]["flaky"]
        assert not result["ok"] and "stopped early" in result["error"], result
        assert len(web.requests) <= 8, f"{len(web.requests)} requests to a site that is down"
        with Archive(home) as archive:
            assert len(archive.known_urls("flaky")) == 41  # nothing forgotten
        web.outage = None
        again = crawl(home, [source], CONCURRENT_REQUESTS_PER_DOMAIN=1)
        assert again["sources"]["flaky"]["ok"] and again["totals"]["fetches"] == 41
    finally:
        web.stop()


def test_a_calendar_trap_is_capped_by_shape_and_the_page_budget_holds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    web = MessyWeb().start()
    try:
        # An endless calendar: every month links to the month before and after, and to each of its days.
        def month(y: int, m: int) -> str:
            prev = (y, m - 1) if m > 1 else (y - 1, 12)
            nxt = (y, m + 1) if m < 12 else (y + 1, 1)
            days = "".join(f"<a href='/events/{y}/{m:02d}/{d:02d}/'>{d}</a>" for d in range(1, 29))
            return (f"<html><body><a href='/events/{prev[0]}/{prev[1]:02d}/'>Previous</a>"
                    f"<a href='/events/{nxt[0]}/{nxt[1]:02d}/'>Next</a>{days}</body></html>")
        for y in range(2015, 2036):
            for m in range(1, 13):
                web.set(f"/events/{y}/{m:02d}/", month(y, m))
        web.set("/", "<html><body><a href='/events/2025/06/'>Events</a><a href='/plans/'>Plans</a></body></html>")
        web.set("/plans/", "<html><body><a href='/plans/jfp.pdf'>JFP</a></body></html>")
        web.set("/plans/jfp.pdf", b"%PDF-1.4 not really", content_type="application/pdf")
        source = {"name": "trap", "kind": "site", "official": True, "start_urls": [web.url("/")], "max_depth": 20}
        summary = crawl(home, [source], STP_PAGES_PER_SHAPE=10, STP_PAGE_BUDGET=60)
        with Archive(home) as archive:
            urls = {f["url"] for f in archive.fetches(crawl_id=summary["crawl_id"])}
        assert any(u.endswith("/plans/jfp.pdf") for u in urls), "the plan is still fetched"
        months = [u for u in urls if u.count("/") == 6 and "/events/" in u]
        days = [u for u in urls if u.count("/") == 7 and "/events/" in u]
        assert len(months) <= 10 and len(days) <= 10, (len(months), len(days))
        assert summary["totals"]["pages"] <= 60
    finally:
        web.stop()
