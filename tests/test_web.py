"""The web app over a real archive in tmp_path: pages, original bytes, hostile content, JSON API, CSRF."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.pdfgen import make_pdf


from starlette.testclient import TestClient  # noqa: E402

from storage import Archive, Event, Extraction, Fetch, Outbox  # noqa: E402
from tracker.web import create_app
from tracker.web.params import snippet_html  # noqa: E402

HOSTILE_TITLE = "South Yorkshire STP <script>alert(1)</script>"
HOSTILE_SUMMARY = 'Revised <img src=x onerror="alert(2)"> beds'
PLAN_URL = "https://www.healthandcaresyb.co.uk/plans/stp.html"
PDF_URL = "https://www.healthandcaresyb.co.uk/media/jfp-2023.pdf"

V1_TEXT = (
    "South Yorkshire and Bassetlaw Sustainability and Transformation Plan\n\n"
    "Our plan will reduce acute beds by 180 beds across the footprint by 2021.\n\n"
    "Maternity services at Rotherham will be reviewed with the public.\n\n"
    "We will invest £12 million in primary care. <script>alert('text')</script> "
    'See <a href="javascript:alert(3)">the annex</a>.'
)
V2_TEXT = V1_TEXT.replace("180 beds", "320 beds").replace("reviewed with the public", "closed in 2019")
PDF_TEXT = "Joint Forward Plan 2023 to 2028\n\nWe will open 40 virtual ward beds and keep the maternity unit."


def _html(text: str) -> bytes:
    return f"<!doctype html><html><head><title>plan</title></head><body><p>{text}</p></body></html>".encode()


def _pdf(text: str) -> bytes:
    """A small valid one-page PDF (real bytes with a text layer)."""
    return make_pdf([text], title="plan")


@dataclass
class Built:
    """Ids of what `build_archive` made, for tests to look up."""

    home: Path
    doc: int = 0
    pdf_doc: int = 0
    v1: int = 0
    v2: int = 0
    pdf_version: int = 0
    fetches: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)


def build_archive(home: Path) -> Built:
    """A small archive through the storage API: three crawls, a revision with a bed figure, a 304, A -> B -> A,
    a 404 and a timeout, hostile text in a title, a summary and a body."""
    built = Built(home=home)
    page_v1, page_v2, pdf = _html(V1_TEXT), _html(V2_TEXT), _pdf("Joint Forward Plan 2023 to 2028")
    built.bodies = {"page_v1": page_v1, "page_v2": page_v2, "pdf": pdf}
    html_headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip", "ETag": '"p1"',
                    "Last-Modified": "Mon, 07 Nov 2016 10:00:00 GMT", "Server": "nginx", "Set-Cookie": "dropped=1"}
    pdf_headers = {"Content-Type": "application/pdf", "Content-Length": str(len(pdf)), "ETag": '"pdf1"'}
    with Archive(home) as archive:
        archive.upsert_source("syb-icb", footprint="QF7", kind="site", official=True, config={})
        archive.upsert_source("sheffield-council", footprint="QF7", kind="moderngov", official=False, config={})

        def fetch(key: str, crawl: int, when: str, **kw) -> int:
            fid = archive.record_fetch(Fetch(crawl_id=crawl, fetched_at=when, **kw))
            built.fetches[key] = fid
            return fid

        # crawl 1: the plan page (v1) and the PDF
        c1 = archive.start_crawl(["syb-icb"])
        f1 = fetch("page1", c1, "2016-11-07T10:00:00+00:00", url=PLAN_URL, source="syb-icb", status=200,
                   headers=html_headers, body=page_v1, kind="document")
        f2 = fetch("pdf1", c1, "2016-11-07T10:00:05+00:00", url=PDF_URL, source="syb-icb", status=200,
                   headers=pdf_headers, body=pdf, kind="document", referer=PLAN_URL)
        fetch("timeout", c1, "2016-11-07T10:00:09+00:00", url="https://www.healthandcaresyb.co.uk/slow",
              source="syb-icb", status=None, error="timeout")
        archive.finish_crawl(c1, {})
        # crawl 2: the page changed (v2), the PDF answered 304
        c2 = archive.start_crawl(["syb-icb"])
        f3 = fetch("page2", c2, "2017-03-01T09:00:00+00:00", url=PLAN_URL, source="syb-icb", status=200,
                   headers={**html_headers, "ETag": '"p2"'}, body=page_v2, kind="document")
        f4 = fetch("pdf304", c2, "2017-03-01T09:00:04+00:00", url=PDF_URL, source="syb-icb", status=304,
                   headers={"ETag": '"pdf1"'}, not_modified=True, kind="document")
        archive.finish_crawl(c2, {})
        # crawl 3: the page went back to v1 (same bytes again); a council copy of the PDF; a 404
        c3 = archive.start_crawl(["syb-icb", "sheffield-council"])
        f5 = fetch("page3", c3, "2017-06-01T09:00:00+00:00", url=PLAN_URL, source="syb-icb", status=200,
                   headers=html_headers, body=page_v1, kind="document")
        f6 = fetch("pdf_council", c3, "2017-06-01T09:00:07+00:00",
                   url="https://democracy.sheffield.gov.uk/documents/s1234/JFP.pdf", source="sheffield-council",
                   status=200, headers=pdf_headers, body=pdf, kind="document")
        fetch("gone", c3, "2017-06-01T09:00:09+00:00", url="https://www.healthandcaresyb.co.uk/old.pdf",
              source="syb-icb", status=404, headers={"Content-Type": "text/html"}, body=b"<h1>Not found</h1>")
        archive.finish_crawl(c3, {})

        text1 = archive.record_extraction(archive.fetch(f1)["blob_sha256"], Extraction(
            status="ok", extractor="trafilatura", extractor_version="2.3.1", text=V1_TEXT, title=HOSTILE_TITLE))
        text2 = archive.record_extraction(archive.fetch(f3)["blob_sha256"], Extraction(
            status="ok", extractor="trafilatura", extractor_version="2.3.1", text=V2_TEXT))
        text3 = archive.record_extraction(archive.fetch(f2)["blob_sha256"], Extraction(
            status="ok", extractor="pypdfium2", extractor_version="5.15.2", text=PDF_TEXT, pages=1,
            page_offsets=[0]))

        doc = archive.create_document(title=HOSTILE_TITLE, kind="plan", footprint="QF7", generation="2016-stp",
                                      draft=False, seen_at="2016-11-07T10:00:00+00:00", source="syb-icb")
        pdf_doc = archive.create_document(title="SYB Joint Forward Plan 2023", kind="plan", footprint="QF7",
                                          generation="2022-joint-forward-plan", draft=False,
                                          seen_at="2016-11-07T10:00:05+00:00", source="syb-icb")
        v1, _ = archive.add_version(doc, text_sha256=text1, blob_sha256=archive.fetch(f1)["blob_sha256"],
                                    fetch_id=f1, crawl_id=c1, seen_at="2016-11-07T10:00:00+00:00")
        v2, _ = archive.add_version(doc, text_sha256=text2, blob_sha256=archive.fetch(f3)["blob_sha256"],
                                    fetch_id=f3, crawl_id=c2, seen_at="2017-03-01T09:00:00+00:00")
        archive.add_version(doc, text_sha256=text1, blob_sha256=None, fetch_id=f5, crawl_id=c3,
                            seen_at="2017-06-01T09:00:00+00:00")
        pv, _ = archive.add_version(pdf_doc, text_sha256=text3, blob_sha256=archive.fetch(f2)["blob_sha256"],
                                    fetch_id=f2, crawl_id=c1, seen_at="2016-11-07T10:00:05+00:00")
        for fid, d, v in ((f1, doc, v1), (f3, doc, v2), (f5, doc, v1), (f2, pdf_doc, pv), (f4, pdf_doc, pv),
                          (f6, pdf_doc, pv)):
            archive.mark_fetch_analysed(fid, d, v)
            row = archive.fetch(fid)
            archive.add_document_url(d, row["source"], row["url"], row["fetched_at"])
        archive.update_document(doc, current_version_id=v1, last_seen_at="2017-06-01T09:00:00+00:00",
                                meta={"withdrawn_from": {"sheffield-council": {"since": "2017-06-01"}}})
        archive.update_document(pdf_doc, current_version_id=pv)

        built.events["published"] = archive.record_event(Event(
            kind="published", document_id=doc, summary=f"Published: “{HOSTILE_TITLE}” on syb-icb.",
            detected_at="2016-11-07T10:01:00+00:00", crawl_id=c1, footprint="QF7", generation="2016-stp",
            url=PLAN_URL, source="syb-icb", official=True, version_after=v1))
        built.events["revised"] = archive.record_event(Event(
            kind="revised", document_id=doc, summary=HOSTILE_SUMMARY, detected_at="2017-03-01T09:01:00+00:00",
            crawl_id=c2, footprint="QF7", generation="2016-stp", url="javascript:alert(4)", source="syb-icb",
            official=True, version_before=v1, version_after=v2,
            changes={"summary": "beds 180 -> 320", "figures": [
                {"kind": "beds", "before": "180 beds", "after": "320 beds", "context": "reduce acute beds"}],
                "added": ["320 beds"], "removed": ["180 beds"]}))
        built.events["baseline"] = archive.record_event(Event(
            kind="baseline", document_id=pdf_doc, summary="Baseline: already there on the first crawl.",
            detected_at="2016-11-07T10:01:00+00:00", crawl_id=c1, footprint="QF7",
            generation="2022-joint-forward-plan", alert=False, version_after=pv))
    built.doc, built.pdf_doc, built.v1, built.v2, built.pdf_version = doc, pdf_doc, v1, v2, pv
    return built


@pytest.fixture()
def built(tmp_path: Path) -> Built:
    return build_archive(tmp_path / "home")


@pytest.fixture()
def client(built: Built) -> TestClient:
    return TestClient(create_app(built.home))


def _text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- pages ---------------------------------------------------------------------------------------------


def test_home_lists_footprints_plans_and_recent_events(client: TestClient, built: Built) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert f'href="/documents/{built.doc}"' in page.text and f'href="/documents/{built.pdf_doc}"' in page.text
    assert 'href="/footprints/QF7"' in page.text
    assert "2022-joint-forward-plan" in page.text
    assert "2 documents" in _text_of(page.text)
    assert f'href="/diff/{built.v1}/{built.v2}"' in page.text  # the revision among recent events


def test_every_page_sets_a_csp_without_script(client: TestClient, built: Built) -> None:
    for path in ("/", "/footprints/QF7", f"/documents/{built.doc}", f"/versions/{built.v1}",
                 f"/diff/{built.v1}/{built.v2}", "/search?q=beds", "/events", "/api/documents", "/nowhere"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp, path
        assert response.headers["x-content-type-options"] == "nosniff"
        if "html" in response.headers["content-type"]:
            assert "<script" not in response.text.lower(), path  # the app itself ships no script at all


def test_document_page_is_the_timeline(client: TestClient, built: Built) -> None:
    page = client.get(f"/documents/{built.doc}")
    assert page.status_code == 200
    text = _text_of(page.text)
    for vid in (built.v1, built.v2):
        assert f'href="/versions/{vid}"' in page.text
    assert f'href="/diff/{built.v1}/{built.v2}"' in page.text
    assert PLAN_URL in page.text and "syb-icb" in text
    assert "Withdrawn from:" in text and "sheffield-council" in text
    assert "3 fetches" in text  # three sightings of the page
    assert "revised" in text and "published" in text


def test_version_page_says_when_where_and_hash(client: TestClient, built: Built) -> None:
    with Archive(built.home, readonly=True) as archive:
        version = archive.version(built.v2)
    page = client.get(f"/versions/{built.v2}")
    assert page.status_code == 200
    assert version["text_sha256"] in page.text and version["blob_sha256"] in page.text
    assert "2017-03-01T09:00:00+00:00" in page.text
    assert f'href="/versions/{built.v2}/raw"' in page.text
    assert f'href="/diff/{built.v1}/{built.v2}"' in page.text
    assert "320 beds" in page.text


def test_raw_serves_the_original_bytes_with_their_type(client: TestClient, built: Built) -> None:
    response = client.get(f"/versions/{built.pdf_version}/raw")
    assert response.status_code == 200
    assert response.content == built.bodies["pdf"]
    with Archive(built.home, readonly=True) as archive:
        assert hashlib.sha256(response.content).hexdigest() == archive.version(built.pdf_version)["blob_sha256"]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "jfp-2023.pdf" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")


def test_raw_html_is_sandboxed_and_a_damaged_blob_is_refused(client: TestClient, built: Built) -> None:
    response = client.get(f"/versions/{built.v1}/raw")
    assert response.content == built.bodies["page_v1"]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "sandbox" in response.headers["content-security-policy"]
    # damage the stored blob: the app must refuse to hand out bytes that no longer match their hash
    import gzip

    with Archive(built.home, readonly=True) as archive:
        path = archive.blobs.path_for(archive.version(built.v1)["blob_sha256"])
    path.write_bytes(gzip.compress(b"tampered"))
    damaged = client.get(f"/versions/{built.v1}/raw")
    assert damaged.status_code == 500
    assert b"tampered" not in damaged.content and "does not match" in damaged.text


def test_diff_page_shows_summary_figures_and_both_views(client: TestClient, built: Built) -> None:
    page = client.get(f"/diff/{built.v1}/{built.v2}")
    assert page.status_code == 200
    assert '<del class="diff-del">' in page.text and '<ins class="diff-ins">' in page.text
    assert 'class="diff-figure"' in page.text  # the changed bed figure is highlighted
    figures = page.text[page.text.index('<table class="figures">'):]
    # the old figure is shown deleted and the new one inserted, so they differ without colour too
    assert re.search(r'<td>beds</td><td class="fig-before"><del>[^<]*180[^<]*</del></td><td class="fig-after"><ins>[^<]*320',
                     figures)
    assert "Summary:" in _text_of(page.text)
    side = client.get(f"/diff/{built.v1}/{built.v2}?view=side")
    assert 'class="diff-sbs"' in side.text
    assert client.get(f"/diff/{built.v1}/999999").status_code == 404


def test_search_ranks_with_marked_snippets_and_filters(client: TestClient, built: Built) -> None:
    page = client.get("/search", params={"q": "maternity"})
    assert page.status_code == 200
    assert "<mark>maternity</mark>" in page.text.lower() or "<mark>Maternity</mark>" in page.text
    assert f'href="/versions/{built.pdf_version}"' in page.text and f'href="/versions/{built.v1}"' in page.text
    only_jfp = client.get("/search", params={"q": "maternity", "generation": "2022-joint-forward-plan"})
    assert f'href="/versions/{built.pdf_version}"' in only_jfp.text
    assert f'href="/versions/{built.v1}"' not in only_jfp.text
    dated = client.get("/search", params={"q": "beds", "from": "2017-01-01", "to": "2017-12-31"})
    assert f'href="/versions/{built.v2}"' in dated.text and f'href="/versions/{built.v1}"' not in dated.text
    # a stray quote is not FTS syntax: searched as plain words, never an error page
    assert client.get("/search", params={"q": 'beds"'}).status_code == 200
    assert client.get("/search", params={"q": "x", "from": "not-a-date"}).status_code == 400


def test_hostile_content_is_inert(client: TestClient, built: Built) -> None:
    for path in ("/", f"/documents/{built.doc}", f"/versions/{built.v1}", "/events", "/search?q=annex",
                 f"/diff/{built.v1}/{built.v2}", "/footprints/QF7"):
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "onerror=" not in html.replace("onerror=&#34;", "").replace("onerror=&quot;", ""), path
        assert 'href="javascript:' not in html, path
    document = client.get(f"/documents/{built.doc}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    events = client.get("/events").text
    assert "&lt;img src=x" in events
    assert "javascript:alert(4)" not in events or 'href="javascript:alert(4)"' not in events
    search = client.get("/search", params={"q": "annex"}).text
    assert "&lt;a href=" in search  # the document's own markup is text, and <mark> is ours
    assert snippet_html("\x02a\x03 <b>") == "<mark>a</mark> &lt;b&gt;"


def test_events_page_filters(client: TestClient, built: Built) -> None:
    every = client.get("/events").text
    assert f'href="/diff/{built.v1}/{built.v2}"' in every
    assert "Baseline: already there" not in every  # raises no alert: shown only with all=1
    assert "Baseline: already there" in client.get("/events?all=1").text
    revised = client.get("/events?kind=revised").text
    assert "Published:" not in revised and "180 beds" in revised
    assert "Published:" not in client.get("/events?since=2017-01-01").text
    assert client.get("/events?since=yesterday").status_code == 400


def _feed_links(response) -> list[str]:
    import feedparser

    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return [link.href for entry in feed.entries for link in entry.links if link.get("rel") != "via"]


def test_atom_feed(client: TestClient, built: Built) -> None:
    links = _feed_links(client.get("/feed.atom"))
    assert links and all(href.startswith("http://localhost:8000/") for href in links)
    assert 'rel="alternate" type="application/atom+xml"' in client.get("/").text


def test_feed_links_never_follow_the_host_header(built: Built, tmp_path: Path) -> None:
    # Unset base_url: the server's own address, marked in a header; whatever Host a client sends is not used.
    served = TestClient(create_app(built.home, server_url="http://127.0.0.1:8123"))
    response = served.get("/feed.atom", headers={"Host": "evil.example"})
    links = _feed_links(response)
    assert links and all(href.startswith("http://127.0.0.1:8123/") for href in links)
    assert "base_url" in response.headers["X-STP-Base-URL"]
    # Configured: the operator's address, unmarked.
    (built.home / "config.toml").write_text('[alerts]\nbase_url = "https://tracker.example.org/"\n')
    try:
        response = served.get("/feed.atom", headers={"Host": "evil.example"})
        assert all(href.startswith("https://tracker.example.org/") for href in _feed_links(response))
        assert "X-STP-Base-URL" not in response.headers
    finally:
        (built.home / "config.toml").unlink()


@pytest.mark.parametrize("path, wanted", [
    ("/events?kind=revisd", "revised"), ("/events?generation=2019-fiveyear", "2019-five-year"),
    ("/search?q=beds&kind=plans", "plan, page, other"), ("/search?q=beds&generation=2019", "2016-stp"),
    ("/api/events?kind=revisd", "revised"), ("/api/search?q=beds&generation=x", "2025-strategic-commissioning"),
    ("/api/documents?kind=plans", "plan, page, other"), ("/feed.atom?kind=revisd", "withdrawn"),
])
def test_an_unknown_filter_value_is_refused_with_the_valid_ones(client: TestClient, path: str, wanted: str) -> None:
    response = client.get(path)
    assert response.status_code == 400 and wanted in response.text, path


def test_filter_values_are_read_in_any_case(client: TestClient) -> None:
    assert client.get("/events?kind=REVISED").text == client.get("/events?kind=revised").text


def test_unknown_things_are_404(client: TestClient) -> None:
    for path in ("/documents/999", "/versions/999", "/versions/999/raw", "/footprints/NOPE", "/api/documents/999"):
        assert client.get(path).status_code == 404, path
    assert client.get("/api/documents/999").json()["status"] == 404


# -- JSON API --------------------------------------------------------------------------------------------


def test_api_mirrors_the_command_line_json(client: TestClient, built: Built) -> None:
    docs = client.get("/api/documents").json()
    assert [d["id"] for d in docs] == [built.doc, built.pdf_doc]
    assert set(docs[0]) == {"id", "title", "kind", "footprint", "generation", "draft", "status", "url", "versions",
                            "first_seen", "last_seen"}
    assert docs[0]["title"] == HOSTILE_TITLE and docs[0]["versions"] == 2

    one = client.get(f"/api/documents/{built.doc}").json()
    assert {k: one[k] for k in docs[0]} == docs[0]  # the same object as in the list, plus its history and URLs
    assert [h["version_id"] for h in one["history"]] == [built.v1, built.v2]
    assert {(u["source"], u["official"]) for u in one["urls"]} == {("syb-icb", True)}

    history = client.get(f"/api/documents/{built.doc}/history").json()
    assert [h["version_id"] for h in history] == [built.v1, built.v2]
    assert set(history[0]) == {"version_id", "document_id", "text_sha256", "blob_sha256", "first_seen", "last_seen",
                               "urls", "characters", "preservations"}

    events = client.get("/api/events", params={"all": "1"}).json()
    assert {e["kind"] for e in events} == {"published", "revised", "baseline"}
    revised = next(e for e in events if e["kind"] == "revised")
    assert revised["versions"] == {"before": built.v1, "after": built.v2}
    assert revised["footprint"]["code"] == "QF7"
    assert revised["changes"]["figures"][0]["kind"] == "beds"

    hits = client.get("/api/search", params={"q": "beds"}).json()
    assert {h["version_id"] for h in hits} >= {built.v1, built.v2}
    assert {"version_id", "document_id", "title", "snippet", "rank"} <= set(hits[0])
    assert "[" in hits[0]["snippet"]  # the same [markers] as `search --json`

    diff = client.get(f"/api/diff/{built.v1}/{built.v2}").json()
    assert diff["before"] == built.v1 and diff["after"] == built.v2
    assert any(f["kind"] == "beds" for f in diff["figures"])
    assert diff["summary"]

    version = client.get(f"/api/versions/{built.v2}").json()
    assert version["raw_url"] == f"/versions/{built.v2}/raw"
    assert client.get("/api/search").status_code == 400


def test_the_app_never_writes(built: Built) -> None:
    db = built.home / "archive.db"
    before = (db.stat().st_mtime_ns, hashlib.sha256(db.read_bytes()).hexdigest())
    client = TestClient(create_app(built.home))
    for path in ("/", f"/documents/{built.doc}", "/search?q=beds", f"/diff/{built.v1}/{built.v2}", "/events"):
        client.get(path)
    assert (db.stat().st_mtime_ns, hashlib.sha256(db.read_bytes()).hexdigest()) == before
    assert client.post("/subscribe", data={"email": "a@example.org"}).status_code in (404, 405)


def test_missing_archive_is_a_clear_503(tmp_path: Path) -> None:
    response = TestClient(create_app(tmp_path / "empty")).get("/")
    assert response.status_code == 503 and "stp-tracker crawl" in response.text


# -- subscriptions: CSRF and rate limit ---------------------------------------------------------------------


def test_subscribe_form_refuses_posts_without_a_valid_token(built: Built) -> None:
    client = TestClient(create_app(built.home, subscriptions=True, rate_limit=100))
    # no token, no cookie: refused
    refused = client.post("/subscribe", data={"email": "ann@example.org"})
    assert refused.status_code == 403
    # a token from another session (another cookie) is refused too
    other = TestClient(create_app(built.home, subscriptions=True, csrf_secret=b"k" * 32))
    form = other.get("/subscribe").text
    stolen = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    assert client.post("/subscribe", data={"email": "ann@example.org", "csrf": stolen}).status_code == 403
    # posted from another site: refused even with a token
    page = client.get("/subscribe")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert "samesite=strict" in page.headers["set-cookie"].lower()
    cross = client.post("/subscribe", data={"email": "ann@example.org", "csrf": token},
                        headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    typo = client.post("/subscribe", data={"email": "cy@example.org", "generation": "2019-fiveyear", "csrf": token})
    assert typo.status_code == 400 and "2019-five-year" in typo.text  # refused, with the valid values
    with Archive(built.home, readonly=True) as archive:
        assert Outbox(archive).subscriptions() == []


def test_subscribe_form_takes_a_name_and_refuses_an_unknown_one(built: Built) -> None:
    client = TestClient(create_app(built.home, subscriptions=True, rate_limit=10))
    form = client.get("/subscribe").text
    assert "ODS" not in form and "Sheffield" in form
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    unknown = client.post("/subscribe", data={"email": "ann@example.org", "footprint": "Sheffeld", "csrf": token})
    assert unknown.status_code == 400 and "did you mean QF7" in unknown.text
    done = client.post("/subscribe", data={"email": "ann@example.org", "footprint": "Luton", "csrf": token})
    assert done.status_code == 200, done.text
    with Archive(built.home, readonly=True) as archive:
        rows = Outbox(archive)._rows("SELECT footprints FROM subscriptions")
    assert rows == [{"footprints": '["QHG", "S1Y5D"]'}]  # Luton's 2022 ICB, and the ICB that took it over
    assert client.get("/api/events?footprint=sheffield").status_code == 200
    refused = client.get("/api/events?footprint=Sheffeld")
    assert refused.status_code == 400 and "QF7" in refused.text
    moved = client.get("/footprints/Sheffield", follow_redirects=False)
    assert moved.status_code == 302 and moved.headers["location"] == "/footprints/QF7"


def test_subscribe_with_token_creates_a_pending_subscription_and_rate_limits(built: Built) -> None:
    # no SMTP server is configured: the subscription is recorded as pending, the page still answers
    client = TestClient(create_app(built.home, subscriptions=True, rate_limit=2))
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/subscribe").text).group(1)
    done = client.post("/subscribe", data={"email": "ann@example.org", "footprint": "QF7", "kind": "revised",
                                           "csrf": token})
    assert done.status_code == 200, done.text
    with Archive(built.home, readonly=True) as archive:
        rows = Outbox(archive)._rows("SELECT address, status, footprints FROM subscriptions")
    assert rows == [{"address": "ann@example.org", "status": "pending", "footprints": '["QF7"]'}]
    bad = client.post("/subscribe", data={"email": "javascript:alert(1)", "csrf": token})
    assert bad.status_code == 400
    limited = client.post("/subscribe", data={"email": "bob@example.org", "csrf": token})
    assert limited.status_code == 429 and "retry-after" in limited.headers
    # the confirmation link shows a button; only a POST with a token acts
    page = client.get("/alerts/confirm/not-a-real-token")
    assert page.status_code == 200 and 'method="post"' in page.text
    assert client.post("/alerts/confirm/not-a-real-token").status_code in (403, 429)


# -- a real server ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(built: Built):
    """The app served by a real uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(built.home), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_real_server_serves_pages_and_exact_bytes(server: str, built: Built) -> None:
    with urllib.request.urlopen(f"{server}/documents/{built.doc}", timeout=10) as response:
        assert response.status == 200
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "&lt;script&gt;" in response.read().decode()
    with urllib.request.urlopen(f"{server}/versions/{built.pdf_version}/raw", timeout=10) as response:
        body = response.read()
        assert response.headers["Content-Type"] == "application/pdf"
    assert body == built.bodies["pdf"]
    with urllib.request.urlopen(f"{server}/api/documents", timeout=10) as response:
        assert [d["id"] for d in json.loads(response.read())] == [built.doc, built.pdf_doc]


def test_cli_serve_runs_the_app(built: Built) -> None:
    import subprocess
    import sys

    cli = Path(sys.executable).parent / "stp-tracker"
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "tracker.cli"]
    port = _free_port()
    process = subprocess.Popen([*command, "--home", str(built.home), "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events", timeout=2) as response:
                    events = json.loads(response.read())
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"`stp-tracker serve` did not answer: {process.stdout.read().decode()[-500:]}")
                time.sleep(0.1)
        assert {e["kind"] for e in events} == {"published", "revised"}
    finally:
        process.terminate()
        process.wait(timeout=10)
