"""The event rules (tracker.meaning.decide_events), one test per rule, without a crawl.

Each test builds a small archive through storage's `Archive` methods (what the crawl and the analysis would have
written: fetches, extractions, documents, versions, document URLs), then asks `decide_events` what the crawl
means and checks the kind, the document and the versions of every event it recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage import Archive, Event, Extraction, Fetch
from tracker.meaning import decide_events

ICB = "syb-icb"  # an official NHS publisher
COUNCIL = "sheffield-council"  # not official: a copy found here first is a leak
PLAN_URL = "https://www.healthandcaresyb.co.uk/plan.pdf"
COPY_URL = "https://democracy.sheffield.gov.uk/documents/s1234/plan.pdf"
HOME = {ICB: "https://www.healthandcaresyb.co.uk/", COUNCIL: "https://democracy.sheffield.gov.uk/"}

PLAN = ("South Yorkshire and Bassetlaw Joint Forward Plan.\n\n"
        "We will invest £10 million in community services over the next five years.\n\n"
        "The partnership will open two new urgent treatment centres in Doncaster and Rotherham.")
PLAN_REVISED = PLAN.replace("£10 million", "£14 million")
PLAN_RECASED = PLAN.replace("We will invest", "We Will Invest").replace("five years.", "five years .")
OLD_PLAN = ("South Yorkshire and Bassetlaw Sustainability and Transformation Plan.\n\n"
            "The footprint will reduce hospital beds by 120 and move care closer to home.")
DRAFT_PLAN = "DRAFT - NOT FOR CIRCULATION\n\n" + PLAN


@dataclass
class World:
    """An archive and the crawls written into it, as the crawler and the analysis would have left them."""

    archive: Archive
    documents: dict[str, int] = field(default_factory=dict)  # a test's name for a plan -> document id
    versions: dict[str, int] = field(default_factory=dict)  # text -> version id
    day: int = 0

    def crawl(self, *sightings: tuple, also: tuple[str, ...] = ()) -> list[Event]:
        """One crawl of the sources named in `sightings`, then its events (every kind, alerted or not).

        A sighting is (source, url, plan name, text) for a plan served, or (source, url, status) for an answer
        without the plan (404, a timeout when status is None). Every crawled source also serves its home page."""
        self.day += 1
        when = f"2024-01-{self.day:02d}T10:00:"
        sources = sorted({s[0] for s in sightings} | set(also))
        archive = self.archive
        crawl_id = archive.start_crawl(sources)
        seconds = 0

        def record(fetch: Fetch) -> int:
            nonlocal seconds
            seconds += 1
            fetch.crawl_id, fetch.fetched_at = crawl_id, f"{when}{seconds:02d}+00:00"
            return archive.record_fetch(fetch)

        for source in sources:
            fid = record(Fetch(url=HOME[source], source=source, status=200, body=b"<h1>Home</h1>",
                               headers={"Content-Type": "text/html"}))
            archive.mark_fetch_analysed(fid)
        for sighting in sightings:
            if len(sighting) == 3:
                source, url, status = sighting
                fid = record(Fetch(url=url, source=source, status=status, kind="document",
                                   error="timeout" if status is None else None,
                                   body=None if status is None else b"<h1>Not found</h1>"))
                archive.mark_fetch_analysed(fid)
                continue
            source, url, name, text, *rest = sighting
            final_url = rest[0] if rest else None
            body = b"%PDF-1.4 " + text.encode()
            fid = record(Fetch(url=url, source=source, status=200, body=body, kind="document", final_url=final_url,
                               headers={"Content-Type": "application/pdf"}))
            row = archive.fetch(fid)
            text_sha = archive.record_extraction(row["blob_sha256"], Extraction(
                status="ok", extractor="pypdfium2", extractor_version="5", text=text, pages=1, page_offsets=[0]))
            generation, footprint = PLANS[name]
            if name not in self.documents:
                self.documents[name] = archive.create_document(
                    title=f"{name} plan", kind="plan", footprint=footprint, generation=generation, draft=False,
                    seen_at=row["fetched_at"], source=source)
            doc = self.documents[name]
            version, _ = archive.add_version(doc, text_sha256=text_sha, blob_sha256=row["blob_sha256"], fetch_id=fid,
                                             crawl_id=crawl_id, seen_at=row["fetched_at"])
            self.versions.setdefault(text, version)
            archive.add_document_url(doc, source, row["final_url"] or url, row["fetched_at"])
            archive.mark_fetch_analysed(fid, doc, version)
            archive.update_document(doc, current_version_id=version, last_seen_at=row["fetched_at"])
        archive.finish_crawl(crawl_id, {})
        for source in sources:
            archive.note_source_result(source, crawl_id, ok=True)
        ids = decide_events(archive, crawl_id)
        events = [e for e in archive.events(include_all=True) if e.crawl_id == crawl_id]
        assert sorted(e.id for e in events) == sorted(ids)
        return events


PLANS = {"jfp": ("2022-joint-forward-plan", "QF7"), "stp": ("2016-stp", "QF7")}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("STP_TRACKER_WITHDRAW_CONFIRMATIONS", raising=False)
    with Archive(tmp_path / "archive") as archive:
        archive.upsert_source(ICB, footprint="QF7", kind="site", official=True, config={})
        archive.upsert_source(COUNCIL, footprint="QF7", kind="moderngov", official=False, config={})
        w = World(archive)
        # The first crawl of each source is its baseline: what it already serves raises no alert.
        assert w.crawl(also=(ICB, COUNCIL)) == []
        yield w


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def test_first_crawl_is_a_quiet_baseline(tmp_path):
    with Archive(tmp_path / "a") as archive:
        archive.upsert_source(ICB, footprint="QF7", kind="site", official=True, config={})
        w = World(archive)
        [event] = w.crawl((ICB, PLAN_URL, "jfp", PLAN))
        assert (event.kind, event.alert, event.document_id) == ("baseline", False, w.documents["jfp"])
        assert archive.document(w.documents["jfp"])["meta"]["announced"] == "baseline-official"


def test_unofficial_first_sighting_is_a_leak(world):
    [event] = world.crawl((COUNCIL, COPY_URL, "jfp", PLAN))
    assert event.kind == "leaked" and event.alert
    assert event.document_id == world.documents["jfp"]
    assert (event.version_before, event.version_after) == (None, world.versions[PLAN])
    assert (event.source, event.official) == (COUNCIL, False)
    assert "not an official NHS publisher" in event.summary


def test_draft_on_an_official_site_is_a_leak(world):
    [event] = world.crawl((ICB, PLAN_URL, "jfp", DRAFT_PLAN))
    assert event.kind == "leaked" and event.official is True
    assert "marked draft or confidential" in event.summary


def test_official_first_sighting_is_published(world):
    [event] = world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert (event.kind, event.document_id, event.version_after) == ("published", world.documents["jfp"],
                                                                    world.versions[PLAN])
    assert (event.source, event.official, event.url) == (ICB, True, PLAN_URL)
    assert world.archive.document(world.documents["jfp"])["meta"]["announced"] == "published"


def test_a_leak_then_its_official_copy_is_one_publication(world):
    assert kinds(world.crawl((COUNCIL, COPY_URL, "jfp", PLAN))) == ["leaked"]
    [event] = world.crawl((COUNCIL, COPY_URL, "jfp", PLAN), (ICB, PLAN_URL, "jfp", PLAN))
    assert (event.kind, event.document_id) == ("published", world.documents["jfp"])
    assert event.version_before == event.version_after == world.versions[PLAN]
    assert "identical to the draft" in event.summary
    # Seen again on both: nothing new to say.
    assert world.crawl((COUNCIL, COPY_URL, "jfp", PLAN), (ICB, PLAN_URL, "jfp", PLAN)) == []


def test_published_after_a_different_leak_says_how_it_differs(world):
    world.crawl((COUNCIL, COPY_URL, "jfp", PLAN))
    [event] = world.crawl((ICB, PLAN_URL, "jfp", PLAN_REVISED))
    assert event.kind == "published"
    assert (event.version_before, event.version_after) == (world.versions[PLAN], world.versions[PLAN_REVISED])
    assert event.changes["significant"] is True


def test_a_significant_change_is_a_revision(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    [event] = world.crawl((ICB, PLAN_URL, "jfp", PLAN_REVISED))
    assert (event.kind, event.document_id) == ("revised", world.documents["jfp"])
    assert (event.version_before, event.version_after) == (world.versions[PLAN], world.versions[PLAN_REVISED])
    assert not event.changes.get("reverted")
    assert "Changed back" not in event.summary


def test_an_insignificant_change_is_no_event(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert world.crawl((ICB, PLAN_URL, "jfp", PLAN_RECASED)) == []
    assert world.versions[PLAN_RECASED] != world.versions[PLAN]  # a new version was archived all the same


def test_a_then_b_then_a_is_a_change_back(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert kinds(world.crawl((ICB, PLAN_URL, "jfp", PLAN_REVISED))) == ["revised"]
    [event] = world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert event.kind == "revised" and event.changes["reverted"] is True
    assert (event.version_before, event.version_after) == (world.versions[PLAN_REVISED], world.versions[PLAN])
    assert "Changed back" in event.summary


def test_copies_that_differ_are_judged_per_source(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN_REVISED), (COUNCIL, COPY_URL, "jfp", PLAN_REVISED))
    assert kinds(world.crawl((ICB, PLAN_URL, "jfp", PLAN), (COUNCIL, COPY_URL, "jfp", PLAN_REVISED))) == ["revised"]
    # Each keeps serving what it served: their difference is old news, not another change.
    assert world.crawl((ICB, PLAN_URL, "jfp", PLAN), (COUNCIL, COPY_URL, "jfp", PLAN_REVISED)) == []


def test_a_new_generation_for_a_footprint_replaces_the_old_plan(world):
    assert kinds(world.crawl((ICB, "https://www.healthandcaresyb.co.uk/stp.pdf", "stp", OLD_PLAN))) == ["published"]
    [event] = world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert (event.kind, event.document_id) == ("replaced", world.documents["jfp"])
    assert event.changes["replaces"]["id"] == world.documents["stp"]
    assert event.changes["replaces"]["generation"] == "2016-stp"
    assert world.archive.document(world.documents["stp"])["meta"]["replaced_by"] == world.documents["jfp"]


def test_withdrawn_only_after_repeated_confirmation(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert world.crawl((ICB, PLAN_URL, None)) == []  # a timeout proves nothing
    assert world.crawl((ICB, PLAN_URL, 404)) == []  # gone once: not yet
    doc = world.archive.document(world.documents["jfp"])
    assert doc["status"] == "live" and doc["meta"]["missing"] == {ICB: 1}
    [event] = world.crawl((ICB, PLAN_URL, 404))
    assert (event.kind, event.document_id, event.source) == ("withdrawn", world.documents["jfp"], ICB)
    assert event.version_before == world.versions[PLAN]
    assert world.archive.document(world.documents["jfp"])["status"] == "withdrawn"
    assert world.crawl((ICB, PLAN_URL, 404)) == []  # withdrawn once, not again


def test_gone_once_then_back_is_no_withdrawal(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert world.crawl((ICB, PLAN_URL, 404)) == []
    assert world.crawl((ICB, PLAN_URL, "jfp", PLAN)) == []
    assert world.crawl((ICB, PLAN_URL, 404)) == []  # the count started again
    assert world.archive.document(world.documents["jfp"])["status"] == "live"


def test_a_withdrawn_plan_served_again_is_reinstated(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    world.crawl((ICB, PLAN_URL, 404))
    assert kinds(world.crawl((ICB, PLAN_URL, 404))) == ["withdrawn"]
    [event] = world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    assert (event.kind, event.document_id, event.source) == ("reinstated", world.documents["jfp"], ICB)
    assert event.version_after == world.versions[PLAN]
    assert world.archive.document(world.documents["jfp"])["status"] == "live"


def test_the_same_text_at_a_new_url_is_a_quiet_move(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    new_url = "https://www.healthandcaresyb.co.uk/publications/plan.pdf"
    [event] = world.crawl((ICB, new_url, "jfp", PLAN))
    assert (event.kind, event.document_id, event.url, event.alert) == ("moved", world.documents["jfp"], new_url,
                                                                       False)
    assert PLAN_URL in event.summary and "redirects" not in event.summary


def test_a_redirect_within_the_site_is_a_move(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    new_url = "https://www.healthandcaresyb.co.uk/publications/plan.pdf"
    [event] = world.crawl((ICB, PLAN_URL, "jfp", PLAN, new_url))
    assert (event.kind, event.url) == ("moved", new_url)
    assert "the old URL redirects there" in event.summary


def test_decide_events_runs_once_per_crawl(world):
    world.crawl((ICB, PLAN_URL, "jfp", PLAN))
    crawl_id = world.archive.crawls(limit=1)[0]["id"]
    assert decide_events(world.archive, crawl_id) == []
    assert len(world.archive.events(include_all=True)) == 1
