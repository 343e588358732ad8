"""Search ranks in the full-text index first and joins only the best texts to their versions (the fast path for
unfiltered queries): its pages must be exactly those of the filtered path, also where a text has no version or
belongs to several documents."""

from __future__ import annotations

from pathlib import Path

from storage import Archive, Extraction, Fetch


def _file(archive: Archive, crawl: int, n: int, text: str, documents: int = 1, footprint: str = "QF7") -> None:
    """One fetched body with this text, filed as a version of `documents` new documents (0: a text with no version)."""
    url = f"https://example.org/plan-{n}.pdf"
    fetch = archive.record_fetch(Fetch(url=url, source="ics", crawl_id=crawl, status=200, body=f"%PDF {n}".encode(),
                                       headers={"Content-Type": "application/pdf"}, kind="document"))
    sha = archive.fetch(fetch)["blob_sha256"]
    text_sha = archive.record_extraction(sha, Extraction(status="ok", extractor="test", extractor_version="1",
                                                         text=text))
    for _ in range(documents):
        document = archive.create_document(title=f"Plan {n}", kind="plan", footprint=footprint, generation="2016-stp",
                                           draft=False, seen_at="2016-11-20T09:30:00+00:00", source="ics")
        archive.add_version(document, text_sha256=text_sha, blob_sha256=sha, fetch_id=fetch, crawl_id=crawl,
                            seen_at="2016-11-20T09:30:00+00:00")


def test_unfiltered_pages_are_the_filtered_paths_pages(tmp_path: Path) -> None:
    with Archive(tmp_path / "home") as archive:
        crawl = archive.start_crawl(["ics"])
        expected = 0
        for n in range(70):
            copies = 0 if n % 9 == 0 else (2 if n % 7 == 0 else 1)  # no version; two documents share the text
            beds = "beds " * (1 + n % 13)
            _file(archive, crawl, n, f"Plan {n}: the acute {beds}figure changes. Filler words {n}.", copies)
            expected += copies
        _file(archive, crawl, 99, "Nothing about the matter at hand.")

        seen = []
        for offset in range(0, 100, 20):
            fast = archive.search_filtered("beds", offset=offset)
            slow = archive.search_filtered("beds", offset=offset, seen_from="1900-01-01")  # the joined path
            assert [r["version_id"] for r in fast] == [r["version_id"] for r in slow], offset
            assert [r["rank"] for r in fast] == sorted(r["rank"] for r in fast)
            seen += [r["version_id"] for r in fast]
        assert len(seen) == len(set(seen)) == expected
        assert archive.search_filtered("beds", limit=500) == archive.search_filtered("beds", limit=500,
                                                                                     seen_from="1900-01-01")


def test_only_bad_query_syntax_falls_back_to_plain_words(tmp_path: Path) -> None:
    with Archive(tmp_path / "home") as archive:
        crawl = archive.start_crawl(["ics"])
        _file(archive, crawl, 1, "The A&E department: beds OR wards, 2016-17.")
        for query in ('"beds', "beds OR", "A&E:", "2016-17", "beds (wards"):
            rows = archive.search_filtered(query)
            assert len(rows) == 1, query  # read as plain words, not refused
        assert archive.search_filtered("NOT") == archive.search_filtered("*") == []  # plain words in no text


def test_a_locked_archive_is_an_error_not_a_syntax_fallback(tmp_path: Path) -> None:
    import sqlite3

    import pytest

    from storage import ArchiveError

    home = tmp_path / "home"
    with Archive(home) as archive:
        _file(archive, archive.start_crawl(["ics"]), 1, "beds and wards")
    # A rollback-journal file (WAL lets readers read beside a writer), so a writer's exclusive lock locks us out.
    sqlite3.connect(home / "archive.db", isolation_level=None).execute("PRAGMA journal_mode = DELETE").close()
    reader = Archive(home, readonly=True)
    reader.db.conn.execute("PRAGMA busy_timeout = 0")
    writer = sqlite3.connect(home / "archive.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ArchiveError, match="locked.*try again"):
            reader.search_filtered("beds")
        with pytest.raises(ArchiveError, match="locked"):
            reader.search_filtered("beds", footprint="QF7")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert len(reader.search_filtered("beds")) == 1
    reader.close()


def test_each_result_has_its_own_texts_snippet_with_the_matched_words_marked(tmp_path: Path) -> None:
    """Snippets are made for a whole page at once: each must still be its own text's, marked where it matched."""
    with Archive(tmp_path / "home") as archive:
        crawl = archive.start_crawl(["ics"])
        for n in range(30):
            copies = 2 if n % 5 == 0 else 1  # two documents share a text: both get its snippet
            _file(archive, crawl, n, f"Plan {n} says little. " + "Filler. " * (n % 7)
                  + f"The unit {n} will centralise stroke care; centralising saves {n} beds.", copies,
                  footprint="QF7" if n % 2 else "QE1")
        _file(archive, crawl, 99, "Nothing about the matter at hand.")

        rows = archive.search_filtered("centralis*", limit=50)
        assert len(rows) == 36 and len({r["version_id"] for r in rows}) == 36
        for row in rows:
            n = int(row["title"].split()[-1])
            assert f"The unit {n} will [centralise] stroke care; [centralising] saves {n} beds" in row["snippet"]

        marked = archive.search_filtered("stroke care", limit=5, marks=("<mark>", "</mark>"))
        assert len(marked) == 5 and all("<mark>stroke</mark> <mark>care</mark>" in r["snippet"] for r in marked)

        filtered = archive.search_filtered("centralis*", limit=50, footprint="QE1")
        assert {r["footprint"] for r in filtered} == {"QE1"} and len(filtered) == 18  # 15 texts, 3 of them twice
        assert all(f"unit {int(r['title'].split()[-1])} will [centralise]" in r["snippet"] for r in filtered)

        page = archive.search_filtered("beds", limit=7, offset=7)
        assert [r["version_id"] for r in page] == [r["version_id"] for r in archive.search_filtered("beds", limit=50)][7:14]
        assert all("[beds]" in r["snippet"] for r in page)


def test_migration_14_indexes_the_filters_and_changes_no_result(tmp_path: Path) -> None:
    from storage.schema import MIGRATIONS, _m014_search_filter_indexes

    home = tmp_path / "home"
    filters = [{"generation": "2016-stp", "seen_from": "2016-01-01", "seen_to": "2016-12-31"}, {"footprint": "QE1"},
               {"generation": "2016-stp"}, {"seen_to": "2016-01-01"}]
    with Archive(home) as archive:
        crawl = archive.start_crawl(["ics"])
        for n in range(12):
            _file(archive, crawl, n, f"Plan {n}: hospital beds.", footprint="QF7" if n % 3 else "QE1")
        # An archive as the release before this left it: without the two indexes, one schema version back.
        archive.db.execute("DROP INDEX documents_generation")
        archive.db.execute("DROP INDEX versions_document_seen")
        archive.db.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
        before = [archive.search_filtered("hospital", **f) for f in filters]
    assert [len(rows) for rows in before] == [12, 4, 12, 0]
    with Archive(home) as archive:  # migrates
        assert [archive.search_filtered("hospital", **f) for f in filters] == before
        _m014_search_filter_indexes(archive.db)  # run again (migrations renumbered): harmless
        assert [archive.search_filtered("hospital", **f) for f in filters] == before
        plan = " ".join(str(row[-1]) for row in archive.db.execute(
            "EXPLAIN QUERY PLAN SELECT t.rowid FROM documents d CROSS JOIN versions v ON v.document_id = d.id "
            "CROSS JOIN texts t ON t.sha256 = v.text_sha256 WHERE d.generation = ? AND v.first_seen_at >= ?",
            ["2016-stp", "2016-01-01"]).fetchall())
        assert "INDEX documents_generation" in plan and "COVERING INDEX versions_document_seen" in plan
