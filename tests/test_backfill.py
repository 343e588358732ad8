"""Backfill from web archives, against a fake Wayback CDX / id_ / UKGWA TimeMap server on 127.0.0.1: captures become
fetches dated at capture time, events follow capture order and are historical, reruns and interruptions are safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import alerts
from alerts.delivery import enqueue_new_events
from crawler.sources import load_sources
from storage import Archive
from storage.outbox import Outbox
from tests import scenario_web as story
from clirun import run_cli
from tests.fakearchive import FakeArchive
from tests.replay import Capture, Replayer
from tracker.workers import ExtractionPool
from tracker.webarchives.backfill import backfill, estimate
from tracker.webarchives.wayback import BackfillConfig, PoliteClient, parse_cdx, parse_timemap

CLI = [sys.executable, "-m", "tracker.cli"]
COUNCIL = "https://democracy.sheffield.gov.uk"
ICS = "https://www.healthandcaresyb.co.uk"
DRAFT_URL = f"{COUNCIL}/documents/s1002/Appendix%20A%20-%20Draft%20STP.pdf"
STP_URL = f"{ICS}/docs/syb-stp-october-2016.pdf"
FYP_URL = f"{ICS}/docs/syb-five-year-plan-2019.pdf"
LOST_URL = f"{ICS}/docs/board-papers-2018.pdf"
SOURCES = f"""
[[source]]
name = "sheffield-council"
footprint = "QF7"
kind = "site"
official = false
start_urls = ["{COUNCIL}/mgListCommittees.aspx"]

[[source]]
name = "syb-ics"
footprint = "QF7"
kind = "site"
official = true
start_urls = ["{ICS}/our-plans/"]
"""
PDF = "application/pdf"


@pytest.fixture(scope="module")
def pool():
    p = ExtractionPool(workers=1)
    yield p
    p.close()


@pytest.fixture
def fake():
    server = FakeArchive().start()
    yield server
    server.stop()


def plan_history(fake: FakeArchive) -> None:
    """A plan's life in the archives: leaked 2016 draft on a council site, official publication (the capture first
    answers 503), a revision, a 2019 successor; the ICS page as the UKGWA saw it; a capture that is gone (404)."""
    fake.add(DRAFT_URL, "20160615101500", story._pdf(story.STP_DRAFT, title="SYB STP draft"))
    fake.add(STP_URL, "20161120093000", story._pdf(story.STP_PUBLISHED, title="SYB STP public summary"))
    fake.add(STP_URL, "20161205000000", story._pdf(story.STP_PUBLISHED, title="SYB STP public summary"))  # collapsed
    fake.add(STP_URL, "20170301120000", story._pdf(story.STP_REVISED, title="SYB STP public summary"))
    fake.add(FYP_URL, "20191130080000", story._pdf(story.FIVE_YEAR_PLAN, title="SYB Five Year Plan"))
    fake.add(FYP_URL, "20240101000000", story._pdf(story.FIVE_YEAR_PLAN + ["2024 reprint"], title="x"))  # out of range
    fake.add(LOST_URL, "20180402000000", story._pdf(story.ANNUAL_REPORT, title="Board papers"))
    page = story._page("Our plans", "<p>Our plans: <a href='/docs/syb-stp-october-2016.pdf'>STP</a></p>")
    fake.add(f"{ICS}/our-plans/", "20170105000000", page, "text/html", archive="ukgwa")
    fake.fail_first(fake.raw_path("wayback", STP_URL, "20161120093000"), status=503, retry_after="1")
    fake.missing(fake.raw_path("wayback", LOST_URL, "20180402000000"))


def config_for(fake: FakeArchive, **changes) -> BackfillConfig:
    config = BackfillConfig(cdx_url=fake.cdx_url, wayback_url=fake.wayback_url, ukgwa_url=fake.ukgwa_url,
                            delay=0.0, cdx_per_minute=0, memento_per_minute=0, backoff=0.05, max_wait=3.0,
                            retries=2)
    for name, value in changes.items():
        setattr(config, name, value)
    return config


def sources_in(tmp_path: Path) -> list:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES)
    return load_sources(path)


def run(home: Path, fake: FakeArchive, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {"STP_TRACKER_CDX_URL": fake.cdx_url, "STP_TRACKER_WAYBACK_URL": fake.wayback_url,
           "STP_TRACKER_UKGWA_URL": fake.ukgwa_url, "STP_TRACKER_BACKFILL_DELAY": "0"}
    result = run_cli(home, *args, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"stp-tracker {' '.join(args)} exited {result.returncode}\n{result.stderr}")
    return result


def test_backfill_cli_imports_history_in_capture_order_as_historical_events(tmp_path, fake):
    plan_history(fake)
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[backfill]\nbackoff = 0.05\nmax_wait = 3\nretries = 2\n")
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES)

    first = run(home, fake, "backfill", "--sources", str(sources), "--from", "2016", "--to", "2022", check=False)
    assert first.returncode == 0, first.stderr
    assert "5 imported, 1 failed" in first.stderr, first.stderr

    events = json.loads(run(home, fake, "events", "--all", "--historical", "--json").stdout)
    assert [e["kind"] for e in events] == ["leaked", "published", "revised", "replaced"], events
    assert all(e["historical"] is True for e in events)
    assert [e["detected_at"][:10] for e in events] == ["2016-06-15", "2016-11-20", "2017-03-01", "2019-11-30"]
    leak, pub, rev, rep = events
    assert leak["source"] == "sheffield-council" and leak["official"] is False and leak["generation"] == "2016-stp"
    assert pub["document"]["id"] == leak["document"]["id"] and pub["source"] == "syb-ics"
    assert pub["versions"]["before"] == leak["versions"]["after"]
    assert any("180" in str(f["before"]) and "320" in str(f["after"]) for f in rev["changes"]["figures"])
    assert rep["generation"] == "2019-five-year" and rep["changes"]["replaces"]["id"] == pub["document"]["id"]
    # Historical events are listed with --historical, never among the live ones.
    assert json.loads(run(home, fake, "events", "--json").stdout) == []
    assert json.loads(run(home, fake, "events", "--all", "--json").stdout) == []
    assert [e["kind"] for e in json.loads(run(home, fake, "events", "--historical", "--json").stdout)] == \
        ["leaked", "published", "revised", "replaced"]

    with Archive(home, readonly=True) as archive:
        fetches = archive.fetches()
        by_origin = {f["origin"]: f for f in fetches}
        stp = by_origin["wayback:20161120093000"]
        assert (stp["url"], stp["status"], stp["fetched_at"]) == (STP_URL, 200, "2016-11-20T09:30:00+00:00")
        assert archive.blob(stp["blob_sha256"]) == story._pdf(story.STP_PUBLISHED, title="SYB STP public summary")
        assert "ukgwa:20170105000000" in by_origin and by_origin["ukgwa:20170105000000"]["kind"] == "page"
        assert "wayback:20161205000000" not in by_origin, "collapse=digest: an identical later capture is skipped"
        assert not any(f["fetched_at"].startswith("2024") for f in fetches)
        lost = by_origin["wayback:20180402000000"]
        assert lost["status"] is None and "HTTP 404" in lost["error"]
        assert [f["fetched_at"] for f in fetches] == sorted(f["fetched_at"] for f in fetches), "capture order"
        assert all(c["kind"] == "backfill" for c in archive.crawls())
        # Backfilled crawls are not the sources' live first crawl.
        assert archive.source("syb-ics")["first_crawl_id"] is None
        versions = archive.versions_of(pub["document"]["id"])
        assert [v["first_seen_at"][:10] for v in versions] == ["2016-06-15", "2016-11-20", "2017-03-01"]
    # The 503 was waited out (Retry-After) and asked again.
    raw = fake.raw_path("wayback", STP_URL, "20161120093000")
    assert [status for path, status in fake.requests if path == raw] == [503, 200]

    # Again: nothing doubles, the archives are not asked for the captures again.
    asked = len(fake.requests_to("/web/"))
    again = run(home, fake, "backfill", "--sources", str(sources))
    assert "0 captures newly listed, 0 imported, 0 failed" in again.stderr, again.stderr
    assert len(fake.requests_to("/web/")) == asked
    with Archive(home, readonly=True) as archive:
        assert len(archive.fetches()) == len(fetches)
        assert len(archive.events(include_all=True)) == 4


def test_limit_stops_and_the_next_run_resumes_in_order(tmp_path, fake, pool):
    plan_history(fake)
    chosen = sources_in(tmp_path)
    with Archive(tmp_path / "home") as archive:
        first = backfill(archive, chosen, config_for(fake), limit=2, pool=pool)
        assert (first.imported, first.failed) == (2, 0)
        assert first.pending == 4
        kinds = [e.kind for e in archive.events(include_all=True)]
        assert kinds == ["leaked", "published"]
        listed = len(fake.requests_to("/cdx/"))
        second = backfill(archive, chosen, config_for(fake), pool=pool)
        assert (second.listed, second.imported, second.failed, second.pending) == (0, 3, 1, 0)
        assert len(fake.requests_to("/cdx/")) == listed, "finished listings are not asked again"
        events = archive.events(include_all=True)
        assert [e.kind for e in events] == ["leaked", "published", "revised", "replaced"]
        assert all(e.historical for e in events)


def test_cdx_listing_resumes_from_its_saved_resume_key(tmp_path, fake, pool):
    plan_history(fake)
    chosen = [s for s in sources_in(tmp_path) if s.name == "syb-ics"]
    with Archive(tmp_path / "home") as archive:
        fake.fail_cdx_from(2)  # the first page answers, the next one fails
        broken = backfill(archive, chosen, config_for(fake, page_size=1, retries=0), pool=pool)
        assert broken.errors and "CDX query" in broken.errors[0]
        cursors = archive._rows("SELECT * FROM backfill_cursors WHERE complete = 0")
        assert cursors and cursors[0]["resume_key"], cursors
        saved = cursors[0]["resume_key"]
        fake.fail_cdx_from(None)
        fake.requests.clear()
        backfill(archive, chosen, config_for(fake, page_size=1), pool=pool)
        first_request = fake.requests_to("/cdx/")[0][0]
        assert parse_qs(urlsplit(first_request).query)["resumeKey"] == [saved], first_request
        imported = {f["origin"] for f in archive.fetches()}
        assert {"wayback:20161120093000", "wayback:20170301120000", "wayback:20191130080000"} <= imported
        assert archive._rows("SELECT COUNT(*) AS n FROM backfill_cursors WHERE complete = 0")[0]["n"] == 0


def test_historical_events_enqueue_no_alerts_and_live_crawls_keep_their_baseline(tmp_path, fake, pool):
    plan_history(fake)
    with Archive(tmp_path / "home") as archive:
        settings = alerts.AlertSettings(allow_private_targets=True, http_timeout=5)
        alerts.subscribe(archive, settings, "http://127.0.0.1:9/hook")
        backfill(archive, sources_in(tmp_path), config_for(fake), pool=pool)
        assert len(archive.events(include_all=True, historical=True)) == 4
        assert enqueue_new_events(archive) == 0
        assert Outbox(archive).deliveries() == []

        # The first live crawl afterwards: a plan known from history is no news; a new document is its baseline.
        live = Replayer(archive, "syb-ics", official=True, footprint="QF7", pool=pool)
        events = live.crawl([Capture(FYP_URL, story._pdf(story.FIVE_YEAR_PLAN, title="SYB Five Year Plan")),
                             Capture(f"{ICS}/docs/annual-report.pdf", story._pdf(story.ANNUAL_REPORT, title="AR"))])
        assert all(not e.historical for e in events)
        assert [e.kind for e in events if e.alert] == []
        live_crawl = archive.crawls(limit=1)[0]
        assert live_crawl["kind"] == "live"
        assert archive.source("syb-ics")["first_crawl_id"] == live_crawl["id"]


def test_formats_cdx_text_and_json_paging_and_link_timemaps():
    rows, resume = parse_cdx(b'[["urlkey","timestamp","original"],["a/","20160101000000","https://a/"],[],["a%2F+2017"]]',
                             "test")
    assert rows == [{"urlkey": "a/", "timestamp": "20160101000000", "original": "https://a/"}] and resume == "a%2F+2017"
    rows, resume = parse_cdx(b"a/ 20160101000000 https://a/ application/pdf 200 ABC 10\n\na%2F+2017\n", "test")
    assert rows[0]["original"] == "https://a/" and rows[0]["digest"] == "ABC" and resume == "a%2F+2017"
    assert parse_cdx(b"[]", "test") == ([], None)
    timemap = (b'<https://x.nhs.uk/a,b.pdf>; rel="original",\n'
               b'<https://ukgwa/timemap/link/https://x.nhs.uk/a,b.pdf>; rel="self"; type="application/link-format",\n'
               b'<https://ukgwa/20160301120000/https://x.nhs.uk/a,b.pdf>; rel="first memento"; '
               b'datetime="Tue, 01 Mar 2016 12:00:00 GMT",\n'
               b'<https://ukgwa/20190301120000/https://x.nhs.uk/a,b.pdf>; rel="last memento"; '
               b'datetime="Fri, 01 Mar 2019 12:00:00 GMT"\n')
    assert parse_timemap(timemap) == [("https://ukgwa/20160301120000/https://x.nhs.uk/a,b.pdf", "20160301120000"),
                                      ("https://ukgwa/20190301120000/https://x.nhs.uk/a,b.pdf", "20190301120000")]


def test_client_is_polite_and_names_its_failures(fake):
    waits: list[float] = []
    fake.add("https://a.nhs.uk/p.pdf", "20160101000000", b"%PDF-1.4 x")
    path = fake.raw_path("wayback", "https://a.nhs.uk/p.pdf", "20160101000000")
    fake.fail_first(path, status=429, retry_after="7", times=2)
    client = PoliteClient(config_for(fake, delay=0.5, max_wait=5.0, retries=3), "stp-tracker/test (+ops@example.org)",
                          sleep=waits.append)
    answer = client.get(fake.base + path)
    assert answer.status == 200 and answer.body == b"%PDF-1.4 x"
    assert waits.count(5.0) == 2, waits  # Retry-After 7 s, capped at max_wait
    assert client.requests == 3
    gone = client.get(fake.base + "/web/20160101000000id_/https://a.nhs.uk/nothing.pdf")
    assert gone.status == 404 and gone.error == "HTTP 404"
    refused = PoliteClient(config_for(fake, retries=0), "ua").get("http://127.0.0.1:9/x")
    assert refused.status is None and refused.error


def test_backfill_after_live_crawls_never_moves_a_plan_back_or_raises_a_live_alert(tmp_path, fake, pool):
    plan_history(fake)
    with Archive(tmp_path / "home") as archive:
        live = Replayer(archive, "syb-ics", official=True, footprint="QF7", pool=pool)
        revised = story._pdf(story.STP_REVISED + ["Refreshed in 2026: the acute bed figure is now 310."],
                             title="SYB STP public summary")
        live.crawl([Capture(STP_URL, revised)])  # the live baseline: today's text, newer than any capture
        document = archive.documents_at_url(STP_URL)[0]
        current = archive.document(document)["current_version_id"]

        backfill(archive, sources_in(tmp_path), config_for(fake), pool=pool)  # history arrives afterwards
        history = archive.events(include_all=True, historical=True)
        revisions = [e for e in history if e.kind == "revised" and e.document_id == document]
        assert [e.detected_at[:10] for e in revisions] == ["2017-03-01"]
        assert revisions[0].version_before != current, "history is compared with what came before it in time"
        after = archive.document(document)
        assert after["current_version_id"] == current, "an older capture is not the plan's current text"
        assert after["last_seen_at"] > "2025" and after["first_seen_at"][:4] == "2016"

        events = live.crawl([Capture(STP_URL, revised)])  # the next live crawl: nothing changed
        assert [(e.kind, e.summary) for e in events if e.alert] == []


# -- a footprint's history end to end: the plans linked from NHS England's page (issue 15, items 2 and 4) --------

NHSE = "https://www.england.nhs.uk/integratedcare/stps/view-stps/"
CCG_STP = "https://www.sheffieldccg.nhs.uk/Downloads/About%20us/STP/SYB-STP-Nov-2016.pdf"
OLD_DOMAIN = "www.healthandcaresyb.co.uk"
OLD_FYP = f"https://{OLD_DOMAIN}/wp-content/uploads/2019/11/SYB-ICS-Five-Year-Plan.pdf"
ICB = "https://www.southyorkshire.icb.nhs.uk"
JFP_URL = f"{ICB}/download/joint-forward-plan-2023-28.pdf"
JFP = ["NHS South Yorkshire Integrated Care Board", "Joint Forward Plan 2023/24 to 2027/28",
       "Our Joint Forward Plan with our partners, June 2023, replaces the Five Year Plan.",
       "We will invest £30m in primary care and cut the longest waits for planned care."]
FOOTPRINT_SOURCES = f"""
[[source]]
name = "nhse-stps"
kind = "site"
official = true
start_urls = ["{NHSE}"]
options = {{ footprints = ["QF7", "QE1"] }}

[[source]]
name = "syb-icb"
footprint = "QF7"
kind = "site"
official = true
start_urls = ["{ICB}/"]
options = {{ history_domains = ["{OLD_DOMAIN}"] }}
"""


def footprint_history(fake: FakeArchive) -> None:
    """NHS England's STP page as archived in November 2016, linking to the SYB STP on Sheffield CCG's site (no
    source of ours); the 2019 Five Year Plan on the partnership's old domain; the 2023 JFP on the ICB's own."""
    links = (f"<li><a href='{CCG_STP}'>South Yorkshire and Bassetlaw STP (PDF)</a></li>"
             "<li><a href='/integratedcare/stps/about/'>About STPs</a></li>"
             "<li><a href='mailto:england.stps@nhs.net'>Contact</a></li>")
    fake.add(NHSE, "20161125120000", story._page("View STPs", f"<ul>{links}</ul>"), "text/html")
    fake.add(CCG_STP, "20161126093000", story._pdf(story.STP_PUBLISHED, title="SYB STP public summary"))
    fake.add(OLD_FYP, "20191130080000", story._pdf(story.FIVE_YEAR_PLAN, title="SYB Five Year Plan"))
    fake.add(JFP_URL, "20230705100000", story._pdf(JFP, title="South Yorkshire Joint Forward Plan"))
    fake.add(f"{ICB}/", "20230601000000", story._page("NHS South Yorkshire", "<p>Welcome.</p>"), "text/html")
    # One hop only: a page NHS England's page links to is not read for its own links.
    about = "https://www.england.nhs.uk/integratedcare/stps/about/"
    fake.add(about, "20161125120500", story._page("About", f"<a href='{TWO_HOPS}'>guidance</a>"), "text/html")
    fake.add(TWO_HOPS, "20161101000000", story._pdf(["STP guidance"], title="Guidance"))


TWO_HOPS = "https://www.england.nhs.uk/wp-content/uploads/2016/02/stp-footprints-march-2016.pdf"


def test_a_footprints_backfill_finds_the_plans_linked_from_nhs_englands_page(tmp_path, fake):
    footprint_history(fake)
    home = tmp_path / "home"
    home.mkdir()
    sources = tmp_path / "sources.toml"
    sources.write_text(FOOTPRINT_SOURCES)
    done = run(home, fake, "backfill", "--footprint", "QF7", "--sources", str(sources), "--from", "2016",
               "--to", "2023")
    assert "plan: " in done.stderr.splitlines()[0], done.stderr  # how long, before anything is asked
    assert "1 captures listed through links on archived pages" in done.stderr, done.stderr

    found = {}
    for url in (CCG_STP, OLD_FYP, JFP_URL):
        versions = json.loads(run(home, fake, "history", url, "--json").stdout)
        found[url] = [v["first_seen"] for v in versions]
    assert found == {CCG_STP: ["2016-11-26T09:30:00+00:00"], OLD_FYP: ["2019-11-30T08:00:00+00:00"],
                     JFP_URL: ["2023-07-05T10:00:00+00:00"]}, found
    with Archive(home, readonly=True) as archive:
        stp = next(f for f in archive.fetches() if f["url"] == CCG_STP)
        assert stp["source"] == "nhse-stps" and stp["referer"] == NHSE  # attributed to the page that linked it
        fyp = next(f for f in archive.fetches() if f["url"] == OLD_FYP)
        assert fyp["source"] == "syb-icb"
    # A "page" source is not listed site-wide: england.nhs.uk's other documents are not asked for.
    assert not any("url=england.nhs.uk%2F" in p or "url=www.england.nhs.uk%2F" in p for p in
                   (path for path, _ in fake.requests_to("/cdx/"))), fake.requests_to("/cdx/")
    assert not any(TWO_HOPS in path for path, _ in fake.requests), "one hop: links of linked pages are not followed"
    again = run(home, fake, "backfill", "--footprint", "QF7", "--sources", str(sources), "--to", "2023")
    assert "0 captures newly listed, 0 imported" in again.stderr, again.stderr


def test_pacing_follows_the_archives_published_limits_by_default(tmp_path, fake):
    config = BackfillConfig()
    assert (config.interval("listing"), config.interval("memento")) == (2.0, 0.1)  # 30 and 600 a minute
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[backfill]\ncdx_per_minute = 20\nmemento_per_minute = 120\n")
    loaded = BackfillConfig.load(home)
    assert (loaded.interval("listing"), loaded.interval("memento")) == (3.0, 0.5)

    fake.add("https://a.nhs.uk/p.pdf", "20160101000000", b"%PDF-1.4 x")
    waits: list[float] = []
    client = PoliteClient(config_for(fake, cdx_per_minute=30, memento_per_minute=600), "ua", sleep=waits.append)
    for _ in range(3):
        client.get(fake.cdx_url + "?url=a.nhs.uk/p.pdf", kind="listing")
    for _ in range(3):
        client.get(fake.base + fake.raw_path("wayback", "https://a.nhs.uk/p.pdf", "20160101000000"))
    # (the clock does not move while `sleep` only records: each wait is the whole interval)
    assert [round(w, 1) for w in waits] == [2.0, 2.0, 0.1, 0.1], waits

    # The estimate: each listing at the listing pace, each capture at the capture pace.
    plan_history(fake)
    with Archive(tmp_path / "home2") as archive:
        chosen = sources_in(tmp_path)
        for source in chosen:
            archive.upsert_source(source.name, footprint=source.footprint, kind=source.kind,
                                  official=source.official, config=source.config())
        first = estimate(archive, chosen, BackfillConfig(archives=["wayback"]), (2016, 2022))
        assert (first.listings, first.captures, first.seconds) == (4, 0, 8.0)
        assert "at least 8 s at 30 listing and 600 capture requests a minute" in first.describe(BackfillConfig())
        backfill(archive, chosen, config_for(fake, archives=["wayback"]), limit=1, pool=None)
        later = estimate(archive, chosen, BackfillConfig(archives=["wayback"]), (2016, 2022))
        assert (later.listings, later.captures) == (0, 4) and later.seconds == pytest.approx(4 * 0.1)


def test_document_links_on_archived_pages():
    page = b"""<html><head><base href="https://www.england.nhs.uk/integratedcare/"></head><body>
    <a href="stps/syb-stp.pdf">relative, under the base</a>
    <a href="https://www.doncasterccg.nhs.uk/wp-content/uploads/2016/11/STP.PDF#page=2">another host, a fragment</a>
    <a href="/web/20161125120000/https://www.rotherhamccg.nhs.uk/Downloads/stp-appendix.docx">rewritten</a>
    <a href="https://www.bassetlawccg.nhs.uk/finance.xlsx">a spreadsheet</a>
    <a href="https://www.bassetlawccg.nhs.uk/news/">a page</a> <a href="mailto:x@nhs.net">mail</a>
    <a href="https://www.epa.gov/%22data:image/jpeg;base64,/9j/x.pdf">junk</a>
    <a href="stps/syb-stp.pdf">the same again</a></body></html>"""
    from tracker.webarchives.backfill import document_links

    assert document_links(page, "https://www.england.nhs.uk/integratedcare/stps/view-stps/") == [
        "https://www.england.nhs.uk/integratedcare/stps/syb-stp.pdf",
        "https://www.doncasterccg.nhs.uk/wp-content/uploads/2016/11/STP.PDF",
        "https://www.rotherhamccg.nhs.uk/Downloads/stp-appendix.docx",
        "https://www.bassetlawccg.nhs.uk/finance.xlsx"]
    assert document_links(b"", "https://x.nhs.uk/") == [] and document_links(b"\x00\xff", "https://x.nhs.uk/") == []


def test_what_is_listed_for_a_page_a_scoped_site_and_old_domains():
    from crawler.sources import sources_from_dicts
    from tracker.webarchives.backfill import queries_for

    nhse, icb, national = sources_from_dicts([
        {"name": "nhse", "kind": "site", "start_urls": [NHSE], "allowed_domains": ["www.england.nhs.uk"],
         "footprint": "QF7", "options": {"path_prefixes": ["/integratedcare/", "/wp-content/uploads/"]}},
        {"name": "icb", "kind": "page", "start_urls": [f"{ICB}/plans/"],
         "options": {"history_domains": [OLD_DOMAIN, "hwics.org.uk"]}},
        {"name": "national", "kind": "site", "start_urls": [NHSE], "options": {"footprints": ["QF7", "QE1"]}}])
    prefix = lambda source: [q.url for q in queries_for(source, [], ["wayback"]) if q.match == "prefix"]  # noqa: E731
    assert prefix(nhse) == ["www.england.nhs.uk/integratedcare/", "www.england.nhs.uk/wp-content/uploads/"]
    assert prefix(icb) == [f"{OLD_DOMAIN}/", "hwics.org.uk/"]  # a page is not listed site-wide; old domains are
    assert prefix(national) == []  # NHS England for every footprint: what its pages link to, not its whole site
    exact = [q.url for q in queries_for(icb, [], ["wayback"]) if q.match == "exact"]
    assert exact == [f"{ICB}/plans/", f"http://{OLD_DOMAIN}/", "http://hwics.org.uk/"]
