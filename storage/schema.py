"""The archive's schema as an ordered list of migrations, applied on open; an old archive opens in a new release."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sqlite-utils costs ~70 ms to import: only an opened Archive needs it (archive.py)
    import sqlite_utils

from .outbox import move_subscribers_out


def _run(db: sqlite_utils.Database, script: str) -> None:
    # executescript() would COMMIT behind our back; statements one by one stay inside the migration's transaction.
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                db.execute(buffer)
            buffer = ""


def _m001_archive(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        CREATE TABLE crawls (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            sources TEXT NOT NULL DEFAULT '[]',      -- JSON list of source names
            status TEXT NOT NULL DEFAULT 'running',  -- running, finished, failed, abandoned
            stats TEXT NOT NULL DEFAULT '{}',        -- JSON counters
            analysed_at TEXT                         -- set once the whole run is analysed
        );
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            footprint TEXT,
            kind TEXT NOT NULL,
            official INTEGER NOT NULL,
            config TEXT NOT NULL DEFAULT '{}',
            first_crawl_id INTEGER,
            last_crawl_id INTEGER,
            last_crawl_at TEXT,
            last_success_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        );
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            content_type TEXT,
            first_seen_at TEXT NOT NULL,
            extraction_status TEXT,                  -- NULL until extracted
            extractor TEXT,
            extractor_version TEXT,
            extraction_error TEXT,
            text_sha256 TEXT,
            title TEXT,
            pages INTEGER,
            page_offsets TEXT,
            flags TEXT,
            meta TEXT
        );
        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            crawl_id INTEGER REFERENCES crawls(id),
            source TEXT NOT NULL,
            url TEXT NOT NULL,
            final_url TEXT,
            fetched_at TEXT NOT NULL,
            status INTEGER,
            error TEXT,
            content_type TEXT,
            content_length INTEGER,
            etag TEXT,
            last_modified TEXT,
            headers TEXT NOT NULL DEFAULT '{}',
            blob_sha256 TEXT REFERENCES blobs(sha256),  -- the content this fetch saw (for a 304: the earlier body)
            body_size INTEGER,
            not_modified INTEGER NOT NULL DEFAULT 0,
            duration_ms INTEGER,
            kind TEXT NOT NULL DEFAULT 'page',
            depth INTEGER NOT NULL DEFAULT 0,
            referer TEXT,
            link_text TEXT,
            origin TEXT NOT NULL DEFAULT 'crawl',
            analysed INTEGER NOT NULL DEFAULT 0,
            document_id INTEGER,
            version_id INTEGER
        );
        CREATE INDEX fetches_crawl ON fetches(crawl_id);
        CREATE INDEX fetches_source_url ON fetches(source, url);
        CREATE INDEX fetches_blob ON fetches(blob_sha256);
        CREATE INDEX fetches_unanalysed ON fetches(analysed) WHERE analysed = 0;
        CREATE TABLE urls (
            source TEXT NOT NULL,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            first_seen_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            last_fetch_id INTEGER,
            last_status INTEGER,
            etag TEXT,
            last_modified TEXT,
            blob_sha256 TEXT,
            PRIMARY KEY (source, url)
        );
        CREATE TABLE texts (
            sha256 TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            length INTEGER NOT NULL
        );
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            title TEXT,
            kind TEXT NOT NULL DEFAULT 'other',      -- plan, page (watched), other
            footprint TEXT,
            generation TEXT,
            draft INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'live',     -- live, withdrawn
            first_seen_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            first_source TEXT,
            current_version_id INTEGER,
            meta TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE document_urls (
            document_id INTEGER NOT NULL REFERENCES documents(id),
            source TEXT NOT NULL,
            url TEXT NOT NULL,
            first_seen_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            PRIMARY KEY (document_id, source, url)
        );
        CREATE INDEX document_urls_url ON document_urls(source, url);
        CREATE TABLE versions (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id),
            text_sha256 TEXT NOT NULL REFERENCES texts(sha256),
            blob_sha256 TEXT REFERENCES blobs(sha256),
            first_fetch_id INTEGER REFERENCES fetches(id),
            first_crawl_id INTEGER,
            first_seen_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            UNIQUE (document_id, text_sha256)
        );
        CREATE INDEX versions_text ON versions(text_sha256);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            detected_at TEXT NOT NULL,
            crawl_id INTEGER,
            document_id INTEGER REFERENCES documents(id),
            footprint TEXT,
            generation TEXT,
            url TEXT,
            source TEXT,
            official INTEGER,
            summary TEXT NOT NULL,
            changes TEXT NOT NULL DEFAULT '{}',
            version_before INTEGER REFERENCES versions(id),
            version_after INTEGER REFERENCES versions(id),
            alert INTEGER NOT NULL DEFAULT 1,
            historical INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX events_detected ON events(detected_at);
        CREATE INDEX events_document ON events(document_id);
        CREATE TABLE state (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """
    )
    # Full-text index over extracted texts, kept in step by triggers (external content: no second copy).
    _run(
        db,
        """
        CREATE VIRTUAL TABLE texts_fts USING fts5(text, content='texts', content_rowid='rowid',
                                                  tokenize='porter unicode61');
        CREATE TRIGGER texts_ai AFTER INSERT ON texts BEGIN
            INSERT INTO texts_fts(rowid, text) VALUES (new.rowid, new.text);
        END;
        CREATE TRIGGER texts_ad AFTER DELETE ON texts BEGIN
            INSERT INTO texts_fts(texts_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
        END;
        """,
    )


def _m002_alerts(db: sqlite_utils.Database) -> None:
    # Subscriptions and the outbox of alerts (alerts/, through storage/outbox.py).
    _run(
        db,
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            address TEXT NOT NULL,                   -- email address, webhook URL or apprise URL
            channel TEXT NOT NULL,                   -- email, webhook, apprise
            footprints TEXT NOT NULL DEFAULT '[]',   -- JSON lists, an empty list matches everything
            kinds TEXT NOT NULL DEFAULT '[]',
            generations TEXT NOT NULL DEFAULT '[]',
            keywords TEXT NOT NULL DEFAULT '[]',
            mode TEXT NOT NULL DEFAULT 'immediate',  -- immediate, daily, weekly
            status TEXT NOT NULL,                    -- pending (awaiting confirmation), active, unsubscribed
            secret TEXT,                             -- webhook signing key
            confirm_token_sha256 TEXT UNIQUE,        -- only the hash of the confirmation token is kept
            confirm_expires_at TEXT,
            unsubscribe_token TEXT UNIQUE,           -- in every message sent, cleared once used
            created_at TEXT NOT NULL,
            confirmed_at TEXT,
            unsubscribed_at TEXT,
            event_cursor INTEGER NOT NULL DEFAULT 0, -- events up to this id were matched against it
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            failing_since TEXT,
            last_error TEXT,
            last_success_at TEXT
        );
        CREATE INDEX subscriptions_address ON subscriptions(address);
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            subscription_id INTEGER NOT NULL REFERENCES subscriptions(id),
            event_id INTEGER NOT NULL REFERENCES events(id),
            digest_key TEXT,                         -- NULL: sent alone; else the period it is gathered in
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, sent, cancelled
            enqueued_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            claimed_at TEXT,
            last_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            UNIQUE (event_id, subscription_id)
        );
        CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
        CREATE INDEX deliveries_subscription ON deliveries(subscription_id, status);
        """,
    )


def _m003_fetch_indexes(db: sqlite_utils.Database) -> None:
    # A version's and a document's fetches (history pages, versions_of, sightings_of) without a full scan.
    _run(
        db,
        """
        CREATE INDEX IF NOT EXISTS fetches_version ON fetches(version_id);
        CREATE INDEX IF NOT EXISTS fetches_document ON fetches(document_id);
        """,
    )


def _m004_backfill(db: sqlite_utils.Database) -> None:
    # Backfill from web archives (tracker/backfill.py): crawls made of archived captures are kind 'backfill';
    # every capture listed is kept once (idempotent imports), and each listing query keeps its paging cursor.
    _run(
        db,
        """
        ALTER TABLE crawls ADD COLUMN kind TEXT NOT NULL DEFAULT 'live';  -- live, backfill
        CREATE TABLE backfill_captures (
            source TEXT NOT NULL,
            archive TEXT NOT NULL,                   -- wayback, ukgwa
            url TEXT NOT NULL,                       -- the original URL
            timestamp TEXT NOT NULL,                 -- the capture time, YYYYMMDDhhmmss (UTC)
            raw_url TEXT NOT NULL,                   -- where the original bytes are served (the id_ form)
            mimetype TEXT,
            digest TEXT,
            kind TEXT NOT NULL DEFAULT 'document',   -- page or document, as the fetch is recorded
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, imported, failed
            listed_at TEXT NOT NULL,
            imported_at TEXT,
            crawl_id INTEGER,
            fetch_id INTEGER,
            error TEXT,
            PRIMARY KEY (source, archive, url, timestamp)
        );
        CREATE INDEX backfill_captures_status ON backfill_captures(status, timestamp);
        CREATE TABLE backfill_cursors (
            source TEXT NOT NULL,
            query TEXT NOT NULL,                     -- which listing (archive, url, match, years)
            resume_key TEXT,                         -- the CDX resumeKey to continue from
            complete INTEGER NOT NULL DEFAULT 0,
            pages INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (source, query)
        );
        """,
    )


def _m005_preservations(db: sqlite_utils.Database) -> None:
    # Save Page Now requests (tracker/preserve.py): one row per new version and the URL it was found at, from
    # the event that announced it to the independent capture that a campaign group can cite.
    _run(
        db,
        """
        CREATE TABLE preservations (
            id INTEGER PRIMARY KEY,
            version_id INTEGER NOT NULL REFERENCES versions(id),
            event_id INTEGER REFERENCES events(id),
            url TEXT NOT NULL,                       -- what the archive is asked to capture
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, requested, captured, failed
            job_id TEXT,                             -- Save Page Now's job, while requested
            attempts INTEGER NOT NULL DEFAULT 0,     -- failed requests so far
            next_try_at TEXT NOT NULL,               -- not asked again before this time
            requested_at TEXT,
            capture_url TEXT,                        -- the archived copy, once captured
            captured_at TEXT,                        -- the archive's capture time
            error TEXT,                              -- the last failure, verbatim from the archive
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (version_id, url)
        );
        CREATE INDEX preservations_due ON preservations(status, next_try_at);
        """,
    )


def _m006_document_url_index(db: sqlite_utils.Database) -> None:
    # `history URL` and the web app look a URL up across sources; the (source, url) index cannot serve that
    # (a full scan of document_urls, found by bench/bench_load.py).
    _run(db, "CREATE INDEX document_urls_by_url ON document_urls(url);")


def _m007_footprints(db: sqlite_utils.Database) -> None:
    # The registry's footprint names, copied in by the tracker, so that an event's JSON (and a researcher
    # opening archive.db alone) can say "QF7: South Yorkshire and Bassetlaw" without the crawler's registry.
    _run(
        db,
        """
        CREATE TABLE footprints (
            code TEXT PRIMARY KEY,   -- ODS code, e.g. QF7
            name TEXT NOT NULL,      -- the name people use today
            updated_at TEXT NOT NULL
        );
        """,
    )


def _m009_backfill_answers(db: sqlite_utils.Database) -> None:
    # Backfill against the archive's real answers (issue 15): a listing the archive blocks keeps its words and is
    # not asked again until `backfill --retry-blocked`; CDX rows that are not captures are counted per listing;
    # a document found through a link on an archived page keeps that page (`via`), and each page capture is
    # scanned for such links once (`links_listed`). Capture status gains 'skipped' (junk originals).
    _run(
        db,
        """
        ALTER TABLE backfill_cursors ADD COLUMN blocked TEXT;            -- the archive's words, while blocked
        ALTER TABLE backfill_cursors ADD COLUMN blocked_at TEXT;
        ALTER TABLE backfill_cursors ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;  -- rows that were no capture
        ALTER TABLE backfill_captures ADD COLUMN via TEXT;               -- the archived page that linked to it
        ALTER TABLE backfill_captures ADD COLUMN links_listed INTEGER NOT NULL DEFAULT 0;
        """,
    )


def _m010_subscribers_apart(db: sqlite_utils.Database) -> None:
    # Subscribers, their secrets and the outbox move to subscribers.db beside the archive (storage/outbox.py), so
    # that archive.db can be shared as it is; the events they reference stay here.
    move_subscribers_out(db)


# Append only: a released migration is never edited, a new one is added after it.
def _m008_structure(db: sqlite_utils.Database) -> None:
    """Document structure (headings, paragraphs, lists, tables as rows and cells) with each extraction, as JSON
    (shape in tracker/meaning/layout.py); versions find theirs through blobs.text_sha256."""
    db.executescript(
        """
        ALTER TABLE blobs ADD COLUMN structure TEXT;
        CREATE INDEX IF NOT EXISTS blobs_text ON blobs(text_sha256);
        """
    )


def _m011_fingerprints_and_indexes(db: sqlite_utils.Database) -> None:
    """Issue 19: each text's fingerprint for filing (`text_fingerprints`, computed by tracker.meaning.identity
    and stored on first use, with the method that made it), "seen in this crawl" by index
    (`fetches(document_id, crawl_id)`), a footprint's plans by index, and versions by date for search's date
    filters."""
    _run(
        db,
        """
        CREATE TABLE IF NOT EXISTS text_fingerprints (
            text_sha256 TEXT PRIMARY KEY REFERENCES texts(sha256),
            method TEXT NOT NULL,
            shingles BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS fetches_document_crawl ON fetches(document_id, crawl_id);
        CREATE INDEX IF NOT EXISTS versions_first_seen ON versions(first_seen_at);
        CREATE INDEX IF NOT EXISTS documents_footprint_kind ON documents(footprint, kind);
        """,
    )


def _m013_fingerprint_summaries(db: sqlite_utils.Database) -> None:
    """Issue 19: beside each fingerprint, what rules a candidate plan in or out without reading it or its text: the
    words key (another rendition of the same words), the number of hashes, how many of them a sample keeps, and a
    sketch (a fixed 1-in-64 share of the hashes). Rows made before are completed when filing meets them. The table
    is rebuilt so that these small columns come before the fingerprint: SQLite reads a row's columns in order, and a
    column after a large BLOB costs a walk along its overflow pages. Versions by text become a covering index (the
    document too), so that "is this text known?", asked for every fetch, reads one index, not the versions table
    as well (at 100,000 versions 0.07 -> 0.01 ms for a known text). Safe to run again: should _m012 (another
    branch's) land after this and go before it, an archive migrated in between runs this one a second time."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(text_fingerprints)").fetchall()}
    if "words" not in columns:
        _run(
            db,
            """
            CREATE TABLE text_fingerprints_new (
                text_sha256 TEXT PRIMARY KEY REFERENCES texts(sha256),
                method TEXT NOT NULL,
                words TEXT,
                hashes INTEGER,
                sampled_hashes INTEGER,
                sketch BLOB,
                shingles BLOB NOT NULL
            );
            INSERT INTO text_fingerprints_new (text_sha256, method, shingles)
                SELECT text_sha256, method, shingles FROM text_fingerprints;
            DROP TABLE text_fingerprints;
            ALTER TABLE text_fingerprints_new RENAME TO text_fingerprints;
            """,
        )
    _run(
        db,
        """
        CREATE INDEX IF NOT EXISTS versions_text_document ON versions(text_sha256, document_id);
        DROP INDEX IF EXISTS versions_text;
        """,
    )


def _m014_search_filter_indexes(db: sqlite_utils.Database) -> None:
    """Issue 19: what search's filters list first, by index: a generation's documents (they were a scan of every
    document), and a document's versions with their dates and texts in one covering index, so that a date filter
    on them reads no versions rows (at 100,000 versions: a generation between two dates, 13 -> 7 ms of a 28 ms
    search). Safe to run again."""
    _run(
        db,
        """
        CREATE INDEX IF NOT EXISTS documents_generation ON documents(generation);
        CREATE INDEX IF NOT EXISTS versions_document_seen ON versions(document_id, first_seen_at, text_sha256);
        """,
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m001_archive,
    _m002_alerts,
    _m003_fetch_indexes,
    _m004_backfill,
    _m005_preservations,
    _m006_document_url_index,
    _m007_footprints,
    _m008_structure,
    _m009_backfill_answers,
    _m010_subscribers_apart,
    _m011_fingerprints_and_indexes,
    _m013_fingerprint_summaries,  # _m012 is another branch's: it goes before this one when it lands
    _m014_search_filter_indexes,
]


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema up to date; return the schema version now in force."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"this archive has schema version {current}, newer than this release knows "
            f"({len(MIGRATIONS)}): upgrade stp-tracker before opening it"
        )
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        with db.atomic():
            step(db)
            db.execute(f"PRAGMA user_version = {int(number)}")
    return len(MIGRATIONS)
