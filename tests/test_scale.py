"""Issue 19: what keeps search and filing flat as the archive grows keeps their answers.

Search ranks only the newest matching texts once there are many (Archive.RANK_NEWEST), and filtered search finds
them one of two ways (texts of the few documents passing, or matches checked a chunk at a time); fingerprints
are stored with each text; a document's past sightings come one row per source, URL and version."""

from __future__ import annotations

import random
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


# -- filing's candidate prefilter: summaries stored beside fingerprints ------------------------------------------

SYB_WORDS = ("care community hospital services patients primary neighbourhood workforce prevention digital urgent "
             "mental health outcomes access waiting elective discharge estates capital partners carers children "
             "frailty pathways beds clinics staff quality safety finance deficit efficiency").split()
JFP_COVER = ("NHS South Yorkshire Integrated Care Board\nJoint Forward Plan 2026/27 - 2030/31\n\nForeword\n"
             "This is our Joint Forward Plan, prepared under the Health and Care Act 2022 with our partners in the\n"
             "South Yorkshire Integrated Care Partnership.\n")


def _long_plan_lines(seed: int, lines: int = 2000) -> list[str]:
    """A long plan's body (24,000 words: a sampled fingerprint of ~6,000 hashes, past the sketch's bound)."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(SYB_WORDS) for _ in range(12)) for _ in range(lines)]


def _file_text(archive: Archive, crawl: int, url: str, text: str, prints: Fingerprints) -> int:
    """Record a fetch of `url` whose body extracted to `text`, and file it as analysis does; its document."""
    from tracker.meaning import classify, file_fetch

    fetch_id = archive.record_fetch(Fetch(url=url, source="syb-icb", crawl_id=crawl, status=200,
                                          body=text.encode(), headers={"Content-Type": "application/pdf"},
                                          kind="document"))
    row = archive.fetch(fetch_id)
    archive.record_extraction(row["blob_sha256"], Extraction(status="ok", extractor="test", extractor_version="1",
                                                             text=text))
    sources = {s["name"]: s for s in archive.sources()}
    with archive.transaction():
        file_fetch(archive, row, sources, prints, classify)
    return archive.fetch(fetch_id)["document_id"]


def test_the_sketch_prefilter_finds_a_re_laid_out_plan_at_a_new_url_and_never_reads_an_unrelated_one(
        tmp_path: Path) -> None:
    plan_lines, other_lines = _long_plan_lines(1), _long_plan_lines(2)
    plan = JFP_COVER + "\n".join(plan_lines)
    other = JFP_COVER.replace("Foreword", "Our plan for the workforce") + "\n".join(other_lines)
    # The plan again, re-laid out (another line width) with one line in seven rewritten and a section added.
    rng = random.Random(3)
    edited = [" ".join(rng.choice(SYB_WORDS) for _ in range(12)) if n % 7 == 3 else line
              for n, line in enumerate(plan_lines)]
    words = " ".join(edited).split()
    relaid = JFP_COVER + "\n".join(" ".join(words[i:i + 17]) for i in range(0, len(words), 17)) + \
        "\nSection 99\nThe acute bed base will reduce by 120 beds by 2028."
    with Archive(tmp_path / "home") as archive:
        archive.upsert_source("syb-icb", footprint="QF7", kind="site", official=True, config={})
        first = archive.start_crawl(["syb-icb"])
        prints = Fingerprints(archive)
        plan_doc = _file_text(archive, first, "https://example.org/plans/jfp.pdf", plan, prints)
        other_doc = _file_text(archive, first, "https://example.org/plans/workforce.pdf", other, prints)
        assert plan_doc != other_doc and archive.document(plan_doc)["kind"] == "plan"
        archive.finish_crawl(first, {})

        relaid_prints, other_sha = identity.fingerprint(relaid), archive.version(
            archive.document(other_doc)["current_version_id"])["text_sha256"]
        mine = identity.summarise(relaid, relaid_prints)
        theirs = Fingerprints(archive).summary(other_sha)
        assert relaid_prints.sampled and theirs.hashes > 2393  # both long enough for the sketch to decide
        assert identity.containment(relaid_prints, identity.fingerprint(plan)) >= identity.SAME_PLAN
        assert identity.containment(relaid_prints, identity.fingerprint(other)) < 0.1
        assert not identity.may_be_same_plan(mine, theirs)

        read: list[str] = []
        real = archive.text_fingerprints

        def spy(shas: list[str], method: str) -> dict[str, bytes]:
            read.extend(shas)
            return real(shas, method)

        archive.text_fingerprints = spy  # type: ignore[method-assign]
        second = archive.start_crawl(["syb-icb"])  # a new analysis: nothing in memory from the first
        moved = _file_text(archive, second, "https://example.org/publications/jfp-2026.pdf", relaid,
                           Fingerprints(archive))
        assert moved == plan_doc  # a version of the plan, found at a URL it was never seen at
        assert len(archive.versions_of(plan_doc)) == 2
        assert other_sha not in read  # ruled out by its sketch: its fingerprint was never read


def test_sketch_prefilter_never_rules_out_a_pair_at_the_threshold() -> None:
    """Pairs of long fingerprints sharing just over SAME_PLAN of the smaller are always compared; texts too short for
    the bound are always compared; long unrelated ones are ruled out."""
    rng = random.Random(5)

    def sample(n: int) -> set[int]:
        return {rng.getrandbits(62) * identity.SAMPLE for _ in range(n)}  # a sample: every hash 0 mod SAMPLE

    for n in (2400, 3000, 6000):
        for _ in range(30):
            a = sample(n)
            shared = set(rng.sample(sorted(a), int(n * identity.SAME_PLAN) + 1))
            b = identity.Fingerprint(shared | sample(n // 2))
            a = identity.Fingerprint(a)
            assert identity.containment(a, b) >= identity.SAME_PLAN
            assert identity.may_be_same_plan(identity.summarise("a", a), identity.summarise("b", b))
    long_a, long_b = identity.Fingerprint(sample(6000)), identity.Fingerprint(sample(6000))
    assert not identity.may_be_same_plan(identity.summarise("a", long_a), identity.summarise("b", long_b))
    short_a, short_b = identity.Fingerprint(sample(500)), identity.Fingerprint(sample(500))
    assert identity.containment(short_a, short_b) == 0.0
    assert identity.may_be_same_plan(identity.summarise("a", short_a), identity.summarise("b", short_b))
    # A short full fingerprint against a long sample is compared on the sample's share, as `containment` does.
    full = identity.Fingerprint({rng.getrandbits(64) for _ in range(1500)})
    assert not full.sampled and identity.may_be_same_plan(identity.summarise("a", full),
                                                          identity.summarise("b", long_a))


def test_a_fingerprint_stored_before_summaries_is_completed_when_filing_meets_it(tmp_path: Path) -> None:
    plan = JFP_COVER + "\n".join(_long_plan_lines(7, 300))
    with Archive(tmp_path / "home") as archive:
        archive.upsert_source("syb-icb", footprint="QF7", kind="site", official=True, config={})
        first = archive.start_crawl(["syb-icb"])
        document = _file_text(archive, first, "https://example.org/plans/jfp.pdf", plan, Fingerprints(archive))
        text_sha = archive.version(archive.document(document)["current_version_id"])["text_sha256"]
        made = archive.text_fingerprint(text_sha, identity.METHOD)
        archive.save_text_fingerprint(text_sha, identity.METHOD, made)  # as migration 11's rows were: no summary
        assert archive.text_fingerprint_summaries([text_sha], identity.METHOD)[text_sha]["words"] is None
        archive.finish_crawl(first, {})
        second = archive.start_crawl(["syb-icb"])
        # The same words in another rendition (re-wrapped) at a new URL: the same version of the same document.
        again = _file_text(archive, second, "https://example.org/plans/jfp-accessible.pdf",
                           plan.replace("\n", " \n "), Fingerprints(archive))
        assert again == document and len(archive.versions_of(document)) == 1
        stored = archive.text_fingerprint_summaries([text_sha], identity.METHOD)[text_sha]
        assert stored["words"] == identity.words_key(plan) and stored["hashes"] == len(identity.unpack(made))
        assert identity.unpack(stored["sketch"]) == identity.summarise(plan, identity.unpack(made)).sketch


def test_migration_13_keeps_the_fingerprints_and_puts_the_summaries_before_them(tmp_path: Path) -> None:
    import sqlite_utils

    from storage.schema import MIGRATIONS, _m013_fingerprint_summaries

    home = tmp_path / "home"
    home.mkdir()
    db = sqlite_utils.Database(home / "archive.db")
    for number, step in enumerate(MIGRATIONS[:11], start=1):  # an archive as issue 19's first release left it
        step(db)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute("INSERT INTO texts (sha256, text, length) VALUES ('t1', 'some text', 9)")
    db.execute("INSERT INTO text_fingerprints (text_sha256, method, shingles) VALUES ('t1', 'm', x'0102')")
    db.conn.commit()
    db.close()
    with Archive(home) as archive:
        columns = [r[1] for r in archive.db.execute("PRAGMA table_info(text_fingerprints)").fetchall()]
        assert columns == ["text_sha256", "method", "words", "hashes", "sampled_hashes", "sketch", "shingles"]
        assert archive.text_fingerprint("t1", "m") == b"\x01\x02"
        assert archive.text_fingerprint_summaries(["t1"], "m") == {
            "t1": {"words": None, "hashes": None, "sampled_hashes": None, "sketch": None}}
        archive.save_text_fingerprint("t1", "m", b"\x01\x02", words="w", hashes=1, sampled_hashes=0, sketch=b"")
        _m013_fingerprint_summaries(archive.db)  # run again (migrations renumbered): nothing is lost
        assert archive.text_fingerprint_summaries(["t1"], "m")["t1"]["words"] == "w"
        plan = archive.db.execute("EXPLAIN QUERY PLAN SELECT DISTINCT document_id FROM versions WHERE text_sha256 = ? "
                                  "ORDER BY document_id", ["t1"]).fetchall()
        assert "COVERING INDEX versions_text_document" in " ".join(str(row[-1]) for row in plan)
