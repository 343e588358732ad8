"""Preservation (issue 9): new finds are sent to Save Page Now (a fake SPN2 on 127.0.0.1 that really fetches the
page), the capture URL is recorded with the version, failures are retried then given up with the archive's words,
historical events are never sent, and the access keys appear nowhere but in the Authorization header."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from clirun import run_cli
from fakearchive import FakeArchive
from fixtureweb import FixtureWeb
from pdfgen import make_pdf
from storage import Archive, Event, Extraction, Fetch
from test_crawler import write_sources
from tracker.webarchives.preserve import PreserveConfig, preserve_round
from tracker.web import create_app

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tracker.cli"]
PDF = "application/pdf"
ACCESS, SECRET = "test-access", "test-secret"


def plan(name: str, beds: int) -> bytes:
    return make_pdf([f"{name} Sustainability and Transformation Plan 2016/17 to 2020/21",
                     f"The {name} plan reduces acute beds by {beds} and closes one A&E overnight.",
                     f"{name}: the funding gap is £571m by 2020/21 unless services change."], title=f"{name} STP")


def configure(home: Path, fake: FakeArchive, **extra: object) -> None:
    settings = {"enabled": True, "spn_url": fake.spn_url, "wayback_url": fake.wayback_url, "access_key": ACCESS,
                "secret": SECRET, "delay": 0.0, "poll_every": 0.2, "retry_after": 0.0, **extra}
    lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    (home / "config.toml").write_text("[crawl.scrapy]\nAUTOTHROTTLE_ENABLED = false\nDOWNLOAD_DELAY = 0\n"
                                      "RETRY_TIMES = 0\n\n[preserve]\n" + "\n".join(lines) + "\n")


def run(home: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess:
    return run_cli(home, *args, timeout=180, code=code)


@pytest.fixture
def fake():
    server = FakeArchive().start()
    yield server
    server.stop()


@pytest.fixture
def site(web: FixtureWeb, home: Path) -> Path:
    web.set("/", '<h1>Our plans</h1><a href="/plans/alpha.pdf">Alpha STP</a>')
    web.set("/plans/alpha.pdf", plan("Alpha", 180), PDF)
    return write_sources(home.parent / "sources.toml", [
        {"name": "ics", "footprint": "QF7", "official": True, "start_urls": [web.url("/")], "max_depth": 1}])


def test_a_new_plan_is_captured_and_the_capture_is_cited_with_its_version(web, home, fake, site) -> None:
    configure(home, fake)
    outputs = [run(home, "crawl", "--sources", str(site))]  # the first crawl is a baseline: nothing is news
    assert json.loads(run(home, "preserve", "--list", "--json").stdout) == []
    assert fake.requests_to("/save") == []

    web.set("/", '<h1>Our plans</h1><a href="/plans/alpha.pdf">Alpha</a> <a href="/plans/beta.pdf">Beta</a>')
    web.set("/plans/beta.pdf", plan("Beta", 320), PDF)
    outputs.append(run(home, "crawl", "--sources", str(site)))
    assert "Save Page Now: 1 captures requested" in outputs[-1].stderr
    outputs.append(run(home, "preserve", "--wait", "30", "--json"))
    rows = json.loads(outputs[-1].stdout)
    assert [(r["url"], r["status"]) for r in rows] == [(web.url("/plans/beta.pdf"), "captured")]
    capture = rows[0]["capture_url"]
    assert capture.startswith(fake.wayback_url + "/") and capture.endswith("/" + web.url("/plans/beta.pdf"))

    # The independent copy holds the very bytes we archived for that version.
    timestamp = capture[len(fake.wayback_url) + 1:].split("/", 1)[0]
    with urllib.request.urlopen(f"{fake.wayback_url}/{timestamp}id_/{web.url('/plans/beta.pdf')}") as answer:
        copy = answer.read()
    with Archive(home, readonly=True) as archive:
        version = archive.version(rows[0]["version_id"])
        assert archive.blob(version["blob_sha256"]) == copy
        event = archive.event(rows[0]["event_id"])
        assert event.kind == "published" and event.version_after == rows[0]["version_id"]

    history = json.loads(run(home, "history", str(version["document_id"]), "--json").stdout)
    assert [p["capture_url"] for v in history for p in v["preservations"]] == [capture]
    page = TestClient(create_app(home)).get(f"/versions/{rows[0]['version_id']}")
    assert "Independent copy" in page.text and f'href="{capture}"' in page.text

    # Asked once, with the keys only in the Authorization header; nowhere in output or archive.
    assert len([r for r in fake.requests if r[0] == "/save"]) == 1
    assert fake.spn_auth_seen == [f"LOW {ACCESS}:{SECRET}"]
    outputs.append(run(home, "preserve", "--json"))  # nothing due: nothing asked again
    assert len([r for r in fake.requests if r[0] == "/save"]) == 1
    for output in outputs:
        assert SECRET not in output.stdout + output.stderr
    assert SECRET.encode() not in (home / "archive.db").read_bytes()


def test_the_daemon_asks_for_finds_it_has_not_asked_for_yet(web, home, fake, site) -> None:
    run(home, "crawl", "--sources", str(site))
    web.set("/", '<h1>Our plans</h1><a href="/plans/alpha.pdf">Alpha</a> <a href="/plans/beta.pdf">Beta</a>')
    web.set("/plans/beta.pdf", plan("Beta", 320), PDF)
    run(home, "crawl", "--sources", str(site))  # found while preservation was off
    configure(home, fake)
    daemon = run(home, "run", "--once", "--sources", str(site))
    assert "preservation" in daemon.stderr and SECRET not in daemon.stderr
    with Archive(home, readonly=True) as archive:
        rows = archive.preservations()
    assert [(r["url"], r["status"]) for r in rows] == [(web.url("/plans/beta.pdf"), "requested")]
    assert rows[0]["job_id"] in fake.spn_jobs


def test_refusals_are_retried_and_a_failed_capture_ends_with_the_archives_words(web, home, fake, site) -> None:
    configure(home, fake, max_attempts=3)
    run(home, "crawl", "--sources", str(site))
    web.set("/", '<h1>Our plans</h1><a href="/plans/alpha.pdf">Alpha</a> <a href="/plans/beta.pdf">Beta</a>'
                 ' <a href="/plans/gamma.pdf">Gamma</a>')
    web.set("/plans/beta.pdf", plan("Beta", 320), PDF)
    web.set("/plans/gamma.pdf", plan("Gamma", 90), PDF)
    fake.spn_fail_next(429, retry_after="0")  # the first request is refused: busy
    fake.spn_job_error(web.url("/plans/gamma.pdf"), "error:blocked-url",
                       "This URL is in the Save Page Now service block list.")
    crawled = run(home, "crawl", "--sources", str(site))
    assert "failed (retried later)" in crawled.stderr
    with Archive(home, readonly=True) as archive:
        refused = [r for r in archive.preservations() if r["attempts"] == 1]
        assert len(refused) == 1 and refused[0]["status"] == "pending" and "HTTP 429" in refused[0]["error"]

    rows = {r["url"].rsplit("/", 1)[-1]: r for r in json.loads(run(home, "preserve", "--wait", "30", "--json").stdout)}
    assert rows["beta.pdf"]["status"] == "captured"
    # error:blocked-url is permanent: failed at once, not retried to max_attempts (the 429 may have been its).
    assert rows["gamma.pdf"]["status"] == "failed" and rows["gamma.pdf"]["attempts"] in (1, 2)
    assert "error:blocked-url" in rows["gamma.pdf"]["error"]
    assert "block list" in rows["gamma.pdf"]["error"]


def test_historical_baseline_and_old_events_are_never_sent(home, fake) -> None:
    config = PreserveConfig(enabled=True, spn_url=fake.spn_url, wayback_url=fake.wayback_url, access_key=ACCESS,
                            secret=SECRET, delay=0.0)
    with Archive(home) as archive:
        document = archive.create_document(title="SYB STP", kind="plan", footprint="QF7", generation="stp-2016",
                                           draft=False, seen_at="2016-11-20T09:30:00+00:00", source="ics")
        version = _version(archive, document)
        base = {"document_id": document, "version_after": version, "url": "https://example.org/stp.pdf"}
        archive.record_event(Event(kind="published", summary="backfilled", historical=True, **base))
        archive.record_event(Event(kind="baseline", summary="first crawl", alert=False, **base))
        archive.record_event(Event(kind="revised", summary="years ago", detected_at="2019-01-01T00:00:00+00:00",
                                   **base))
        report = preserve_round(archive, config)
        assert (report.queued, report.requested) == (0, 0)
        assert archive.preservations() == []
    assert fake.requests == []


def _version(archive: Archive, document: int) -> int:
    """A version of a document, through the archive's own writers: a fetch, its text, the version."""
    crawl = archive.start_crawl(["ics"])
    body = plan("SYB", 180)
    fetch = archive.record_fetch(Fetch(url="https://example.org/stp.pdf", source="ics", crawl_id=crawl, status=200,
                                       body=body, headers={"Content-Type": PDF}, kind="document"))
    sha = archive.fetch(fetch)["blob_sha256"]
    text = archive.record_extraction(sha, Extraction(status="ok", extractor="test", extractor_version="1",
                                                     text="The plan reduces acute beds by 180."))
    version, _ = archive.add_version(document, text_sha256=text, blob_sha256=sha, fetch_id=fetch, crawl_id=crawl,
                                     seen_at="2016-11-20T09:30:00+00:00")
    return version


def test_settings_are_checked_before_anything_is_asked(home, fake, site) -> None:
    (home / "config.toml").write_text("[preserve]\nenabled = true\n")
    for args in (("preserve",), ("crawl", "--sources", str(site))):
        result = run(home, *args, code=2)
        assert "Save Page Now keys" in result.stderr and "Traceback" not in result.stderr
        # One plain line: no markup tags printed as text, "[preserve]" not eaten as markup.
        assert result.stderr.strip().count("\n") == 0 and "[red]" not in result.stderr, result.stderr
        assert "[preserve] enabled needs" in result.stderr
    (home / "config.toml").write_text("[preserve]\nkinds = [\"withdrawn\"]\n")
    assert "not events with a new version" in run(home, "preserve", code=2).stderr
    (home / "config.toml").write_text("[preserve]\nenabled = \"yes\"\n")
    assert "[preserve] enabled: expected true or false" in run(home, "preserve", code=2).stderr
    (home / "config.toml").write_text("[preserve]\nper_round = \"SK-4471\"\n")
    wrong = run(home, "preserve", code=2).stderr
    assert "[preserve] per_round: expected a whole number" in wrong and "SK-4471" not in wrong  # a value may be a secret
    (home / "config.toml").write_text("")
    assert "Save Page Now is off" in run(home, "preserve", code=2).stderr
    env = PreserveConfig.load(home, environ={"STP_TRACKER_SPN_ACCESS_KEY": "AK-7731", "STP_TRACKER_SPN_SECRET": "SK-9902"})
    assert (env.access_key, env.secret, env.enabled) == ("AK-7731", "SK-9902", False)
    assert "AK-7731" not in repr(env) and "SK-9902" not in repr(env)  # a logged config shows no keys


def _find(archive: Archive, url: str, title: str) -> int:
    """A new find at `url`: a document, its version (through the archive's writers) and a live `published`."""
    document = archive.create_document(title=title, kind="plan", footprint="QF7", generation="stp-2016",
                                       draft=False, seen_at="2026-01-01T00:00:00+00:00", source="ics")
    crawl = archive.start_crawl(["ics"])
    fetch = archive.record_fetch(Fetch(url=url, source="ics", crawl_id=crawl, status=200, body=plan(title, 1),
                                       headers={"Content-Type": PDF}, kind="document"))
    sha = archive.fetch(fetch)["blob_sha256"]
    text = archive.record_extraction(sha, Extraction(status="ok", extractor="test", extractor_version="1",
                                                     text=f"{title} reduces acute beds."))
    version, _ = archive.add_version(document, text_sha256=text, blob_sha256=sha, fetch_id=fetch, crawl_id=crawl,
                                     seen_at="2026-01-01T00:00:00+00:00")
    archive.record_event(Event(kind="published", summary=title, document_id=document, version_after=version, url=url))
    return version


def test_save_page_now_as_it_really_answers(web, home, fake) -> None:
    """Issue 15, case 9: "The same snapshot had been made 3 minutes ago" (no job) is that snapshot; permanent
    status_ext errors are final at once; a capture of another URL than the one asked for is never cited."""
    web.set("/plans/other.pdf", plan("Other", 2), PDF)
    same, other = web.url("/plans/same.pdf"), web.url("/plans/other.pdf")
    unresolvable, blocked = "https://ccg.invalid/stp.pdf", web.url("/plans/blocked.pdf")
    fake.spn_same_snapshot(same, minutes=3)
    fake.spn_capture_as(other, web.url("/login?next=/plans/other.pdf"))
    fake.spn_job_error(unresolvable, "error:invalid-host-resolution", "Couldn't resolve host for ccg.invalid.")
    fake.spn_job_error(blocked, "error:blocked-url", "This URL is in the Save Page Now service block list.")
    config = PreserveConfig(enabled=True, spn_url=fake.spn_url, wayback_url=fake.wayback_url, cdx_url=fake.cdx_url,
                            access_key=ACCESS, secret=SECRET, delay=0.0, poll_every=0.0, retry_after=0.0,
                            max_attempts=6)
    with Archive(home) as archive:
        for index, url in enumerate([same, other, unresolvable, blocked]):
            _find(archive, url, f"Plan {index}")
        for _ in range(6):
            preserve_round(archive, config)
            if not archive.preservations(status="requested") + archive.preservations(status="pending"):
                break
        rows = {r["url"]: r for r in archive.preservations()}
    snapshot = next(c for c in fake.captures if c.url == same)
    assert rows[same]["status"] == "captured" and rows[same]["attempts"] == 0
    assert rows[same]["capture_url"] == f"{fake.wayback_url}/{snapshot.timestamp}/{same}"
    for url, words in ((unresolvable, "error:invalid-host-resolution"), (blocked, "error:blocked-url")):
        assert (rows[url]["status"], rows[url]["attempts"]) == ("failed", 1), rows[url]
        assert words in rows[url]["error"]
    assert rows[other]["status"] == "failed" and rows[other]["capture_url"] is None
    assert "not the URL asked for" in rows[other]["error"] and rows[other]["attempts"] == 1
    posted = [path for path, _ in fake.requests if path == "/save"]
    assert len(posted) == 4, "each asked once: nothing permanent is asked again"
