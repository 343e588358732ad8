"""Real crawls of a local fixture web, checked through the archive they write.

Each crawl runs in a subprocess (`python -m crawler.runner`, which calls `crawl_once`): Twisted's reactor cannot
be restarted, so one process per crawl is what the command line does, it keeps this pytest process free of a
global reactor that other tests (CLI, daemon) may need to install their own way, and it costs under a second.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from crawler.runner import CrawlError, run_crawl
from crawler.sources import Source
from fixtureweb import FixtureWeb
from pdfgen import make_pdf
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 5,
        "DNS_TIMEOUT": 5}
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def write_sources(path: Path, sources: list[dict[str, Any]]) -> Path:
    lines = []
    for source in sources:
        lines.append("[[source]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def crawl(home: Path, sources: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    """One crawl in a fresh process; returns its summary (CrawlSummary.as_dict())."""
    file = write_sources(home.parent / "sources.toml", sources)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.runner", "--home", str(home), "--sources", str(file),
         "--settings", json.dumps({**FAST, **settings})],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def fetches_by_url(home: Path, crawl_id: int) -> dict[str, dict[str, Any]]:
    with Archive(home) as archive:
        rows = archive.fetches(crawl_id=crawl_id)
    by_url = {row["url"]: row for row in rows}
    assert len(by_url) == len(rows), "a URL was fetched twice in one crawl"
    return by_url


def build_site(web: FixtureWeb) -> dict[str, bytes]:
    """A small council-like site: pages linking PDFs and a Word file on a second host (the 'CDN')."""
    docs = {
        "stp": make_pdf(["Sustainability and Transformation Plan", "Beds: 1,200"], title="STP"),
        "old": make_pdf(["An older plan"]),
        "deep": make_pdf(["Linked from the deepest page"]),
        "jfp": b"PK\x03\x04 not really a docx, but served as one",
    }
    cdn = web.url("/cdn/jfp.docx", host="localhost")
    web.set("/", f"""<html><body>
        <a href="/plans/">Our plans</a> <a href="/plans/#top">Plans again</a> <a href="/news/">News</a>
        <a href="mailto:board@example.org">Write</a> <a href="javascript:void(0)">Menu</a>
        <a href="http://elsewhere.invalid/stp.pdf">Someone else's copy</a>
        <a href="/missing">Gone</a> <a href="/moved.pdf">Moved plan</a> <img src="/logo.png"></body></html>""")
    web.set("/plans/", f"""<html><body><h1>Plans</h1>
        <a href="stp.pdf"> Sustainability and
           Transformation Plan </a> <a href="/plans/stp.pdf#page=2">Page 2</a>
        <a href="old.pdf">Older plan</a> <a href="{cdn}">Joint Forward Plan</a></body></html>""")
    web.set("/plans/stp.pdf", docs["stp"], PDF)
    web.set("/plans/old.pdf", docs["old"], PDF)
    web.set("/plans/stp-2017.pdf", make_pdf(["STP refresh 2017"]), PDF)
    web.redirect("/moved.pdf", "/plans/stp-2017.pdf")
    web.set("/cdn/jfp.docx", docs["jfp"], DOCX)
    web.set("/news/", '<a href="/news/2/">Older news</a>')
    web.set("/news/2/", '<a href="/news/3/">Even older</a> <a href="/news/2/deep.pdf">Board papers</a>')
    web.set("/news/3/", "<p>too deep to be read</p>")
    web.set("/news/2/deep.pdf", docs["deep"], PDF)
    return docs


def site_source(web: FixtureWeb, **extra: Any) -> dict[str, Any]:
    return {"name": "council", "footprint": "QF7", "official": True, "start_urls": [web.url("/")],
            "document_hosts": ["localhost"], "max_depth": 2, **extra}


def test_site_crawl_records_every_response(web: FixtureWeb, home: Path) -> None:
    docs = build_site(web)
    summary = crawl(home, [site_source(web)])
    result = summary["sources"]["council"]
    assert result["ok"] and result["error"] is None
    fetched = fetches_by_url(home, summary["crawl_id"])
    expected = {"/", "/plans/", "/plans/stp.pdf", "/plans/old.pdf", "/missing", "/moved.pdf", "/news/",
                "/news/2/", "/news/2/deep.pdf"}
    assert set(fetched) == {web.url(p) for p in expected} | {web.url("/cdn/jfp.docx", host="localhost")}
    # Out of depth, out of scope, images, mailto: and javascript: were never asked for.
    asked = {r.path for r in web.requests}
    assert not asked & {"/news/3/", "/logo.png"}
    # One request per URL in a crawl, however many links (and #fragments) point at it.
    assert len(web.requests_for("/plans/stp.pdf")) == 1

    stp = fetched[web.url("/plans/stp.pdf")]
    assert (stp["status"], stp["kind"], stp["depth"]) == (200, "document", 2)
    assert stp["referer"] == web.url("/plans/")
    assert stp["link_text"].split() == "Sustainability and Transformation Plan".split()
    with Archive(home) as archive:
        assert archive.blob(stp["blob_sha256"]) == docs["stp"]
        assert archive.blob(fetched[web.url("/cdn/jfp.docx", host="localhost")]["blob_sha256"]) == docs["jfp"]
        crawl_row = archive.crawl(summary["crawl_id"])
        source_row = archive.source("council")
    missing = fetched[web.url("/missing")]
    assert missing["status"] == 404 and missing["error"] is None and missing["blob_sha256"]
    moved = fetched[web.url("/moved.pdf")]
    assert (moved["status"], moved["final_url"], moved["kind"]) == (200, web.url("/plans/stp-2017.pdf"), "document")
    assert fetched[web.url("/news/2/deep.pdf")]["kind"] == "document"  # linked from the deepest page: fetched
    assert fetched[web.url("/plans/")]["kind"] == "page"
    assert crawl_row["status"] == "finished" and crawl_row["stats"]["sources"]["council"]["ok"]
    assert source_row["footprint"] == "QF7" and source_row["official"] and source_row["last_success_at"]
    assert all(r.headers["User-Agent"].startswith("stp-tracker/") for r in web.requests)
    assert result["counts"]["documents"] == 5 and result["counts"]["http_errors"] == 1


def test_second_crawl_is_conditional_and_rechecks_unlinked_documents(web: FixtureWeb, home: Path) -> None:
    build_site(web)
    first = crawl(home, [site_source(web)])
    assert first["sources"]["council"]["counts"]["not_modified"] == 0
    with Archive(home) as archive:
        blobs_before = archive.db["blobs"].count
    # The plans page stops linking both PDFs: one is still served, the other is gone.
    web.set("/plans/", f'<a href="{web.url("/cdn/jfp.docx", host="localhost")}">Joint Forward Plan</a>')
    web.remove("/plans/old.pdf")
    web.clear_log()

    second = crawl(home, [site_source(web)])
    fetched = fetches_by_url(home, second["crawl_id"])
    stp = fetched[web.url("/plans/stp.pdf")]  # no longer linked, still re-checked
    assert (stp["status"], stp["not_modified"], stp["referer"]) == (304, 1, None)
    assert stp["blob_sha256"] == fetches_by_url(home, first["crawl_id"])[web.url("/plans/stp.pdf")]["blob_sha256"]
    (request,) = web.requests_for("/plans/stp.pdf")
    assert request.headers.get("If-None-Match") and request.status == 304
    assert fetched[web.url("/plans/old.pdf")]["status"] == 404  # no longer linked, and gone: recorded
    cdn = fetched[web.url("/cdn/jfp.docx", host="localhost")]
    assert cdn["not_modified"] == 1 and cdn["link_text"] == "Joint Forward Plan"
    counts = second["sources"]["council"]["counts"]
    assert counts["new_blobs"] == 1  # the new /plans/ page (the 404 page was seen before): no document twice
    with Archive(home) as archive:
        assert archive.db["blobs"].count == blobs_before + 1


def test_failures_are_recorded_and_the_crawl_goes_on(web: FixtureWeb, home: Path) -> None:
    web.set("/", """<a href="/big.pdf">Big</a> <a href="/stream.pdf">Streamed</a> <a href="/slow.pdf">Slow</a>
        <a href="/private/secret.pdf">Secret</a> <a href="/loop">Loop</a> <a href="/after.pdf">After</a>
        <a href="/broken/">Broken</a>""")
    web.set("/big.pdf", b"%PDF-" + b"x" * 20_000, PDF)
    web.set("/stream.pdf", b"%PDF-" + b"y" * 20_000, PDF, send_length=False)
    web.hang("/slow.pdf", 8)
    web.set("/private/secret.pdf", make_pdf(["secret"]), PDF)
    web.redirect("/loop", "/loop2")
    web.redirect("/loop2", "/loop")
    web.set("/after.pdf", make_pdf(["after the failures"]), PDF)
    web.set("/broken/", "<h1>Server error</h1>", status=503)
    web.set_robots("User-agent: *\nDisallow: /private/\n")

    summary = crawl(home, [{"name": "flaky", "start_urls": [web.url("/")]}],
                    DOWNLOAD_TIMEOUT=1, DOWNLOAD_MAXSIZE=10_000, REDIRECT_MAX_TIMES=3)
    assert summary["seconds"] < 6  # the hanging path cost its timeout, not its 8 seconds
    fetched = fetches_by_url(home, summary["crawl_id"])
    errors = {url.rsplit("/", 1)[-1]: row["error"] for url, row in fetched.items() if row["status"] is None}
    assert errors == {
        "big.pdf": "too large: more than 10000 bytes (DOWNLOAD_MAXSIZE)",
        "stream.pdf": "too large: more than 10000 bytes (DOWNLOAD_MAXSIZE)",
        "slow.pdf": "timeout after 1 s",
        "secret.pdf": "forbidden by robots.txt",
        "loop": "too many redirects (more than 3, REDIRECT_MAX_TIMES)",
    }
    assert not web.requests_for("/private/secret.pdf")
    assert fetched[web.url("/after.pdf")]["status"] == 200
    assert fetched[web.url("/broken/")]["status"] == 503
    result = summary["sources"]["flaky"]
    assert result["ok"] and result["counts"]["errors"] == 5 and result["counts"]["http_errors"] == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_sources_end_with_their_own_error(web: FixtureWeb, home: Path) -> None:
    web.set("/", "<p>fine</p>")
    port = _closed_port()
    summary = crawl(home, [
        {"name": "fine", "start_urls": [web.url("/")]},
        {"name": "closed", "start_urls": [f"http://127.0.0.1:{port}/plans/"]},
        {"name": "no-dns", "start_urls": ["http://no-such-host.invalid/plans/"]},
    ])
    results = summary["sources"]
    assert results["fine"]["ok"]
    assert results["closed"]["error"] == f"unreachable: connection refused by 127.0.0.1:{port}"
    assert results["no-dns"]["error"] == "unreachable: DNS lookup failed for no-such-host.invalid"
    assert summary["totals"]["sources_failed"] == 2
    with Archive(home) as archive:
        closed = archive.source("closed")
        assert closed["consecutive_failures"] == 1
        assert closed["last_error"].startswith("unreachable: connection refused")
        assert archive.source("fine")["consecutive_failures"] == 0
        (row,) = archive.fetches(source="no-dns")
        assert row["status"] is None and row["error"] == "DNS lookup failed for no-such-host.invalid"
        assert archive.crawl(summary["crawl_id"])["status"] == "finished"


def test_page_source_is_conditional_and_follows_no_links(web: FixtureWeb, home: Path) -> None:
    web.set("/board/papers.html", '<h1>Board papers</h1><a href="/board/plan.pdf">Plan</a>')
    web.set("/board/plan.pdf", make_pdf(["plan"]), PDF)
    source = {"name": "board", "kind": "page", "start_urls": [web.url("/board/papers.html")]}
    crawl(home, [source])
    second = crawl(home, [source])
    assert not web.requests_for("/board/plan.pdf")
    first_request, second_request = web.requests_for("/board/papers.html")
    assert "If-None-Match" not in first_request.headers and second_request.status == 304
    (row,) = fetches_by_url(home, second["crawl_id"]).values()
    assert row["not_modified"] == 1 and row["blob_sha256"]


def test_crawl_once_reports_progress_and_refuses_a_second_run(web: FixtureWeb, home: Path) -> None:
    web.set("/", '<a href="/a.pdf">A</a>')
    web.set("/a.pdf", make_pdf(["a"]), PDF)
    script = textwrap.dedent(f"""
        import json, sys
        from crawler.runner import CrawlError, crawl_once
        from crawler.settings import fast_test_settings
        from crawler.sources import Source
        from storage import Archive

        events = []
        sources = [Source(name="s", start_urls=[{web.url("/")!r}])]
        with Archive({str(home)!r}) as archive:
            summary = crawl_once(sources, archive, settings=fast_test_settings(), on_progress=events.append)
            try:
                crawl_once(sources, archive)
                second = None
            except CrawlError as exc:
                second = str(exc)
        print(json.dumps({{"events": events, "second": second, "fetches": summary.totals["fetches"]}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["fetches"] == 2 and len(out["events"]) == 2
    assert {e["url"] for e in out["events"]} == {web.url("/"), web.url("/a.pdf")}
    assert out["events"][-1]["counts"]["fetches"] == 2
    assert "cannot restart" in out["second"]


def test_run_crawl_without_the_asyncio_reactor_says_what_to_do(home: Path) -> None:
    with Archive(home) as archive:
        with pytest.raises(CrawlError, match="asyncio reactor"):
            asyncio.run(run_crawl([Source(name="s", start_urls=["http://127.0.0.1:9/"])], archive))
        assert archive.crawls() == []  # nothing half-started


def test_fixture_web_answers_conditional_requests(web: FixtureWeb) -> None:
    import urllib.error
    import urllib.request

    web.set("/a.pdf", make_pdf(["one"]), PDF)
    with urllib.request.urlopen(web.url("/a.pdf")) as response:
        etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
        assert response.headers["Content-Type"] == PDF and response.read().startswith(b"%PDF-1.4")
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(urllib.request.Request(web.url("/a.pdf"), headers=headers))
        assert caught.value.code == 304
    web.set("/a.pdf", make_pdf(["two"]), PDF)  # changed: the old validators no longer match
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        with urllib.request.urlopen(urllib.request.Request(web.url("/a.pdf"), headers=headers)) as response:
            assert response.status == 200
    web.remove("/a.pdf")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(web.url("/a.pdf"))
    assert caught.value.code == 404
    assert [r.status for r in web.requests_for("/a.pdf")] == [200, 304, 304, 200, 200, 404]


def test_pdfgen_makes_pdfs_whose_text_comes_back() -> None:
    import pypdfium2

    data = make_pdf(["Joint Forward Plan\nBeds: 1,200", "Page two"], title="JFP", creation_date="20230601000000Z")
    pdf = pypdfium2.PdfDocument(data)
    try:
        assert len(pdf) == 2 and pdf.get_metadata_dict()["Title"] == "JFP"
        texts = [pdf[i].get_textpage().get_text_range().split() for i in range(2)]
    finally:
        pdf.close()
    assert texts == [["Joint", "Forward", "Plan", "Beds:", "1,200"], ["Page", "two"]]
    assert make_pdf(["x"]) == make_pdf(["x"]) != make_pdf(["x"], doc_id="another id")


def test_depth_is_link_distance_so_max_depth_cuts_in_the_right_place(web: FixtureWeb, home: Path) -> None:
    # /x/ is two clicks away (via /c/) and three via /a/ and /b/. Crawled depth-first (Scrapy's default order), /x/ is
    # reached first at depth 3 and /y/, three clicks from home, is never fetched.
    web.set("/", '<a href="/c/">C</a> <a href="/c1/">C1</a> <a href="/c2/">C2</a> <a href="/a/">A</a>')
    web.set("/a/", '<a href="/b/">B</a>')
    web.set("/b/", '<a href="/x/">X from B</a>')
    web.set("/c/", '<a href="/x/">X from C</a>')
    web.set("/x/", '<a href="/y/">Y</a>')
    web.set("/y/", "<p>the end</p>")
    summary = crawl(home, [{"name": "s", "start_urls": [web.url("/")], "max_depth": 3}], CONCURRENT_REQUESTS=1)
    fetched = fetches_by_url(home, summary["crawl_id"])
    assert fetched[web.url("/x/")]["depth"] == 2 and fetched[web.url("/x/")]["referer"] == web.url("/c/")
    assert fetched[web.url("/y/")]["depth"] == 3


def test_ctrl_c_stops_the_crawl_and_keeps_what_was_fetched(web: FixtureWeb, home: Path) -> None:
    import signal
    import time

    web.set("/", '<a href="/ok.pdf">OK</a> <a href="/slow.pdf">Slow</a>')
    web.set("/ok.pdf", make_pdf(["ok"]), PDF)
    web.hang("/slow.pdf", 30)
    file = write_sources(home.parent / "sources.toml", [{"name": "s", "start_urls": [web.url("/")]}])
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.runner", "--home", str(home), "--sources", str(file),
         "--settings", json.dumps({**FAST, "DOWNLOAD_TIMEOUT": 60})],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 20
    while not web.requests_for("/slow.pdf") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # let /ok.pdf's answer be recorded
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "crawl stopped" in err
    with Archive(home) as archive:
        (row,) = archive.crawls()
        assert row["status"] == "abandoned"
        assert {f["url"] for f in archive.fetches()} >= {web.url("/"), web.url("/ok.pdf")}
