"""Issue 19: what keeps search and filing flat as the archive grows keeps their answers.

Search ranks only the newest matching texts once there are many (Archive.RANK_NEWEST), and filtered search finds
them one of two ways (texts of the few documents passing, or matches checked a chunk at a time); fingerprints
are stored with each text; a document's past sightings come one row per source, URL and version."""

from __future__ import annotations

from pathlib import Path

from storage import Archive, Extraction, Fetch
from tracker.meaning import identity
from tracker.meaning.filing import Fingerprints


def _plan(archive: Archive, crawl: int, n: int, text: str, footprint: str, seen: str) -> int:
    url = f"https://example.org/plan-{n}.pdf"
    fetch = archive.record_fetch(Fetch(url=url, source="ics", crawl_id=crawl, status=200, body=f"%PDF {n}".encode(),
                                       headers={"Content-Type": "application/pdf"}, kind="document"))
    sha = archive.fetch(fetch)["blob_sha256"]
    text_sha = archive.record_extraction(sha, Extraction(status="ok", extractor="test", extractor_version="1",
                                                         text=text))
    document = archive.create_document(title=f"Plan {n}", kind="plan", footprint=footprint, generation="2016-stp",
                                       draft=False, seen_at=seen, source="ics")
    version, _ = archive.add_version(document, text_sha256=text_sha, blob_sha256=sha, fetch_id=fetch,
                                     crawl_id=crawl, seen_at=seen)
    archive.mark_fetch_analysed(fetch, document, version)
    archive.update_document(document, current_version_id=version)
    return document


def _archive(path: Path) -> Archive:
    archive = Archive(path)
    crawl = archive.start_crawl(["ics"])
    for n in range(60):
        beds = "beds " * (1 + n % 11)
        _plan(archive, crawl, n, f"Plan {n}: the acute {beds}figure changes. Filler {n}.",
              "QF7" if n % 6 == 0 else "QE1", f"2016-{1 + n % 12:02d}-10T09:00:00+00:00")
    return archive


def test_ranking_the_newest_matches_is_ranking_all_of_them_when_they_are_few(tmp_path: Path) -> None:
    with _archive(tmp_path / "home") as archive:
        everything = archive.search_filtered("beds", limit=60)
        assert len(everything) == 60
        archive.RANK_NEWEST = 10  # fewer than the 60 matches: the newest max(10, 4 x 5) texts are ranked
        newest = archive.search_filtered("beds", limit=5)
        newest_ids = sorted(r["version_id"] for r in everything)[-20:]
        best_of_newest = [r["version_id"] for r in everything if r["version_id"] in newest_ids][:5]
        assert [r["version_id"] for r in newest] == best_of_newest
        assert [r["version_id"] for r in everything[:5]] != best_of_newest  # so the cap did change the page
        archive.RANK_NEWEST = 10**6
        assert archive.search_filtered("beds", limit=60) == everything


def test_both_filtered_paths_give_the_same_page_and_respect_the_filters(tmp_path: Path) -> None:
    with _archive(tmp_path / "home") as archive:
        for filters in ({"footprint": "QF7"}, {"footprint": "QE1"}, {"seen_from": "2016-06-01", "seen_to": "2016-08-31"},
                        {"footprint": "QE1", "seen_to": "2016-03-31"}):
            archive._FEW = 1.0  # texts of the passing documents first
            few = archive.search_filtered("beds", limit=20, **filters)
            archive._FEW = -1.0  # matches checked a chunk at a time
            archive._CHUNK = 7
            many = archive.search_filtered("beds", limit=20, **filters)
            assert [r["version_id"] for r in few] == [r["version_id"] for r in many], filters
            assert few, filters
            for row in few:
                assert row["footprint"] == filters.get("footprint", row["footprint"])
                assert filters.get("seen_from", "") <= row["first_seen_at"][:10] <= filters.get("seen_to", "9999")
            assert [r["rank"] for r in few] == sorted(r["rank"] for r in few)


def test_fingerprints_are_stored_with_the_text_and_read_back_the_same(tmp_path: Path) -> None:
    text = "The acute reconfiguration moves stroke services to two hyper-acute units. " * 50
    with Archive(tmp_path / "home") as archive:
        crawl = archive.start_crawl(["ics"])
        _plan(archive, crawl, 1, text, "QF7", "2016-11-10T09:00:00+00:00")
        text_sha = archive.version(archive.search_filtered("stroke")[0]["version_id"])["text_sha256"]
        assert archive.text_fingerprint(text_sha, identity.METHOD) is None
        made = Fingerprints(archive).of(text_sha)
        assert made == identity.fingerprint(text)
        stored = archive.text_fingerprint(text_sha, identity.METHOD)
        assert stored is not None and identity.unpack(stored) == made
        assert archive.text_fingerprint(text_sha, "another-method") is None  # a changed method makes them again
        assert Fingerprints(archive).of(text_sha) == made  # a new analysis reads it back


def test_prior_sightings_are_one_row_per_source_url_and_version(tmp_path: Path) -> None:
    with Archive(tmp_path / "home") as archive:
        first = archive.start_crawl(["ics"])
        document = _plan(archive, first, 1, "Plan text one about beds.", "QF7", "2016-11-10T09:00:00+00:00")
        version = archive.versions_of(document)[0]["id"]
        crawls = [first]
        for day in range(2, 8):  # re-fetched (304) in six more crawls, at the same URL
            crawl = archive.start_crawl(["ics"])
            crawls.append(crawl)
            fetch = archive.record_fetch(Fetch(url="https://example.org/plan-1.pdf", source="ics", crawl_id=crawl,
                                               status=304, not_modified=True, kind="document",
                                               fetched_at=f"2099-01-{day:02d}T09:00:00+00:00"))
            archive.mark_fetch_analysed(fetch, document, version)
        rows = archive.prior_sightings(document, crawls[-1])
        assert [(r["source"], r["url"], r["version_id"]) for r in rows] == [
            ("ics", "https://example.org/plan-1.pdf", version)]
        assert rows[0]["crawl_id"] == crawls[-2]  # the latest fetch before this crawl
        assert archive.prior_sightings(document, first) == []
        assert len(archive.prior_sightings(document, crawls[-1], captured_before="2099-01-04")) == 1
        assert archive.seen_elsewhere_in_crawl(document, crawls[-1], "ics", "https://example.org/other.pdf")
        assert not archive.seen_elsewhere_in_crawl(document, crawls[-1], "ics", "https://example.org/plan-1.pdf")
        [candidate] = archive.plan_candidates("QF7", crawls[-1], "ics", "https://example.org/other.pdf")
        assert candidate["id"] == document and candidate["seen_elsewhere"]
        assert candidate["current_text_sha256"] == archive.version(version)["text_sha256"]
        assert not archive.plan_candidates("QF7", crawls[-1], "ics", "https://example.org/plan-1.pdf")[0]["seen_elsewhere"]
        assert archive.plan_candidates("QE1", crawls[-1], "ics", "x") == []
        assert len(archive.plan_candidates(None, crawls[-1], "ics", "x")) == 1  # no footprint: every plan
